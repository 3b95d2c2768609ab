// Package export writes human-labelled (or ground-truth) training sets for vision
// fine-tuning as one ZIP, streamed to an io.Writer while the answers are read.
//
// The input is a stream of Answer rows sorted by stimulus id; the package keeps
// only the rows of one stimulus and one image in memory at a time. Each image is
// written to the ZIP once, when its group of rows ends. The text files (JSONL,
// CSV) cannot be written at the same time, because a ZIP has one open entry at a
// time, so they are spooled to temporary files and appended at the end, followed
// by the dataset card README.md.
//
// The caller chooses which rows reach the package: attention-check items and the
// answers of participants who did not finish (or were rejected) must already be
// left out of the stream (the package cannot tell them apart from other rows).
package export

import (
	"archive/zip"
	"bufio"
	"bytes"
	"compress/flate"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"iter"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/cubelab/cubelab/internal/task"
)

// Answer is one row of the input: a person's answer to a stimulus, or, when the
// labels come from the ground truth, a stimulus without an answer (empty Response).
//
// Every download names a stimulus by its manifest id (stimulus_id) and gives
// the database's id beside it (stimulus_uuid); StimulusID here is the unique
// key the rows are sorted and grouped by (the UUID when the rows come from the
// database), ManifestID the manifest's id ("" means StimulusID is it).
type Answer struct {
	StimulusID    string      // unique id; rows arrive sorted by it (byte order)
	ManifestID    string      // the stimulus set manifest's id; "" when StimulusID is the manifest id
	Set           string      // stimulus set name
	Domain        task.Domain // fixes the prompt
	Size          int         // blocks of a tower, rows of a pyramid
	SetSplit      string      // the stimulus set's own split column (manifest.csv), kept as metadata
	Truth         string      // ground truth, task.Yes or task.No
	Response      string      // the person's answer, task.Yes or task.No; empty for a stimulus without one
	ParticipantID string      // who answered (Prolific PID or internal id)
	Study         string      // study the answer belongs to
	ImagePath     string      // the image's path in its source (set folder or store); its extension names the type
	// The answer's times, for per-answer rows: browser RT (-1 when the browser
	// sent none), server RT, when the trial was first shown and when answered
	// (zero when unknown).
	BrowserRTMS, ServerRTMS int
	ShownAt, AnsweredAt     time.Time
}

// manifestID is the id downloads call stimulus_id.
func (a *Answer) manifestID() string {
	if a.ManifestID != "" {
		return a.ManifestID
	}
	return a.StimulusID
}

// OpenImage opens the image of a stimulus; imagePath is the row's ImagePath.
type OpenImage func(ctx context.Context, stimulusID, imagePath string) (io.ReadCloser, error)

// FSImages opens images by their ImagePath inside fsys (a stimulus set folder).
func FSImages(fsys fs.FS) OpenImage {
	return func(_ context.Context, _, imagePath string) (io.ReadCloser, error) {
		return fsys.Open(imagePath)
	}
}

// Source says where the labels come from.
type Source string

// The label sources.
const (
	EveryAnswer Source = "every"     // one example per human answer
	Majority    Source = "majority"  // one example per image, the majority of its answers
	AsCollected Source = "collected" // exactly one answer per image (a pool study with R = 1)
	GroundTruth Source = "truth"     // one example per image, labelled with the ground truth
	// SoftLabel gives each image answered at least twice the share of its
	// answers that are Yes (p_yes) and their number; the example's answer is
	// the majority, a tie broken by the seeded coin whatever the tie rule
	// (p_yes = 0.5 is the most informative soft label there is).
	SoftLabel Source = "soft"
)

// minSoftAnswers is the fewest answers a soft label is given for: one answer
// is a hard label written as 0 or 1.
const minSoftAnswers = 2

// ParseSource accepts the names of the label sources.
func ParseSource(s string) (Source, error) {
	switch src := Source(s); src {
	case EveryAnswer, Majority, AsCollected, GroundTruth, SoftLabel:
		return src, nil
	}
	return "", fmt.Errorf("export: unknown label source %q (want every, majority, collected, truth or soft)", s)
}

// Ties says what Majority does with an image whose answers are split evenly.
type Ties string

