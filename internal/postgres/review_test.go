package postgres_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/cubelab/cubelab/internal/postgres"
	"github.com/cubelab/cubelab/internal/postgres/pgtest"
	"github.com/cubelab/cubelab/internal/problem"
	"github.com/cubelab/cubelab/internal/study"
)

// Undo in a pool study: a return taken back takes its place and its items'
// slots back, and is refused when someone else holds them now; an approval
// is refused once a bonus batch holds the participant; a mark-paid is taken
// back unless the batch went to Prolific.
func TestUndoReview(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	now := time.Now()
	log := postgres.ReviewLog{At: now}
	var pool *pgxpool.Pool
	var store *postgres.Store
	fresh := func(t *testing.T) {
		_, pool = pgtest.New(t)
		store = postgres.NewStore(pool)
	}
	status := func(id uuid.UUID) study.ParticipantStatus {
		t.Helper()
		var s study.ParticipantStatus
		if err := pool.QueryRow(ctx, `SELECT status FROM participants WHERE id = $1`, id).Scan(&s); err != nil {
			t.Fatal(err)
		}
		return s
	}
	heldBy := func(id uuid.UUID) int {
		t.Helper()
		var n int
		if err := pool.QueryRow(ctx, `SELECT count(*) FROM pool_slots WHERE participant_id = $1`, id).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}

	t.Run("ReturnTakesSlotsBack", func(t *testing.T) {
		fresh(t)
		st := poolStudy(t, store, 8, 4, 1)
		ps := joinAll(t, store, st, 0, 1)
		answerN(t, store, ps[0], 2)
		id, err := store.Review(ctx, st.ID, []uuid.UUID{ps[0].ID}, postgres.MarkReturned, "", log)
		if err != nil {
			t.Fatal(err)
		}
		if heldBy(ps[0].ID) != 0 {
			t.Fatal("a return kept its slots")
		}
		if _, err := store.UndoReview(ctx, st.ID, id, now.Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
		if s, n := status(ps[0].ID), heldBy(ps[0].ID); s != study.Started || n != 4 {
			t.Fatalf("after undo: %s holding %d slots, want started holding 4", s, n)
		}
		checkBound(t, store, st)
	})
	t.Run("ErrReturnSlotsTaken", func(t *testing.T) {
		fresh(t)
		// R = 1 and 4 items: two participants of K = 4 cannot both hold them.
		st := poolStudy(t, store, 4, 4, 1)
		first := joinAll(t, store, st, 10, 11)[0]
		id, err := store.Review(ctx, st.ID, []uuid.UUID{first.ID}, postgres.MarkReturned, "", log)
		if err != nil {
			t.Fatal(err)
		}
		second := joinAll(t, store, st, 11, 12)
		if len(second) != 1 || heldBy(second[0].ID) != 4 {
			t.Fatal("the freed items did not go to the next participant")
		}
		_, err = store.UndoReview(ctx, st.ID, id, now.Add(time.Minute))
		if problem.Code(err) != problem.ECONFLICT {
			t.Fatalf("undo with the items taken: %v, want ECONFLICT", err)
		}
		if status(first.ID) != study.Returned || heldBy(second[0].ID) != 4 {
			t.Fatal("a refused undo changed something")
		}
		checkBound(t, store, st)
	})
	t.Run("ApproveAndPaid", func(t *testing.T) {
		fresh(t)
		st := poolStudy(t, store, 8, 4, 1)
		ps := joinAll(t, store, st, 20, 22)
		for _, p := range ps {
			answerN(t, store, p, p.NTrials)
		}
		if _, err := pool.Exec(ctx, `UPDATE participants SET bonus_minor = 10 WHERE study_id = $1`, st.ID); err != nil {
			t.Fatal(err)
		}
		first, err := store.Review(ctx, st.ID, []uuid.UUID{ps[0].ID}, postgres.Approve, "", log)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := store.CreateBonusBatch(ctx, st.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := store.UndoReview(ctx, st.ID, first, now); problem.Code(err) != problem.ECONFLICT || status(ps[0].ID) != study.Approved {
			t.Fatalf("undoing an approval whose bonus is in a batch: %v", err)
		}
		if err := store.MarkBatchPaidLogged(ctx, st.ID, 1, log); err != nil {
			t.Fatal(err)
		}
		recent, err := store.UndoableReviews(ctx, st.ID, now.Add(time.Minute))
		if err != nil || len(recent) != 2 || recent[0].Action != study.MarkPaid || recent[0].Batch != 1 {
			t.Fatalf("undoable reviews = %+v (%v), want the mark-paid first, then the approval", recent, err)
		}
		if _, err := store.UndoReview(ctx, st.ID, recent[0].ID, now.Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
		var paid bool
		if err := pool.QueryRow(ctx, `SELECT paid_at IS NOT NULL FROM bonus_batches WHERE study_id = $1 AND number = 1`, st.ID).Scan(&paid); err != nil || paid {
			t.Fatalf("batch still paid after undo (%v)", err)
		}
		// A batch that went to Prolific: marked paid, logged as sent, never undone.
		if _, err := pool.Exec(ctx, `UPDATE bonus_batches SET prolific_state = 'created' WHERE study_id = $1`, st.ID); err != nil {
			t.Fatal(err)
		}
		if err := store.MarkBatchPaidLogged(ctx, st.ID, 1, log); err != nil {
			t.Fatal(err)
		}
		recent, err = store.UndoableReviews(ctx, st.ID, now)
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range recent {
			if a.Action == study.MarkPaid {
				t.Fatal("a batch on Prolific offers an undo of its payment")
			}
		}
		if len(recent) != 0 {
			t.Logf("still undoable: %+v", recent)
		}
	})
}
