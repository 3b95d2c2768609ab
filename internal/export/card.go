package export

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"

	"github.com/cubelab/cubelab/internal/task"
)

// Agreement is a 2x2 table of labels (rows) against the ground truth (columns).
type Agreement struct {
	YesYes, YesNo int // label Yes; truth Yes, truth No
	NoYes, NoNo   int // label No; truth Yes, truth No
}

func (t *Agreement) add(label, truth string) {
	switch {
	case label == task.Yes && truth == task.Yes:
		t.YesYes++
	case label == task.Yes:
		t.YesNo++
	case truth == task.Yes:
		t.NoYes++
	default:
		t.NoNo++
	}
}

// N is the number of pairs in the table.
func (t Agreement) N() int { return t.YesYes + t.YesNo + t.NoYes + t.NoNo }

// Equal is the share of labels equal to the ground truth; ok is false for an empty table.
func (t Agreement) Equal() (share float64, ok bool) {
	if t.N() == 0 {
		return 0, false
	}
	return float64(t.YesYes+t.NoNo) / float64(t.N()), true
}

// Phi is the phi coefficient (Pearson's r of the two binary variables),
// (ad - bc) / sqrt((a+b)(c+d)(a+c)(b+d)). It is undefined, ok false, when a margin
// is zero: a constant variable has no correlation with anything.
func (t Agreement) Phi() (phi float64, ok bool) {
	a, b, c, d := float64(t.YesYes), float64(t.YesNo), float64(t.NoYes), float64(t.NoNo)
	den := (a + b) * (c + d) * (a + c) * (b + d)
	if den == 0 {
		return 0, false
	}
	return (a*d - b*c) / math.Sqrt(den), true
}

// phiText says phi, or why it is undefined.
func (t Agreement) phiText() string {
	if phi, ok := t.Phi(); ok {
		return fmt.Sprintf("%.3f", phi)
	}
	switch {
	case t.N() == 0:
		return "undefined (no pairs)"
	case t.YesYes+t.YesNo == 0:
		return "undefined (no label is Yes)"
	case t.NoYes+t.NoNo == 0:
		return "undefined (no label is No)"
	case t.YesYes+t.NoYes == 0:
		return "undefined (no ground truth is Yes)"
	}
	return "undefined (no ground truth is No)"
}

func (t Agreement) equalText() string {
	if eq, ok := t.Equal(); ok {
		return fmt.Sprintf("%.1f%% (%d of %d)", 100*eq, t.YesYes+t.NoNo, t.N())
	}
	return "undefined (no pairs)"
}

type countKey struct {
	domain task.Domain
	size   int
}

// stats accumulates the card's figures while the stream goes by; it grows with the
// number of participants, studies and sizes, never with answers or images.
type stats struct {
	images, examples                 [2]int // train, validation
	responses                        int
	participants, studies, sets      map[string]struct{}
	skipped, tiesDropped, tiesBroken int
	tooFewForSoft                    int // images left out of a soft export: fewer than two answers
	labels, human                    Agreement
	counts                           map[countKey]*[2]int // Yes, No
}

func newStats() *stats {
	return &stats{participants: map[string]struct{}{}, studies: map[string]struct{}{}, sets: map[string]struct{}{}, counts: map[countKey]*[2]int{}}
}

func (s *stats) addImage(split string, g []Answer, examples []example) {
	i := 0
	if split == Validation {
		i = 1
	}
	s.images[i]++
	s.examples[i] += len(examples)
	truth := g[0].Truth
	if g[0].Set != "" {
		s.sets[g[0].Set] = struct{}{}
	}
	k := countKey{g[0].Domain, g[0].Size}
	c := s.counts[k]
	if c == nil {
		c = new([2]int)
		s.counts[k] = c
	}
	for _, e := range examples {
		s.labels.add(e.label, truth)
		if e.label == task.Yes {
			c[0]++
		} else {
			c[1]++
		}
	}
	for j := range g {
		a := &g[j]
		if a.Response == "" {
			continue
		}
		s.responses++
		s.human.add(a.Response, truth)
		if a.ParticipantID != "" {
			s.participants[a.ParticipantID] = struct{}{}
		}
		if a.Study != "" {
			s.studies[a.Study] = struct{}{}
		}
	}
}

