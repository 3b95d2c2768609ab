package server

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/cubelab/cubelab/internal/analysis"
	"github.com/cubelab/cubelab/internal/postgres"
	"github.com/cubelab/cubelab/internal/prolific"
	"github.com/cubelab/cubelab/internal/study"
	"github.com/cubelab/cubelab/web"
)

// The live comparison (issue 18, part 2). Each study has one
// analysis.Live in the server, fed from the database: read whole when it
// starts (or when something it cannot follow changed: the items, the
// exclusion rule, the model runs, a finished person who no longer counts),
// then only with the people who finished since (postgres.LiveSince). The
// panel's script asks for the numbers every second, and a watcher does the
// same every second for studies whose stopping rule is armed, so the numbers
// and the rule are current within about a second of a completion whether
// anyone has the page open or not.

// liveResamples is the bootstrap of the live intervals up to about 100
// people: fewer than the report's 10,000, so that a snapshot stays under
// the panel's second (see liveWork for larger studies).
const liveResamples = 2000

// livePoll is how often the panel's script and the watcher look for new
// completions.
const livePoll = time.Second

// stopMinPeople is how many people must have finished before a stopping
// rule may fire: a bootstrap over one or two pairs has an interval of width
// 0, which says nothing.
const stopMinPeople = 10

// liveWork bounds the bootstrap of a live snapshot: resamples times the
// human-human pairs, the largest set of units resampled. Up to about 100
// people a snapshot takes liveResamples; beyond, fewer (never under
// liveMinResamples), so that a snapshot stays near a second on two busy
// cores (measured: 400 people, 2,000 resamples, 7 s at load 10) and the
// panel current. The panel says how many it used.
const (
	liveWork         = liveResamples * 5000
	liveMinResamples = 200
)

// liveOptions are the options of a live snapshot of people people: the
// report's seed, and resamples within liveWork.
func liveOptions(people int) analysis.Options {
	r := liveResamples
	if pairs := people * (people - 1) / 2; pairs > 0 {
		r = min(max(liveWork/pairs, liveMinResamples), liveResamples)
	}
	return analysis.Options{Resamples: r, Seed: reportSeed, Grouping: analysis.ByTask}
}

// liveState is one study's live comparison, under its lock.
type liveState struct {
	mu sync.Mutex
	liveData
}

// liveData is what a liveState holds.
type liveData struct {
	version string
	live    *analysis.Live
	items   map[string]bool // items compared (attention checks left out)
	fed     map[uuid.UUID]bool
	since   time.Time
	snap    *analysis.LiveSnapshot
	snapN   int // len(fed) when snap was taken
	problem string
	at      time.Time
	// resamples is the bootstrap of snap (liveOptions).
	resamples int
}

// liveStates keeps the live comparisons of the studies looked at lately.
type liveStates struct {
	mu sync.Mutex
	m  *lru[uuid.UUID, *liveState]
}

func newLiveStates() *liveStates {
	return &liveStates{m: newLRU[uuid.UUID, *liveState](8*512, func(*liveState) int { return 1 })}
}

func (l *liveStates) of(id uuid.UUID) *liveState {
	l.mu.Lock()
	defer l.mu.Unlock()
	if st, ok := l.m.get(id); ok {
		return st
	}
	st := &liveState{}
	l.m.put(id, st)
	return st
}

// liveResult is a snapshot and what it was computed on.
type liveResult struct {
	snap    analysis.LiveSnapshot
	ok      bool   // false: no numbers (problem says why)
	problem string // why not
	at      time.Time
	// resamples is the snapshot's bootstrap (liveOptions).
	resamples int
}

