package export

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/cubelab/cubelab/internal/task"
)

// checkTRL checks the documented shape of TRL's conversational vision dataset
// (huggingface/trl docs/source/dataset_formats.md, "Vision datasets"): each
// example has exactly "images" (a list) and "messages"; the user's content is
// a list whose image parts are exactly {"type": "image"}, one per entry of
// "images", followed by the text part; the assistant answers in a text part.
func checkTRL(t *testing.T, files map[string][]byte) []parsedExample {
	t.Helper()
	var out []parsedExample
	for _, split := range []string{Train, Validation} {
		name := split + ".jsonl"
		b, ok := files[name]
		if !ok {
			continue
		}
		for i, v := range jsonLines(t, name, b) {
			where := fmt.Sprintf("%s line %d", name, i+1)
			if got := keys(v); !metaKey(got, []string{"images", "messages"}) {
				t.Fatalf("%s: keys %v, want images and messages", where, got)
			}
			images := v["images"].([]any)
			msgs := v["messages"].([]any)
			if len(images) != 1 || len(msgs) != 2 {
				t.Fatalf("%s: %d images, %d messages", where, len(images), len(msgs))
			}
			user, asst := msgs[0].(map[string]any), msgs[1].(map[string]any)
			if user["role"] != "user" || asst["role"] != "assistant" {
				t.Fatalf("%s: roles %v, %v", where, user["role"], asst["role"])
			}
			uc := user["content"].([]any)
			placeholders := 0
			for _, p := range uc[:len(uc)-1] {
				part := p.(map[string]any)
				if got := keys(part); !slices.Equal(got, []string{"type"}) || part["type"] != "image" {
					t.Fatalf("%s: image part %v, want exactly {\"type\": \"image\"}", where, part)
				}
				placeholders++
			}
			if placeholders != len(images) {
				t.Fatalf("%s: %d placeholders for %d images", where, placeholders, len(images))
			}
			txt := uc[len(uc)-1].(map[string]any)
			if got := keys(txt); !slices.Equal(got, []string{"text", "type"}) || txt["type"] != "text" {
				t.Fatalf("%s: text part %v", where, txt)
			}
			ac := asst["content"].([]any)
			ans := ac[0].(map[string]any)
			if len(ac) != 1 || ans["type"] != "text" || !task.ValidAnswer(ans["text"].(string)) {
				t.Fatalf("%s: assistant content %v", where, ac)
			}
			meta, _ := v["metadata"].(map[string]any)
			out = append(out, parsedExample{split: split, image: images[0].(string), label: ans["text"].(string),
				domain: promptOf(t, txt["text"].(string)), meta: meta})
		}
	}
	return out
}

func TestTRLZip(t *testing.T) {
	rows := sampleRows(40)
	data, sum, _ := export(t, rows, Options{Source: EveryAnswer, Format: TRL, ValidationFraction: 0.3, Seed: 3})
	files := zipFiles(t, data)
	exs := checkTRL(t, files)
	checkImages(t, files, exs, func(string) string { return "" })
	if len(exs) != len(rows) || sum.Examples != len(rows) {
		t.Errorf("%d examples, summary %d; want %d", len(exs), sum.Examples, len(rows))
	}
	checkSums(t, files)
}

