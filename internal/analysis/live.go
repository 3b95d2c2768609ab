package analysis

import (
	"cmp"
	"fmt"
	"math"
	"slices"
)

// Live keeps a study's comparison up to date as answers arrive: each answer
// updates counts (the person's accuracy, their agreement with every model
// run and with every other person who answered the item) in time
// proportional to the runs and people, never re-reading what came before.
// A Snapshot turns the counts into the report's numbers for the task over all
// its sizes: the same kappas, and, since the bootstrap draws from streams
// keyed by what it measures, the same intervals that Analyze gives for the
// same answers (held equal by TestLiveEqualsAnalyze).
type Live struct {
	items  []Item
	index  map[string]int
	runs   []liveRun // sorted by model, condition, seed
	people []*livePerson
	byID   map[string]int
	// answeredBy[j] lists the people (indices) who answered item j.
	answeredBy [][]int
	// pairs[b][a] are the counts of people a < b over the items both answered.
	pairs [][]counts4
}

type liveRun struct {
	model, condition string
	seed             int64
	answers          []Answer
}

type livePerson struct {
	answers          []Answer
	answered, rights int
	runs             []counts4 // with each run, over the items both answered
}

// NewLive starts a live comparison over items (one task; attention checks
// are kept out) with the imported model runs (Kind Model, answers aligned
// with items).
func NewLive(items []Item, runs []Observer) (*Live, error) {
	l := &Live{index: map[string]int{}, byID: map[string]int{}}
	for j, it := range items {
		if it.Task != items[0].Task {
			return nil, fmt.Errorf("analysis: live comparison of one task, got %s and %s", items[0].Task, it.Task)
		}
		if it.Truth != Yes && it.Truth != No {
			return nil, fmt.Errorf("analysis: item %q has no ground truth", it.ID)
		}
		l.index[it.ID] = j
	}
	l.items = items
	l.answeredBy = make([][]int, len(items))
	for _, o := range runs {
		if o.Kind != Model || len(o.Answers) != len(items) {
			return nil, fmt.Errorf("analysis: run %q is not a model run over the items", o.ID)
		}
		l.runs = append(l.runs, liveRun{o.Model, o.Condition, o.Seed, o.Answers})
	}
	slices.SortStableFunc(l.runs, func(a, b liveRun) int {
		return cmp.Or(cmp.Compare(a.model, b.model), cmp.Compare(a.condition, b.condition), cmp.Compare(a.seed, b.seed))
	})
	return l, nil
}

// Answer records a person's answer to an item. A person is added at their
// first answer; an item already answered by the person is refused, as is an
// unknown item. Attention checks are ignored.
func (l *Live) Answer(person, itemID string, a Answer) error {
	j, ok := l.index[itemID]
	if !ok {
		return fmt.Errorf("analysis: answer to unknown item %q", itemID)
	}
	if a != Yes && a != No {
		return fmt.Errorf("analysis: answer %d to %q is neither Yes nor No", a, itemID)
	}
	if l.items[j].AttentionCheck {
		return nil
	}
	p, ok := l.byID[person]
	if !ok {
		p = len(l.people)
		l.byID[person] = p
		l.people = append(l.people, &livePerson{answers: make([]Answer, len(l.items)), runs: make([]counts4, len(l.runs))})
		l.pairs = append(l.pairs, make([]counts4, p))
	}
	me := l.people[p]
	if me.answers[j] != Missing {
		return fmt.Errorf("analysis: %s answered %q twice", person, itemID)
	}
	me.answers[j] = a
	right := a == l.items[j].Truth
	me.answered++
	if right {
		me.rights++
	}
	for r, run := range l.runs {
		if run.answers[j] != Missing {
			me.runs[r].add(run.answers[j] == l.items[j].Truth, right)
		}
	}
	for _, q := range l.answeredBy[j] {
		qRight := l.people[q].answers[j] == l.items[j].Truth
		if q < p {
			l.pairs[p][q].add(qRight, right)
		} else {
			l.pairs[q][p].add(right, qRight)
		}
	}
	l.answeredBy[j] = append(l.answeredBy[j], p)
	return nil
}

// People is how many people have answered so far.
func (l *Live) People() int { return len(l.people) }

// LiveSnapshot is the comparison so far.
type LiveSnapshot struct {
	People        int
	Answers       int
	HumanAccuracy Accuracy
	HumanHuman    Estimate // over pairs, as the report's kappa_human_human
	Models        []LiveModel
}

// LiveModel is one model and condition so far.
type LiveModel struct {
	Model, Condition string
	ModelHuman       Estimate // over people, each person's kappa averaged over seeds
}

// Snapshot computes the numbers from the counts: kappas from counts, the
// bootstrap of their means with opt's resamples and seed.
func (l *Live) Snapshot(opt Options) LiveSnapshot {
	if opt.Resamples == 0 {
		opt.Resamples = DefaultResamples
	}
	var s LiveSnapshot
	var correct int
	for _, p := range l.people {
		s.Answers += p.answered
		correct += p.rights
	}
	s.People = len(l.people)
	s.HumanAccuracy = NewAccuracy(correct, s.Answers)
	if len(l.items) == 0 {
		return s
	}
	d := l.items[0].Task
	// Pairs in the order Analyze lists them: by the first person, then the
	// second, the defined ones, then one NaN for each undefined.
	var hh []float64
	undefined := 0
	for a := range l.people {
		for b := a + 1; b < len(l.people); b++ {
			c := l.pairs[b][a]
			if c.n == 0 {
				continue
			}
			if k := c.kappa(); k.Defined {
				hh = append(hh, k.Value)
			} else {
				undefined++
			}
		}
	}
	for range undefined {
		hh = append(hh, math.NaN())
	}
	specs := []meanSpec{{key: meanKey(d, MeasureHumanHuman, len(hh)), units: hh, set: func(e Estimate) { s.HumanHuman = e }}}
	for from := 0; from < len(l.runs); {
		to := from + 1
		for to < len(l.runs) && l.runs[to].model == l.runs[from].model && l.runs[to].condition == l.runs[from].condition {
			to++
		}
		mi := len(s.Models)
		s.Models = append(s.Models, LiveModel{Model: l.runs[from].model, Condition: l.runs[from].condition})
		var mh []float64
		for _, p := range l.people {
			var sum float64
			var n, answered int
			for r := from; r < to; r++ {
				k := p.runs[r].kappa()
				if k.N > 0 {
					answered++
				}
				if k.Defined {
					sum += k.Value
					n++
				}
			}
			switch {
			case n > 0:
				mh = append(mh, sum/float64(n))
			case answered > 0:
				mh = append(mh, math.NaN())
			}
		}
		specs = append(specs, meanSpec{key: meanKey(d, MeasureModelHuman, len(mh)), units: mh, set: func(e Estimate) { s.Models[mi].ModelHuman = e }})
		from = to
	}
	jobs, finish := meanJobs(specs, opt.Resamples)
	runJobs(jobs, opt.Seed, opt.Workers)
	for _, f := range finish {
		f()
	}
	return s
}