func (s *stats) summary(opts Options) Summary {
	sum := Summary{
		Options:     opts,
		Images:      s.images[0] + s.images[1],
		Examples:    s.examples[0] + s.examples[1],
		TrainImages: s.images[0], ValidationImages: s.images[1],
		TrainExamples: s.examples[0], ValidationExamples: s.examples[1],
		Responses:   s.responses,
		Annotators:  len(s.participants),
		SkippedRows: s.skipped,
		TiesDropped: s.tiesDropped, TiesBroken: s.tiesBroken, TooFewForSoft: s.tooFewForSoft,
		Labels: s.labels, HumanAnswers: s.human,
	}
	for st := range s.studies {
		sum.Studies = append(sum.Studies, st)
	}
	slices.Sort(sum.Studies)
	for st := range s.sets {
		sum.Sets = append(sum.Sets, st)
	}
	slices.Sort(sum.Sets)
	for k, c := range s.counts {
		sum.Counts = append(sum.Counts, Count{Domain: k.domain, Size: k.size, Yes: c[0], No: c[1]})
	}
	slices.SortFunc(sum.Counts, func(a, b Count) int {
		if d := a.Domain.Order() - b.Domain.Order(); d != 0 {
			return d
		}
		return a.Size - b.Size
	})
	return sum
}

func sourceText(o Options) string {
	switch o.Source {
	case EveryAnswer:
		return "every human answer, one example per answer (an image answered by several people appears once per answer, possibly with different labels)"
	case Majority:
		if o.Ties == CoinTies {
			return "the majority of the human answers to each image, one example per image; ties broken by a coin seeded with the export seed and the stimulus id"
		}
		return "the majority of the human answers to each image, one example per image; images with tied answers are left out"
	case AsCollected:
		return "the human answers as collected in a pool study with one response per image (R = 1), one example per image"
	case SoftLabel:
		return "soft labels: for each image answered at least twice, the share of its answers that are Yes (`p_yes`) and their number (`n_answers`), " +
			"one example per image; the example's answer is the majority, a tie broken by a coin seeded with the export seed and the stimulus id"
	}
	return "the ground truth, computed from rigid-body statics, one example per image"
}

func listText[T any](xs []T) string {
	if len(xs) == 0 {
		return "all"
	}
	s := make([]string, len(xs))
	for i, x := range xs {
		s[i] = fmt.Sprint(x)
	}
	return strings.Join(s, ", ")
}

