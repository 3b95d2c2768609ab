package modelout

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"

	"github.com/cubelab/cubelab/internal/problem"
)

// Parse reads every row of a model output file. It is all-or-nothing: on any
// problem it returns no rows and a *problem.Lines naming file, line and field of each
// problem (up to Options.MaxErrors).
//
// CSV: a header row, then one row per answer; columns (any order, others
// ignored) model, condition, seed, stimulus_id, and either logprob_yes and
// logprob_no (natural logarithms; -inf or empty for a label that was absent)
// or p_yes. model, condition and seed may be left out when Options gives them.
// Quoted fields may not span lines.
//
// JSONL: one object per line with the same names; seed a JSON integer,
// missing values null or absent.
//
// Batch output: the OpenAI batch output JSONL (see parseBatchLine).
func Parse(r io.Reader, opt Options) ([]Row, error) {
	opt.defaults()
	p := &parser{opt: opt, errs: &problem.Lines{}, seen: map[rowKey]int{}}
	lr := newLineReader(r, opt.MaxLineBytes)
	format := opt.Format
	first := true
	for {
		line, n, err := lr.next()
		if err == io.EOF {
			break
		}
		if err != nil {
			var tooLong *lineTooLongError
			if errors.As(err, &tooLong) {
				p.fail(n, "", "%v", err)
				continue
			}
			return nil, fmt.Errorf("modelout: reading %s: %w", opt.Name, err)
		}
		if first {
			line = bytes.TrimPrefix(line, []byte("\xef\xbb\xbf"))
		}
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		if first {
			first = false
			if format == Auto {
				format = detect(line)
			}
			if format == CSV {
				p.csvHeader(line, n)
				continue
			}
		}
		switch format {
		case CSV:
			p.csvLine(line, n)
		case JSONL:
			p.jsonLine(line, n)
		case BatchOutput:
			p.batchLine(line, n)
		}
		if p.errs.More {
			break // the cap is reached and more are coming: enough to go on
		}
	}
	if len(p.errs.List) > 0 {
		return nil, p.errs
	}
	if len(p.rows) == 0 {
		return nil, fmt.Errorf("%w in %s", ErrEmpty, opt.Name)
	}
	return p.rows, nil
}

// detect tells CSV from JSON by the first character, and the batch output from
// plain JSONL by its custom_id and response keys.
func detect(line []byte) Format {
	if line[0] != '{' {
		return CSV
	}
	var probe struct {
		CustomID *string         `json:"custom_id"`
		Response json.RawMessage `json:"response"`
		Error    json.RawMessage `json:"error"`
	}
	if json.Unmarshal(line, &probe) == nil && probe.CustomID != nil && (probe.Response != nil || probe.Error != nil) {
		return BatchOutput
	}
	return JSONL
}

type rowKey struct {
	model, condition string
	seed             int64
	stimulus         string
}

type parser struct {
	opt      Options
	errs     *problem.Lines
	rows     []Row
	seen     map[rowKey]int // line of each row, to report duplicates
	cols     map[string]int // CSV header: column of each name
	fields   int            // CSV header: number of columns
	headerOK bool
}

func (p *parser) fail(line int, field, format string, args ...any) {
	p.errs.Add(p.opt.MaxErrors, p.opt.Name, line, field, format, args...)
}

// fillIdentity applies Options to the model, condition and seed a row named
// (hasSeed false when it named none) and checks them.
func (p *parser) fillIdentity(r *Row, hasSeed bool) bool {
	ok := true
	merge := func(field string, got *string, want string) {
		switch {
		case want == "":
		case *got == "":
			*got = want
		case *got != want:
			p.fail(r.Line, field, "%q differs from the %q given for the import", *got, want)
			ok = false
		}
	}
	merge("model", &r.Model, p.opt.Model)
	merge("condition", &r.Condition, p.opt.Condition)
	if p.opt.Seed != nil {
		if !hasSeed {
			r.Seed = *p.opt.Seed
		} else if r.Seed != *p.opt.Seed {
			p.fail(r.Line, "seed", "%d differs from the seed %d given for the import", r.Seed, *p.opt.Seed)
			ok = false
		}
	}
	if r.Model == "" {
		p.fail(r.Line, "model", "missing (give a model column or name the model for the import)")
		ok = false
	}
	if r.StimulusID == "" {
		p.fail(r.Line, "stimulus_id", "missing")
		ok = false
	}
	return ok
}

