package study

import (
	"math"
	"testing"
)

func TestExpectedBonus(t *testing.T) {
	p := Pay{BaseMinor: 150, PerCorrectMinor: 2, MaxBonusMinor: 1000, Currency: "GBP"}
	// No cap in reach: the mean of 2 k is 2 n p.
	if got := p.ExpectedBonus(120, 0.65); math.Abs(got-2*120*0.65) > 1e-9 {
		t.Fatalf("uncapped: got %v, want %v", got, 2*120*0.65)
	}
	// The cap binds per participant: with a cap at 150 (75 correct) and a mean
	// of 78 correct, the expected bonus lies below min(cap, 2 x 78) = 150.
	capped := Pay{PerCorrectMinor: 2, MaxBonusMinor: 150}
	got := capped.ExpectedBonus(120, 0.65)
	if got >= 150 || got < 140 {
		t.Fatalf("capped: got %v, want in [140, 150)", got)
	}
	if got := p.ExpectedBonus(10, 1); got != 20 {
		t.Fatalf("always right: %v", got)
	}
	if got := p.ExpectedBonus(10, 0); got != 0 {
		t.Fatalf("never right: %v", got)
	}
	if got := p.ExpectedCost(120, 0.65); got != 150+156 {
		t.Fatalf("cost: %d, want %d", got, 150+156)
	}
}
