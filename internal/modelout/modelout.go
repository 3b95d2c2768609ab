// Package modelout reads the answers of vision-language models to the stimuli
// (CSV, JSONL, or the OpenAI batch output JSONL that vLLM's batch runner writes
// too), writes the matching OpenAI batch input, and queries an
// OpenAI-compatible endpoint itself. It knows nothing of the database.
//
// A model's answer is the likelier of the "Yes" and "No" tokens; P(Yes) is the
// softmax over the two log-probabilities, or is given directly.
package modelout

import (
	"errors"
	"fmt"
	"math"
	"strings"

	"github.com/cubelab/cubelab/internal/task"
)

// Flag marks rows whose answer is doubtful; flags combine as bits.
type Flag uint8

// Row flags.
const (
	// FlagLowCoverage: P_yes + P_no is under Options.MinCoverage, so the model
	// mostly wanted to say something else.
	FlagLowCoverage Flag = 1 << iota
	// FlagMissingYes / FlagMissingNo: one label was not among the top tokens.
	// From a list of top tokens (batch output) its probability is bounded by
	// the smallest listed one and PYes is that bound (FlagBound); from a file
	// that gives two log-probabilities it counts as 0.
	FlagMissingYes
	FlagMissingNo
	// FlagNoAnswer: neither label was among the top tokens. The row is kept
	// (the model did answer, just not Yes or No) with PYes NaN and no Answer;
	// dropping it would hide how often this happens, failing the import would
	// make one odd item block a whole run.
	FlagNoAnswer
	// FlagBound: PYes is the bound the listed top tokens imply for a missing
	// label: the missing token had at most the smallest listed probability,
	// so PYes = P_yes / (P_yes + p_min) (or p_min / (p_min + P_no)) is the
	// least confident value the output allows, never 1 or 0.
	FlagBound
)

// String lists the set flags, e.g. "low-coverage,missing-no".
func (f Flag) String() string {
	var s []string
	for _, x := range []struct {
		f    Flag
		name string
	}{{FlagLowCoverage, "low-coverage"}, {FlagMissingYes, "missing-yes"}, {FlagMissingNo, "missing-no"}, {FlagNoAnswer, "no-answer"}, {FlagBound, "bound"}} {
		if f&x.f != 0 {
			s = append(s, x.name)
		}
	}
	return strings.Join(s, ",")
}

// Row is one model answer to one stimulus.
type Row struct {
	Model      string
	Condition  string // e.g. "fine-tuned on towers 2-4"; empty for the base model
	Seed       int64
	StimulusID string
	// PYes is P(Yes) = P_yes / (P_yes + P_no); NaN when FlagNoAnswer is set;
	// the bound for a missing label when FlagBound is set.
	PYes float64
	// LogpYes and LogpNo are the log-probabilities when the input had them
	// (nil for P(Yes)-only rows and for a label absent from the top tokens).
	LogpYes, LogpNo *float64
	// Coverage is P_yes + P_no, the share of probability on the two labels
	// (at most 1); NaN when the input gave P(Yes) only.
	Coverage float64
	Flag     Flag
	Line     int // line in the input, for messages
}

// Answer is task.Yes or task.No, whichever is likelier, or "" when neither is
// (no answer, or an exact tie).
func (r Row) Answer() string {
	switch {
	case r.PYes > 0.5:
		return task.Yes
	case r.PYes < 0.5:
		return task.No
	}
	return ""
}

// Format is an input format.
type Format int8

// Formats; Auto looks at the first line.
const (
	Auto Format = iota
	CSV
	JSONL
	BatchOutput
)

// String names the format as the command line spells it.
func (f Format) String() string {
	return [...]string{"auto", "csv", "jsonl", "batch"}[f]
}

// ParseFormat reads "auto", "csv", "jsonl" or "batch".
func ParseFormat(s string) (Format, error) {
	for f := Auto; f <= BatchOutput; f++ {
		if f.String() == s {
			return f, nil
		}
	}
	return Auto, fmt.Errorf("modelout: unknown format %q (want auto, csv, jsonl or batch)", s)
}

// Defaults for Options.
const (
	DefaultMinCoverage  = 0.5
	DefaultMaxLineBytes = 1 << 20 // a batch output line is a few kilobytes
	DefaultMaxErrors    = 50
)

// Options control Parse; the zero value is usable.
type Options struct {
	Name   string // file name used in error messages
	Format Format
	// Model, Condition and Seed fill in what the file does not say. In the batch
	// output Model replaces response.body.model (which often carries a dated
	// snapshot name); in CSV and JSONL a row that names a different value is an error.
	Model, Condition string
	Seed             *int64
	// MinCoverage flags rows with P_yes + P_no below it (DefaultMinCoverage when 0).
	MinCoverage  float64
	MaxLineBytes int // longer lines are errors (DefaultMaxLineBytes when 0)
	MaxErrors    int // stop collecting errors after this many (DefaultMaxErrors when 0)
}

func (o *Options) defaults() {
	if o.MinCoverage == 0 {
		o.MinCoverage = DefaultMinCoverage
	}
	if o.MaxLineBytes == 0 {
		o.MaxLineBytes = DefaultMaxLineBytes
	}
	if o.MaxErrors == 0 {
		o.MaxErrors = DefaultMaxErrors
	}
	if o.Name == "" {
		o.Name = "input"
	}
}

// ErrEmpty is returned for an input without a single row.
var ErrEmpty = errors.New("modelout: no rows")

// fromLogprobs fills PYes, Coverage and flags from the two log-probabilities,
// either of which may be absent (nil) or -Inf, and returns P_yes + P_no before
// Coverage is clamped to 1 (rounded log-probabilities can add up to a little more).
func (r *Row) fromLogprobs(ly, ln *float64, minCoverage float64) (sum float64) {
	defer func() { sum, r.Coverage = r.Coverage, min(r.Coverage, 1) }()
	r.LogpYes, r.LogpNo = ly, ln
	py, pn := 0.0, 0.0
	if ly != nil {
		py = math.Exp(*ly)
	}
	if ln != nil {
		pn = math.Exp(*ln)
	}
	r.Coverage = py + pn
	switch {
	case py == 0 && pn == 0:
		r.Flag |= FlagNoAnswer
		r.PYes = math.NaN()
		return 0
	case py == 0:
		r.Flag |= FlagMissingYes
	case pn == 0:
		r.Flag |= FlagMissingNo
	}
	if ly != nil && ln != nil {
		// The softmax written as a logistic of the difference stays exact when
		// both probabilities are tiny.
		r.PYes = 1 / (1 + math.Exp(*ln-*ly))
	} else {
		r.PYes = py / (py + pn)
	}
	if r.Coverage < minCoverage {
		r.Flag |= FlagLowCoverage
	}
	return r.Coverage
}
