package postgres_test

import (
	"context"
	"crypto/sha256"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/cubelab/cubelab/internal/analysis"
	"github.com/cubelab/cubelab/internal/postgres"
	"github.com/cubelab/cubelab/internal/postgres/pgtest"
	"github.com/cubelab/cubelab/internal/problem"
	"github.com/cubelab/cubelab/internal/prolific"
	"github.com/cubelab/cubelab/internal/study"
	"github.com/cubelab/cubelab/internal/task"
)

// answerTrials joins participant k and answers the first n of their trials,
// choosing each answer from the stimulus's manifest id.
func answerTrials(t *testing.T, store *postgres.Store, st study.Study, k, n int, answer func(ext string) string) study.Participant {
	t.Helper()
	ctx := context.Background()
	tok := sha256.Sum256([]byte(fmt.Sprint("matrix", st.Slug, k)))
	p, err := store.Join(ctx, st, prolific.Params{PID: fmt.Sprintf("%024x", 0xabc000+k)}, int64(k), tok[:])
	if err != nil {
		t.Fatal(err)
	}
	for pos := 1; pos <= min(n, p.NTrials); pos++ {
		if _, err := store.ShowTrial(ctx, p, pos); err != nil {
			t.Fatal(err)
		}
		var ext string
		if err := store.Pool().QueryRow(ctx, `SELECT s.ext_id FROM trials t JOIN stimuli s ON s.id = t.stimulus_id
			WHERE t.participant_id = $1 AND t.position = $2`, p.ID, pos).Scan(&ext); err != nil {
			t.Fatal(err)
		}
		if _, err := store.Answer(ctx, p.ID, pos, answer(ext), nil); err != nil {
			t.Fatal(err)
		}
	}
	return p
}

