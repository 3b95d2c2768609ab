package postgres_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/cubelab/cubelab/internal/postgres"
	"github.com/cubelab/cubelab/internal/postgres/pgtest"
	"github.com/cubelab/cubelab/internal/problem"
	"github.com/cubelab/cubelab/internal/prolific"
	"github.com/cubelab/cubelab/internal/study"
	"github.com/cubelab/cubelab/internal/task"
)

// TestReleaseReservations: made-up PIDs that take every slot of a pool and
// never answer give the slots and their places back once the reservation
// window has passed; someone who answered, if only a practice trial, keeps
// theirs. The statement agrees
// with study.Participant.ReservationExpired on every participant.
func TestReleaseReservations(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	_, pool := pgtest.New(t)
	store := postgres.NewStore(pool)
	st := poolStudy(t, store, 8, 2, 1)
	st, err := store.StudyBySlug(ctx, st.Slug)
	if err != nil {
		t.Fatal(err)
	}
	var in []study.Participant
	for i := range 4 {
		p, err := store.Join(ctx, st, prolific.Params{PID: pid(i), SessionID: "s" + pid(i)}, int64(i), hashOf(pid(i)))
		if err != nil {
			t.Fatal(err)
		}
		in = append(in, p)
	}
	if _, err := store.Join(ctx, st, prolific.Params{PID: pid(9)}, 9, hashOf(pid(9))); problem.Code(err) == "" {
		t.Fatal("a fifth participant got items from a full pool")
	}
	// The first participant answers.
	p0 := in[0]
	if err := store.Consent(ctx, p0.ID); err != nil {
		t.Fatal(err)
	}
	if err := store.SaveDemographics(ctx, p0.ID, nil, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := store.ShowTrial(ctx, p0, 1); err != nil {
		t.Fatal(err)
	}
	if _, err := store.Answer(ctx, p0.ID, 1, task.Yes, nil); err != nil {
		t.Fatal(err)
	}
	// The second has answered a practice trial only: they are there too.
	if _, err := pool.Exec(ctx, `UPDATE participants SET n_practice = 2, n_practice_answered = 1 WHERE id = $1`, in[1].ID); err != nil {
		t.Fatal(err)
	}
	if n, err := store.ReleaseReservations(ctx, st.ID, time.Now()); err != nil || n != 0 {
		t.Fatalf("within the window: %d released (%v)", n, err)
	}
	later := time.Now().Add(time.Duration(st.ReservationMinutes)*time.Minute + time.Second)
	want := 0
	for _, p := range in {
		_, cur, err := store.Session(ctx, st.Slug, hashOf(p.PID))
		if err != nil {
			t.Fatal(err)
		}
		if cur.ReservationExpired(st, later) {
			want++
		}
	}
	n, err := store.ReleaseReservations(ctx, uuid.Nil, later)
	if err != nil || n != 2 || want != 2 {
		t.Fatalf("released %d (%v), study rule says %d; want 2", n, err, want)
	}
	if _, err := store.Join(ctx, st, prolific.Params{PID: pid(9)}, 9, hashOf(pid(9))); err != nil {
		t.Fatalf("after the window a new participant gets no items: %v", err)
	}
}