// liveUpdate feeds the study's live comparison with the people who finished
// since it last looked and returns its numbers.
func (s *Server) liveUpdate(ctx context.Context, st study.Study) (liveResult, error) {
	ls := s.live.of(st.ID)
	ls.mu.Lock()
	defer ls.mu.Unlock()
	v, err := s.store.LiveVersion(ctx, st.ID)
	if err != nil {
		return liveResult{}, err
	}
	if v != ls.version {
		if err := s.liveRebuild(ctx, st, ls); err != nil {
			return liveResult{}, err
		}
		ls.version = v
	}
	if ls.live != nil {
		people, next, err := s.store.LiveSince(ctx, st.ID, ls.since, func(id uuid.UUID) bool { return ls.fed[id] })
		if err != nil {
			return liveResult{}, err
		}
		for _, p := range people {
			ls.fed[p.ID] = true
			if !p.Excluded {
				ls.feed(p.ID.String(), p.Items, p.Answers)
			}
		}
		ls.since = next
	}
	if ls.live != nil && (ls.snap == nil || ls.snapN != len(ls.fed)) {
		opt := liveOptions(ls.live.People())
		snap := ls.live.Snapshot(opt)
		ls.snap, ls.snapN, ls.at, ls.resamples = &snap, len(ls.fed), s.now(), opt.Resamples
	}
	if ls.live == nil {
		return liveResult{problem: ls.problem, at: s.now()}, nil
	}
	return liveResult{snap: *ls.snap, ok: true, at: ls.at, resamples: ls.resamples}, nil
}

// feed gives the live comparison a person's answers to the items compared.
func (ls *liveData) feed(person string, items []string, answers []analysis.Answer) {
	for i, ext := range items {
		if ls.items[ext] && answers[i] != analysis.Missing {
			// An error is an answer given twice, which the store does not
			// return (instructed checks, which repeat an item's picture,
			// are left out there): nothing to add.
			_ = ls.live.Answer(person, ext, answers[i])
		}
	}
}

// liveRebuild starts the study's live comparison from a full read.
func (s *Server) liveRebuild(ctx context.Context, st study.Study, ls *liveState) error {
	t0, err := s.store.Now(ctx)
	if err != nil {
		return err
	}
	m, _, err := s.store.LoadMatrix(ctx, postgres.MatrixSelection{StudyID: st.ID})
	if err != nil {
		return err
	}
	s.liveRebuilds.Add(1)
	ls.liveData = liveData{items: map[string]bool{}, fed: map[uuid.UUID]bool{}, since: t0.Add(-postgres.LiveLookBack)}
	var items []analysis.Item
	var keep []int
	for j, it := range m.Items {
		if !it.AttentionCheck {
			items = append(items, it)
			keep = append(keep, j)
			ls.items[it.ID] = true
		}
	}
	var runs []analysis.Observer
	for _, o := range m.Observers {
		if o.Kind != analysis.Model {
			continue
		}
		r := o
		r.Answers = make([]analysis.Answer, len(keep))
		for i, j := range keep {
			r.Answers[i] = o.Answers[j]
		}
		runs = append(runs, r)
	}
	if len(items) == 0 {
		ls.problem = "No numbers yet: the study has no items to compare."
		return nil
	}
	live, err := analysis.NewLive(items, runs)
	if err != nil {
		ls.problem = "No numbers: " + err.Error()
		return nil
	}
	ls.live = live
	ext := make([]string, len(m.Items))
	for j, it := range m.Items {
		ext[j] = it.ID
	}
	for _, o := range m.Observers {
		if o.Kind != analysis.Human {
			continue
		}
		id, err := uuid.Parse(o.ID)
		if err != nil {
			return fmt.Errorf("live: observer id %q: %w", o.ID, err)
		}
		ls.fed[id] = true
		ls.feed(o.ID, ext, o.Answers)
	}
	return nil
}

// stopWidth is the width of the 95% interval of the measure the rule
// watches, and whether it is defined; for model-human, the widest over the
// models (every model must be defined).
func stopWidth(snap analysis.LiveSnapshot, m study.StopMeasure) (float64, bool) {
	switch m {
	case study.StopAccuracy:
		a := snap.HumanAccuracy
		return a.Hi - a.Lo, a.N > 0
	case study.StopHumanHuman:
		e := snap.HumanHuman
		return e.Hi - e.Lo, e.Defined
	case study.StopModelHuman:
		if len(snap.Models) == 0 {
			return math.NaN(), false
		}
		w := 0.0
		for _, mo := range snap.Models {
			if !mo.ModelHuman.Defined {
				return math.NaN(), false
			}
			w = max(w, mo.ModelHuman.Hi-mo.ModelHuman.Lo)
		}
		return w, true
	}
	return math.NaN(), false
}

