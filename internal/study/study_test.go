package study_test

import (
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/cubelab/cubelab/internal/problem"
	"github.com/cubelab/cubelab/internal/study"
	"github.com/cubelab/cubelab/internal/task"
)

func TestOrder(t *testing.T) {
	t.Run("Permutation", func(t *testing.T) {
		for _, n := range []int{0, 1, 2, 7, 120} {
			p := study.Order(42, n)
			s := slices.Clone(p)
			slices.Sort(s)
			for i := range s {
				if s[i] != i {
					t.Fatalf("Order(42, %d) = %v is not a permutation", n, p)
				}
			}
		}
	})
	t.Run("Reproducible", func(t *testing.T) {
		if a, b := study.Order(7, 50), study.Order(7, 50); !slices.Equal(a, b) {
			t.Fatalf("same seed, different orders: %v, %v", a, b)
		}
		// Pinned: participants' orders are recomputed from stored seeds, so a
		// change of algorithm (or of Go's PCG) must fail here, not go unnoticed.
		if got, want := fmt.Sprint(study.Order(1, 10)), "[0 5 2 3 1 4 8 7 6 9]"; got != want {
			t.Fatalf("Order(1, 10) = %s, want %s", got, want)
		}
	})
	t.Run("SeedsDiffer", func(t *testing.T) {
		if slices.Equal(study.Order(1, 50), study.Order(2, 50)) {
			t.Fatal("seeds 1 and 2 give the same order of 50")
		}
	})
	t.Run("Uniform", func(t *testing.T) {
		// Each of 4 items lands first about a quarter of the time.
		var first [4]int
		const n = 40000
		for seed := range int64(n) {
			first[study.Order(seed, 4)[0]]++
		}
		for i, c := range first {
			if c < n/4-600 || c > n/4+600 {
				t.Errorf("item %d first %d times in %d, want about %d", i, c, n, n/4)
			}
		}
	})
}

func TestPayBonus(t *testing.T) {
	p := study.Pay{PerCorrectMinor: 2, MaxBonusMinor: 100}
	for _, c := range []struct {
		correct int
		want    int64
	}{{0, 0}, {-1, 0}, {1, 2}, {50, 100}, {51, 100}, {120, 100}} {
		if got := p.Bonus(c.correct); got != c.want {
			t.Errorf("Bonus(%d) = %d, want %d", c.correct, got, c.want)
		}
	}
}

func TestFormatMoney(t *testing.T) {
	for _, c := range []struct {
		minor    int64
		currency string
		want     string
	}{{150, "GBP", "£1.50"}, {5, "USD", "$0.05"}, {1234567, "EUR", "€12345.67"}, {-20, "GBP", "-£0.20"}, {99, "CHF", "0.99 CHF"}} {
		if got := study.FormatMoney(c.minor, c.currency); got != c.want {
			t.Errorf("FormatMoney(%d, %s) = %q, want %q", c.minor, c.currency, got, c.want)
		}
	}
}

func TestParticipantStep(t *testing.T) {
	now := time.Now()
	p := study.Participant{Status: study.Started, NTrials: 3}
	steps := []study.Step{}
	steps = append(steps, p.Step())
	p.ConsentedAt = &now
	steps = append(steps, p.Step())
	p.DemographicsAt = &now
	steps = append(steps, p.Step())
	p.NAnswered, p.Status = 3, study.Completed
	steps = append(steps, p.Step())
	p.Status = study.Returned
	steps = append(steps, p.Step())
	want := []study.Step{study.StepConsent, study.StepInstructions, study.StepTrial, study.StepDone, study.StepInactive}
	if !slices.Equal(steps, want) {
		t.Fatalf("steps = %v, want %v", steps, want)
	}
}

func TestErrorCode(t *testing.T) {
	err := fmt.Errorf("wrapped: %w", problem.Errorf(problem.ECONFLICT, "trial %d", 3))
	if problem.Code(err) != problem.ECONFLICT || problem.Message(err) != "trial 3" {
		t.Fatalf("code %q message %q", problem.Code(err), problem.Message(err))
	}
	if problem.Code(errors.New("boom")) != problem.EINTERNAL || problem.Message(errors.New("secret")) == "secret" {
		t.Fatal("a plain error must be internal and its text hidden")
	}
	if problem.Code(nil) != "" {
		t.Fatal("nil has no code")
	}
}

