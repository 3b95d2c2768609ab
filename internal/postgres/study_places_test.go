package postgres_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/cubelab/cubelab/internal/postgres"
	"github.com/cubelab/cubelab/internal/postgres/pgtest"
	"github.com/cubelab/cubelab/internal/problem"
	"github.com/cubelab/cubelab/internal/prolific"
)

// TestPlacesLaunchBurst: 2,000 people open the link of a 1,500-place pool
// study at once (the launch of a Prolific study), through the store's pool. The
// pool has exactly the slots 1,500 participants need (3,000 items x R = 2, K =
// 4), so joins near the end run short of both places and items at once, and
// take the waiting path. Exactly 1,500 get in, each with K items, every slot
// is held once, no item has more than R participants, and each shard of the
// count of places is within its cap.
func TestPlacesLaunchBurst(t *testing.T) {
	if testing.Short() {
		t.Skip("2,000 joins")
	}
	t.Parallel()
	ctx := context.Background()
	_, pool := pgtest.New(t)
	store := postgres.NewStore(pool)
	const items, k, r, places, people = 3000, 4, 2, 1500, 2000
	st := poolStudy(t, store, items, k, r)
	pgtest.SetPlaces(t, pool, st.ID, places)
	st.Places = places

	var mu sync.Mutex
	admitted := map[string]int{} // PID -> trials
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range people {
		wg.Go(func() {
			<-start
			p, err := store.Join(ctx, st, prolific.Params{PID: pid(i)}, int64(i), hashOf(fmt.Sprint("burst", i)))
			switch {
			case err == nil:
				mu.Lock()
				admitted[p.PID] = p.NTrials
				mu.Unlock()
			case problem.Code(err) == problem.EGONE:
			default:
				t.Errorf("join %d: %v", i, err)
			}
		})
	}
	close(start)
	wg.Wait()

	if len(admitted) != places {
		t.Errorf("%d admitted, want exactly %d", len(admitted), places)
	}
	for p, n := range admitted {
		if n != k {
			t.Errorf("%s has %d trials, want %d", p, n, k)
		}
	}
	var active, held, overR, shardsOver, used int
	err := pool.QueryRow(ctx, `SELECT
		(SELECT count(*) FROM participants WHERE study_id = $1 AND status = 'started'),
		(SELECT count(*) FROM pool_slots WHERE study_id = $1 AND participant_id IS NOT NULL),
		(SELECT count(*) FROM (SELECT t.stimulus_id FROM trials t JOIN participants p ON p.id = t.participant_id
			WHERE p.study_id = $1 GROUP BY t.stimulus_id HAVING count(*) > $2) x),
		(SELECT count(*) FROM study_place_shards sh WHERE sh.study_id = $1 AND sh.used > ($3::int + 31 - sh.shard) / 32),
		(SELECT sum(used) FROM study_place_shards WHERE study_id = $1)`, st.ID, r, places).
		Scan(&active, &held, &overR, &shardsOver, &used)
	if err != nil {
		t.Fatal(err)
	}
	if active != places || held != items*r || overR != 0 || shardsOver != 0 || used != places {
		t.Errorf("%d participants, %d slots held (of %d), %d items over R, %d shards over their cap, %d places counted",
			active, held, items*r, overR, shardsOver, used)
	}
	checkBound(t, store, st)

	// One who leaves gives back the place and the items; the next one in
	// takes both, and the study is full again.
	var leaver string
	for p := range admitted {
		leaver = p
		break
	}
	var leaverID uuid.UUID
	if err := pool.QueryRow(ctx, `SELECT id FROM participants WHERE study_id = $1 AND prolific_pid = $2`, st.ID, leaver).Scan(&leaverID); err != nil {
		t.Fatal(err)
	}
	if err := store.ActOnParticipant(ctx, st.ID, leaverID, postgres.MarkReturned, ""); err != nil {
		t.Fatal(err)
	}
	p, err := store.Join(ctx, st, prolific.Params{PID: pid(people)}, 1, hashOf("after"))
	if err != nil || p.NTrials != k {
		t.Fatalf("join after a return: %+v, %v", p, err)
	}
	if _, err := store.Join(ctx, st, prolific.Params{PID: pid(people + 1)}, 1, hashOf("full")); problem.Code(err) != problem.EGONE {
		t.Errorf("join on a full study: %v, want EGONE", err)
	}
}

// TestPlacesWaitingClaimFollowsCommit: a join that finds every shard of the
// count of places held by joins in flight waits; when the one holding the
// lowest shard commits with room left in it, the waiting join takes a place
// in that shard's newest version (an UPDATE found by the ctid the lock saw
// would miss it and turn the join away).
func TestPlacesWaitingClaimFollowsCommit(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dsn, pool := pgtest.New(t)
	store := postgres.NewStore(pool)
	st := pgtest.NewStudy(t, store, "waiting", 3)
	// 64 places: two per shard.
	pgtest.SetPlaces(t, pool, st.ID, 64)
	st.Places = 64
	// Joins in flight: one transaction per shard holds it locked, each on a
	// connection of its own (the store's pool is smaller).
	var holders []pgx.Tx
	for shard := range 32 {
		conn, err := pgx.Connect(ctx, dsn)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(ctx)
		tx, err := conn.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer tx.Rollback(ctx) //nolint:errcheck // most are rolled back below
		if _, err := tx.Exec(ctx, `UPDATE study_place_shards SET used = used + 1 WHERE study_id = $1 AND shard = $2`, st.ID, shard); err != nil {
			t.Fatal(err)
		}
		holders = append(holders, tx)
	}
	joined := make(chan error, 1)
	go func() {
		_, err := store.Join(ctx, st, prolific.Params{PID: pid(1)}, 1, hashOf("waiting"))
		joined <- err
	}()
	time.Sleep(500 * time.Millisecond) // the join is now waiting for shard 0
	select {
	case err := <-joined:
		t.Fatalf("the join did not wait: %v", err)
	default:
	}
	if err := holders[0].Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-joined; err != nil {
		t.Fatalf("join after the holder of shard 0 committed: %v", err)
	}
	for _, tx := range holders[1:] {
		_ = tx.Rollback(ctx)
	}
	var used int
	if err := pool.QueryRow(ctx, `SELECT used FROM study_place_shards WHERE study_id = $1 AND shard = 0`, st.ID).Scan(&used); err != nil || used != 2 {
		t.Errorf("shard 0 counts %d (%v), want 2", used, err)
	}
}