// liveCheckStop pauses the study when its armed rule is met: once, in the
// database (FireStopRule), then on Prolific when the study is linked.
func (s *Server) liveCheckStop(ctx context.Context, st study.Study, res liveResult) error {
	if !res.ok || !st.Stop.Armed() || st.StopFiredAt != nil || st.Status != study.Published || res.snap.People < stopMinPeople {
		return nil
	}
	w, defined := stopWidth(res.snap, st.Stop.Measure)
	if !st.Stop.Met(w, defined) {
		return nil
	}
	name, _ := st.Stop.Measure.Name()
	why := fmt.Sprintf("the 95%% interval of %s is %s wide, under the target %s, after %d people",
		name, strconv.FormatFloat(w, 'f', 3, 64), strconv.FormatFloat(st.Stop.Width, 'f', -1, 64), res.snap.People)
	fired, err := s.store.FireStopRule(ctx, st.ID, st.Stop, why)
	if err != nil || !fired {
		return err
	}
	s.log.InfoContext(ctx, "stopping rule paused a study", "study", st.ID, "measure", st.Stop.Measure, "width", w)
	return s.stopOnProlific(ctx, st)
}

// stopOnProlific pauses the study's Prolific study, if it is linked; when it
// cannot, the study's log says so and what to do.
func (s *Server) stopOnProlific(ctx context.Context, st study.Study) error {
	link, linked, err := s.store.ProlificLinkOf(ctx, st.ID)
	if err != nil || !linked {
		return err
	}
	c, err := s.prolificClient()
	if err == nil {
		_, err = c.PauseStudy(ctx, link.ProlificStudyID)
	}
	if err != nil {
		s.log.WarnContext(ctx, "stopping rule: Prolific not paused", "study", st.ID, "err", err)
		return s.store.LogStudyChange(ctx, st.ID, "Prolific study "+link.ProlificStudyID+" was not paused ("+prolific.Message(err)+
			"): pause it on Prolific, or people keep arriving to a paused study")
	}
	return s.store.LogStudyChange(ctx, st.ID, "Prolific study "+link.ProlificStudyID+" paused by the stopping rule")
}