func TestLlamaFactoryZip(t *testing.T) {
	rows := sampleRows(40)
	data, sum, _ := export(t, rows, Options{Source: Majority, Ties: CoinTies, Format: LlamaFactory, ValidationFraction: 0.3, Seed: 3})
	files := zipFiles(t, data)
	// dataset_info.json registers every split file as LLaMA-Factory's docs
	// register mllm_demo: sharegpt, messages and images columns, role tags.
	var info map[string]struct {
		FileName   string            `json:"file_name"`
		Formatting string            `json:"formatting"`
		Columns    map[string]string `json:"columns"`
		Tags       map[string]string `json:"tags"`
	}
	if err := json.Unmarshal(files["dataset_info.json"], &info); err != nil {
		t.Fatalf("dataset_info.json: %v\n%s", err, files["dataset_info.json"])
	}
	var exs []parsedExample
	for _, split := range []string{Train, Validation} {
		e, ok := info["cubelab_"+split]
		if !ok {
			t.Fatalf("dataset_info.json lacks cubelab_%s: %s", split, files["dataset_info.json"])
		}
		if e.FileName != split+".json" || e.Formatting != "sharegpt" || e.Columns["messages"] != "messages" ||
			e.Columns["images"] != "images" || e.Tags["role_tag"] != "role" || e.Tags["content_tag"] != "content" ||
			e.Tags["user_tag"] != "user" || e.Tags["assistant_tag"] != "assistant" {
			t.Errorf("entry %s: %+v", split, e)
		}
		var arr []struct {
			Messages []map[string]string `json:"messages"`
			Images   []string            `json:"images"`
		}
		if err := json.Unmarshal(files[e.FileName], &arr); err != nil {
			t.Fatalf("%s is not a JSON array: %v", e.FileName, err)
		}
		for i, x := range arr {
			if len(x.Messages) != 2 || x.Messages[0]["role"] != "user" || x.Messages[1]["role"] != "assistant" || len(x.Images) != 1 {
				t.Fatalf("%s[%d]: %+v", e.FileName, i, x)
			}
			// One "<image>" token per image, as LLaMA-Factory counts them.
			if n := strings.Count(x.Messages[0]["content"], "<image>"); n != len(x.Images) {
				t.Fatalf("%s[%d]: %d <image> tokens for %d images", e.FileName, i, n, len(x.Images))
			}
			exs = append(exs, parsedExample{split: split, image: x.Images[0], label: x.Messages[1]["content"],
				domain: promptOf(t, strings.TrimPrefix(x.Messages[0]["content"], "<image>"))})
		}
	}
	checkImages(t, files, exs, func(string) string { return "" })
	if len(exs) != sum.Examples || sum.Examples != sum.Images {
		t.Errorf("%d examples, summary %d examples of %d images", len(exs), sum.Examples, sum.Images)
	}
	checkSums(t, files)
}

// checkSums verifies SHA256SUMS against every file and the card against SHA256SUMS.
func checkSums(t *testing.T, files map[string][]byte) {
	t.Helper()
	listed := map[string]bool{}
	for _, line := range strings.Split(strings.TrimSpace(string(files["SHA256SUMS"])), "\n") {
		sum, name, ok := strings.Cut(line, "  ")
		b, present := files[name]
		h := sha256.Sum256(b)
		if !ok || !present || hex.EncodeToString(h[:]) != sum {
			t.Errorf("SHA256SUMS line %q does not match the file", line)
		}
		listed[name] = true
	}
	for name := range files {
		if name != "SHA256SUMS" && name != "README.md" && !listed[name] {
			t.Errorf("%s is not in SHA256SUMS", name)
		}
	}
	h := sha256.Sum256(files["SHA256SUMS"])
	if card := string(files["README.md"]); !strings.Contains(card, "| `SHA256SUMS` | `"+hex.EncodeToString(h[:])+"` |") {
		t.Errorf("the card does not give SHA256SUMS's hash:\n%s", card)
	}
}

func TestCardExclusion(t *testing.T) {
	rows := sampleRows(5)
	data, _, _ := export(t, rows, Options{Source: EveryAnswer, Format: CSV, Exclusion: "Finished participants are excluded for 1 or more failed attention checks (rule checks>=1).",
		Excluded: []Excluded{{ParticipantID: "aaaaaaaaaaaaaaaaaaaaaaaa", Study: "s1", Reasons: []string{"failed 2 attention check(s)"}}}})
	card := string(zipFiles(t, data)["README.md"])
	for _, want := range []string{"## Exclusion rule", "(rule checks>=1)", "1 participants excluded by it", "| aaaaaaaaaaaaaaaaaaaaaaaa | s1 | failed 2 attention check(s) |"} {
		if !strings.Contains(card, want) {
			t.Errorf("card lacks %q:\n%s", want, card)
		}
	}
}
