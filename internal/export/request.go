package export

import (
	"strconv"
	"strings"

	"github.com/cubelab/cubelab/internal/problem"
	"github.com/cubelab/cubelab/internal/study"
	"github.com/cubelab/cubelab/internal/task"
)

// Request is an export as asked for, before it is checked: the command line's
// flags and the web form's fields fill it with the text they were given, and
// Check is the one place either is read. Empty fields take the defaults both
// front ends share (drop ties, 10% validation, seed 0, each study's own
// exclusion rule).
type Request struct {
	Studies []string // study slugs
	Set     string   // a stimulus set, for the ground truth
	Source  string
	Format  string
	Ties    string
	Val     string // share of images in validation
	Seed    string
	Domains []string
	Sizes   []string // each N or N-M
	Splits  []string // stimulus-set splits
	Exclude string   // an exclusion rule overriding each study's
}

// Checked is a Request read and found sound.
type Checked struct {
	Options Options // Filter holds the studies, domains, sizes and splits
	Studies []string
	Set     string
	// Exclude overrides each study's exclusion rule; nil applies each study's own.
	Exclude *study.Exclusion
}

// The defaults of the fields left empty.
const (
	DefaultValidation = 0.1
	DefaultSeed       = 0
)

// Check reads every field of q, refusing the first that is wrong with a
// *problem.Error whose Field is the field's name as Request spells it in
// lower case (study, set, source, format, ties, val, seed, domain, sizes,
// split, exclude) and whose message says what would be right.
func (q Request) Check() (Checked, error) {
	var c Checked
	bad := func(field, format string, args ...any) error {
		return problem.Errorf(problem.EINVALID, format, args...).In(field)
	}
	c.Studies = nonEmpty(q.Studies)
	c.Set = strings.TrimSpace(q.Set)
	switch {
	case len(c.Studies) > 0 && c.Set != "":
		return c, bad("study", "Choose studies or a stimulus set, not both: a set gives its items' ground truth, studies their answers.")
	case len(c.Studies) == 0 && c.Set == "":
		return c, bad("study", "Choose at least one study, or a stimulus set for the ground truth.")
	}
	var err error
	o := &c.Options
	if o.Source, err = ParseSource(strings.TrimSpace(q.Source)); err != nil {
		return c, bad("source", "Choose a label source: every (each answer), majority, collected (as collected), truth (the ground truth) or soft (the share of Yes, p_yes).")
	}
	if c.Set != "" && o.Source != GroundTruth {
		return c, bad("set", "A stimulus set has no answers: with a set, choose the ground truth (truth) as the label source, or choose studies.")
	}
	if o.Format, err = ParseFormat(strings.TrimSpace(q.Format)); err != nil {
		return c, bad("format", "Choose a format: trl, llamafactory, messages, imagefolder, csv or openai.")
	}
	if o.Ties, err = ParseTies(or(q.Ties, string(DropTies))); err != nil {
		return c, bad("ties", "Choose what to do with tied majorities: drop them, or coin (a seeded coin picks).")
	}
	val := or(q.Val, strconv.FormatFloat(DefaultValidation, 'g', -1, 64))
	if o.ValidationFraction, err = strconv.ParseFloat(val, 64); err != nil || !(o.ValidationFraction >= 0 && o.ValidationFraction < 1) {
		return c, bad("val", "The validation share must be a number from 0 up to, not including, 1, not %.40q.", val)
	}
	seed := or(q.Seed, strconv.Itoa(DefaultSeed))
	if o.Seed, err = strconv.ParseUint(seed, 10, 64); err != nil {
		return c, bad("seed", "The seed must be a whole number from 0, not %.40q.", seed)
	}
	for _, d := range nonEmpty(q.Domains) {
		dom, err := task.ParseDomain(d)
		if err != nil {
			return c, bad("domain", "There is no task %.40q: choose tower, pyramid or pyramid-removed.", d)
		}
		o.Filter.Domains = append(o.Filter.Domains, dom)
	}
	if o.Filter.Sizes, err = task.ParseSizes(q.Sizes); err != nil {
		return c, bad("sizes", "%s.", err)
	}
	o.Filter.SetSplits = nonEmpty(q.Splits)
	o.Filter.Studies = c.Studies
	if ex := strings.TrimSpace(q.Exclude); ex != "" {
		rule, err := study.ParseExclusion(ex)
		if err != nil {
			return c, bad("exclude", "%s", problem.Message(err))
		}
		c.Exclude = &rule
	}
	return c, nil
}

// List splits comma-separated text, as the command line's flags are given.
func List(s string) []string { return nonEmpty(strings.Split(s, ",")) }

// nonEmpty trims each value and drops the empty ones.
func nonEmpty(values []string) []string {
	var out []string
	for _, v := range values {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}

func or(s, def string) string {
	if s = strings.TrimSpace(s); s != "" {
		return s
	}
	return def
}