// The tie rules.
const (
	DropTies Ties = "drop" // leave the image out
	CoinTies Ties = "coin" // a seeded coin per image picks the label
)

// ParseTies accepts the names of the tie rules.
func ParseTies(s string) (Ties, error) {
	switch t := Ties(s); t {
	case DropTies, CoinTies:
		return t, nil
	}
	return "", fmt.Errorf("export: unknown tie rule %q (want drop or coin)", s)
}

// Format is the layout of the training files.
type Format string

// The formats.
const (
	Messages     Format = "messages"     // chat-messages JSONL for TRL / unsloth
	ImageFolder  Format = "imagefolder"  // Hugging Face imagefolder with metadata.jsonl
	CSV          Format = "csv"          // one tidy CSV, one row per response
	OpenAI       Format = "openai"       // OpenAI vision fine-tuning JSONL, images as data URLs
	TRL          Format = "trl"          // TRL's vision SFT format: an images column and {"type": "image"} parts
	LlamaFactory Format = "llamafactory" // LLaMA-Factory's sharegpt JSON with images, plus dataset_info.json
)

// ParseFormat accepts the names of the formats.
func ParseFormat(s string) (Format, error) {
	switch f := Format(s); f {
	case Messages, ImageFolder, CSV, OpenAI, TRL, LlamaFactory:
		return f, nil
	}
	return "", fmt.Errorf("export: unknown format %q (want trl, llamafactory, messages, imagefolder, csv or openai)", s)
}

// Filter keeps the rows that match every non-empty list.
type Filter struct {
	Studies   []string
	Domains   []task.Domain
	Sizes     []int
	SetSplits []string
}

func (f Filter) keep(a *Answer) bool {
	return (len(f.Studies) == 0 || slices.Contains(f.Studies, a.Study)) &&
		(len(f.Domains) == 0 || slices.Contains(f.Domains, a.Domain)) &&
		(len(f.Sizes) == 0 || slices.Contains(f.Sizes, a.Size)) &&
		(len(f.SetSplits) == 0 || slices.Contains(f.SetSplits, a.SetSplit))
}

// Options configure one export.
type Options struct {
	Source             Source
	Ties               Ties // used by Majority; empty means DropTies
	Format             Format
	ValidationFraction float64 // share of images put in validation, 0 <= f < 1
	Seed               uint64  // seeds the split and the tie coin
	Filter             Filter
	TempDir            string    // where text files are spooled; empty means os.TempDir
	Modified           time.Time // time stamped on the ZIP entries and the card; zero leaves it out
	// Exclusion says, for the card, which rule left participants out (the
	// caller applies it: their rows never reach Write); Excluded lists them.
	Exclusion string
	Excluded  []Excluded
}

// Excluded is a participant the exclusion rule left out, and why.
type Excluded struct {
	ParticipantID, Study string
	Reasons              []string
}

func (o *Options) check() error {
	if _, err := ParseSource(string(o.Source)); err != nil {
		return err
	}
	if _, err := ParseFormat(string(o.Format)); err != nil {
		return err
	}
	if o.Ties == "" {
		o.Ties = DropTies
	}
	if _, err := ParseTies(string(o.Ties)); err != nil {
		return err
	}
	if !(o.ValidationFraction >= 0 && o.ValidationFraction < 1) {
		return fmt.Errorf("export: validation fraction %v outside [0, 1)", o.ValidationFraction)
	}
	return nil
}

// Summary counts what an export wrote; the dataset card is rendered from it.
type Summary struct {
	Options                           Options // as used, defaults filled in
	Images, Examples                  int     // written
	TrainImages, ValidationImages     int
	TrainExamples, ValidationExamples int
	Responses                         int // human answers in the written images
	Annotators                        int // distinct participants among them
	Studies                           []string
	SkippedRows                       int // rows the filter left out
	TiesDropped, TiesBroken           int
	TooFewForSoft                     int       // images with fewer than two answers, left out of a soft export
	Labels                            Agreement // exported labels against the ground truth
	HumanAnswers                      Agreement // every human answer in the written images against the ground truth
	Counts                            []Count   // examples per domain, size and label, sorted
	Sets                              []string  // stimulus sets of the written images
	// Checksums are the SHA-256 of the text files and of SHA256SUMS, which
	// holds those of every image too.
	Checksums []Checksum
}

