package export

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"os"
	"path"
	"slices"
	"strings"
	"testing"

	"github.com/cubelab/cubelab/internal/task"
)

// rowsOf streams a slice.
func rowsOf(rows []Answer) iter.Seq2[Answer, error] {
	return func(yield func(Answer, error) bool) {
		for _, r := range rows {
			if !yield(r, nil) {
				return
			}
		}
	}
}

// imageBytes is the content of a stimulus's fake image: distinct per id.
func imageBytes(id string) []byte { return []byte("\x89PNG fake image of " + id) }

// fakeImages opens imageBytes and counts how often each image is opened.
type fakeImages struct{ opened map[string]int }

func (f *fakeImages) open(_ context.Context, id, _ string) (io.ReadCloser, error) {
	if f.opened == nil {
		f.opened = map[string]int{}
	}
	f.opened[id]++
	return io.NopCloser(bytes.NewReader(imageBytes(id))), nil
}

// sampleRows builds n stimuli over two domains and several sizes, stimulus i having
// 1 + i%4 answers from a pool of 7 participants, in two studies.
func sampleRows(n int) []Answer {
	var rows []Answer
	for i := range n {
		d := task.Tower
		size := 2 + i%6
		if i%3 == 0 {
			d, size = task.Pyramid, 2+i%4
		}
		truth := task.No
		if i%2 == 0 {
			truth = task.Yes
		}
		for j := range 1 + i%4 {
			resp := truth
			if (i+j)%3 == 0 {
				resp = flip(truth)
			}
			rows = append(rows, Answer{
				StimulusID: fmt.Sprintf("s%04d", i), Domain: d, Size: size, SetSplit: "test",
				Truth: truth, Response: resp, ParticipantID: fmt.Sprintf("p%d", (i+j)%7),
				Study: fmt.Sprintf("study%d", j%2), ImagePath: fmt.Sprintf("img/%04d.png", i),
			})
		}
	}
	return rows
}

func flip(a string) string {
	if a == task.Yes {
		return task.No
	}
	return task.Yes
}

// zipFiles reads every entry of a ZIP, failing on a repeated name.
func zipFiles(t *testing.T, data []byte) map[string][]byte {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatalf("open zip: %v", err)
	}
	files := map[string][]byte{}
	for _, f := range zr.File {
		if _, dup := files[f.Name]; dup {
			t.Errorf("%s is in the zip twice", f.Name)
		}
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatalf("read %s: %v", f.Name, err)
		}
		files[f.Name] = b
	}
	return files
}

func export(t *testing.T, rows []Answer, opts Options) ([]byte, Summary, *fakeImages) {
	t.Helper()
	if opts.TempDir == "" {
		opts.TempDir = t.TempDir()
	}
	var buf bytes.Buffer
	imgs := &fakeImages{}
	sum, err := Write(context.Background(), &buf, rowsOf(rows), imgs.open, opts)
	if err != nil {
		t.Fatalf("Write: %v", err)
	}
	left, _ := os.ReadDir(opts.TempDir)
	if len(left) != 0 {
		t.Errorf("%d temporary files left behind", len(left))
	}
	for id, n := range imgs.opened {
		if n != 1 {
			t.Errorf("image %s opened %d times", id, n)
		}
	}
	return buf.Bytes(), sum, imgs
}

// jsonLines decodes a JSONL file into generic values, so that the tests see the
// keys as they are written, not as a Go struct would read them.
func jsonLines(t *testing.T, name string, b []byte) []map[string]any {
	t.Helper()
	var out []map[string]any
	for i, line := range strings.Split(strings.TrimSuffix(string(b), "\n"), "\n") {
		if line == "" {
			t.Fatalf("%s line %d is empty", name, i+1)
		}
		var v map[string]any
		if err := json.Unmarshal([]byte(line), &v); err != nil {
			t.Fatalf("%s line %d: %v", name, i+1, err)
		}
		out = append(out, v)
	}
	return out
}

