package export

import (
	"encoding/base64"
	"encoding/json"
	"strconv"
	"time"

	"github.com/cubelab/cubelab/internal/csvout"
	"github.com/cubelab/cubelab/internal/task"
)

// imageFile is the image of the group being written.
type imageFile struct {
	id, ext, mime, split string
	data                 []byte // the bytes, only for formats that embed them
}

func (img imageFile) base() string { return img.id + img.ext }

// formatWriter is what differs between the formats: where images go and what the
// text lines say.
type formatWriter interface {
	imageEntry(img imageFile) string // the image's path inside the ZIP
	embedsImages() bool              // the lines need the image bytes
	lines(sp *spools, img imageFile, g []Answer, examples []example) error
	describe() string // the card's paragraph on the files
}

func newFormatWriter(f Format, src Source) formatWriter {
	switch f {
	case ImageFolder:
		return &imageFolderWriter{perAnswer: src == EveryAnswer}
	case CSV:
		return &csvWriter{source: src}
	case OpenAI:
		return &openAIWriter{}
	case TRL:
		return &trlWriter{}
	case LlamaFactory:
		return &llamaFactoryWriter{}
	}
	return &messagesWriter{}
}

// The parts of a chat message are separate types so that a text part can never
// carry an "image" key, not even a null one: TRL and unsloth take a present
// "image" key to mean an image part.
type (
	imagePart struct {
		Type  string `json:"type"` // "image"
		Image string `json:"image"`
	}
	textPart struct {
		Type string `json:"type"` // "text"
		Text string `json:"text"`
	}
	chatMessage struct {
		Role    string `json:"role"`
		Content []any  `json:"content"`
	}
	chatExample struct {
		Messages []chatMessage `json:"messages"`
		Metadata *softMeta     `json:"metadata,omitempty"` // soft labels only
	}
)

// labelCache holds the one or two lines of an image whose lines depend only on the
// label, so that a hundred answers to one image cost two encodings, not a hundred.
type labelCache struct {
	id      string
	yes, no []byte
}

func (c *labelCache) line(id, label string, build func(string) ([]byte, error)) ([]byte, error) {
	if c.id != id {
		c.id, c.yes, c.no = id, nil, nil
	}
	p := &c.no
	if label == task.Yes {
		p = &c.yes
	}
	if *p == nil {
		b, err := build(label)
		if err != nil {
			return nil, err
		}
		*p = append(b, '\n')
	}
	return *p, nil
}

// writeSplitLines writes one line per example to the JSONL file of the image's
// split, each line built by build from the example's label, at most once per
// label of the image.
func (c *labelCache) writeSplitLines(sps *spools, img imageFile, examples []example, build func(label string) ([]byte, error)) error {
	sp, err := sps.get(img.split + ".jsonl")
	if err != nil {
		return err
	}
	for _, e := range examples {
		b, err := c.line(img.id, e.label, build)
		if err != nil {
			return err
		}
		if _, err := sp.w.Write(b); err != nil {
			return err
		}
	}
	return nil
}

// messagesWriter writes images/ID.png and train.jsonl / validation.jsonl.
type messagesWriter struct{ cache labelCache }

func (*messagesWriter) imageEntry(img imageFile) string { return "images/" + img.base() }
func (*messagesWriter) embedsImages() bool              { return false }
func (w *messagesWriter) lines(sps *spools, img imageFile, g []Answer, examples []example) error {
	prompt := g[0].Domain.Prompt()
	return w.cache.writeSplitLines(sps, img, examples, func(label string) ([]byte, error) {
		return json.Marshal(chatExample{Messages: []chatMessage{
			{Role: "user", Content: []any{
				imagePart{Type: "image", Image: "images/" + img.base()},
				textPart{Type: "text", Text: prompt},
			}},
			{Role: "assistant", Content: []any{textPart{Type: "text", Text: label}}},
		}, Metadata: metaOf(&g[0], examples)})
	})
}
func (*messagesWriter) describe() string {
	return "Format: chat messages JSONL for TRL / unsloth vision fine-tuning. `train.jsonl` and " +
		"`validation.jsonl` hold one example per line (`{\"messages\": [...]}`); the image part's " +
		"`image` is a path relative to the ZIP's root, where `images/` holds every image once."
}

