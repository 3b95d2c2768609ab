package postgres_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/cubelab/cubelab/internal/postgres"
	"github.com/cubelab/cubelab/internal/postgres/pgtest"
	"github.com/cubelab/cubelab/internal/prolific"
)

// BenchmarkMonitor measures a page of the participant table and the totals
// of a study with 10,000 participants of 10 answered trials each (100,000
// answers), under each sort and filter the monitor offers.
func BenchmarkMonitor(b *testing.B) {
	ctx := context.Background()
	_, pool := pgtest.New(b)
	store := postgres.NewStore(pool)
	st := poolStudy(b, store, 10, 10, 1)
	if _, err := pool.Exec(ctx, `
		INSERT INTO participants (study_id, prolific_pid, status, seed, n_trials, n_answered, n_correct, started_at, completed_at, bonus_minor)
		SELECT $1, lpad(to_hex(i), 24, '0'),
			(ARRAY['started','completed','approved','returned','timed_out','rejected'])[1 + i % 6],
			i, 10, 10, i % 11, now() - (i || ' seconds')::interval,
			CASE WHEN i % 6 IN (1, 2) THEN now() - (i || ' seconds')::interval + ((300 + i % 600) || ' seconds')::interval END,
			CASE WHEN i % 6 IN (1, 2) THEN (i % 11) * 5 END
		FROM generate_series(1, 10000) i`, st.ID); err != nil {
		b.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `
		INSERT INTO trials (participant_id, position, stimulus_id, is_attention_check, shown_at)
		SELECT p.id, s.ord, s.id, s.ord = 10, now() FROM participants p,
			(SELECT id, row_number() OVER (ORDER BY ext_id) AS ord FROM stimuli) s;
		INSERT INTO responses (participant_id, position, answer, correct, server_rt_ms)
		SELECT participant_id, position, 'Yes', (position + hashtext(participant_id::text)) % 2 = 0, 900 FROM trials;
		UPDATE participants SET n_flagged = hashtext(id::text) & 3;
		ANALYZE`); err != nil {
		b.Fatal(err)
	}
	for _, c := range []struct {
		name string
		q    postgres.MonitorQuery
	}{
		{"newest-first", postgres.MonitorQuery{Sort: "started", Desc: true, Limit: 50}},
		{"page-100", postgres.MonitorQuery{Sort: "started", Desc: true, Offset: 4950, Limit: 50}},
		{"by-duration", postgres.MonitorQuery{Sort: "duration", Limit: 50}},
		{"by-bonus", postgres.MonitorQuery{Sort: "bonus", Desc: true, Limit: 50}},
		{"completed-only", postgres.MonitorQuery{Status: "completed", Sort: "started", Limit: 50}},
		{"pid-prefix", postgres.MonitorQuery{PID: "00000000000000000000002", Sort: "pid", Limit: 50}},
		// Issue 16: check failures are counted per participant, not stored.
		{"by-check-failures", postgres.MonitorQuery{Sort: "checks", Desc: true, Limit: 50}},
		{"failed-checks-only", postgres.MonitorQuery{Checks: "failed", Sort: "started", Limit: 50}},
		{"flagged-only", postgres.MonitorQuery{Flags: "flagged", Sort: "flagged", Desc: true, Limit: 50}},
	} {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				rows, total, err := store.Participants(ctx, st.ID, c.q)
				if err != nil || len(rows) == 0 || total == 0 {
					b.Fatalf("%d rows of %d: %v", len(rows), total, err)
				}
			}
		})
	}
	// What a bulk approval of every completed participant reads (3,333 of them).
	b.Run("approval-candidates", func(b *testing.B) {
		for b.Loop() {
			cs, err := store.ApprovalCandidates(ctx, st.ID, postgres.MonitorQuery{}, nil)
			if err != nil || len(cs) == 0 {
				b.Fatalf("%d candidates: %v", len(cs), err)
			}
		}
	})
	b.Run("totals", func(b *testing.B) {
		for b.Loop() {
			if _, err := store.StudyTotals(ctx, st); err != nil {
				b.Fatal(err)
			}
		}
	})
	// The plan of the default page, for the record (go test -v shows it).
	rows, err := pool.Query(ctx, `EXPLAIN ANALYZE SELECT p.id FROM participants p WHERE p.study_id = $1
		ORDER BY p.started_at DESC, p.id DESC LIMIT 50`, st.ID)
	if err != nil {
		b.Fatal(err)
	}
	var plan []string
	for rows.Next() {
		var line string
		_ = rows.Scan(&line)
		plan = append(plan, line)
	}
	b.Log("\n" + strings.Join(plan, "\n"))
}

// BenchmarkPoolJoin measures one join of a pool study of 10,000 items with
// K = 20, R = 1: the claim of 20 slots, the participant and their trials,
// one transaction. Run it with -benchtime at most 500x (the pool's size / K).
func BenchmarkPoolJoin(b *testing.B) {
	ctx := context.Background()
	_, pool := pgtest.New(b)
	store := postgres.NewStore(pool)
	st := poolStudy(b, store, 10000, 20, 1)
	i := 0
	for b.Loop() {
		i++
		p, err := store.Join(ctx, st, prolific.Params{PID: pid(i)}, int64(i), hashOf(fmt.Sprint("bench", i)))
		if err != nil || p.NTrials != 20 {
			b.Fatalf("join %d: %d trials, %v", i, p.NTrials, err)
		}
	}
}
