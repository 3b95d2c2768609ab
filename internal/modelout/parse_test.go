package modelout

import (
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strings"
	"testing"

	"github.com/cubelab/cubelab/internal/problem"
	"github.com/cubelab/cubelab/internal/task"
)

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

func TestBatchOutputFile(t *testing.T) {
	f, err := os.Open("testdata/batch_output.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	seed := int64(3)
	rows, err := Parse(f, Options{Name: "batch_output.jsonl", Condition: "towers 2-4", Seed: &seed})
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 5 {
		t.Fatalf("%d rows", len(rows))
	}
	e := math.Exp
	for i, w := range []struct {
		id       string
		pyes     float64
		coverage float64
		flag     Flag
		answer   string
	}{
		// " Yes" and "yes" count for Yes, "No" and " no" for No, "The" for neither.
		{"tower-0001", (e(-0.2) + e(-3)) / (e(-0.2) + e(-3) + e(-2.6) + e(-5)), e(-0.2) + e(-3) + e(-2.6) + e(-5), 0, task.Yes},
		// "No." and "No" both count for No.
		{"tower-0002", e(-4.2) / (e(-4.2) + e(-0.05) + e(-3.5)), e(-4.2) + e(-0.05) + e(-3.5), 0, task.No},
		// No label "No" among the top tokens ("Yes" -0.02, "The" -4.5, "I"
		// -5.1): "No" had at most the smallest listed probability, e^-5.1, so
		// P(Yes) is the bound e^-0.02 / (e^-0.02 + e^-5.1) = 0.980199 /
		// 0.986296 = 0.993818, flagged, never 1.
		{"pyramid-0001", e(-0.02) / (e(-0.02) + e(-5.1)), e(-0.02), FlagMissingNo | FlagBound, task.Yes},
		// Neither label: kept as no answer.
		{"pyramid-0002", math.NaN(), 0, FlagNoAnswer, ""},
		// "NO" counts, "Yesterday" does not; coverage 0.37 < 0.5.
		{"pyramid-0003", e(-1.5) / (e(-1.5) + e(-1.9)), e(-1.5) + e(-1.9), FlagLowCoverage, task.Yes},
	} {
		r := rows[i]
		if r.StimulusID != w.id || r.Line != i+1 || r.Flag != w.flag || r.Answer() != w.answer {
			t.Errorf("row %d: %+v, want %+v", i, r, w)
		}
		if !(near(r.PYes, w.pyes) || math.IsNaN(w.pyes) && math.IsNaN(r.PYes)) || !near(r.Coverage, w.coverage) {
			t.Errorf("row %d: P(Yes) %v coverage %v, want %v %v", i, r.PYes, r.Coverage, w.pyes, w.coverage)
		}
		if r.Model != "gpt-4o-2024-08-06" || r.Condition != "towers 2-4" || r.Seed != 3 {
			t.Errorf("row %d identity: %q %q %d", i, r.Model, r.Condition, r.Seed)
		}
	}
	if rows[2].LogpNo != nil || rows[2].LogpYes == nil || !near(*rows[2].LogpYes, -0.02) {
		t.Errorf("missing label should leave LogpNo nil: %+v", rows[2])
	}
}

func TestBatchModelGiven(t *testing.T) {
	f, _ := os.Open("testdata/batch_output.jsonl")
	defer f.Close()
	rows, err := Parse(f, Options{Model: "gpt-4o"})
	if err != nil || rows[0].Model != "gpt-4o" {
		t.Fatalf("%v %+v", err, rows)
	}
}

func TestBatchErrorLine(t *testing.T) {
	f, _ := os.Open("testdata/batch_output_error.jsonl")
	defer f.Close()
	rows, err := Parse(f, Options{Name: "out.jsonl"})
	var errs *problem.Lines
	if rows != nil || !errors.As(err, &errs) || len(errs.List) != 1 {
		t.Fatalf("rows %v err %v", rows, err)
	}
	le := errs.List[0]
	if le.File != "out.jsonl" || le.Line != 2 || le.Field != "error" || !strings.Contains(le.Msg, "tower-0003") {
		t.Errorf("error %+v", le)
	}
}

func TestNormalise(t *testing.T) {
	for tok, want := range map[string]string{" Yes": "yes", "yes": "yes", "No.": "no", "NO": "no", "\u2581No": "no", "\u0120Yes": "yes", "Yes!": "yes", "Yesterday": "yesterday", " ": ""} {
		if got := normalise(tok); got != want {
			t.Errorf("normalise(%q) = %q, want %q", tok, got, want)
		}
	}
}

func TestCSV(t *testing.T) {
	in := "model,condition,seed,stimulus_id,logprob_yes,logprob_no,notes\n" +
		"qwen,base,1,t1,-0.1,-2.4,ok\n" +
		"qwen,base,1,t2,-inf,-0.01,\n" + // Yes absent
		"qwen,base,2,t1,-0.7,-0.7,tie\n" +
		"\"qwen\",base,2,\"t,2\",,,\n" // neither: no answer
	rows, err := Parse(strings.NewReader(in), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 4 {
		t.Fatalf("%d rows", len(rows))
	}
	r := rows[0]
	// softmax: 1/(1+e^(-2.4+0.1)) = 1/(1+e^-2.3)
	if !near(r.PYes, 1/(1+math.Exp(-2.3))) || !near(r.Coverage, math.Exp(-0.1)+math.Exp(-2.4)) || r.Seed != 1 || r.Line != 2 || r.Condition != "base" {
		t.Errorf("row 1: %+v", r)
	}
	if rows[1].Flag != FlagMissingYes || rows[1].PYes != 0 || rows[1].Answer() != task.No {
		t.Errorf("row 2: %+v", rows[1])
	}
	if rows[2].PYes != 0.5 || rows[2].Answer() != "" {
		t.Errorf("tie: %+v", rows[2])
	}
	if rows[3].Flag != FlagNoAnswer || rows[3].StimulusID != "t,2" {
		t.Errorf("row 4: %+v", rows[3])
	}
}

func TestCSVPYesAndDefaults(t *testing.T) {
	seed := int64(7)
	in := "\xef\xbb\xbfstimulus_id,p_yes\r\nt1,0.25\r\nt2,1\r\n"
	rows, err := Parse(strings.NewReader(in), Options{Model: "m", Seed: &seed})
	if err != nil {
		t.Fatal(err)
	}
	if rows[0].Model != "m" || rows[0].Seed != 7 || rows[0].PYes != 0.25 || !math.IsNaN(rows[0].Coverage) || rows[0].LogpYes != nil {
		t.Errorf("%+v", rows[0])
	}
}

func TestJSONL(t *testing.T) {
	in := `{"model":"llava","seed":4,"stimulus_id":"a","logprob_yes":-1.2,"logprob_no":-0.4}
{"model":"llava","seed":4,"stimulus_id":"b","p_yes":0.9,"extra":[1,2]}

{"model":"llava","seed":4,"stimulus_id":"c","logprob_yes":null,"logprob_no":null}
`
	rows, err := Parse(strings.NewReader(in), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 3 || !near(rows[0].PYes, 1/(1+math.Exp(0.8))) || rows[1].PYes != 0.9 || rows[2].Flag != FlagNoAnswer || rows[2].Line != 4 {
		t.Errorf("%+v", rows)
	}
}

// TestErrors checks that each bad input is refused whole, with the right line and field.
func TestErrors(t *testing.T) {
	seed := int64(1)
	for _, c := range []struct {
		name, in string
		opt      Options
		line     int
		field    string
	}{
		{"csv bad number", "model,stimulus_id,p_yes\nm,a,0.5\nm,b,zero\n", Options{}, 3, "p_yes"},
		{"csv p out of range", "model,stimulus_id,p_yes\nm,a,1.5\n", Options{}, 2, "p_yes"},
		{"csv positive logprob", "model,stimulus_id,logprob_yes,logprob_no\nm,a,0.3,-1\n", Options{}, 2, "logprob_yes"},
		{"csv over one", "model,stimulus_id,logprob_yes,logprob_no\nm,a,-0.01,-0.01\n", Options{}, 2, "logprob_no"},
		{"csv no model", "stimulus_id,p_yes\na,0.5\n", Options{}, 2, "model"},
		{"csv header", "model,stimulus_id,logprob_yes\nm,a,-1\n", Options{}, 1, ""},
		{"csv both kinds", "model,stimulus_id,p_yes,logprob_yes,logprob_no\n", Options{}, 1, "p_yes"},
		{"csv bad seed", "model,seed,stimulus_id,p_yes\nm,x,a,0.5\n", Options{}, 2, "seed"},
		{"csv seed conflict", "model,seed,stimulus_id,p_yes\nm,2,a,0.5\n", Options{Seed: &seed}, 2, "seed"},
		{"csv model conflict", "model,stimulus_id,p_yes\nm,a,0.5\n", Options{Model: "n"}, 2, "model"},
		{"csv duplicate", "model,stimulus_id,p_yes\nm,a,0.5\nm,b,0.5\nm,a,0.4\n", Options{}, 4, "stimulus_id"},
		{"csv short row", "model,stimulus_id,p_yes\nm,a\n", Options{}, 2, ""},
		{"jsonl type", `{"model":"m","stimulus_id":"a","p_yes":"high"}` + "\n", Options{}, 1, "p_yes"},
		{"jsonl broken", `{"model":"m","stimulus_id":"a","p_yes":0.5}` + "\n{\"model\":\n", Options{}, 2, ""},
		{"jsonl one logprob", `{"model":"m","stimulus_id":"a","logprob_yes":-1}` + "\n", Options{}, 1, "logprob_no"},
		{"jsonl no values", `{"model":"m","stimulus_id":"a"}` + "\n", Options{}, 1, ""},
		{"batch no logprobs", `{"custom_id":"a","response":{"status_code":200,"body":{"model":"m","choices":[{"message":{"content":"Yes"}}]}},"error":null}` + "\n", Options{}, 1, "response.body.choices[0].logprobs.content"},
		{"batch status", `{"custom_id":"a","response":{"status_code":500,"body":{}},"error":null}` + "\n", Options{}, 1, "response.status_code"},
		{"batch bytes not ints", `{"custom_id":"a","response":{"status_code":200,"body":{"model":"m","choices":[{"logprobs":{"content":[{"top_logprobs":[{"token":"Yes","logprob":-1,"bytes":"WWVz"}]}]}}]}},"error":null}` + "\n", Options{}, 1, "response.body.choices.logprobs.content.top_logprobs.bytes"},
		{"line too long", "model,stimulus_id,p_yes\nm,a," + strings.Repeat("1", 300) + "\n", Options{MaxLineBytes: 100}, 2, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			c.opt.Name = "f.csv"
			rows, err := Parse(strings.NewReader(c.in), c.opt)
			var errs *problem.Lines
			if rows != nil || !errors.As(err, &errs) {
				t.Fatalf("rows %v, err %v", rows, err)
			}
			le := errs.List[0]
			if le.Line != c.line || le.Field != c.field || le.File != "f.csv" {
				t.Errorf("got %v (line %d field %q), want line %d field %q", le, le.Line, le.Field, c.line, c.field)
			}
		})
	}
}

func TestAllErrorsUpToCap(t *testing.T) {
	var b strings.Builder
	b.WriteString("model,stimulus_id,p_yes\n")
	for i := range 30 {
		b.WriteString("m,s" + string(rune('a'+i%26)) + string(rune('a'+i/26)) + ",bad\n")
	}
	_, err := Parse(strings.NewReader(b.String()), Options{MaxErrors: 10})
	var errs *problem.Lines
	if !errors.As(err, &errs) || len(errs.List) != 10 || !errs.More {
		t.Fatalf("%v", err)
	}
	_, err = Parse(strings.NewReader(b.String()), Options{MaxErrors: 30})
	if !errors.As(err, &errs) || len(errs.List) != 30 || errs.More {
		t.Fatalf("exactly at the cap is not truncated: %v", err)
	}
	_, err = Parse(strings.NewReader(b.String()), Options{})
	if !errors.As(err, &errs) || len(errs.List) != 30 || errs.More {
		t.Fatalf("want all 30: %v", err)
	}
	if _, err := Parse(strings.NewReader("\n\n"), Options{}); !errors.Is(err, ErrEmpty) {
		t.Errorf("empty: %v", err)
	}
}

func TestDetect(t *testing.T) {
	for in, want := range map[string]Format{
		"model,stimulus_id,p_yes":                                CSV,
		`{"model":"m","stimulus_id":"a","p_yes":1}`:              JSONL,
		`{"custom_id":"a","response":null,"error":{"code":"x"}}`: BatchOutput,
		`{"custom_id":"a","response":{}}`:                        BatchOutput,
	} {
		if got := detect([]byte(in)); got != want {
			t.Errorf("detect(%s) = %v, want %v", in, got, want)
		}
	}
	if f, err := ParseFormat("batch"); err != nil || f != BatchOutput {
		t.Error(f, err)
	}
}

// A split batch input starts a new part before the request or byte limit and
// keeps custom_id the stimulus id in every part.
func TestSplitBatchInput(t *testing.T) {
	png := []byte("\x89PNG\r\n\x1a\n" + strings.Repeat("x", 100))
	var parts []*strings.Builder
	next := func(part int) (io.Writer, error) {
		if part != len(parts)+1 {
			t.Fatalf("part %d after %d", part, len(parts))
		}
		parts = append(parts, &strings.Builder{})
		return parts[len(parts)-1], nil
	}
	// A byte limit of two and a half requests holds two (the request limit
	// of 3 never binds); then the request limit binds alone.
	var one strings.Builder
	single := NewBatchWriter(&one, "m")
	if err := single.Write("tower-0000", task.Tower, png); err != nil || single.Flush() != nil {
		t.Fatal(err)
	}
	size := int64(one.Len())
	for _, c := range []struct {
		maxReq   int
		maxBytes int64
		want     []int
	}{{3, size * 5 / 2, []int{2, 2, 2, 1}}, {3, 1 << 20, []int{3, 3, 1}}} {
		parts = nil
		b := NewSplitBatchWriter(next, "m", c.maxReq, c.maxBytes)
		for i := range 7 {
			if err := b.Write(fmt.Sprintf("tower-%04d", i), task.Tower, png); err != nil {
				t.Fatal(err)
			}
		}
		if err := b.Flush(); err != nil {
			t.Fatal(err)
		}
		var got []int
		i := 0
		for _, p := range parts {
			lines := strings.Split(strings.TrimSuffix(p.String(), "\n"), "\n")
			got = append(got, len(lines))
			if int64(p.Len()) > c.maxBytes {
				t.Errorf("a part of %d bytes, limit %d", p.Len(), c.maxBytes)
			}
			for _, l := range lines {
				if !strings.HasPrefix(l, fmt.Sprintf(`{"custom_id":"tower-%04d",`, i)) {
					t.Errorf("line %d: %.60s", i, l)
				}
				i++
			}
		}
		if fmt.Sprint(got) != fmt.Sprint(c.want) || b.Parts() != len(c.want) {
			t.Errorf("limits %d/%d: parts %v (Parts %d), want %v", c.maxReq, c.maxBytes, got, b.Parts(), c.want)
		}
	}
	if err := NewSplitBatchWriter(next, "m", 0, 100).Write("big", task.Tower, png); err == nil {
		t.Error("a request over the byte limit must be refused")
	}
}