func keys(m map[string]any) []string {
	var k []string
	for key := range m {
		k = append(k, key)
	}
	slices.Sort(k)
	return k
}

// promptOf finds the domain of a prompt, or fails.
func promptOf(t *testing.T, text string) task.Domain {
	t.Helper()
	for _, d := range task.Domains {
		if d.Prompt() == text {
			return d
		}
	}
	t.Fatalf("text %q is not a task prompt", text)
	return ""
}

// example is what a test recovers from one line of any format.
type parsedExample struct {
	split, image, label string
	domain              task.Domain
	meta                map[string]any // a soft label's metadata; nil without
}

// metaKey allows a soft label's "metadata" beside a format's own keys: the
// loaders keep an extra column and the trainers read only theirs.
func metaKey(got, want []string) bool {
	return slices.Equal(got, want) || slices.Equal(got, slices.Sorted(slices.Values(append(slices.Clone(want), "metadata"))))
}

// checkMessages checks the chat-messages format and returns its examples.
func checkMessages(t *testing.T, files map[string][]byte) []parsedExample {
	var out []parsedExample
	for _, split := range []string{Train, Validation} {
		name := split + ".jsonl"
		b, ok := files[name]
		if !ok {
			continue
		}
		for i, v := range jsonLines(t, name, b) {
			where := fmt.Sprintf("%s line %d", name, i+1)
			if got := keys(v); !metaKey(got, []string{"messages"}) {
				t.Fatalf("%s: keys %v", where, got)
			}
			msgs := v["messages"].([]any)
			if len(msgs) != 2 {
				t.Fatalf("%s: %d messages", where, len(msgs))
			}
			user, asst := msgs[0].(map[string]any), msgs[1].(map[string]any)
			if user["role"] != "user" || asst["role"] != "assistant" {
				t.Fatalf("%s: roles %v, %v", where, user["role"], asst["role"])
			}
			uc := user["content"].([]any)
			if len(uc) != 2 {
				t.Fatalf("%s: user content has %d parts", where, len(uc))
			}
			img, txt := uc[0].(map[string]any), uc[1].(map[string]any)
			if got := keys(img); !slices.Equal(got, []string{"image", "type"}) || img["type"] != "image" {
				t.Fatalf("%s: image part %v", where, img)
			}
			// The rule of DESIGN.md: a text part has exactly type and text, no "image" key.
			if got := keys(txt); !slices.Equal(got, []string{"text", "type"}) || txt["type"] != "text" {
				t.Fatalf("%s: text part %v", where, txt)
			}
			d := promptOf(t, txt["text"].(string))
			ac := asst["content"].([]any)
			if len(ac) != 1 {
				t.Fatalf("%s: assistant content has %d parts", where, len(ac))
			}
			ans := ac[0].(map[string]any)
			if got := keys(ans); !slices.Equal(got, []string{"text", "type"}) || ans["type"] != "text" {
				t.Fatalf("%s: assistant part %v", where, ans)
			}
			label := ans["text"].(string)
			if !task.ValidAnswer(label) {
				t.Fatalf("%s: answer %q", where, label)
			}
			meta, _ := v["metadata"].(map[string]any)
			out = append(out, parsedExample{split: split, image: img["image"].(string), label: label, domain: d, meta: meta})
		}
	}
	return out
}

// checkImages checks that every referenced image exists in the ZIP with the source
// bytes, that every image in the ZIP is referenced, and that no image is in both splits.
func checkImages(t *testing.T, files map[string][]byte, examples []parsedExample, imageDir func(split string) string) {
	t.Helper()
	splitOf := map[string]string{} // stimulus id -> split
	referenced := map[string]bool{}
	for _, e := range examples {
		full := path.Join(imageDir(e.split), e.image)
		b, ok := files[full]
		if !ok {
			t.Fatalf("%s refers to %s, which is not in the zip", e.split, full)
		}
		id := strings.TrimSuffix(path.Base(full), ".png")
		if !bytes.Equal(b, imageBytes(id)) {
			t.Errorf("%s does not hold the image of %s", full, id)
		}
		if s, seen := splitOf[id]; seen && s != e.split {
			t.Errorf("image %s is in both %s and %s", id, s, e.split)
		}
		splitOf[id] = e.split
		referenced[full] = true
	}
	for name := range files {
		if strings.HasSuffix(name, ".png") && !referenced[name] {
			t.Errorf("%s is in the zip but no example refers to it", name)
		}
	}
}