// add keeps a finished row unless another row answered the same stimulus for the same run.
func (p *parser) add(r Row) {
	k := rowKey{r.Model, r.Condition, r.Seed, r.StimulusID}
	if prev, dup := p.seen[k]; dup {
		p.fail(r.Line, "stimulus_id", "%q answered twice for the same run (first on line %d)", r.StimulusID, prev)
		return
	}
	p.seen[k] = r.Line
	p.rows = append(p.rows, r)
}

// values checks the log-probabilities or P(Yes) of a CSV or JSONL row and fills the row.
func (p *parser) values(r *Row, ly, ln, pyes *float64) bool {
	if pyes != nil && (ly != nil || ln != nil) {
		p.fail(r.Line, "p_yes", "give either p_yes or logprob_yes and logprob_no, not both")
		return false
	}
	if pyes != nil {
		if !(*pyes >= 0 && *pyes <= 1) {
			p.fail(r.Line, "p_yes", "%v is not a probability", *pyes)
			return false
		}
		r.PYes, r.Coverage = *pyes, math.NaN()
		return true
	}
	ok := true
	for _, c := range []struct {
		name string
		v    *float64
	}{{"logprob_yes", ly}, {"logprob_no", ln}} {
		// A log-probability is at most 0; allow rounding above it.
		if c.v != nil && (math.IsNaN(*c.v) || *c.v > 1e-6) {
			p.fail(r.Line, c.name, "%v is not a log-probability", *c.v)
			ok = false
		}
	}
	if !ok {
		return false
	}
	if sum := r.fromLogprobs(finite(ly), finite(ln), p.opt.MinCoverage); sum > maxCoverage {
		p.fail(r.Line, "logprob_no", "P(Yes) + P(No) = %.6g is more than 1", sum)
		return false
	}
	return true
}

// maxCoverage lets probabilities that add up to 1 pass despite rounding: log-
// probabilities written with two decimals can overshoot by half a percent.
const maxCoverage = 1.01

// finite turns -Inf (a probability of 0) into an absent label.
func finite(v *float64) *float64 {
	if v == nil || math.IsInf(*v, -1) {
		return nil
	}
	w := min(*v, 0)
	return &w
}

func (p *parser) csvHeader(line []byte, n int) {
	rec, err := csvRecord(line)
	if err != nil {
		p.fail(n, "", "header: %v", err)
		return
	}
	p.cols = map[string]int{}
	p.fields = len(rec)
	before := len(p.errs.List)
	defer func() { p.headerOK = len(p.errs.List) == before }()
	for i, name := range rec {
		name = strings.ToLower(strings.TrimSpace(name))
		if _, dup := p.cols[name]; dup && name != "" {
			p.fail(n, name, "column appears twice")
		}
		p.cols[name] = i
	}
	_, hasY := p.cols["logprob_yes"]
	_, hasN := p.cols["logprob_no"]
	_, hasP := p.cols["p_yes"]
	switch {
	case hasP && (hasY || hasN):
		p.fail(n, "p_yes", "give either p_yes or logprob_yes and logprob_no columns, not both")
	case !hasP && !(hasY && hasN):
		p.fail(n, "", "header needs stimulus_id and either logprob_yes and logprob_no or p_yes")
	}
	if _, ok := p.cols["stimulus_id"]; !ok {
		p.fail(n, "stimulus_id", "column missing")
	}
}

func csvRecord(line []byte) ([]string, error) {
	cr := csv.NewReader(bytes.NewReader(line))
	cr.FieldsPerRecord = -1
	rec, err := cr.Read()
	if err == nil {
		if _, err2 := cr.Read(); err2 != io.EOF {
			err = errors.New("quoted field spans lines")
		}
	}
	return rec, err
}

func (p *parser) csvLine(line []byte, n int) {
	if !p.headerOK {
		return // the header's errors are reported; its rows cannot be read
	}
	rec, err := csvRecord(line)
	if err != nil {
		p.fail(n, "", "%v", err)
		return
	}
	if len(rec) != p.fields {
		p.fail(n, "", "%d fields, the header has %d", len(rec), p.fields)
		return
	}
	get := func(name string) (string, bool) {
		i, ok := p.cols[name]
		if !ok || i >= len(rec) {
			return "", false
		}
		return strings.TrimSpace(rec[i]), true
	}
	r := Row{Line: n}
	r.Model, _ = get("model")
	r.Condition, _ = get("condition")
	r.StimulusID, _ = get("stimulus_id")
	ok := true
	hasSeed := false
	if s, _ := get("seed"); s != "" {
		v, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			p.fail(n, "seed", "%q is not an integer", s)
			ok = false
		}
		r.Seed, hasSeed = v, true
	}
	num := func(name string) *float64 {
		s, _ := get(name)
		if s == "" {
			return nil
		}
		v, err := strconv.ParseFloat(s, 64)
		if err != nil {
			p.fail(n, name, "%q is not a number", s)
			ok = false
			return nil
		}
		return &v
	}
	ly, ln, py := num("logprob_yes"), num("logprob_no"), num("p_yes")
	if _, hasP := p.cols["p_yes"]; hasP && py == nil && ok {
		p.fail(n, "p_yes", "missing")
		ok = false
	}
	if !ok || !p.fillIdentity(&r, hasSeed) || !p.values(&r, ly, ln, py) {
		return
	}
	p.add(r)
}