// trlWriter writes images/ID.png and train.jsonl / validation.jsonl in TRL's
// conversational vision format (huggingface/trl docs, "Dataset formats",
// "Vision datasets"): an "images" column listing the example's images, and a
// user message whose content is [{"type": "image"}, {"type": "text", ...}], the
// placeholder standing for images[0]. The assistant's content is a list with
// one text part, as in TRL's examples (HuggingFaceH4/llava-instruct-mix-vsft).
type trlWriter struct{ cache labelCache }

type (
	imagePlaceholder struct {
		Type string `json:"type"` // "image"
	}
	trlExample struct {
		Images   []string      `json:"images"`
		Messages []chatMessage `json:"messages"`
		Metadata *softMeta     `json:"metadata,omitempty"` // soft labels only
	}
)

func (*trlWriter) imageEntry(img imageFile) string { return "images/" + img.base() }
func (*trlWriter) embedsImages() bool              { return false }
func (w *trlWriter) lines(sps *spools, img imageFile, g []Answer, examples []example) error {
	prompt := g[0].Domain.Prompt()
	return w.cache.writeSplitLines(sps, img, examples, func(label string) ([]byte, error) {
		return json.Marshal(trlExample{
			Images: []string{"images/" + img.base()},
			Messages: []chatMessage{
				{Role: "user", Content: []any{imagePlaceholder{Type: "image"}, textPart{Type: "text", Text: prompt}}},
				{Role: "assistant", Content: []any{textPart{Type: "text", Text: label}}},
			},
			Metadata: metaOf(&g[0], examples),
		})
	})
}
func (*trlWriter) describe() string {
	return "Format: TRL vision SFT (`trl`). `train.jsonl` and `validation.jsonl` hold one example per line: " +
		"`images` lists the example's image (a path relative to the ZIP's root; `images/` holds every image once) " +
		"and the user message's content is `[{\"type\": \"image\"}, {\"type\": \"text\", \"text\": PROMPT}]`, " +
		"the placeholder standing for `images[0]`. Load with `datasets.load_dataset(\"json\", data_files=...)`, " +
		"cast `images` to `Sequence(Image())` and pass the dataset to TRL's `SFTTrainer` unchanged."
}

// llamaFactoryWriter writes images/ID.png, train.json / validation.json in
// LLaMA-Factory's sharegpt format (a JSON array; "<image>" in the user's text
// marks where the image goes) and dataset_info.json registering both files
// (LLaMA-Factory's data/README.md, the mllm_demo entry). Image paths are
// relative to the folder holding dataset_info.json, LLaMA-Factory's dataset_dir.
type llamaFactoryWriter struct {
	cache labelCache
	n     map[string]int // examples written per split file
}

type (
	sharegptMessage struct {
		Role    string `json:"role"`
		Content string `json:"content"`
	}
	sharegptExample struct {
		Messages []sharegptMessage `json:"messages"`
		Images   []string          `json:"images"`
		Metadata *softMeta         `json:"metadata,omitempty"` // soft labels only
	}
)

func (*llamaFactoryWriter) imageEntry(img imageFile) string { return "images/" + img.base() }
func (*llamaFactoryWriter) embedsImages() bool              { return false }
func (w *llamaFactoryWriter) lines(sps *spools, img imageFile, g []Answer, examples []example) error {
	if w.n == nil {
		w.n = map[string]int{}
	}
	name := img.split + ".json"
	sp, err := sps.get(name)
	if err != nil {
		return err
	}
	prompt := g[0].Domain.Prompt()
	for _, e := range examples {
		b, err := w.cache.line(img.id, e.label, func(label string) ([]byte, error) {
			return json.Marshal(sharegptExample{
				Messages: []sharegptMessage{{Role: "user", Content: "<image>" + prompt}, {Role: "assistant", Content: label}},
				Images:   []string{"images/" + img.base()},
				Metadata: metaOf(&g[0], examples),
			})
		})
		if err != nil {
			return err
		}
		sep := ",\n"
		if w.n[name] == 0 {
			sep = "[\n"
		}
		w.n[name]++
		if _, err := sp.w.WriteString(sep); err != nil {
			return err
		}
		// The cached line ends in a newline, which JSON allows between elements.
		if _, err := sp.w.Write(b[:len(b)-1]); err != nil {
			return err
		}
	}
	return nil
}