func TestMessagesZip(t *testing.T) {
	rows := sampleRows(60)
	data, sum, imgs := export(t, rows, Options{Source: EveryAnswer, Format: Messages, ValidationFraction: 0.3, Seed: 7})
	files := zipFiles(t, data)
	exs := checkMessages(t, files)
	checkImages(t, files, exs, func(string) string { return "" })
	if len(exs) != len(rows) || sum.Examples != len(rows) {
		t.Errorf("%d examples in the files, summary %d; want one per answer, %d", len(exs), sum.Examples, len(rows))
	}
	if len(imgs.opened) != 60 || sum.Images != 60 {
		t.Errorf("%d images opened, summary %d; want 60", len(imgs.opened), sum.Images)
	}
	if sum.ValidationImages == 0 || sum.TrainImages == 0 {
		t.Errorf("split %d/%d: with 60 images and 0.3 both should be non-empty", sum.TrainImages, sum.ValidationImages)
	}
	// Each example keeps the answer and prompt of its row: compare as multisets.
	want := map[string]int{}
	for _, r := range rows {
		want["images/"+r.StimulusID+".png|"+r.Response+"|"+string(r.Domain)]++
	}
	for _, e := range exs {
		want[e.image+"|"+e.label+"|"+string(e.domain)]--
	}
	for k, n := range want {
		if n != 0 {
			t.Errorf("example %s off by %d", k, n)
		}
	}
	if _, ok := files["README.md"]; !ok {
		t.Error("no dataset card")
	}
}

func TestSplitReproducible(t *testing.T) {
	rows := sampleRows(200)
	splits := func(seed uint64) map[string]string {
		data, _, _ := export(t, rows, Options{Source: Majority, Ties: CoinTies, Format: Messages, ValidationFraction: 0.25, Seed: seed})
		m := map[string]string{}
		for _, e := range checkMessages(t, zipFiles(t, data)) {
			m[e.image] = e.split
		}
		return m
	}
	a, b, c := splits(1), splits(1), splits(2)
	if len(a) != 200 {
		t.Fatalf("%d images; coin ties keep all 200", len(a))
	}
	val := 0
	for img, s := range a {
		if b[img] != s {
			t.Errorf("same seed, %s in %s then %s", img, s, b[img])
		}
		if s == Validation {
			val++
		}
	}
	if !mapsDiffer(a, c) {
		t.Error("seeds 1 and 2 give the same split")
	}
	// 200 draws at 0.25: the count is Binomial(200, 0.25), mean 50, sd 6.1; 25..75 is 4 sd.
	if val < 25 || val > 75 {
		t.Errorf("%d of 200 images in validation at fraction 0.25", val)
	}
}

func mapsDiffer(a, b map[string]string) bool {
	for k, v := range a {
		if b[k] != v {
			return true
		}
	}
	return false
}

