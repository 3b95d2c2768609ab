package analysis

import (
	"fmt"
	"math"
	"math/bits"
	"math/rand/v2"
	"slices"
	"strconv"
)

// The sample-size planner answers "how many people does this kappa need?"
// before a study is paid for. It simulates whole studies under a small
// generative model and measures, in each, the 95% interval the report would
// print; the prediction is the mean width over the simulated studies.
//
// The generative model (one study):
//   - every item j has a probability p_j that a person answers it correctly,
//     drawn from a Beta distribution with mean HumanAccuracy and intraclass
//     correlation HumanHuman: for two people answering independently given
//     p_j, the expected error consistency is then exactly that correlation
//     (Var(p_j) / (p (1-p))), so HumanHuman is the expected human-human kappa;
//   - the model (one run, as imported) is right on item j with probability
//     q_j = ModelAccuracy + beta (p_j - HumanAccuracy), clamped to [0, 1];
//     beta is chosen so that the expected model-human kappa,
//     2 beta Var(p_j) / (1 - c_exp), is ModelHuman (clamping, at extreme
//     settings, lowers it: the result reports the kappa the simulation met);
//   - every person answers every item, right with probability p_j.
//
// With both kappas 0 (errors independent of the item) the width has a
// closed form for many items and people (IndependenceWidth), which the tests
// hold the simulation to.

// PlanInput describes the study to plan.
type PlanInput struct {
	HumanAccuracy float64 // expected accuracy of a person, in (0, 1)
	ModelAccuracy float64 // expected accuracy of the model, in (0, 1)
	// HumanHuman and ModelHuman are the expected error consistencies; 0 means
	// errors independent of the item (the closed-form case).
	HumanHuman float64
	ModelHuman float64
	Items      int // items every participant answers
	// Measure is the mean whose interval is planned: MeasureModelHuman,
	// MeasureHumanHuman (bootstrap over pairs) or MeasureHumanHumanPeople
	// (bootstrap over people).
	Measure string
	Studies int    // simulated studies per number of participants; DefaultPlanStudies when 0
	Seed    uint64 // the same seed and input give the same plan
}

// DefaultPlanStudies is how many studies a prediction simulates when
// PlanInput leaves it 0: the mean width of 200 studies has a relative
// standard error well under 1%.
const DefaultPlanStudies = 200

// MaxPlanParticipants bounds every search; past it a plan says the target
// is out of reach rather than simulating ever larger studies. Means over
// pairs stop sooner (maxPairParticipants): their work grows with the square.
const MaxPlanParticipants = 2000

const maxPairParticipants = 500

// maxPlanItems bounds the items of a simulated study (a pool of 10,000
// towers answered by one person each is not an evaluation study).
const maxPlanItems = 1000

// maxPlanAnswers bounds the answers one prediction simulates (participants x
// items x studies), so that a plan asked for from a web page returns in
// seconds on a small machine; larger studies are out of reach of a plan
// rather than slow.
const maxPlanAnswers = 50_000_000

// z975 is the normal quantile of the two-sided 95% interval.
const z975 = 1.959963984540054

// PlanPoint is the prediction for one number of participants.
type PlanPoint struct {
	Participants int `json:"participants"`
	// Width is the mean width of the 95% interval over the simulated
	// studies; Low and High are its 10th and 90th percentiles: eight
	// studies in ten of this size get a width between them.
	Width     float64 `json:"width"`
	Low       float64 `json:"low"`
	High      float64 `json:"high"`
	MeanKappa float64 `json:"mean_kappa"` // the measure's mean over the simulated studies
	// Limit is the closed-form width for independent errors, NaN when the
	// input's kappas are not both 0.
	Limit float64 `json:"limit"`
}

// PlanError is an input the planner cannot use; the message names the field.
type PlanError struct {
	Field, Message string
}

func (e *PlanError) Error() string { return "plan: " + e.Field + ": " + e.Message }