// Checksum is the SHA-256 of one file of the ZIP, in hex.
type Checksum struct{ Name, SHA256 string }

// Count is the number of examples of one domain and size, by label.
type Count struct {
	Domain  task.Domain
	Size    int
	Yes, No int
}

// Split names.
const (
	Train      = "train"
	Validation = "validation"
)

// Write reads rows to their end and writes the ZIP to w. Rows must be sorted by
// StimulusID (byte order, e.g. ORDER BY stimulus_id COLLATE "C"); a stimulus that
// comes back after another one started is an error, because its image has already
// been written. On error the ZIP is incomplete and must be discarded.
func Write(ctx context.Context, w io.Writer, rows iter.Seq2[Answer, error], open OpenImage, opts Options) (Summary, error) {
	if err := opts.check(); err != nil {
		return Summary{}, err
	}
	ex, err := newExporter(ctx, w, open, opts)
	if err != nil {
		return Summary{}, err
	}
	defer ex.cleanup()
	if err := ex.run(rows); err != nil {
		return Summary{}, err
	}
	return ex.finish()
}

type exporter struct {
	ctx    context.Context
	opts   Options
	zw     *zip.Writer
	open   OpenImage
	spools *spools
	stats  *stats
	format formatWriter

	group   []Answer // the kept rows of the current stimulus
	current string   // the current stimulus id; "" before the first row
	started bool
	image   bytes.Buffer // the current image, for formats that embed it
	sums    []fileSum    // SHA-256 of every entry written so far
}

// fileSum is the SHA-256 of one ZIP entry.
type fileSum struct {
	name string
	sum  []byte
}

func newExporter(ctx context.Context, w io.Writer, open OpenImage, opts Options) (*exporter, error) {
	zw := zip.NewWriter(w)
	// The text files are large and repetitive; BestSpeed compresses them nearly as
	// well as the default level at several times the speed.
	zw.RegisterCompressor(zip.Deflate, func(out io.Writer) (io.WriteCloser, error) {
		return flate.NewWriter(out, flate.BestSpeed)
	})
	ex := &exporter{
		ctx:    ctx,
		opts:   opts,
		zw:     zw,
		open:   open,
		spools: &spools{dir: opts.TempDir},
		stats:  newStats(),
	}
	ex.format = newFormatWriter(opts.Format, opts.Source)
	return ex, nil
}

func (ex *exporter) cleanup() { ex.spools.remove() }

func (ex *exporter) run(rows iter.Seq2[Answer, error]) error {
	line := 0
	for a, err := range rows {
		line++
		if err != nil {
			return fmt.Errorf("export: reading row %d: %w", line, err)
		}
		if !ex.started || a.StimulusID != ex.current {
			if ex.started && a.StimulusID < ex.current {
				return fmt.Errorf("export: row %d: stimulus %q after %q: rows must be sorted by stimulus id", line, a.StimulusID, ex.current)
			}
			if err := ex.flush(); err != nil {
				return err
			}
			if err := ex.ctx.Err(); err != nil {
				return fmt.Errorf("export: %w", err)
			}
			ex.current, ex.started = a.StimulusID, true
		}
		if err := validRow(&a, ex.opts.Source); err != nil {
			return fmt.Errorf("export: row %d: %w", line, err)
		}
		if !ex.opts.Filter.keep(&a) {
			ex.stats.skipped++
			continue
		}
		ex.group = append(ex.group, a)
	}
	return ex.flush()
}

func validRow(a *Answer, src Source) error {
	if !safeID(a.StimulusID) {
		return fmt.Errorf("stimulus id %q: want letters, digits, '-', '_' or '.'", a.StimulusID)
	}
	if _, err := task.ParseDomain(string(a.Domain)); err != nil {
		return fmt.Errorf("stimulus %s: %w", a.StimulusID, err)
	}
	if !task.ValidAnswer(a.Truth) {
		return fmt.Errorf("stimulus %s: ground truth %q is not Yes or No", a.StimulusID, a.Truth)
	}
	if a.Response == "" && src == GroundTruth {
		return nil
	}
	if !task.ValidAnswer(a.Response) {
		return fmt.Errorf("stimulus %s: response %q is not Yes or No", a.StimulusID, a.Response)
	}
	return nil
}