// jsonRow is a JSONL row; pointers tell absent from zero.
type jsonRow struct {
	Model      string   `json:"model"`
	Condition  string   `json:"condition"`
	Seed       *int64   `json:"seed"`
	StimulusID string   `json:"stimulus_id"`
	LogprobYes *float64 `json:"logprob_yes"`
	LogprobNo  *float64 `json:"logprob_no"`
	PYes       *float64 `json:"p_yes"`
}

func (p *parser) jsonLine(line []byte, n int) {
	var j jsonRow
	if err := json.Unmarshal(line, &j); err != nil {
		p.fail(n, jsonField(err), "%v", jsonMsg(err))
		return
	}
	r := Row{Line: n, Model: j.Model, Condition: j.Condition, StimulusID: j.StimulusID}
	if j.Seed != nil {
		r.Seed = *j.Seed
	}
	if j.PYes == nil && (j.LogprobYes == nil) != (j.LogprobNo == nil) {
		// In JSONL an absent label is written as a very negative number or
		// null on both; a lone key is more likely a typo than a choice.
		missing := "logprob_no"
		if j.LogprobYes == nil {
			missing = "logprob_yes"
		}
		p.fail(n, missing, "missing (use null for a label the model did not rank)")
		return
	}
	if j.PYes == nil && j.LogprobYes == nil && !hasKey(line, "logprob_yes") {
		p.fail(n, "", "needs logprob_yes and logprob_no, or p_yes")
		return
	}
	if !p.fillIdentity(&r, j.Seed != nil) || !p.values(&r, j.LogprobYes, j.LogprobNo, j.PYes) {
		return
	}
	p.add(r)
}

// hasKey reports whether a JSON object line has a top-level key, even with a null value.
func hasKey(line []byte, key string) bool {
	var m map[string]json.RawMessage
	if json.Unmarshal(line, &m) != nil {
		return false
	}
	_, ok := m[key]
	return ok
}

// jsonField pulls the field path out of a type error.
func jsonField(err error) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return te.Field
	}
	return ""
}

func jsonMsg(err error) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return fmt.Sprintf("a JSON %s where a %s belongs", te.Value, te.Type)
	}
	return "not valid JSON: " + err.Error()
}

// lineReader yields lines (without the line end) with their 1-based number,
// refusing any longer than max bytes without reading them into memory.
type lineReader struct {
	r   *bufio.Reader
	max int
	n   int
	buf []byte
}

type lineTooLongError struct{ max int }

func (e *lineTooLongError) Error() string { return fmt.Sprintf("line longer than %d bytes", e.max) }

func newLineReader(r io.Reader, max int) *lineReader {
	return &lineReader{r: bufio.NewReaderSize(r, 64<<10), max: max}
}

func (l *lineReader) next() ([]byte, int, error) {
	l.buf = l.buf[:0]
	tooLong := false
	for {
		chunk, err := l.r.ReadSlice('\n')
		if !tooLong {
			if len(l.buf)+len(chunk) > l.max+2 { // +2: the line end
				tooLong = true
				l.buf = l.buf[:0]
			} else {
				l.buf = append(l.buf, chunk...)
			}
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		if err == io.EOF && len(chunk) == 0 && len(l.buf) == 0 && !tooLong {
			return nil, l.n, io.EOF
		}
		if err != nil && err != io.EOF {
			return nil, l.n, err
		}
		l.n++
		if tooLong {
			return nil, l.n, &lineTooLongError{l.max}
		}
		line := bytes.TrimRight(l.buf, "\r\n")
		if len(line) > l.max {
			return nil, l.n, &lineTooLongError{l.max}
		}
		return line, l.n, nil
	}
}