// Validate checks the input and fills its defaults.
func (in *PlanInput) Validate() error {
	open := func(name string, v float64) error {
		if math.IsNaN(v) || v <= 0 || v >= 1 {
			return &PlanError{name, fmt.Sprintf("%v is not strictly between 0 and 1", v)}
		}
		return nil
	}
	if err := open("human accuracy", in.HumanAccuracy); err != nil {
		return err
	}
	if err := open("model accuracy", in.ModelAccuracy); err != nil {
		return err
	}
	if math.IsNaN(in.HumanHuman) || in.HumanHuman < 0 || in.HumanHuman >= 1 {
		return &PlanError{"human-human kappa", fmt.Sprintf("%v is not in [0, 1): items cannot make people's errors less alike than chance in this model", in.HumanHuman)}
	}
	if math.IsNaN(in.ModelHuman) || in.ModelHuman <= -1 || in.ModelHuman >= 1 {
		return &PlanError{"model-human kappa", fmt.Sprintf("%v is not in (-1, 1)", in.ModelHuman)}
	}
	if in.ModelHuman != 0 && in.HumanHuman == 0 {
		return &PlanError{"model-human kappa", "a model-human kappa other than 0 needs items that differ in difficulty: set the human-human kappa above 0"}
	}
	if in.Items < 2 || in.Items > maxPlanItems {
		return &PlanError{"items", fmt.Sprintf("%d is not between 2 and %d", in.Items, maxPlanItems)}
	}
	switch in.Measure {
	case "":
		in.Measure = MeasureModelHuman
	case MeasureModelHuman, MeasureHumanHuman, MeasureHumanHumanPeople:
	default:
		return &PlanError{"measure", fmt.Sprintf("%q is none of %s, %s, %s", in.Measure, MeasureModelHuman, MeasureHumanHuman, MeasureHumanHumanPeople)}
	}
	if in.Studies == 0 {
		in.Studies = DefaultPlanStudies
	}
	if in.Studies < 10 || in.Studies > 5000 {
		return &PlanError{"studies", fmt.Sprintf("%d simulated studies is not between 10 and 5000", in.Studies)}
	}
	return nil
}

// MaxParticipants is the largest study the planner simulates for this input.
func (in PlanInput) MaxParticipants() int {
	most := MaxPlanParticipants
	if in.Measure == MeasureHumanHuman || in.Measure == MeasureHumanHumanPeople {
		most = maxPairParticipants
	}
	studies := max(in.Studies, 1)
	return max(in.minParticipants(), min(most, maxPlanAnswers/(max(in.Items, 1)*studies)))
}

// minParticipants is the smallest study whose measure has an interval.
func (in PlanInput) minParticipants() int {
	if in.Measure == MeasureHumanHuman || in.Measure == MeasureHumanHumanPeople {
		return 3
	}
	return 2
}

// IndependenceWidth is the closed-form large-sample width of the 95%
// interval when errors do not depend on the item (both kappas 0). A person's
// error consistency with an observer of accuracy m over n items is
// 2 cov(h, m) / (1 - c_exp), whose variance is 4 p(1-p) m(1-m) /
// (n (m(1-p) + p(1-m))^2); the mean over H people (or over H(H-1)/2 pairs,
// uncorrelated under independence) has that variance over H (or over the
// pairs). The mean over pairs is a U-statistic of degree 2; under
// independence it is degenerate (every person's projection is 0), and the
// bootstrap over people, which the report also prints, then overstates its
// variance threefold to first order: 2 sigma^2 / P from the noise in the
// projections and sigma^2 / P from the pairs' own residuals (see peopleWidth).
func IndependenceWidth(in PlanInput, participants int) float64 {
	p, n := in.HumanAccuracy, float64(in.Items)
	v := func(m float64) float64 {
		d := m*(1-p) + p*(1-m)
		return 4 * p * (1 - p) * m * (1 - m) / (n * d * d)
	}
	h := float64(participants)
	switch in.Measure {
	case MeasureHumanHuman:
		return 2 * z975 * math.Sqrt(v(p)/(h*(h-1)/2))
	case MeasureHumanHumanPeople:
		return 2 * z975 * math.Sqrt(3*v(p)/(h*(h-1)/2))
	default:
		return 2 * z975 * math.Sqrt(v(in.ModelAccuracy)/h)
	}
}

// PredictWidth simulates in.Studies studies of the given number of
// participants and returns the mean interval width.
func PredictWidth(in PlanInput, participants int) (PlanPoint, error) {
	if err := in.Validate(); err != nil {
		return PlanPoint{}, err
	}
	if participants < in.minParticipants() || participants > in.MaxParticipants() {
		return PlanPoint{}, &PlanError{"participants", fmt.Sprintf("%d is not between %d and %d (the largest study simulated for %d items and %d studies)",
			participants, in.minParticipants(), in.MaxParticipants(), in.Items, in.Studies)}
	}
	return predict(in, participants), nil
}