// safeID keeps ids usable as file names inside the ZIP (UUIDs pass).
func safeID(id string) bool {
	if id == "" || id == "." || id == ".." {
		return false
	}
	for _, r := range id {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.'
		if !ok {
			return false
		}
	}
	return true
}

// example is one training example: a label and, for per-answer sources, the answer.
type example struct {
	label  string
	answer *Answer // nil when the label stands for the whole image
	soft   *soft   // the soft label, with the SoftLabel source
}

// soft is an image's soft label: the share of its answers that are Yes.
type soft struct {
	PYes     float64 `json:"p_yes"`
	NAnswers int     `json:"n_answers"`
	yes      int
}

// softOf is the share of Yes among the answers of g; ok is false without answers.
func softOf(g []Answer) (s soft, ok bool) {
	for i := range g {
		switch g[i].Response {
		case task.Yes:
			s.yes++
			s.NAnswers++
		case task.No:
			s.NAnswers++
		}
	}
	if s.NAnswers == 0 {
		return s, false
	}
	s.PYes = float64(s.yes) / float64(s.NAnswers)
	return s, true
}

// flush ends the current group: it picks the labels, writes the image and the lines.
func (ex *exporter) flush() error {
	g := ex.group
	ex.group = ex.group[:0]
	if len(g) == 0 {
		return nil
	}
	first := g[0]
	for i := range g[1:] {
		a := &g[i+1]
		if a.Domain != first.Domain || a.Size != first.Size || a.Truth != first.Truth || a.ImagePath != first.ImagePath {
			return fmt.Errorf("export: stimulus %s: rows disagree on domain, size, ground truth or image path", first.StimulusID)
		}
	}
	examples, err := ex.label(g)
	if err != nil {
		return err
	}
	if len(examples) == 0 {
		return nil
	}
	split := Train
	if inValidation(ex.opts.Seed, first.StimulusID, ex.opts.ValidationFraction) {
		split = Validation
	}
	ext, mime, err := imageType(first.ImagePath)
	if err != nil {
		return fmt.Errorf("export: stimulus %s: %w", first.StimulusID, err)
	}
	img := imageFile{id: first.StimulusID, ext: ext, mime: mime, split: split}
	if err := ex.writeImage(&first, ex.format.imageEntry(img)); err != nil {
		return err
	}
	img.data = ex.image.Bytes()
	if err := ex.format.lines(ex.spools, img, g, examples); err != nil {
		return fmt.Errorf("export: spooling text: %w", err)
	}
	ex.stats.addImage(split, g, examples)
	return nil
}

// label turns the rows of one image into its examples according to the source.
func (ex *exporter) label(g []Answer) ([]example, error) {
	switch ex.opts.Source {
	case EveryAnswer:
		out := make([]example, len(g))
		for i := range g {
			out[i] = example{label: g[i].Response, answer: &g[i]}
		}
		return out, nil
	case AsCollected:
		if len(g) != 1 {
			return nil, fmt.Errorf("export: stimulus %s has %d answers; label source %q needs exactly one per image", g[0].StimulusID, len(g), AsCollected)
		}
		return []example{{label: g[0].Response, answer: &g[0]}}, nil
	case GroundTruth:
		return []example{{label: g[0].Truth}}, nil
	case SoftLabel:
		sl, _ := softOf(g)
		if sl.NAnswers < minSoftAnswers {
			ex.stats.tooFewForSoft++
			return nil, nil
		}
		label := task.No
		switch {
		case 2*sl.yes > sl.NAnswers:
			label = task.Yes
		case 2*sl.yes == sl.NAnswers:
			ex.stats.tiesBroken++
			label = coin(ex.opts.Seed, g[0].StimulusID)
		}
		return []example{{label: label, soft: &sl}}, nil
	}
	yes := 0
	for i := range g {
		if g[i].Response == task.Yes {
			yes++
		}
	}
	switch no := len(g) - yes; {
	case yes > no:
		return []example{{label: task.Yes}}, nil
	case no > yes:
		return []example{{label: task.No}}, nil
	case ex.opts.Ties == CoinTies:
		ex.stats.tiesBroken++
		return []example{{label: coin(ex.opts.Seed, g[0].StimulusID)}}, nil
	}
	ex.stats.tiesDropped++
	return nil, nil
}