// The matrix of a study holds its finished participants and the models run
// on its set; rejected and unfinished participants are left out and the
// attention check is marked, so that it counts for no one.
func TestLoadMatrix(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	_, pool := pgtest.New(t)
	store := postgres.NewStore(pool)
	// t01..t06: sizes 2, 3, 4, 2, 3, 4; truth Yes on t01, t03, t05.
	setID, _, err := store.ImportSet(ctx, pgtest.TowerSet("mx", 6))
	if err != nil {
		t.Fatal(err)
	}
	ids, err := store.StimulusIDs(ctx, setID, []string{"t06"})
	if err != nil {
		t.Fatal(err)
	}
	st := study.Study{
		Slug: "mx", Title: "Matrix", Domain: task.Tower, SetID: setID, Design: study.Fixed,
		ResponsesPerItem: 1, Places: 10, TimeLimitMinutes: 30, AttentionCheckIDs: []uuid.UUID{ids[0]},
		ConsentText: "c", InstructionsText: "i", CompletionCode: "CODE1", Status: study.Published,
		Pay: study.Pay{Currency: "GBP"},
	}
	if err := store.CreateStudy(ctx, &st); err != nil {
		t.Fatal(err)
	}
	yes := func(string) string { return task.Yes }
	no := func(string) string { return task.No }
	done := answerTrials(t, store, st, 1, 6, yes)
	rejected := answerTrials(t, store, st, 2, 6, no)
	if err := store.ActOnParticipant(ctx, st.ID, rejected.ID, postgres.Reject, "did not read"); err != nil {
		t.Fatal(err)
	}
	answerTrials(t, store, st, 3, 2, no) // still going
	approved := answerTrials(t, store, st, 4, 6, no)
	if err := store.ActOnParticipant(ctx, st.ID, approved.ID, postgres.Approve, ""); err != nil {
		t.Fatal(err)
	}
	rows := parseCSV(t, "model,seed,stimulus_id,p_yes\nm,1,t01,0.9\nm,1,t02,0.5\nm,1,t06,0.1\n")
	if _, err := store.ImportModelOutputs(ctx, postgres.ModelImport{Set: "mx", Rows: rows}); err != nil {
		t.Fatal(err)
	}

	m, info, err := store.LoadMatrix(ctx, postgres.MatrixSelection{StudyID: st.ID})
	if err != nil {
		t.Fatal(err)
	}
	want := postgres.MatrixInfo{Set: "mx", Studies: 1, Items: 5, AttentionChecks: 1, Humans: 2, Rejected: 1, Unfinished: 1, ModelRuns: 1,
		Exclusion: study.Exclusion{}.Describe(), Excluded: []postgres.ExcludedPerson{}}
	if !reflect.DeepEqual(info, want) {
		t.Errorf("info %+v, want %+v", info, want)
	}
	// A rule every finished participant meets (a run of at least one
	// identical answer) leaves both out, says so, and drops their answers.
	everyone, err := study.ParseExclusion("run>=1")
	if err != nil {
		t.Fatal(err)
	}
	xm, xinfo, err := store.LoadMatrix(ctx, postgres.MatrixSelection{StudyID: st.ID, Exclude: &everyone})
	if err != nil {
		t.Fatal(err)
	}
	if xinfo.Humans != 0 || len(xinfo.Excluded) != 2 || !strings.Contains(xinfo.Exclusion, "run>=1") || len(xm.Observers) != 1 {
		t.Errorf("rule run>=1: info %+v, %d observers; want both finished people excluded, the model kept", xinfo, len(xm.Observers))
	}
	if err := m.Validate(); err != nil {
		t.Fatal(err)
	}
	col := map[string]int{}
	for j, it := range m.Items {
		col[it.ID] = j
		if it.AttentionCheck != (it.ID == "t06") {
			t.Errorf("item %s: attention check %v", it.ID, it.AttentionCheck)
		}
	}
	if it := m.Items[col["t03"]]; it.Size != 4 || it.Truth != analysis.Yes || it.Task != task.Tower {
		t.Errorf("t03 = %+v, want a tower of size 4 whose truth is Yes", it)
	}
	var humans []analysis.Observer
	var model *analysis.Observer
	for i, o := range m.Observers {
		if o.Kind == analysis.Human {
			humans = append(humans, o)
		} else {
			model = &m.Observers[i]
		}
	}
	if len(humans) != 2 || humans[0].ID != done.ID.String() || humans[1].ID != approved.ID.String() {
		t.Fatalf("humans %v, want the completed and the approved participant", humans)
	}
	if a := humans[0].Answers[col["t02"]]; a != analysis.Yes {
		t.Errorf("completed participant's t02 = %v, want Yes", a)
	}
	if a := humans[1].Answers[col["t06"]]; a != analysis.No {
		t.Errorf("approved participant's attention check = %v, want No (kept in the matrix, marked)", a)
	}
	if model == nil || model.Model != "m" || model.Seed != 1 {
		t.Fatalf("model observer %+v", model)
	}
	// 0.9 is Yes, a tie at 0.5 is no answer, t03 was never asked.
	if got := []analysis.Answer{model.Answers[col["t01"]], model.Answers[col["t02"]], model.Answers[col["t03"]]}; got[0] != analysis.Yes || got[1] != analysis.Missing || got[2] != analysis.Missing {
		t.Errorf("model answers %v, want Yes, missing, missing", got)
	}

	// The set's report counts the same people, through every study on the set.
	_, setInfo, err := store.LoadMatrix(ctx, postgres.MatrixSelection{SetID: setID})
	if err != nil {
		t.Fatal(err)
	}
	if setInfo.Humans != 2 || setInfo.Items != 5 || setInfo.AttentionChecks != 1 || setInfo.ModelRuns != 1 {
		t.Errorf("set info %+v", setInfo)
	}

	// A set with no study and no model: an empty but valid matrix.
	emptyID, _, err := store.ImportSet(ctx, pgtest.TowerSet("empty", 3))
	if err != nil {
		t.Fatal(err)
	}
	em, einfo, err := store.LoadMatrix(ctx, postgres.MatrixSelection{SetID: emptyID})
	if err != nil || len(em.Observers) != 0 || einfo.Items != 3 || einfo.Humans != 0 {
		t.Errorf("empty set: %d observers, %+v, %v", len(em.Observers), einfo, err)
	}
	if _, _, err := store.LoadMatrix(ctx, postgres.MatrixSelection{StudyID: uuid.New()}); problem.Code(err) != problem.ENOTFOUND {
		t.Errorf("unknown study: %v, want not found", err)
	}
}