// RunLiveWatch keeps the live comparison of every study with an armed
// stopping rule current, and applies the rule, every livePoll until ctx ends.
func (s *Server) RunLiveWatch(ctx context.Context) {
	t := time.NewTicker(livePoll)
	defer t.Stop()
	for {
		if err := s.liveWatchOnce(ctx); err != nil && ctx.Err() == nil {
			s.log.WarnContext(ctx, "live watch failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// liveWatchOnce updates every armed study once and applies its rule.
func (s *Server) liveWatchOnce(ctx context.Context) error {
	studies, err := s.store.ArmedStudies(ctx)
	if err != nil {
		return err
	}
	var errs []error
	for _, st := range studies {
		res, err := s.liveUpdate(ctx, st)
		if err == nil {
			err = s.liveCheckStop(ctx, st, res)
		}
		if err != nil {
			// One study's failure does not hold up the others' rules.
			errs = append(errs, fmt.Errorf("study %s: %w", st.ID, err))
		}
	}
	return errors.Join(errs...)
}

// liveView builds the live panel of a study, updating its comparison and
// applying its rule first.
func (s *Server) liveView(r *http.Request, st study.Study) (web.LiveView, error) {
	ctx := r.Context()
	res, err := s.liveUpdate(ctx, st)
	if err != nil {
		return web.LiveView{}, err
	}
	if err := s.liveCheckStop(ctx, st, res); err != nil {
		return web.LiveView{}, err
	}
	if st, err = s.store.StudyByID(ctx, st.ID); err != nil { // the rule may have just fired
		return web.LiveView{}, err
	}
	v := liveFrame(r, st, res.at)
	v.Resamples, v.Problem = groupThousands(res.resamples), res.problem
	if !res.ok {
		return v, nil
	}
	snap := res.snap
	v.People, v.Answers = snap.People, snap.Answers
	f3 := func(x float64) string {
		if math.IsNaN(x) {
			return "–"
		}
		return strconv.FormatFloat(x, 'f', 3, 64)
	}
	a := snap.HumanAccuracy
	acc := web.LiveRow{Measure: "People's accuracy", Estimate: "–", Interval: "–", Width: "–", N: strconv.Itoa(a.N) + " answers",
		Watched: st.Stop.Measure == study.StopAccuracy}
	if a.N > 0 {
		acc.Estimate, acc.Interval, acc.Width = f3(a.P), f3(a.Lo)+" to "+f3(a.Hi), f3(a.Hi-a.Lo)
	}
	v.Rows = append(v.Rows, acc)
	row := func(name string, e analysis.Estimate, unit string, watched bool) web.LiveRow {
		r := web.LiveRow{Measure: name, Estimate: "undefined", Interval: "–", Width: "–", Watched: watched,
			N: strconv.Itoa(e.N) + " " + unit}
		if e.Undefined > 0 {
			r.N += " (" + strconv.Itoa(e.Undefined) + " undefined)"
		}
		if e.Defined {
			r.Estimate, r.Interval, r.Width = f3(e.Mean), f3(e.Lo)+" to "+f3(e.Hi), f3(e.Hi-e.Lo)
		}
		return r
	}
	v.Rows = append(v.Rows, row("Human-human kappa", snap.HumanHuman, "pairs", st.Stop.Measure == study.StopHumanHuman))
	for _, m := range snap.Models {
		name := "Model-human kappa: " + m.Model
		if m.Condition != "" {
			name += " (" + m.Condition + ")"
		}
		v.Rows = append(v.Rows, row(name, m.ModelHuman, "people", st.Stop.Measure == study.StopModelHuman))
	}
	if len(snap.Models) == 0 {
		v.Rows = append(v.Rows, web.LiveRow{Measure: "Model-human kappa", Estimate: "no model imported for this set", Interval: "–", Width: "–", N: "–"})
	}
	return v, nil
}

// liveFrame is what every live panel shows besides the numbers: the
// stopping rule's form and state, and where to refresh from.
func liveFrame(r *http.Request, st study.Study, at time.Time) web.LiveView {
	v := web.LiveView{
		Base: studyURL(st.ID), CSRF: adminSession(r).CSRFToken, Updated: at.UTC().Format("15:04:05 UTC"),
		Measure: string(st.Stop.Measure), PollMs: strconv.Itoa(int(livePoll / time.Millisecond)),
		RefreshURL: studyURL(st.ID) + "#live", MinPeople: stopMinPeople, RuleState: st.Stop.Describe(),
	}
	if st.Stop.Armed() {
		v.Width = strconv.FormatFloat(st.Stop.Width, 'f', -1, 64)
	}
	for _, m := range study.StopMeasures() {
		v.Measures = append(v.Measures, web.Option{Value: m[0], Label: m[1]})
	}
	if st.StopFiredAt != nil {
		v.Fired = true
		v.RuleState = "The stopping rule paused this study at " + whenSeconds(*st.StopFiredAt) + " (" + st.Stop.Describe() +
			"). Save the rule again to re-arm it; resume the study with its Resume button."
	}
	return v
}

// liveViewOrNote is liveView, or, when the comparison cannot be computed,
// a panel that says so (the error logged): the study page stays usable.
func (s *Server) liveViewOrNote(r *http.Request, st study.Study) web.LiveView {
	v, err := s.liveView(r, st)
	if err == nil {
		return v
	}
	if r.Context().Err() == nil {
		s.log.WarnContext(r.Context(), "live comparison failed", "study", st.ID, "err", err)
	}
	v = liveFrame(r, st, s.now())
	v.Problem = "The live comparison could not be computed just now; it is tried again at the next refresh."
	return v
}

// handleLive is the live panel's numbers, fetched by the page's script.
func (s *Server) handleLive(w http.ResponseWriter, r *http.Request) error {
	st, err := s.studyParam(r)
	if err != nil {
		return err
	}
	return render(w, r, http.StatusOK, web.LiveNumbers(s.liveViewOrNote(r, st)))
}

// handleStopRule sets or removes the study's stopping rule (and re-arms it).
func (s *Server) handleStopRule(w http.ResponseWriter, r *http.Request) error {
	st, err := s.studyParam(r)
	if err != nil {
		return err
	}
	rule, err := study.ParseStopRule(r.PostFormValue("stop_measure"), r.PostFormValue("stop_width"))
	if err != nil {
		return err
	}
	if err := s.store.SetStopRule(r.Context(), st.ID, rule, adminSession(r).Admin.Email); err != nil {
		return err
	}
	return redirect(w, r, studyURL(st.ID)+"#live")
}

// groupThousands writes a count with thousands separated by commas.
func groupThousands(n int) string {
	s := strconv.Itoa(n)
	for i := len(s) - 3; i > 0 && s[i-1] != '-'; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}