// writeCard renders the dataset card README.md.
func writeCard(w io.Writer, s *Summary, files string) error {
	b := bufio.NewWriter(w)
	o := s.Options
	fmt.Fprintf(b, "# cubelab stability judgements: fine-tuning export\n\n")
	if !o.Modified.IsZero() {
		fmt.Fprintf(b, "Exported %s.\n\n", o.Modified.UTC().Format("2006-01-02 15:04 UTC"))
	}
	fmt.Fprintf(b, "## Labels\n\nLabel source: %s (`%s`).\n\n", sourceText(o), o.Source)
	fmt.Fprintf(b, "Every example asks the task's verbatim prompt (the one participants saw; in the CSV the `domain` column "+
		"names it) and its label is exactly `Yes` or `No`. "+
		"Attention-check items were left out before the export, and only the answers of participants who finished "+
		"(completed or approved) were kept: those of rejected, returned, timed-out and unfinished ones were not.\n\n")
	fmt.Fprintf(b, "Stimulus sets: %s. Studies: %s.\n\n", listText(s.Sets), listText(s.Studies))
	fmt.Fprintf(b, "## Exclusion rule\n\n")
	if o.Exclusion == "" {
		fmt.Fprintf(b, "No exclusion rule beyond the participant's status.\n\n")
	} else {
		fmt.Fprintf(b, "%s\n\n", o.Exclusion)
	}
	if len(o.Excluded) > 0 {
		fmt.Fprintf(b, "%d participants excluded by it:\n\n| participant_id | study | reasons |\n|---|---|---|\n", len(o.Excluded))
		for _, e := range o.Excluded {
			fmt.Fprintf(b, "| %s | %s | %s |\n", e.ParticipantID, e.Study, strings.Join(e.Reasons, "; "))
		}
		fmt.Fprintf(b, "\n")
	}
	fmt.Fprintf(b, "Filters: studies %s; domains %s; sizes %s; stimulus-set splits %s.", listText(o.Filter.Studies),
		listText(o.Filter.Domains), listText(o.Filter.Sizes), listText(o.Filter.SetSplits))
	if s.SkippedRows > 0 {
		fmt.Fprintf(b, " %d rows did not match them.", s.SkippedRows)
	}
	fmt.Fprintf(b, "\n\n")
	if o.Source == Majority {
		fmt.Fprintf(b, "Ties: %d images dropped, %d broken by the coin.\n\n", s.TiesDropped, s.TiesBroken)
	}
	if o.Source == SoftLabel {
		fmt.Fprintf(b, "Soft labels: %d images with fewer than %d answers left out; %d ties (p_yes = 0.5) answered by the coin. "+
			"The CSV and imagefolder formats carry `p_yes` and `n_answers` as columns; the chat formats (TRL, messages, LLaMA-Factory) "+
			"a `metadata` object on each example (`stimulus_id`, `p_yes`, `n_answers`) beside the answer; OpenAI a labels file beside "+
			"each training file, line for line.\n\n",
			s.TooFewForSoft, minSoftAnswers, s.TiesBroken)
	}
	fmt.Fprintf(b, "## Files\n\n%s\n\n", files)
	fmt.Fprintf(b, "## Split\n\nThe split is by image, so no image is in both splits: an image goes to validation when "+
		"u < %g, where u is the first 8 bytes of SHA-256(\"split\" || seed as 8 bytes big-endian || stimulus id), "+
		"read big-endian, shifted right by 11 and divided by 2^53. Seed: %d.\n\n", o.ValidationFraction, o.Seed)
	fmt.Fprintf(b, "| split | images | examples |\n|---|---:|---:|\n")
	fmt.Fprintf(b, "| train | %d | %d |\n| validation | %d | %d |\n| total | %d | %d |\n\n",
		s.TrainImages, s.TrainExamples, s.ValidationImages, s.ValidationExamples, s.Images, s.Examples)
	fmt.Fprintf(b, "## Counts per size and answer\n\nExamples by domain, size (blocks of a tower, rows of a pyramid) and label.\n\n")
	fmt.Fprintf(b, "| domain | size | Yes | No | total |\n|---|---:|---:|---:|---:|\n")
	for _, c := range s.Counts {
		fmt.Fprintf(b, "| %s | %d | %d | %d | %d |\n", c.Domain, c.Size, c.Yes, c.No, c.Yes+c.No)
	}
	fmt.Fprintf(b, "\n## Annotators\n\n%d human answers to the exported images from %d distinct annotators; studies: %s.\n\n",
		s.Responses, s.Annotators, listText(s.Studies))
	fmt.Fprintf(b, "## Agreement with the ground truth\n\n"+
		"Share of labels equal to the ground truth, and the phi correlation between label and ground truth "+
		"(undefined when a label or the truth never takes one of its values). "+
		"The paper reports 63.5%% and 0.27 for its human labels.\n\n")
	fmt.Fprintf(b, "| compared with the ground truth | pairs | equal | phi |\n|---|---:|---:|---:|\n")
	fmt.Fprintf(b, "| exported labels | %d | %s | %s |\n", s.Labels.N(), s.Labels.equalText(), s.Labels.phiText())
	fmt.Fprintf(b, "| every human answer | %d | %s | %s |\n", s.HumanAnswers.N(), s.HumanAnswers.equalText(), s.HumanAnswers.phiText())
	fmt.Fprintf(b, "\n## Checksums\n\nSHA-256 of the text files and of `SHA256SUMS`, which lists every file of the ZIP "+
		"but itself and this card (check with `sha256sum -c SHA256SUMS`).\n\n| file | SHA-256 |\n|---|---|\n")
	for _, c := range s.Checksums {
		fmt.Fprintf(b, "| `%s` | `%s` |\n", c.Name, c.SHA256)
	}
	return b.Flush()
}
