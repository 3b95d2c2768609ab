package modelout

import (
	"bytes"
	"errors"
	"math"
	"os"
	"testing"

	"github.com/cubelab/cubelab/internal/problem"
)

// checkParse holds for any input: rows or an error, never both, and every row
// is usable by the importer.
func checkParse(t *testing.T, data []byte, f Format) {
	rows, err := Parse(bytes.NewReader(data), Options{Format: f, MaxLineBytes: 4096})
	if (rows == nil) == (err == nil) {
		t.Fatalf("rows %d, err %v", len(rows), err)
	}
	var errs *problem.Lines
	if err != nil && !errors.As(err, &errs) && !errors.Is(err, ErrEmpty) {
		t.Fatalf("unexpected error type: %v", err)
	}
	if errs != nil {
		for _, le := range errs.List {
			if le.Line < 1 {
				t.Fatalf("error without a line: %v", le)
			}
		}
	}
	for _, r := range rows {
		if r.Model == "" || r.StimulusID == "" || r.Line < 1 {
			t.Fatalf("row without identity: %+v", r)
		}
		if math.IsNaN(r.PYes) != (r.Flag&FlagNoAnswer != 0) {
			t.Fatalf("P(Yes) %v with flags %v", r.PYes, r.Flag)
		}
		if !math.IsNaN(r.PYes) && (r.PYes < 0 || r.PYes > 1) {
			t.Fatalf("P(Yes) %v", r.PYes)
		}
		if r.Coverage < 0 || r.Coverage > 1 {
			t.Fatalf("coverage %v", r.Coverage)
		}
	}
}

func FuzzParseCSV(f *testing.F) {
	f.Add([]byte("model,condition,seed,stimulus_id,logprob_yes,logprob_no\nm,c,1,a,-0.1,-2\nm,c,1,b,-inf,-0.1\n"))
	f.Add([]byte("stimulus_id,p_yes,model\r\na,0.5,m\r\n\"b,c\",1,m\n"))
	f.Add([]byte("model,stimulus_id,p_yes\nm,a,NaN\nm,a,0.2\n"))
	f.Fuzz(func(t *testing.T, data []byte) { checkParse(t, data, CSV) })
}

func FuzzParseJSONL(f *testing.F) {
	f.Add([]byte(`{"model":"m","seed":2,"stimulus_id":"a","logprob_yes":-0.2,"logprob_no":-1.7}` + "\n"))
	f.Add([]byte(`{"model":"m","stimulus_id":"a","p_yes":0.3}` + "\n" + `{"model":"m","stimulus_id":"b","logprob_yes":null,"logprob_no":null}`))
	f.Fuzz(func(t *testing.T, data []byte) { checkParse(t, data, JSONL) })
}

// FuzzParseBatch seeds with whole batch files; minimising a new input that
// large is slow, so run it with -fuzzminimizetime 3s.
func FuzzParseBatch(f *testing.F) {
	for _, name := range []string{"testdata/batch_output.jsonl", "testdata/batch_output_error.jsonl"} {
		data, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte(`{"custom_id":"a","response":{"status_code":200,"body":{"model":"m","choices":[{"logprobs":{"content":[{"top_logprobs":[{"token":"Yes","logprob":0},{"token":"yes","logprob":0}]}]}}]}},"error":null}`))
	f.Fuzz(func(t *testing.T, data []byte) { checkParse(t, data, Auto) })
}
