package server_test

import (
	"context"
	"crypto/sha256"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/cubelab/cubelab/internal/account"
	"github.com/cubelab/cubelab/internal/modelout"
	"github.com/cubelab/cubelab/internal/postgres"
	"github.com/cubelab/cubelab/internal/postgres/pgtest"
	"github.com/cubelab/cubelab/internal/procstat"
	"github.com/cubelab/cubelab/internal/server"
)

// benchReport stores the acceptance case of issue 5 (100 people x 120 towers
// x 10 model runs, about 80% right) and returns a handler and a session
// cookie for its report.
func benchReport(b *testing.B) (func() http.Handler, *http.Cookie, postgres.MatrixSelection, *postgres.Store) {
	b.Helper()
	ctx := context.Background()
	_, pool := pgtest.New(b)
	store := postgres.NewStore(pool)
	st := pgtest.NewStudy(b, store, "bench", 120)
	// Participants written in bulk: 12,000 answers one by one would take the
	// benchmark's whole time budget, and only the stored rows matter here.
	for _, q := range []string{
		`SELECT setseed(0.25)`,
		`INSERT INTO participants (study_id, prolific_pid, status, seed, n_trials, n_answered, n_correct, completed_at, bonus_minor)
		 SELECT $1, lpad(to_hex(g), 24, '0'), 'completed', g, 120, 120, 0, now(), 0 FROM generate_series(1, 100) g`,
		`INSERT INTO trials (participant_id, position, stimulus_id)
		 SELECT p.id, s.rn, s.id FROM participants p,
		   (SELECT id, row_number() OVER (ORDER BY ext_id) AS rn FROM stimuli WHERE set_id = $2) s
		 WHERE p.study_id = $1`,
		`INSERT INTO responses (participant_id, position, answer, correct, server_rt_ms)
		 SELECT t.participant_id, t.position,
		   CASE WHEN random() < 0.8 THEN s.answer WHEN s.answer = 'Yes' THEN 'No' ELSE 'Yes' END, false, 1000
		 FROM trials t JOIN stimuli s ON s.id = t.stimulus_id JOIN participants p ON p.id = t.participant_id
		 WHERE p.study_id = $1`,
	} {
		var args []any
		if strings.Contains(q, "$1") {
			args = append(args, st.ID)
		}
		if strings.Contains(q, "$2") {
			args = append(args, st.SetID)
		}
		if _, err := pool.Exec(ctx, q, args...); err != nil {
			b.Fatal(err)
		}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	var rows []modelout.Row
	for run := range 10 {
		for i := range 120 {
			p := 0.85
			if i%2 == 1 { // pgtest.TowerSet: the truth is No on odd indexes
				p = 0.15
			}
			if rng.Float64() < 0.3 {
				p = 1 - p
			}
			rows = append(rows, modelout.Row{Model: fmt.Sprintf("model-%d", run), StimulusID: fmt.Sprintf("t%02d", i+1), PYes: p, Coverage: 1, Line: i + 2})
		}
	}
	if _, err := store.ImportModelOutputs(ctx, postgres.ModelImport{Set: "bench-set", Rows: rows}); err != nil {
		b.Fatal(err)
	}
	hash, err := account.Hash(adminPassword, account.Params{Memory: 1024, Time: 1, Threads: 1, KeyLen: 32, SaltLen: 16})
	if err != nil {
		b.Fatal(err)
	}
	adminID, err := store.CreateAdmin(ctx, adminEmail, hash)
	if err != nil {
		b.Fatal(err)
	}
	token := "bench-session-token-0123456789abcdef"
	sum := sha256.Sum256([]byte(token))
	if err := store.CreateAdminSession(ctx, adminID, sum[:], strings.Repeat("c", 32), time.Now().Add(time.Hour)); err != nil {
		b.Fatal(err)
	}
	handler := func() http.Handler { return server.New(server.Config{Store: store}).Handler() }
	return handler, &http.Cookie{Name: "cubelab_admin", Value: token}, postgres.MatrixSelection{StudyID: st.ID}, store
}

// BenchmarkReport: loading the matrix from PostgreSQL, and the whole report
// page and figure downloads through the handler, on the acceptance case:
// each first asked of a new handler (nothing cached), then the page again.
func BenchmarkReport(b *testing.B) {
	handler, cookie, sel, store := benchReport(b)
	get := func(b *testing.B, h http.Handler, path string) {
		req := httptest.NewRequest("GET", path, nil)
		req.AddCookie(cookie)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			b.Fatalf("%s: %d %.300s", path, rec.Code, rec.Body.String())
		}
	}
	base := "/admin/studies/" + sel.StudyID.String() + "/report"
	b.Run("LoadMatrix", func(b *testing.B) {
		defer cpuPerOp(b)()
		for b.Loop() {
			m, info, err := store.LoadMatrix(context.Background(), sel)
			if err != nil || info.Humans != 100 || info.ModelRuns != 10 || len(m.Observers) != 110 {
				b.Fatalf("%+v, %v", info, err)
			}
		}
	})
	for _, path := range []string{"", "/tower/accuracy.svg", "/tower/kappa.svg"} {
		b.Run("GET report"+path, func(b *testing.B) {
			defer cpuPerOp(b)()
			for b.Loop() {
				get(b, handler(), base+path)
			}
		})
	}
	b.Run("GET report again", func(b *testing.B) {
		h := handler()
		get(b, h, base)
		defer cpuPerOp(b)()
		for b.Loop() {
			get(b, h, base)
		}
	})
}

// cpuPerOp reports the process's user and system CPU time per operation:
// the machine is shared, and wall times swing with other people's load.
// The database's own CPU is not in it.
func cpuPerOp(b *testing.B) func() {
	start := procstat.Self()
	return func() {
		b.ReportMetric(float64(procstat.Self()-start)/float64(time.Millisecond)/float64(b.N), "cpu-ms/op")
	}
}
