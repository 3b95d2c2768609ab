package analysis

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/cubelab/cubelab/internal/task"
)

// Trained is what a model condition was fine-tuned on: cells of (task,
// size), Size 0 meaning every size of the task. The report splits a task's
// items into those the condition was trained on (in distribution) and the
// rest (held out), as the paper does for towers 2-4 against 5-7.
//
// Its text form lists tasks separated by ";", each "task" or
// "task:sizes" with sizes as numbers and ranges, e.g. "tower:2-4" or
// "tower:2-4,7;pyramid". String gives the canonical form.
type Trained []TrainedCell

// TrainedCell is one task and size a condition was trained on (Size 0: all sizes).
type TrainedCell struct {
	Task task.Domain
	Size int
}

// maxTrainedSize bounds a size range, so that "tower:1-1000000000" cannot
// allocate a cell per number.
const maxTrainedSize = 100

// ParseTrained reads the text form of Trained; "" and "none" are nothing.
// Its errors are written for the person who typed the text.
func ParseTrained(s string) (Trained, error) {
	s = strings.TrimSpace(s)
	if s == "" || strings.EqualFold(s, "none") {
		return nil, nil
	}
	var t Trained
	for part := range strings.SplitSeq(s, ";") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		name, sizes, hasSizes := strings.Cut(part, ":")
		d, err := task.ParseDomain(strings.TrimSpace(strings.ToLower(name)))
		if err != nil {
			return nil, fmt.Errorf("trained on %q: %q is not a task (tower, pyramid or pyramid-removed)", part, strings.TrimSpace(name))
		}
		if !hasSizes {
			t = append(t, TrainedCell{Task: d})
			continue
		}
		if strings.TrimSpace(sizes) == "" {
			return nil, fmt.Errorf("trained on %q: give sizes after the colon, e.g. %s:2-4", part, d)
		}
		for r := range strings.SplitSeq(sizes, ",") {
			r = strings.TrimSpace(r)
			a, b, isRange := strings.Cut(r, "-")
			lo, err1 := strconv.Atoi(strings.TrimSpace(a))
			hi, err2 := lo, error(nil)
			if isRange {
				hi, err2 = strconv.Atoi(strings.TrimSpace(b))
			}
			if err := errors.Join(err1, err2); err != nil || lo < 1 || hi < lo || hi > maxTrainedSize {
				return nil, fmt.Errorf("trained on %q: %q is not a size or a range of sizes between 1 and %d (e.g. 2-4)", part, r, maxTrainedSize)
			}
			for n := lo; n <= hi; n++ {
				t = append(t, TrainedCell{Task: d, Size: n})
			}
		}
	}
	return t.normal(), nil
}

// normal sorts t, drops repeats and sizes covered by a whole task.
func (t Trained) normal() Trained {
	whole := map[task.Domain]bool{}
	for _, c := range t {
		if c.Size == 0 {
			whole[c.Task] = true
		}
	}
	out := slices.DeleteFunc(slices.Clone(t), func(c TrainedCell) bool { return c.Size != 0 && whole[c.Task] })
	slices.SortFunc(out, func(a, b TrainedCell) int {
		return cmp.Or(cmp.Compare(a.Task.Order(), b.Task.Order()), cmp.Compare(a.Size, b.Size))
	})
	return slices.Compact(out)
}

// Has reports whether the condition was trained on this task and size.
func (t Trained) Has(d task.Domain, size int) bool {
	for _, c := range t {
		if c.Task == d && (c.Size == 0 || c.Size == size) {
			return true
		}
	}
	return false
}

// Touches reports whether the condition was trained on any size of the task.
func (t Trained) Touches(d task.Domain) bool {
	for _, c := range t {
		if c.Task == d {
			return true
		}
	}
	return false
}

// String is the canonical text form ("" for nothing), runs of sizes as ranges.
func (t Trained) String() string {
	t = t.normal()
	var parts []string
	for i := 0; i < len(t); {
		d := t[i].Task
		if t[i].Size == 0 {
			parts = append(parts, string(d))
			i++
			continue
		}
		var ranges []string
		for i < len(t) && t[i].Task == d {
			lo := t[i].Size
			for i+1 < len(t) && t[i+1].Task == d && t[i+1].Size == t[i].Size+1 {
				i++
			}
			if hi := t[i].Size; hi > lo {
				ranges = append(ranges, fmt.Sprintf("%d-%d", lo, hi))
			} else {
				ranges = append(ranges, strconv.Itoa(lo))
			}
			i++
		}
		parts = append(parts, string(d)+":"+strings.Join(ranges, ","))
	}
	return strings.Join(parts, ";")
}
