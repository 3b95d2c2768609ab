// Package analysis compares the answers of people and models on the same stimuli:
// accuracy with Wilson intervals, error consistency (Geirhos et al. 2020), Cohen's
// kappa against the ground truth, and seeded bootstrap intervals for their means.
//
// It is pure: the caller loads answers into a Matrix (observers x items) and gets
// numbers back. Attention-check items and rejected participants must not count; the
// caller either leaves them out of the Matrix or marks them (Item.AttentionCheck,
// Observer.Excluded) and Analyze drops them.
package analysis

import (
	"fmt"

	"github.com/cubelab/cubelab/internal/task"
)

// Answer is one observer's answer to one item; the zero value is Missing.
type Answer int8

// The three states of an answer cell.
const (
	Missing Answer = iota
	Yes
	No
)

// ParseAnswer maps "Yes", "No" and "" (missing) to an Answer.
func ParseAnswer(s string) (Answer, error) {
	switch s {
	case task.Yes:
		return Yes, nil
	case task.No:
		return No, nil
	case "":
		return Missing, nil
	}
	return Missing, fmt.Errorf("analysis: answer %q is neither Yes nor No", s)
}

// String returns "Yes", "No" or "" for Missing.
func (a Answer) String() string {
	switch a {
	case Yes:
		return task.Yes
	case No:
		return task.No
	}
	return ""
}

// Kind tells people from models.
type Kind int8

// Observer kinds.
const (
	Human Kind = iota
	Model
)

// Item is one stimulus as the analysis sees it.
type Item struct {
	ID   string
	Task task.Domain
	// Size is the condition within a task: blocks for towers, rows for pyramids
	// (the caller decides; it only has to be positive and consistent).
	Size  int
	Truth Answer
	// AttentionCheck items are dropped before anything is computed.
	AttentionCheck bool
}

// Observer is one participant or one model run and its answers, aligned with Matrix.Items.
type Observer struct {
	ID   string // participant id, or any label for a model run
	Kind Kind
	// Model, Condition and Seed identify a model run; runs that differ only in
	// Seed are averaged. Ignored for people.
	Model     string
	Condition string
	Seed      int64
	// Trained is what the condition was fine-tuned on; every seed of a
	// model and condition carries the same (Validate checks).
	Trained Trained
	// Excluded observers (rejected participants) are dropped before anything is computed.
	Excluded bool
	Answers  []Answer
}

// Matrix holds every answer of every observer to every item; Observers[i].Answers[j]
// is the answer to Items[j].
type Matrix struct {
	Items     []Item
	Observers []Observer
	index     map[string]int // item id -> position, built by Set
}

// NewMatrix starts a matrix over items, ready for AddObserver and Set.
func NewMatrix(items []Item) *Matrix {
	return &Matrix{Items: items}
}

// AddObserver appends an observer with every answer Missing and returns its index.
func (m *Matrix) AddObserver(o Observer) int {
	o.Answers = make([]Answer, len(m.Items))
	m.Observers = append(m.Observers, o)
	return len(m.Observers) - 1
}

// Set records observer's answer to the item with the given id, so that rows
// from the database can be poured in as they come.
func (m *Matrix) Set(observer int, itemID string, a Answer) error {
	if m.index == nil || len(m.index) != len(m.Items) {
		m.index = make(map[string]int, len(m.Items))
		for j, it := range m.Items {
			m.index[it.ID] = j
		}
	}
	j, ok := m.index[itemID]
	if !ok {
		return fmt.Errorf("analysis: answer to unknown item %q", itemID)
	}
	if observer < 0 || observer >= len(m.Observers) {
		return fmt.Errorf("analysis: no observer %d", observer)
	}
	m.Observers[observer].Answers[j] = a
	return nil
}

// Validate checks that every observer has one answer per item and that items are usable.
func (m *Matrix) Validate() error {
	seen := make(map[string]bool, len(m.Items))
	for j, it := range m.Items {
		if it.ID == "" {
			return fmt.Errorf("analysis: item %d has no id", j)
		}
		if seen[it.ID] {
			return fmt.Errorf("analysis: item %q appears twice", it.ID)
		}
		seen[it.ID] = true
		if it.Truth != Yes && it.Truth != No {
			return fmt.Errorf("analysis: item %q has no ground truth", it.ID)
		}
	}
	type runKey struct {
		model, condition string
		seed             int64
	}
	runs := map[runKey]bool{}
	trained := map[[2]string]string{}
	for i, o := range m.Observers {
		switch o.Kind {
		case Human:
		case Model:
			ck, t := [2]string{o.Model, o.Condition}, o.Trained.String()
			if prev, ok := trained[ck]; ok && prev != t {
				return fmt.Errorf("analysis: model %q condition %q is trained on %q in one seed and %q in another", o.Model, o.Condition, prev, t)
			}
			trained[ck] = t
			// A run loaded twice would count as two seeds and halve the others' weight.
			k := runKey{o.Model, o.Condition, o.Seed}
			if runs[k] {
				return fmt.Errorf("analysis: model %q condition %q seed %d appears twice", o.Model, o.Condition, o.Seed)
			}
			runs[k] = true
		default:
			return fmt.Errorf("analysis: observer %d (%s) is neither human nor model", i, o.ID)
		}
		if len(o.Answers) != len(m.Items) {
			return fmt.Errorf("analysis: observer %d (%s) has %d answers for %d items", i, o.ID, len(o.Answers), len(m.Items))
		}
		for j, a := range o.Answers {
			if a != Missing && a != Yes && a != No {
				return fmt.Errorf("analysis: observer %s item %s: invalid answer %d", o.ID, m.Items[j].ID, a)
			}
		}
	}
	return nil
}