// WidthCurve predicts the width for each number of participants.
func WidthCurve(in PlanInput, participants []int) ([]PlanPoint, error) {
	out := make([]PlanPoint, 0, len(participants))
	for _, h := range participants {
		p, err := PredictWidth(in, h)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}

// CurveCounts chooses the numbers of participants a curve is drawn at:
// about points of them, spread evenly on a square-root scale (width falls
// as one over the square root) from five people to most. Below five the
// bootstrap's percentile interval of a handful of values is far from the
// normal one the prediction assumes.
func CurveCounts(in PlanInput, most, points int) []int {
	lo := max(in.minParticipants(), 5)
	most = min(max(most, lo+1), in.MaxParticipants())
	points = max(points, 2)
	var out []int
	a, b := math.Sqrt(float64(lo)), math.Sqrt(float64(most))
	for i := range points {
		x := a + (b-a)*float64(i)/float64(points-1)
		h := int(math.Round(x * x))
		if len(out) == 0 || h > out[len(out)-1] {
			out = append(out, h)
		}
	}
	return out
}

// ParticipantsFor finds the fewest participants whose predicted width is at
// most target. ok is false when even the largest study simulated does not reach it;
// the returned point is then the prediction at in.MaxParticipants(). Every
// number of participants is simulated with the same studies (common random
// numbers: study s with H+1 people is study s with H people and one more),
// so the predicted width falls smoothly and a bisection finds the edge.
func ParticipantsFor(in PlanInput, target float64) (pt PlanPoint, ok bool, err error) {
	if err := in.Validate(); err != nil {
		return PlanPoint{}, false, err
	}
	if math.IsNaN(target) || target <= 0 || target > 2 {
		return PlanPoint{}, false, &PlanError{"target width", fmt.Sprintf("%v is not in (0, 2]", target)}
	}
	lo := in.minParticipants()
	first := predict(in, lo)
	if first.Width <= target {
		return first, true, nil
	}
	// Double until the target is met, then bisect between the last miss and the hit.
	miss, hit := lo, 0
	var hitPt PlanPoint
	for h := lo * 2; ; h *= 2 {
		h = min(h, in.MaxParticipants())
		p := predict(in, h)
		if p.Width <= target {
			hit, hitPt = h, p
			break
		}
		if h == in.MaxParticipants() {
			return p, false, nil
		}
		miss = h
	}
	for hit-miss > 1 {
		mid := (miss + hit) / 2
		p := predict(in, mid)
		if p.Width <= target {
			hit, hitPt = mid, p
		} else {
			miss = mid
		}
	}
	return hitPt, true, nil
}

// planBeta is the coupling of the model's correctness to the item's
// difficulty that gives the expected model-human kappa in.ModelHuman.
func planBeta(in PlanInput) float64 {
	if in.ModelHuman == 0 || in.HumanHuman == 0 {
		return 0
	}
	p, m := in.HumanAccuracy, in.ModelAccuracy
	cexp := p*m + (1-p)*(1-m)
	return in.ModelHuman * (1 - cexp) / (2 * in.HumanHuman * p * (1 - p))
}

// predict runs the simulation; in is valid.
func predict(in PlanInput, participants int) PlanPoint {
	widths := make([]float64, 0, in.Studies)
	var kappaSum float64
	var kappaN int
	sim := newPlanStudy(in, participants)
	key := streamKey("plan", strconv.FormatUint(in.Seed, 10))
	for s := range in.Studies {
		// The stream depends on the study's number alone, not on
		// participants: the common random numbers of ParticipantsFor.
		rng := rand.New(rand.NewPCG(in.Seed, chunkStream(key, s)))
		w, k := sim.run(rng)
		if !math.IsNaN(w) {
			widths = append(widths, w)
		}
		if !math.IsNaN(k) {
			kappaSum += k
			kappaN++
		}
	}
	pt := PlanPoint{Participants: participants, Width: math.NaN(), Low: math.NaN(), High: math.NaN(), MeanKappa: math.NaN(), Limit: math.NaN()}
	if len(widths) > 0 {
		var sum float64
		for _, w := range widths {
			sum += w
		}
		pt.Width = sum / float64(len(widths))
		pt.Low = quantile(slices.Clone(widths), 0.1)
		pt.High = quantile(widths, 0.9)
	}
	if kappaN > 0 {
		pt.MeanKappa = kappaSum / float64(kappaN)
	}
	if in.HumanHuman == 0 && in.ModelHuman == 0 {
		pt.Limit = IndependenceWidth(in, participants)
	}
	return pt
}

// planStudy holds the buffers of one simulated study, reused across studies.
type planStudy struct {
	in           PlanInput
	participants int
	beta         float64
	a, b         float64   // the Beta distribution of p_j; a = 0 when every p_j = HumanAccuracy
	p            []float64 // p_j
	model        bitset    // the model's correct items
	people       []bitset  // each person's correct items
	rights       []int     // each person's count of correct items
	units        []float64
	rowSum       []float64
	rowN         []int
}

func newPlanStudy(in PlanInput, participants int) *planStudy {
	s := &planStudy{in: in, participants: participants, beta: planBeta(in), p: make([]float64, in.Items), model: newBitset(in.Items)}
	if in.HumanHuman > 0 {
		// Beta with mean p and intraclass correlation rho: a + b = 1/rho - 1.
		t := 1/in.HumanHuman - 1
		s.a, s.b = in.HumanAccuracy*t, (1-in.HumanAccuracy)*t
	}
	s.people = make([]bitset, participants)
	for i := range s.people {
		s.people[i] = newBitset(in.Items)
	}
	s.rights = make([]int, participants)
	s.rowSum = make([]float64, participants)
	s.rowN = make([]int, participants)
	return s
}

// run simulates one study and returns the interval width the report would
// show and the measure's mean; NaN when no kappa is defined.
func (s *planStudy) run(rng *rand.Rand) (width, mean float64) {
	in := s.in
	// Items, then the model, then people one by one: study s with one more
	// person draws the same items, model and first people.
	for j := range s.p {
		s.p[j] = in.HumanAccuracy
		if s.a > 0 {
			s.p[j] = betaDraw(rng, s.a, s.b)
		}
	}
	clear(s.model)
	modelRight := 0
	for j, pj := range s.p {
		q := min(1, max(0, in.ModelAccuracy+s.beta*(pj-in.HumanAccuracy)))
		if rng.Float64() < q {
			s.model.set(j)
			modelRight++
		}
	}
	for i, row := range s.people {
		clear(row)
		s.rights[i] = 0
		for j, pj := range s.p {
			if rng.Float64() < pj {
				row.set(j)
				s.rights[i]++
			}
		}
	}
	n := in.Items
	s.units = s.units[:0]
	switch in.Measure {
	case MeasureModelHuman:
		for i, row := range s.people {
			k := errorConsistencyCounts(n, modelRight, s.rights[i], same(row, s.model, n))
			if k.Defined {
				s.units = append(s.units, k.Value)
			}
		}
		return normalWidth(s.units)
	case MeasureHumanHuman:
		s.pairs(func(_, _ int, k float64) { s.units = append(s.units, k) })
		return normalWidth(s.units)
	default: // MeasureHumanHumanPeople
		clear(s.rowSum)
		clear(s.rowN)
		s.pairs(func(a, b int, k float64) {
			s.units = append(s.units, k)
			s.rowSum[a] += k
			s.rowSum[b] += k
			s.rowN[a]++
			s.rowN[b]++
		})
		return s.peopleWidth()
	}
}

// pairs calls f with every pair of people whose kappa is defined.
func (s *planStudy) pairs(f func(a, b int, k float64)) {
	n := s.in.Items
	for a := range s.people {
		for b := a + 1; b < len(s.people); b++ {
			k := errorConsistencyCounts(n, s.rights[a], s.rights[b], same(s.people[a], s.people[b], n))
			if k.Defined {
				f(a, b, k.Value)
			}
		}
	}
}

// peopleWidth is the width of the bootstrap over people of the pairs' mean
// U. Each resample weighs pair (a, b) by w_a w_b, the multinomial counts of
// a and b; expanded around w = 1 the resampled mean is U plus a linear term
// sum_a (w_a - 1) 2 c_a / H, with c_a person a's mean kappa with the others
// less U, plus a quadratic term sum_{a<b} (w_a - 1)(w_b - 1) e_ab / P, with
// e_ab the pair's residual once both people's projections are taken out.
// The weights' variances being 1, the bootstrap variance is
// 4 sum c_a^2 / H^2 + sum e_ab^2 / P^2, and sum e_ab^2 = sum d_ab^2 -
// H sum c_a^2 where d_ab = kappa_ab - U. The quadratic term matters when
// people's errors are independent of the items (the projections are then
// noise); with shared difficulty the linear term dominates.
func (s *planStudy) peopleWidth() (width, mean float64) {
	if len(s.units) == 0 {
		return math.NaN(), math.NaN()
	}
	for _, k := range s.units {
		mean += k
	}
	mean /= float64(len(s.units))
	var sc, sd float64
	var h int
	for i := range s.rowSum {
		if s.rowN[i] == 0 {
			continue
		}
		c := s.rowSum[i]/float64(s.rowN[i]) - mean
		sc += c * c
		h++
	}
	if h < 2 {
		return math.NaN(), mean
	}
	for _, k := range s.units {
		sd += (k - mean) * (k - mean)
	}
	hf, pf := float64(h), float64(len(s.units))
	v := 4*sc/(hf*hf) + max(0, sd-hf*sc)/(pf*pf)
	return 2 * z975 * math.Sqrt(v), mean
}

// same counts the items on which two observers were both right or both wrong.
func same(a, b bitset, n int) int {
	diff := 0
	for w := range a {
		diff += bits.OnesCount64(a[w] ^ b[w])
	}
	return n - diff
}

// normalWidth is the width of the bootstrap percentile interval of the mean
// of units, to first order: 2 z sqrt(plug-in variance / N), the bootstrap
// distribution of a mean being near normal with exactly that variance.
func normalWidth(units []float64) (width, mean float64) {
	if len(units) < 2 {
		return math.NaN(), math.NaN()
	}
	for _, u := range units {
		mean += u
	}
	mean /= float64(len(units))
	var ss float64
	for _, u := range units {
		ss += (u - mean) * (u - mean)
	}
	n := float64(len(units))
	return 2 * z975 * math.Sqrt(ss/n/n), mean
}

// betaDraw draws from Beta(a, b) as X/(X+Y) with X, Y Gamma-distributed.
func betaDraw(rng *rand.Rand, a, b float64) float64 {
	x, y := gammaDraw(rng, a), gammaDraw(rng, b)
	if x+y == 0 {
		return 0.5
	}
	return x / (x + y)
}

// gammaDraw draws from Gamma(a, 1) by Marsaglia and Tsang's method (2000),
// boosting a < 1 with U^(1/a).
func gammaDraw(rng *rand.Rand, a float64) float64 {
	if a < 1 {
		u := rng.Float64()
		return gammaDraw(rng, a+1) * math.Pow(u, 1/a)
	}
	d := a - 1.0/3
	c := 1 / math.Sqrt(9*d)
	for {
		x := rng.NormFloat64()
		v := 1 + c*x
		if v <= 0 {
			continue
		}
		v = v * v * v
		u := rng.Float64()
		if u < 1-0.0331*x*x*x*x || math.Log(u) < 0.5*x*x+d*(1-v+math.Log(v)) {
			return d * v
		}
	}
}

// PilotInput takes a plan's numbers from a pilot's report: the people's
// accuracy and human-human kappa of g (one task over all its sizes), its
// items, and, when m is not nil, that model's accuracy and model-human
// kappa. Estimates the generative model cannot take are moved to the
// nearest it can, and each move is said in the notes: a negative
// human-human kappa becomes 0, accuracies are kept inside (0, 1), and a
// model-human kappa is 0 when the human-human one is.
func PilotInput(in PlanInput, g Group, m *ModelResult) (PlanInput, []string) {
	var notes []string
	inside := func(what string, p float64) float64 {
		q := min(0.999, max(0.001, p))
		if q != p {
			notes = append(notes, fmt.Sprintf("The pilot's %s, %.3f, is taken as %.3f: the planner needs it strictly between 0 and 1.", what, p, q))
		}
		return math.Round(q*1000) / 1000
	}
	in.Items = g.Items
	in.HumanAccuracy = inside("people's accuracy", g.HumanAccuracy.P)
	in.HumanHuman = 0
	if g.HumanHuman.Defined {
		in.HumanHuman = math.Round(max(0, min(0.99, g.HumanHuman.Mean))*1000) / 1000
		if g.HumanHuman.Mean < 0 {
			notes = append(notes, fmt.Sprintf("The pilot's human-human kappa, %.3f, is below 0; the plan takes 0 (errors independent of the item).", g.HumanHuman.Mean))
		}
	}
	if m != nil {
		in.ModelAccuracy = inside("model's accuracy", m.Accuracy.P)
		in.ModelHuman = 0
		if m.ModelHuman.Defined {
			in.ModelHuman = math.Round(max(-0.99, min(0.99, m.ModelHuman.Mean))*1000) / 1000
		}
		if in.HumanHuman == 0 && in.ModelHuman != 0 {
			notes = append(notes, fmt.Sprintf("The pilot's model-human kappa, %.3f, is taken as 0: with a human-human kappa of 0 the items do not differ in difficulty.", in.ModelHuman))
			in.ModelHuman = 0
		}
	}
	return in, notes
}