// The version changes with every change LoadMatrix would see, and only then.
func TestMatrixVersion(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	_, pool := pgtest.New(t)
	store := postgres.NewStore(pool)
	st := pgtest.NewStudy(t, store, "ver", 4)
	other := pgtest.NewStudy(t, store, "other", 4) // on a set of its own
	study1 := postgres.MatrixSelection{StudyID: st.ID}
	set := postgres.MatrixSelection{SetID: st.SetID}
	version := func(sel postgres.MatrixSelection) string {
		t.Helper()
		v, err := store.MatrixVersion(ctx, sel)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	v0, s0 := version(study1), version(set)
	if version(study1) != v0 || v0 == s0 || version(postgres.MatrixSelection{StudyID: other.ID}) == v0 {
		t.Fatal("versions are not stable, or two selections share one")
	}
	steps := []struct {
		name string
		do   func()
	}{
		{"an answer", func() { answerTrials(t, store, st, 1, 1, func(string) string { return task.Yes }) }},
		{"a model run", func() {
			rows := parseCSV(t, "model,stimulus_id,p_yes\nm,t01,0.9\n")
			if _, err := store.ImportModelOutputs(ctx, postgres.ModelImport{Set: "ver-set", Rows: rows}); err != nil {
				t.Fatal(err)
			}
		}},
		{"a replaced run", func() {
			rows := parseCSV(t, "model,stimulus_id,p_yes\nm,t01,0.9\n")
			if _, err := store.ImportModelOutputs(ctx, postgres.ModelImport{Set: "ver-set", Rows: rows, Replace: true}); err != nil {
				t.Fatal(err)
			}
		}},
		{"trained sizes recorded", func() {
			tr, _ := analysis.ParseTrained("tower:2-3")
			if err := store.SetTrained(ctx, "m", "", tr); err != nil {
				t.Fatal(err)
			}
		}},
		{"a rejection", func() {
			var id uuid.UUID
			if err := pool.QueryRow(ctx, `SELECT id FROM participants WHERE study_id = $1`, st.ID).Scan(&id); err != nil {
				t.Fatal(err)
			}
			if err := store.ActOnParticipant(ctx, st.ID, id, postgres.Reject, "test"); err != nil {
				t.Fatal(err)
			}
		}},
	}
	for _, s := range steps {
		before, beforeSet, untouched := version(study1), version(set), version(postgres.MatrixSelection{StudyID: other.ID})
		s.do()
		if version(study1) == before || version(set) == beforeSet {
			t.Errorf("%s did not change the version", s.name)
		}
		if version(postgres.MatrixSelection{StudyID: other.ID}) != untouched {
			t.Errorf("%s changed another study's version", s.name)
		}
	}
}

// A whole set's matrix for an account pools only the studies it sees
// (issue 16): another account's study on the same set adds neither its
// people nor its attention checks, and the data version differs, so that a
// cached report of one account is never shown to the other.
func TestLoadMatrixViewer(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	_, pool := pgtest.New(t)
	store := postgres.NewStore(pool)
	setID, _, err := store.ImportSet(ctx, pgtest.TowerSet("shared", 6))
	if err != nil {
		t.Fatal(err)
	}
	ann, err := store.CreateAdmin(ctx, "ann@example.org", "$argon2id$x")
	if err != nil {
		t.Fatal(err)
	}
	bob, err := store.CreateAdmin(ctx, "bob@example.org", "$argon2id$x")
	if err != nil {
		t.Fatal(err)
	}
	checks, err := store.StimulusIDs(ctx, setID, []string{"t06"})
	if err != nil {
		t.Fatal(err)
	}
	mk := func(slug string, owner uuid.UUID, check []uuid.UUID) study.Study {
		st := study.Study{
			Slug: slug, Title: slug, Domain: task.Tower, SetID: setID, Design: study.Fixed,
			ResponsesPerItem: 1, Places: 10, TimeLimitMinutes: 30, AttentionCheckIDs: check,
			ConsentText: "c", InstructionsText: "i", CompletionCode: "CODE1", Status: study.Published,
			Pay: study.Pay{Currency: "GBP"}, OwnerID: owner,
		}
		if err := store.CreateStudy(ctx, &st); err != nil {
			t.Fatal(err)
		}
		return st
	}
	yes := func(string) string { return task.Yes }
	anns := mk("anns", ann, nil)
	bobs := mk("bobs", bob, checks)
	answerTrials(t, store, anns, 1, 6, yes)
	answerTrials(t, store, bobs, 2, 6, yes)
	answerTrials(t, store, bobs, 3, 6, yes)

	for _, c := range []struct {
		name            string
		viewer          uuid.UUID
		studies, humans int
		checks          int
	}{
		{"ann", ann, 1, 1, 0},
		{"bob", bob, 1, 2, 1},
		{"everyone (command line)", uuid.Nil, 2, 3, 1},
	} {
		sel := postgres.MatrixSelection{SetID: setID, Viewer: c.viewer}
		_, info, err := store.LoadMatrix(ctx, sel)
		if err != nil {
			t.Fatal(err)
		}
		if info.Studies != c.studies || info.Humans != c.humans || info.AttentionChecks != c.checks {
			t.Errorf("%s: %d studies, %d people, %d checks; want %d, %d, %d", c.name,
				info.Studies, info.Humans, info.AttentionChecks, c.studies, c.humans, c.checks)
		}
	}
	va, err := store.MatrixVersion(ctx, postgres.MatrixSelection{SetID: setID, Viewer: ann})
	if err != nil {
		t.Fatal(err)
	}
	vb, err := store.MatrixVersion(ctx, postgres.MatrixSelection{SetID: setID, Viewer: bob})
	if err != nil {
		t.Fatal(err)
	}
	if va == vb {
		t.Error("two accounts that see different studies share a data version")
	}
}