// A caller changing the list it got leaves everyone else's untouched.
func TestGendersFresh(t *testing.T) {
	g := study.Genders()
	g[0] = "changed"
	if study.Genders()[0] != "Woman" {
		t.Fatal("Genders() shares its list between callers")
	}
}

func TestEvidenceFlags(t *testing.T) {
	fast, fine := 120, 800
	for name, c := range map[string]struct {
		e    study.Evidence
		want []study.Flag
	}{
		"Clean":            {study.Evidence{ImageServed: true, BrowserRTMs: &fine, ServerRTMs: 900, Shows: 1}, nil},
		"NoImage":          {study.Evidence{BrowserRTMs: &fine, ServerRTMs: 900, Shows: 1}, []study.Flag{study.FlagNoImage}},
		"TooFastBrowser":   {study.Evidence{ImageServed: true, BrowserRTMs: &fast, ServerRTMs: 900, Shows: 1}, []study.Flag{study.FlagTooFast}},
		"TooFastNoScript":  {study.Evidence{ImageServed: true, ServerRTMs: 150, Shows: 1}, []study.Flag{study.FlagTooFast}},
		"SlowNoScript":     {study.Evidence{ImageServed: true, ServerRTMs: 1500, Shows: 1}, nil},
		"Reloaded":         {study.Evidence{ImageServed: true, BrowserRTMs: &fine, Shows: 3}, []study.Flag{study.FlagReloaded}},
		"HiddenAndNoImage": {study.Evidence{BrowserRTMs: &fine, Shows: 1, Hidden: true}, []study.Flag{study.FlagNoImage, study.FlagHidden}},
	} {
		if got := c.e.Flags(200); !slices.Equal(got, c.want) {
			t.Errorf("%s: flags %v, want %v", name, got, c.want)
		}
	}
}

func TestTimeLeftText(t *testing.T) {
	for _, c := range []struct {
		left time.Duration
		want string
	}{
		{30 * time.Minute, "30 minutes left"},
		{29*time.Minute + time.Second, "30 minutes left"},
		{5*time.Minute + time.Second, "6 minutes left"},
		{5 * time.Minute, "5:00 left"},
		{4*time.Minute + 5*time.Second + time.Millisecond, "4:06 left"},
		{time.Millisecond, "0:01 left"},
		{0, "No time left"},
		{-time.Hour, "No time left"},
	} {
		if got := study.TimeLeftText(c.left); got != c.want {
			t.Errorf("TimeLeftText(%v) = %q, want %q", c.left, got, c.want)
		}
	}
}

func TestInstructedChecks(t *testing.T) {
	for _, c := range []struct{ items, n int }{{10, 4}, {3, 5}, {1, 1}, {5, 3}} {
		for seed := int64(0); seed < 50; seed++ {
			got := study.InstructedChecks(seed, c.items, c.n)
			if len(got) != c.n {
				t.Fatalf("%d checks, want %d", len(got), c.n)
			}
			yes, seen := 0, map[int]bool{}
			for _, ch := range got {
				if ch.Item < 0 || ch.Item >= c.items || !task.ValidAnswer(ch.Answer) {
					t.Fatalf("seed %d: check %+v", seed, ch)
				}
				if ch.Answer == task.Yes {
					yes++
				}
				if seen[ch.Item] && c.n <= c.items {
					t.Fatalf("seed %d: picture %d used twice among %d items", seed, ch.Item, c.items)
				}
				seen[ch.Item] = true
			}
			if d := 2*yes - c.n; d < -1 || d > 1 {
				t.Fatalf("seed %d: %d of %d demand Yes", seed, yes, c.n)
			}
			if again := study.InstructedChecks(seed, c.items, c.n); !slices.Equal(again, got) {
				t.Fatalf("seed %d: not reproducible", seed)
			}
		}
	}
	if study.InstructedChecks(1, 0, 3) != nil || study.InstructedChecks(1, 5, 0) != nil {
		t.Fatal("checks without items or without a count")
	}
}