// writeImage copies the image into its ZIP entry; formats that embed images in the
// text keep the bytes of this one image in ex.image.
func (ex *exporter) writeImage(a *Answer, name string) error {
	rc, err := ex.open(ex.ctx, a.StimulusID, a.ImagePath)
	if err != nil {
		return fmt.Errorf("export: opening image of %s: %w", a.StimulusID, err)
	}
	defer rc.Close()
	// PNG and JPEG are compressed already: storing them saves time and loses nothing.
	zf, err := ex.zw.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Store, Modified: ex.opts.Modified})
	if err != nil {
		return fmt.Errorf("export: %w", err)
	}
	ex.image.Reset()
	h := sha256.New()
	var dst io.Writer = io.MultiWriter(zf, h)
	if ex.format.embedsImages() {
		dst = io.MultiWriter(zf, h, &ex.image)
	}
	if _, err := io.Copy(dst, rc); err != nil {
		return fmt.Errorf("export: copying image of %s: %w", a.StimulusID, err)
	}
	ex.sums = append(ex.sums, fileSum{name, h.Sum(nil)})
	return nil
}

// finish appends the spooled text files and the card, then closes the ZIP.
func (ex *exporter) finish() (Summary, error) {
	if f, ok := ex.format.(finisher); ok {
		if err := f.finish(ex.spools); err != nil {
			return Summary{}, fmt.Errorf("export: spooling text: %w", err)
		}
	}
	var texts []fileSum
	for _, sp := range ex.spools.list {
		h, err := sp.appendTo(ex.zw, ex.opts.Modified)
		if err != nil {
			return Summary{}, err
		}
		texts = append(texts, fileSum{sp.name, h})
	}
	// SHA256SUMS lists every file but itself and the card, in the format
	// "sha256sum -c" reads; the card lists the text files and SHA256SUMS.
	sumsFile, err := ex.zw.CreateHeader(&zip.FileHeader{Name: "SHA256SUMS", Method: zip.Deflate, Modified: ex.opts.Modified})
	if err != nil {
		return Summary{}, fmt.Errorf("export: %w", err)
	}
	h := sha256.New()
	bw := bufio.NewWriter(io.MultiWriter(sumsFile, h))
	for _, f := range append(ex.sums, texts...) {
		fmt.Fprintf(bw, "%x  %s\n", f.sum, f.name)
	}
	if err := bw.Flush(); err != nil {
		return Summary{}, fmt.Errorf("export: %w", err)
	}
	texts = append(texts, fileSum{"SHA256SUMS", h.Sum(nil)})
	sum := ex.stats.summary(ex.opts)
	for _, f := range texts {
		sum.Checksums = append(sum.Checksums, Checksum{Name: f.name, SHA256: hex.EncodeToString(f.sum)})
	}
	card, err := ex.zw.CreateHeader(&zip.FileHeader{Name: "README.md", Method: zip.Deflate, Modified: ex.opts.Modified})
	if err != nil {
		return Summary{}, fmt.Errorf("export: %w", err)
	}
	if err := writeCard(card, &sum, ex.format.describe()); err != nil {
		return Summary{}, fmt.Errorf("export: writing the card: %w", err)
	}
	if err := ex.zw.Close(); err != nil {
		return Summary{}, fmt.Errorf("export: closing the zip: %w", err)
	}
	return sum, nil
}

// imageType derives the extension and MIME type from the source path.
func imageType(p string) (ext, mime string, err error) {
	ext = strings.ToLower(path.Ext(p))
	switch ext {
	case "", ".png":
		return ".png", "image/png", nil
	case ".jpg", ".jpeg":
		return ext, "image/jpeg", nil
	case ".webp":
		return ext, "image/webp", nil
	}
	return "", "", errors.New("image " + p + ": want .png, .jpg, .jpeg or .webp")
}