func TestImageFolderZip(t *testing.T) {
	rows := sampleRows(50)
	data, sum, _ := export(t, rows, Options{Source: EveryAnswer, Format: ImageFolder, ValidationFraction: 0.4, Seed: 3})
	files := zipFiles(t, data)
	var exs []parsedExample
	for _, split := range []string{Train, Validation} {
		name := split + "/metadata.jsonl"
		for i, v := range jsonLines(t, name, files[name]) {
			fn, _ := v["file_name"].(string)
			if fn == "" || strings.HasPrefix(fn, "/") || strings.Contains(fn, "..") {
				t.Fatalf("%s line %d: file_name %q", name, i+1, fn)
			}
			if d := promptOf(t, v["prompt"].(string)); string(d) != v["domain"] {
				t.Errorf("%s line %d: prompt of %s for domain %v", name, i+1, d, v["domain"])
			}
			label := v["answer"].(string)
			if !task.ValidAnswer(label) || !task.ValidAnswer(v["ground_truth"].(string)) {
				t.Errorf("%s line %d: answer %q truth %v", name, i+1, label, v["ground_truth"])
			}
			exs = append(exs, parsedExample{split: split, image: fn, label: label})
		}
	}
	// file_name resolves relative to the folder that holds metadata.jsonl.
	checkImages(t, files, exs, func(split string) string { return split })
	if len(exs) != len(rows) || sum.TrainExamples+sum.ValidationExamples != len(rows) {
		t.Errorf("%d rows in metadata, want %d", len(exs), len(rows))
	}
}

func TestCSVZip(t *testing.T) {
	rows := sampleRows(30)
	data, sum, _ := export(t, rows, Options{Source: Majority, Format: CSV, ValidationFraction: 0.5, Seed: 9})
	files := zipFiles(t, data)
	recs, err := csv.NewReader(bytes.NewReader(files["data.csv"])).ReadAll()
	if err != nil {
		t.Fatalf("data.csv: %v", err)
	}
	if !slices.Equal(recs[0], csvHeader) {
		t.Fatalf("header %v", recs[0])
	}
	col := map[string]int{}
	for i, h := range recs[0] {
		col[h] = i
	}
	// Majority drops tied images; every response of a kept image is a row.
	kept := map[string][]Answer{}
	for _, r := range rows {
		kept[r.StimulusID] = append(kept[r.StimulusID], r)
	}
	wantRows, wantLabel := 0, map[string]string{}
	for id, g := range kept {
		yes := 0
		for _, a := range g {
			if a.Response == task.Yes {
				yes++
			}
		}
		switch {
		case 2*yes > len(g):
			wantLabel[id] = task.Yes
		case 2*yes < len(g):
			wantLabel[id] = task.No
		default:
			continue
		}
		wantRows += len(g)
	}
	if len(recs)-1 != wantRows {
		t.Errorf("%d data rows, want %d (responses to images with a majority)", len(recs)-1, wantRows)
	}
	if sum.TiesDropped != len(kept)-len(wantLabel) || sum.Images != len(wantLabel) {
		t.Errorf("summary: %d ties dropped, %d images; want %d, %d", sum.TiesDropped, sum.Images, len(kept)-len(wantLabel), len(wantLabel))
	}
	var exs []parsedExample
	for _, r := range recs[1:] {
		id := r[col["stimulus_id"]]
		if r[col["label"]] != wantLabel[id] {
			t.Errorf("%s: label %q, majority %q", id, r[col["label"]], wantLabel[id])
		}
		if r[col["label_source"]] != "majority" || !task.ValidAnswer(r[col["response"]]) {
			t.Errorf("row %v", r)
		}
		exs = append(exs, parsedExample{split: r[col["split"]], image: r[col["image"]], label: r[col["label"]]})
	}
	checkImages(t, files, exs, func(string) string { return "" })
}

