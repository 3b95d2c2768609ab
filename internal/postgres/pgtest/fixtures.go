package pgtest

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/cubelab/cubelab/internal/postgres"
	"github.com/cubelab/cubelab/internal/postgres/synthset"
	"github.com/cubelab/cubelab/internal/study"
	"github.com/cubelab/cubelab/internal/task"
	"github.com/jackc/pgx/v5/pgxpool"
)

// PNG returns a 512x512 picture of a few stacked blocks on a grey floor,
// different for every i (synthset.PNG).
func PNG(i int) []byte { return synthset.PNG(i) }

// TowerSet is an in-memory set of n towers named name (synthset.TowerSet):
// item i (t01, t02, ...) has 2 + i%3 blocks, and the answer Yes when i is even.
func TowerSet(name string, n int) postgres.SetImport { return synthset.TowerSet(name, n) }

// NewStudy imports TowerSet(slug+"-set", n) and creates a published fixed
// study on it with 10 (minor units) per correct answer, at most 10 x (n-1).
func NewStudy(t testing.TB, store *postgres.Store, slug string, n int) study.Study {
	t.Helper()
	ctx := context.Background()
	setID, _, err := store.ImportSet(ctx, TowerSet(slug+"-set", n))
	if err != nil {
		t.Fatalf("pgtest: import: %v", err)
	}
	st := study.Study{
		Slug: slug, Title: "Test study " + slug, Domain: task.Tower, SetID: setID, Design: study.Fixed,
		ResponsesPerItem: 1, Places: 100, TimeLimitMinutes: 30,
		ConsentText:      "You agree to take part in a test.\n\nSecond paragraph.",
		InstructionsText: "Answer every question.",
		Pay:              study.Pay{BaseMinor: 150, PerCorrectMinor: 10, MaxBonusMinor: int64(10 * (n - 1)), Currency: "GBP"},
		CompletionCode:   "TESTCODE1", Status: study.Published,
		MinViewMs: study.DefaultMinViewMs, TooFastMs: study.DefaultTooFastMs,
		ReservationMinutes: study.DefaultReservationMinutes,
	}
	if err := store.CreateStudy(ctx, &st); err != nil {
		t.Fatalf("pgtest: create study: %v", err)
	}
	return st
}

// The fixtures below put stored rows into states that the store reaches only
// through time or through paths a test does not want to walk: they write
// the columns directly, bypassing the store's checks, and fail the test on
// an error. A nil studyID (or no participant ids) means every row.

// SetPlaces sets a study's places.
func SetPlaces(t testing.TB, pool *pgxpool.Pool, studyID uuid.UUID, places int) {
	t.Helper()
	exec(t, pool, `UPDATE studies SET places = $2 WHERE $1::uuid IS NULL OR id = $1`, nullID(studyID), places)
}

// SetStudyStatus sets a study's status.
func SetStudyStatus(t testing.TB, pool *pgxpool.Pool, studyID uuid.UUID, s study.Status) {
	t.Helper()
	exec(t, pool, `UPDATE studies SET status = $2 WHERE $1::uuid IS NULL OR id = $1`, nullID(studyID), string(s))
}

// SetParticipantStatus sets participants' status.
func SetParticipantStatus(t testing.TB, pool *pgxpool.Pool, s study.ParticipantStatus, ids ...uuid.UUID) {
	t.Helper()
	exec(t, pool, `UPDATE participants SET status = $2 WHERE coalesce(cardinality($1::uuid[]), 0) = 0 OR id = ANY($1)`, ids, string(s))
}

// StartedAgo moves participants' start to ago before the database's now:
// the clock that time limits and reservation windows run on.
func StartedAgo(t testing.TB, pool *pgxpool.Pool, ago time.Duration, ids ...uuid.UUID) {
	t.Helper()
	exec(t, pool, `UPDATE participants SET started_at = now() - $2 * interval '1 microsecond'
		WHERE coalesce(cardinality($1::uuid[]), 0) = 0 OR id = ANY($1)`, ids, ago.Microseconds())
}

func exec(t testing.TB, pool *pgxpool.Pool, sql string, args ...any) {
	t.Helper()
	if _, err := pool.Exec(context.Background(), sql, args...); err != nil {
		t.Fatalf("pgtest: %v", err)
	}
}

func nullID(id uuid.UUID) *uuid.UUID {
	if id == uuid.Nil {
		return nil
	}
	return &id
}