// finish closes the JSON arrays and writes dataset_info.json.
func (w *llamaFactoryWriter) finish(sps *spools) error {
	type entry struct {
		FileName   string            `json:"file_name"`
		Formatting string            `json:"formatting"`
		Columns    map[string]string `json:"columns"`
		Tags       map[string]string `json:"tags"`
	}
	info := map[string]entry{}
	for _, split := range []string{Train, Validation} {
		name := split + ".json"
		if w.n[name] == 0 {
			continue
		}
		sp, err := sps.get(name)
		if err != nil {
			return err
		}
		if _, err := sp.w.WriteString("\n]\n"); err != nil {
			return err
		}
		info["cubelab_"+split] = entry{FileName: name, Formatting: "sharegpt",
			Columns: map[string]string{"messages": "messages", "images": "images"},
			Tags:    map[string]string{"role_tag": "role", "content_tag": "content", "user_tag": "user", "assistant_tag": "assistant"}}
	}
	b, err := json.MarshalIndent(info, "", "  ")
	if err != nil {
		return err
	}
	sp, err := sps.get("dataset_info.json")
	if err != nil {
		return err
	}
	_, err = sp.w.Write(append(b, '\n'))
	return err
}
func (*llamaFactoryWriter) describe() string {
	return "Format: LLaMA-Factory sharegpt (`llamafactory`). `train.json` and `validation.json` are JSON arrays of " +
		"`{\"messages\": [...], \"images\": [...]}`, the user's text starting with `<image>`; `dataset_info.json` " +
		"registers them as `cubelab_train` and `cubelab_validation`. Unzip into a folder and train with " +
		"`dataset_dir: <folder>` and `dataset: cubelab_train`; image paths are relative to that folder."
}

// finisher is a format that writes something after the last image.
type finisher interface{ finish(sps *spools) error }

// imageFolderWriter writes SPLIT/images/ID.png and SPLIT/metadata.jsonl, the layout
// of Hugging Face's imagefolder loader; file_name is relative to the split folder.
type imageFolderWriter struct{ perAnswer bool }

type folderRow struct {
	FileName      string `json:"file_name"`
	StimulusID    string `json:"stimulus_id"`
	StimulusUUID  string `json:"stimulus_uuid"`
	Set           string `json:"set"`
	Domain        string `json:"domain"`
	Size          int    `json:"size"`
	SetSplit      string `json:"set_split"`
	Prompt        string `json:"prompt"`
	Answer        string `json:"answer"`
	GroundTruth   string `json:"ground_truth"`
	ParticipantID string `json:"participant_id"`
	Study         string `json:"study"`
	// Soft labels only: every row of a soft export has both, no other has either.
	PYes     *float64 `json:"p_yes,omitempty"`
	NAnswers *int     `json:"n_answers,omitempty"`
}