func TestOpenAIZip(t *testing.T) {
	rows := sampleRows(20)
	data, _, _ := export(t, rows, Options{Source: EveryAnswer, Format: OpenAI, ValidationFraction: 0.2, Seed: 4})
	files := zipFiles(t, data)
	n := 0
	for _, split := range []string{Train, Validation} {
		name := split + ".jsonl"
		for i, v := range jsonLines(t, name, files[name]) {
			where := fmt.Sprintf("%s line %d", name, i+1)
			msgs := v["messages"].([]any)
			user, asst := msgs[0].(map[string]any), msgs[1].(map[string]any)
			if a, ok := asst["content"].(string); !ok || !task.ValidAnswer(a) || asst["role"] != "assistant" {
				t.Fatalf("%s: assistant %v", where, asst)
			}
			uc := user["content"].([]any)
			txt, img := uc[0].(map[string]any), uc[1].(map[string]any)
			if got := keys(txt); !slices.Equal(got, []string{"text", "type"}) {
				t.Fatalf("%s: text part keys %v", where, got)
			}
			promptOf(t, txt["text"].(string))
			if img["type"] != "image_url" {
				t.Fatalf("%s: image part %v", where, img)
			}
			url := img["image_url"].(map[string]any)["url"].(string)
			b64, ok := strings.CutPrefix(url, "data:image/png;base64,")
			if !ok {
				t.Fatalf("%s: url %.40q", where, url)
			}
			raw, err := base64.StdEncoding.DecodeString(b64)
			if err != nil || !bytes.HasPrefix(raw, []byte("\x89PNG fake image of s")) {
				t.Fatalf("%s: data url decodes to %q, %v", where, raw, err)
			}
			n++
		}
	}
	if n != len(rows) {
		t.Errorf("%d lines, want %d", n, len(rows))
	}
}

