package analysis

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestChanceVarianceExact: the null standard deviation of one pair's kappa
// equals the one computed by enumerating the hypergeometric distribution of
// the trials both got right, and its mean there is 0.
func TestChanceVarianceExact(t *testing.T) {
	for _, c := range []struct{ n, k1, k2 int }{{100, 84, 93}, {10, 7, 4}, {6, 3, 5}, {120, 60, 90}} {
		lo, hi := max(0, c.k1+c.k2-c.n), min(c.k1, c.k2)
		var mean, sq float64
		for a := lo; a <= hi; a++ {
			p := math.Exp(logChoose(c.k1, a) + logChoose(c.n-c.k1, c.k2-a) - logChoose(c.n, c.k2))
			k := errorConsistencyCounts(c.n, c.k1, c.k2, c.n-c.k1-c.k2+2*a).Value
			mean += p * k
			sq += p * k * k
		}
		// any observed count will do: the null does not depend on it
		pc := chanceOfCounts(c.n, c.k1, c.k2, c.n-c.k1-c.k2+2*hi)
		if math.Abs(mean) > 1e-12 || math.Abs(pc.sd-math.Sqrt(sq-mean*mean)) > 1e-12 {
			t.Errorf("%+v: null mean %g sd %.15g, formula sd %.15g", c, mean, math.Sqrt(sq-mean*mean), pc.sd)
		}
	}
	// The design's reference pair: N = 100, p1 = 0.84, p2 = 0.93, c_obs =
	// 0.89, kappa 0.470135; sd = 0.02 sqrt(84*93*16*7 / (100^2 * 99)) / 0.2076.
	pc := chanceOfCounts(100, 84, 93, 89)
	if math.Abs(pc.kappa-0.470135) > 1e-6 || math.Abs(pc.sd-0.0905680) > 1e-6 {
		t.Errorf("reference pair: kappa %.6f sd %.7f, want 0.470135 0.0905680", pc.kappa, pc.sd)
	}
}

// TestChanceMean: one pair alone gets the exact p-value; a mean of pairs
// the normal one from the summed null variances; the bounds are the means
// of the pairs' bounds; undefined pairs are left out.
func TestChanceMean(t *testing.T) {
	var one chanceAcc
	one.addPair(chanceOfCounts(100, 84, 93, 89))
	r1 := one.result()
	want := KappaRangeCounts(100, 84, 93, 83)
	if r1.P != want.P || r1.Min != want.Min || r1.Max != want.Max || r1.Units != 1 {
		t.Errorf("one pair %+v, want exact %+v", r1, want)
	}
	var acc chanceAcc
	a, b := chanceOfCounts(100, 84, 93, 89), chanceOfCounts(40, 30, 20, 22)
	acc.addPair(a)
	acc.addPair(b)
	acc.addPair(chanceOfCounts(10, 10, 10, 10)) // undefined
	r := acc.result()
	z := (a.kappa + b.kappa) / math.Sqrt(a.sd*a.sd+b.sd*b.sd)
	if r.Units != 2 || math.Abs(r.Z-z) > 1e-12 || math.Abs(r.P-math.Erfc(math.Abs(z)/math.Sqrt2)) > 1e-12 ||
		math.Abs(r.Min-(a.min+b.min)/2) > 1e-12 || math.Abs(r.Max-(a.max+b.max)/2) > 1e-12 {
		t.Errorf("mean of two %+v (z %g)", r, z)
	}
	var empty chanceAcc
	if e := empty.result(); !math.IsNaN(e.P) || !math.IsNaN(e.Min) || e.Units != 0 {
		t.Errorf("empty %+v", e)
	}
}

// TestChanceCalibrated: people who err independently of one another (every
// person against every other, so pairs share people) give p < 0.05 in about
// 5% of simulated studies, and a shared error pattern is found.
func TestChanceCalibrated(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 7))
	const studies, people, n = 2000, 8, 40
	study := func(shared float64) float64 {
		common := make([]bool, n)
		for j := range common {
			common[j] = r.Float64() < 0.3
		}
		right := make([][]bool, people)
		for p := range right {
			acc := 0.6 + 0.3*r.Float64()
			right[p] = make([]bool, n)
			for j := range n {
				if r.Float64() < shared {
					right[p][j] = !common[j]
				} else {
					right[p][j] = r.Float64() < acc
				}
			}
		}
		var acc chanceAcc
		for a := range people {
			for b := a + 1; b < people; b++ {
				var k1, k2, same int
				for j := range n {
					if right[a][j] {
						k1++
					}
					if right[b][j] {
						k2++
					}
					if right[a][j] == right[b][j] {
						same++
					}
				}
				acc.addPair(chanceOfCounts(n, k1, k2, same))
			}
		}
		return acc.result().P
	}
	var low int
	for range studies {
		if study(0) < 0.05 {
			low++
		}
	}
	t.Logf("independent: %d of %d studies below 0.05", low, studies)
	if share := float64(low) / studies; share < 0.03 || share > 0.07 {
		t.Errorf("independent observers: %.3f of studies with p < 0.05, want about 0.05", share)
	}
	low = 0
	for range 200 {
		if study(0.5) < 0.05 {
			low++
		}
	}
	if low < 190 {
		t.Errorf("shared errors found in %d of 200 studies", low)
	}
}