func (*imageFolderWriter) imageEntry(img imageFile) string {
	return img.split + "/images/" + img.base()
}
func (*imageFolderWriter) embedsImages() bool { return false }
func (*imageFolderWriter) lines(sps *spools, img imageFile, g []Answer, examples []example) error {
	sp, err := sps.get(img.split + "/metadata.jsonl")
	if err != nil {
		return err
	}
	a := &g[0]
	row := folderRow{FileName: "images/" + img.base(), StimulusID: a.manifestID(), StimulusUUID: a.StimulusID, Set: a.Set, Domain: string(a.Domain),
		Size: a.Size, SetSplit: a.SetSplit, Prompt: a.Domain.Prompt(), GroundTruth: a.Truth}
	enc := json.NewEncoder(sp.w)
	for _, e := range examples {
		row.Answer, row.ParticipantID, row.Study = e.label, "", ""
		if e.answer != nil {
			row.ParticipantID, row.Study = e.answer.ParticipantID, e.answer.Study
		}
		if e.soft != nil {
			row.PYes, row.NAnswers = &e.soft.PYes, &e.soft.NAnswers
		}
		if err := enc.Encode(row); err != nil {
			return err
		}
	}
	return nil
}
func (w *imageFolderWriter) describe() string {
	s := "Format: Hugging Face `imagefolder`. `train/` and `validation/` each hold `metadata.jsonl` " +
		"and `images/`; `file_name` is relative to the split folder. Load with " +
		"`datasets.load_dataset(\"imagefolder\", data_dir=...)`; the `prompt` and `answer` columns are the " +
		"question and the label."
	if w.perAnswer {
		s += " With one example per answer, `file_name` repeats once per answer: current releases of " +
			"`datasets` read one example per metadata row, but releases that keyed the metadata by file name " +
			"keep only one row per image."
	}
	return s
}

// csvWriter writes images/ID.png and one tidy data.csv: one row per response
// (per image when there is none), with the label the chosen source gives it.
type csvWriter struct {
	source Source
	w      *csvout.Writer
}

// csvHeader shares its ids with the answers and participants CSVs, so that the
// three join on (participant_id, stimulus_id).
var csvHeader = []string{"participant_id", "stimulus_id", "stimulus_uuid", "set", "study", "split", "domain", "size",
	"set_split", "image", "label", "label_source", "ground_truth", "response", "browser_rt_ms", "server_rt_ms",
	"shown_at", "answered_at", "p_yes", "n_answers"}

func (*csvWriter) imageEntry(img imageFile) string { return "images/" + img.base() }
func (*csvWriter) embedsImages() bool              { return false }
func (w *csvWriter) lines(sps *spools, img imageFile, g []Answer, examples []example) error {
	if w.w == nil {
		sp, err := sps.get("data.csv")
		if err != nil {
			return err
		}
		w.w = csvout.NewWriter(sp.w)
		if err := w.w.Write(csvHeader); err != nil {
			return err
		}
	}
	// Per-answer sources have one example per row; the others one for the image.
	label := func(i int) string { return examples[0].label }
	if examples[0].answer != nil {
		label = func(i int) string { return examples[i].label }
	}
	// p_yes and n_answers: the share of Yes among the image's answers in this
	// export, whatever the source (empty for an image without answers).
	pYes, nAnswers := "", ""
	if sl, ok := softOf(g); ok {
		pYes, nAnswers = strconv.FormatFloat(sl.PYes, 'f', -1, 64), strconv.Itoa(sl.NAnswers)
	}
	rec := make([]string, len(csvHeader))
	for i := range g {
		a := &g[i]
		browserRT, serverRT, shown, answered := "", "", "", ""
		if a.Response != "" {
			if a.BrowserRTMS >= 0 {
				browserRT = strconv.Itoa(a.BrowserRTMS)
			}
			serverRT = strconv.Itoa(a.ServerRTMS)
			shown, answered = timeText(a.ShownAt), timeText(a.AnsweredAt)
		}
		rec = append(rec[:0], a.ParticipantID, a.manifestID(), a.StimulusID, a.Set, a.Study, img.split, string(a.Domain),
			strconv.Itoa(a.Size), a.SetSplit, "images/"+img.base(), label(i), string(w.source), a.Truth, a.Response,
			browserRT, serverRT, shown, answered, pYes, nAnswers)
		if err := w.w.Write(rec); err != nil {
			return err
		}
	}
	w.w.Flush() // into the spool's buffer, so that the spool holds every row at the end
	return w.w.Error()
}

// timeText is RFC 3339 in UTC with milliseconds, as in the answers CSV; "" for the zero time.
func timeText(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02T15:04:05.000Z07:00")
}