func TestSources(t *testing.T) {
	one := func(id, resp string) Answer {
		return Answer{StimulusID: id, Domain: task.Tower, Size: 3, Truth: task.Yes, Response: resp, ParticipantID: "p-" + id + resp, Study: "s"}
	}
	t.Run("OK collected", func(t *testing.T) {
		rows := []Answer{one("a", task.Yes), one("b", task.No)}
		_, sum, _ := export(t, rows, Options{Source: AsCollected, Format: Messages})
		if sum.Examples != 2 || sum.Labels != (Agreement{YesYes: 1, NoYes: 1}) {
			t.Errorf("summary %+v", sum)
		}
	})
	t.Run("ErrCollectedTwice", func(t *testing.T) {
		rows := []Answer{one("a", task.Yes), one("a", task.No)}
		_, err := Write(context.Background(), io.Discard, rowsOf(rows), (&fakeImages{}).open, Options{Source: AsCollected, Format: Messages, TempDir: t.TempDir()})
		if err == nil || !strings.Contains(err.Error(), "exactly one") {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("OK coin ties", func(t *testing.T) {
		var rows []Answer
		for i := range 40 {
			id := fmt.Sprintf("t%02d", i)
			rows = append(rows, one(id, task.Yes), one(id, task.No))
		}
		data, sum, _ := export(t, rows, Options{Source: Majority, Ties: CoinTies, Format: Messages, Seed: 5})
		exs := checkMessages(t, zipFiles(t, data))
		yes := 0
		for _, e := range exs {
			if e.label == task.Yes {
				yes++
			}
			if want := coin(5, strings.TrimSuffix(path.Base(e.image), ".png")); e.label != want {
				t.Errorf("%s: %s, coin says %s", e.image, e.label, want)
			}
		}
		// Binomial(40, 0.5): sd 3.2; 8..32 is 3.8 sd from the mean.
		if sum.TiesBroken != 40 || len(exs) != 40 || yes < 8 || yes > 32 {
			t.Errorf("%d ties broken, %d examples, %d Yes", sum.TiesBroken, len(exs), yes)
		}
	})
	t.Run("OK truth without answers", func(t *testing.T) {
		rows := []Answer{
			{StimulusID: "a", Domain: task.Pyramid, Size: 3, Truth: task.No},
			{StimulusID: "b", Domain: task.Pyramid, Size: 3, Truth: task.Yes, Response: task.No, ParticipantID: "p"},
			{StimulusID: "b", Domain: task.Pyramid, Size: 3, Truth: task.Yes, Response: task.No, ParticipantID: "q"},
		}
		data, sum, _ := export(t, rows, Options{Source: GroundTruth, Format: Messages})
		exs := checkMessages(t, zipFiles(t, data))
		if len(exs) != 2 || exs[0].label != task.No || exs[1].label != task.Yes {
			t.Errorf("examples %+v", exs)
		}
		if sum.Responses != 2 || sum.Annotators != 2 || sum.HumanAnswers != (Agreement{NoYes: 2}) {
			t.Errorf("summary %+v", sum)
		}
	})
	t.Run("OK filter", func(t *testing.T) {
		rows := sampleRows(40)
		_, sum, _ := export(t, rows, Options{Source: EveryAnswer, Format: Messages,
			Filter: Filter{Studies: []string{"study1"}, Domains: []task.Domain{task.Tower}}})
		want := 0
		for _, r := range rows {
			if r.Study == "study1" && r.Domain == task.Tower {
				want++
			}
		}
		if sum.Examples != want || sum.SkippedRows != len(rows)-want || len(sum.Studies) != 1 {
			t.Errorf("%d examples, %d skipped; want %d, %d", sum.Examples, sum.SkippedRows, want, len(rows)-want)
		}
	})
}

func TestWriteErrors(t *testing.T) {
	good := Answer{StimulusID: "b", Domain: task.Tower, Size: 2, Truth: task.Yes, Response: task.No}
	cases := map[string]struct {
		rows []Answer
		want string
	}{
		"ErrUnsorted":   {[]Answer{good, {StimulusID: "a", Domain: task.Tower, Truth: task.Yes, Response: task.No}}, "sorted"},
		"ErrReturns":    {[]Answer{good, {StimulusID: "c", Domain: task.Tower, Size: 2, Truth: task.No, Response: task.No}, good}, "sorted"},
		"ErrResponse":   {[]Answer{{StimulusID: "a", Domain: task.Tower, Truth: task.Yes, Response: "yes"}}, "response"},
		"ErrTruth":      {[]Answer{{StimulusID: "a", Domain: task.Tower, Truth: "", Response: task.No}}, "ground truth"},
		"ErrDomain":     {[]Answer{{StimulusID: "a", Domain: "towers", Truth: task.No, Response: task.No}}, "domain"},
		"ErrPathInID":   {[]Answer{{StimulusID: "../x", Domain: task.Tower, Truth: task.No, Response: task.No}}, "stimulus id"},
		"ErrDisagree":   {[]Answer{good, {StimulusID: "b", Domain: task.Tower, Size: 3, Truth: task.Yes, Response: task.No}}, "disagree"},
		"ErrImageType":  {[]Answer{{StimulusID: "a", Domain: task.Tower, Truth: task.No, Response: task.No, ImagePath: "a.tiff"}}, ".png"},
		"ErrNoResponse": {[]Answer{{StimulusID: "a", Domain: task.Tower, Truth: task.No}}, "response"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			_, err := Write(context.Background(), io.Discard, rowsOf(c.rows), (&fakeImages{}).open, Options{Source: EveryAnswer, Format: CSV, TempDir: dir})
			if err == nil || !strings.Contains(err.Error(), c.want) || !strings.HasPrefix(err.Error(), "export: ") {
				t.Errorf("err = %v, want one about %q", err, c.want)
			}
			if left, _ := os.ReadDir(dir); len(left) != 0 {
				t.Errorf("%d temporary files left after an error", len(left))
			}
		})
	}
	t.Run("ErrOpen", func(t *testing.T) {
		fail := func(context.Context, string, string) (io.ReadCloser, error) { return nil, errors.New("gone") }
		_, err := Write(context.Background(), io.Discard, rowsOf([]Answer{good}), fail, Options{Source: EveryAnswer, Format: Messages, TempDir: t.TempDir()})
		if err == nil || !strings.Contains(err.Error(), "gone") {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("ErrRowStream", func(t *testing.T) {
		rows := func(yield func(Answer, error) bool) {
			if yield(good, nil) {
				yield(Answer{}, errors.New("connection reset"))
			}
		}
		_, err := Write(context.Background(), io.Discard, rows, (&fakeImages{}).open, Options{Source: EveryAnswer, Format: Messages, TempDir: t.TempDir()})
		if err == nil || !strings.Contains(err.Error(), "row 2: connection reset") {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("ErrCanceled", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, err := Write(ctx, io.Discard, rowsOf(sampleRows(3)), (&fakeImages{}).open, Options{Source: EveryAnswer, Format: Messages, TempDir: t.TempDir()})
		if !errors.Is(err, context.Canceled) {
			t.Errorf("err = %v", err)
		}
	})
	for _, o := range []Options{
		{Source: "all", Format: Messages}, {Source: EveryAnswer, Format: "parquet"},
		{Source: Majority, Ties: "flip", Format: Messages}, {Source: EveryAnswer, Format: Messages, ValidationFraction: 1},
	} {
		if _, err := Write(context.Background(), io.Discard, rowsOf(nil), (&fakeImages{}).open, o); err == nil {
			t.Errorf("options %+v accepted", o)
		}
	}
}

func TestEmptyExport(t *testing.T) {
	data, sum, _ := export(t, nil, Options{Source: EveryAnswer, Format: Messages, ValidationFraction: 0.1})
	files := zipFiles(t, data)
	if len(files) != 2 || len(files["SHA256SUMS"]) != 0 || sum.Examples != 0 {
		t.Fatalf("files %v, %d examples; want the card and an empty SHA256SUMS", keysOf(files), sum.Examples)
	}
	if card := string(files["README.md"]); !strings.Contains(card, "| exported labels | 0 | undefined (no pairs) | undefined (no pairs) |") {
		t.Errorf("card:\n%s", card)
	}
}

func keysOf(m map[string][]byte) []string {
	var k []string
	for key := range m {
		k = append(k, key)
	}
	return k
}

func TestImageType(t *testing.T) {
	for p, want := range map[string]string{"a/b.png": "image/png", "": "image/png", "x.JPG": "image/jpeg", "y.jpeg": "image/jpeg", "z.webp": "image/webp"} {
		if _, mime, err := imageType(p); err != nil || mime != want {
			t.Errorf("imageType(%q) = %q, %v; want %q", p, mime, err, want)
		}
	}
	// A JPEG keeps its extension in the ZIP and its type in the data URL.
	rows := []Answer{{StimulusID: "j1", Domain: task.Tower, Size: 2, Truth: task.No, Response: task.No, ImagePath: "set/j1.jpg"}}
	data, _, _ := export(t, rows, Options{Source: EveryAnswer, Format: OpenAI})
	files := zipFiles(t, data)
	if _, ok := files["images/j1.jpg"]; !ok {
		t.Errorf("files %v", keysOf(files))
	}
	if !bytes.Contains(files["train.jsonl"], []byte(`"url":"data:image/jpeg;base64,`)) {
		t.Errorf("train.jsonl: %.200s", files["train.jsonl"])
	}
}

// TestCSVFormulaCells: splits and participant ids come from uploads
// and URLs; in data.csv they are data, never formulas.
func TestCSVFormulaCells(t *testing.T) {
	rows := sampleRows(4)
	for i := range rows {
		rows[i].SetSplit = "+cmd|' /C calc'!A0"
		rows[i].ParticipantID = "@p"
	}
	data, _, _ := export(t, rows, Options{Source: EveryAnswer, Format: CSV, ValidationFraction: 0.5, Seed: 9})
	recs, err := csv.NewReader(bytes.NewReader(zipFiles(t, data)["data.csv"])).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	split, pid := slices.Index(recs[0], "set_split"), slices.Index(recs[0], "participant_id")
	for _, r := range recs[1:] {
		if r[split] != "'+cmd|' /C calc'!A0" || r[pid] != "'@p" {
			t.Errorf("row %q: free-text cells must start with an apostrophe", r)
		}
	}
}
