package postgres_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/cubelab/cubelab/internal/postgres"
	"github.com/cubelab/cubelab/internal/postgres/pgtest"
	"github.com/cubelab/cubelab/internal/prolific"
)

// TestAnswerPathFindsParticipantByKey holds the statements of the answer
// path to the participant's primary key, in the generic plan that pgx's
// prepared statements run, with the statistics of a study's first minutes
// (taken while one participant had started) and 400 participants started
// since. A partial index on started participants (participants_started,
// dropped in migration 001110) made the planner scan every started
// participant on every answer instead; any index like it would again.
func TestAnswerPathFindsParticipantByKey(t *testing.T) {
	t.Parallel()
	store, st, _ := joined(t, 4)
	ctx := context.Background()
	pool := store.Pool()
	pgtest.SetPlaces(t, pool, st.ID, 1000)
	if _, err := pool.Exec(ctx, `ANALYZE participants`); err != nil {
		t.Fatal(err)
	}
	for i := 2; i <= 400; i++ {
		if _, err := store.Join(ctx, st, prolific.Params{PID: pid(i)}, int64(i), hashOf(fmt.Sprint("tok", i))); err != nil {
			t.Fatal(err)
		}
	}
	conn, err := pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, `SET plan_cache_mode = force_generic_plan`); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name, sql, types, args string
	}{
		{"answer", postgres.SubmitBySessionSQL, "bytea, int, text, int, boolean, boolean, int, timestamptz, text",
			`'\x00', 1, 'Yes', NULL, true, NULL, NULL, NULL, 's'`},
		{"trial page", postgres.ShowTrialBySessionSQL, "bytea, text", `'\x00', 's'`},
	} {
		name := "plan_" + fmt.Sprint(len(c.name))
		if _, err := conn.Exec(ctx, `PREPARE `+name+` (`+c.types+`) AS `+c.sql); err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		var plan []struct{ Plan planNode }
		if err := conn.QueryRow(ctx, `EXPLAIN (FORMAT JSON) EXECUTE `+name+` (`+c.args+`)`).Scan(&plan); err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		n := 0
		plan[0].Plan.walk(func(p planNode) {
			if p.Relation != "participants" || p.Type == "ModifyTable" {
				return
			}
			n++
			if p.Index != "participants_pkey" || p.IndexCond == "" {
				t.Errorf("%s: participants read by %s %q (%s), not by its primary key", c.name, p.Type, p.Index, p.IndexCond)
			}
		})
		if t.Failed() {
			var text string
			rows, _ := conn.Query(ctx, `EXPLAIN EXECUTE `+name+` (`+c.args+`)`)
			for rows.Next() {
				var l string
				_ = rows.Scan(&l)
				text += l + "\n"
			}
			t.Logf("%s plan:\n%s", c.name, text)
		}
		if n == 0 {
			t.Errorf("%s: no scan of participants in the plan", c.name)
		}
		if _, err := conn.Exec(ctx, `DEALLOCATE `+name); err != nil {
			t.Fatal(err)
		}
	}
}

// planNode is a node of EXPLAIN (FORMAT JSON).
type planNode struct {
	Type      string     `json:"Node Type"`
	Relation  string     `json:"Relation Name"`
	Index     string     `json:"Index Name"`
	IndexCond string     `json:"Index Cond"`
	Plans     []planNode `json:"Plans"`
}

func (p planNode) walk(f func(planNode)) {
	f(p)
	for _, c := range p.Plans {
		c.walk(f)
	}
}