func (*csvWriter) describe() string {
	return "Format: one tidy CSV, `data.csv`, one row per response (a stimulus without responses has " +
		"one row with an empty `response`); `label` is the label the chosen source gives the row, " +
		"`image` a path relative to the ZIP's root, `split` train or validation. `participant_id` (Prolific PID) " +
		"and `stimulus_id` (the manifest id) join it with the study's answers and participants CSVs; " +
		"`stimulus_uuid` is the database's id, also the image's file name."
}

// openAIWriter writes train.jsonl / validation.jsonl in OpenAI's vision fine-tuning
// format, each image inline as a base64 data URL; images/ keeps a copy of each.
type openAIWriter struct {
	cache labelCache
	url   []byte
}

type (
	openAIImageURL struct {
		URL string `json:"url"`
	}
	openAIImagePart struct {
		Type     string         `json:"type"` // "image_url"
		ImageURL openAIImageURL `json:"image_url"`
	}
	openAIUser struct {
		Role    string `json:"role"`
		Content []any  `json:"content"`
	}
	openAIAssistant struct {
		Role    string `json:"role"`
		Content string `json:"content"`
	}
	openAIExample struct {
		Messages []any `json:"messages"`
	}
)

func (*openAIWriter) imageEntry(img imageFile) string { return "images/" + img.base() }
func (*openAIWriter) embedsImages() bool              { return true }
func (w *openAIWriter) lines(sps *spools, img imageFile, g []Answer, examples []example) error {
	prompt := g[0].Domain.Prompt()
	if m := metaOf(&g[0], examples); m != nil {
		// OpenAI refuses a training line with any key but its own, so the
		// soft label goes to a file beside it, line for line.
		sp, err := sps.get(img.split + ".labels.jsonl")
		if err != nil {
			return err
		}
		b, err := json.Marshal(openAILabel{StimulusID: m.StimulusID, Answer: examples[0].label, PYes: m.PYes, NAnswers: m.NAnswers})
		if err != nil {
			return err
		}
		if _, err := sp.w.Write(append(b, '\n')); err != nil {
			return err
		}
	}
	return w.cache.writeSplitLines(sps, img, examples, func(label string) ([]byte, error) {
		w.url = append(w.url[:0], "data:"+img.mime+";base64,"...)
		w.url = base64.StdEncoding.AppendEncode(w.url, img.data)
		return json.Marshal(openAIExample{Messages: []any{
			openAIUser{Role: "user", Content: []any{
				textPart{Type: "text", Text: prompt},
				openAIImagePart{Type: "image_url", ImageURL: openAIImageURL{URL: string(w.url)}},
			}},
			openAIAssistant{Role: "assistant", Content: label},
		}})
	})
}
func (*openAIWriter) describe() string {
	return "Format: OpenAI vision fine-tuning JSONL. `train.jsonl` and `validation.jsonl` hold one " +
		"example per line, the image inline as a base64 data URL (`image_url`); `images/` keeps a " +
		"copy of each image. With soft labels, `train.labels.jsonl` and `validation.labels.jsonl` give, line " +
		"for line, each example's `stimulus_id`, `answer`, `p_yes` and `n_answers` (OpenAI refuses extra keys " +
		"in a training line)."
}

// openAILabel is a line of the soft labels beside an OpenAI training file.
type openAILabel struct {
	StimulusID string  `json:"stimulus_id"`
	Answer     string  `json:"answer"`
	PYes       float64 `json:"p_yes"`
	NAnswers   int     `json:"n_answers"`
}

// softMeta is the metadata of a chat example with a soft label: the answer
// is the example's assistant message, the probability is here.
type softMeta struct {
	StimulusID string  `json:"stimulus_id"`
	PYes       float64 `json:"p_yes"`
	NAnswers   int     `json:"n_answers"`
}

// metaOf is the metadata of an image's example when its label is soft; nil otherwise.
func metaOf(a *Answer, examples []example) *softMeta {
	if len(examples) == 0 || examples[0].soft == nil {
		return nil
	}
	return &softMeta{StimulusID: a.manifestID(), PYes: examples[0].soft.PYes, NAnswers: examples[0].soft.NAnswers}
}
