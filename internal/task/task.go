// Package task names the three stability tasks and holds their verbatim prompts.
//
// Participants and models are shown exactly the same text; nothing else in the
// code base may spell a prompt out, so that a paraphrase can never creep in.
package task

import (
	"fmt"
	"strconv"
	"strings"
)

// Domain is the kind of stimulus, which fixes the task asked about it.
type Domain string

// The three domains of DESIGN.md.
const (
	Tower          Domain = "tower"           // intuitive physics: will the tower fall?
	Pyramid        Domain = "pyramid"         // causal reasoning: without the red block, would others fall?
	PyramidRemoved Domain = "pyramid-removed" // factual stability of a pyramid whose red block was removed
)

// Domains yields every domain with its index, in a fixed order: `for _, d :=
// range task.Domains`. A function rather than a slice, so that no caller can
// change the list everyone else reads.
func Domains(yield func(int, Domain) bool) {
	for i, d := range [...]Domain{Tower, Pyramid, PyramidRemoved} {
		if !yield(i, d) {
			return
		}
	}
}

// Order is the domain's index in Domains, -1 for an unknown domain, for
// sorting by domain.
func (d Domain) Order() int {
	for i, x := range Domains {
		if x == d {
			return i
		}
	}
	return -1
}

// The only two answers.
const (
	Yes = "Yes"
	No  = "No"
)

const (
	towerPrompt = "You are now viewing a tower of blocks. Will the tower fall? Answer Yes if you think this " +
		"tower is unstable and will fall. Answer No if you think this tower is stable and will " +
		"not fall."
	pyramidPrompt = "You are now viewing a pyramid of blocks. If the red block was not there, would any " +
		"other blocks fall? Answer Yes if you think that other blocks would fall if the red " +
		"block was not there. Answer No if you think that no other blocks would fall if the red " +
		"block was not there."
	pyramidRemovedPrompt = "You are now viewing a pyramid of blocks from which the red block has been removed. Will " +
		"the pyramid fall? Answer Yes if you think this pyramid is unstable and will fall. Answer " +
		"No if you think this pyramid is stable and will not fall."
)

// ParseDomain accepts exactly one of the three domain names.
func ParseDomain(s string) (Domain, error) {
	switch d := Domain(s); d {
	case Tower, Pyramid, PyramidRemoved:
		return d, nil
	}
	return "", fmt.Errorf("unknown domain %q (want tower, pyramid or pyramid-removed)", s)
}

// Prompt is the verbatim question for a domain; it panics on an unknown domain,
// which ParseDomain rules out at every boundary.
func (d Domain) Prompt() string {
	switch d {
	case Tower:
		return towerPrompt
	case Pyramid:
		return pyramidPrompt
	case PyramidRemoved:
		return pyramidRemovedPrompt
	}
	panic(fmt.Sprintf("task: no prompt for domain %q", string(d)))
}

// ValidAnswer reports whether s is exactly "Yes" or "No".
func ValidAnswer(s string) bool { return s == Yes || s == No }

// ParseSizes reads sizes (blocks per tower, rows per pyramid) given as a list
// of N or N-M, as in "2-4" or "2,3,5" split at the commas.
func ParseSizes(fields []string) ([]int, error) {
	var sizes []int
	for _, f := range fields {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		lo, hi, isRange := strings.Cut(f, "-")
		a, err1 := strconv.Atoi(lo)
		b, err2 := a, error(nil)
		if isRange {
			b, err2 = strconv.Atoi(hi)
		}
		if err1 != nil || err2 != nil || a < 1 || b < a || b > 1000 {
			return nil, fmt.Errorf("%.40q is not a size: want N, N-M or a list such as 2,3,5 (whole numbers from 1 to 1000)", f)
		}
		for n := a; n <= b; n++ {
			sizes = append(sizes, n)
		}
	}
	return sizes, nil
}
