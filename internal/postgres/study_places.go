package postgres

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/cubelab/cubelab/internal/problem"
	"github.com/cubelab/cubelab/internal/study"
)

// How joins take places (and, in a pool study, slots) in parallel and stay
// exact (see also db/migrations/000900_study_places.up.sql):
//
//   - A study's places are a counter split over placeShards rows of
//     study_place_shards; each shard may count at most its cap, and the caps
//     add up to places. A new participant increments a shard below its cap
//     and keeps its number in place_shard. When places change (raised, or
//     lowered to no fewer than those taken, even while joins run), a trigger
//     on studies.places locks every shard and gives each its count plus an
//     even share of the free places (migration 001030), so the places free to
//     joins are exactly places minus those taken.
//   - A join first tries the uncontended way: it increments the lowest shard
//     below its cap, and in a pool study locks K free slots, with FOR UPDATE
//     SKIP LOCKED. A shard or slot another join holds is skipped, not waited
//     for, so joins to one study do not queue behind each other.
//   - Skipping comes up short only because of rows other joins hold for the
//     moment: near the last place or the last free items, a join may find
//     every remaining row locked by joins that may yet roll back. Such a join
//     gives back whatever it had locked (nothing, when no shard was free; by
//     rolling its transaction back and starting again, when a pool's slots
//     were short), takes the study's advisory lock (one such join at a time)
//     and claims again waiting for locked rows: when their holder commits,
//     the row no longer qualifies and the claim moves on; when it rolls back,
//     the row is free and taken. A join is thus turned away only when the
//     places (or the items) are held by committed participants, as when
//     joins were serialised on the study row.
//   - Participants past the time limit give their places back first (the
//     sweep, in its own transaction, then the join again), so a study never
//     turns people away while the background sweep is yet to run.
//   - Joins claiming the uncontended way never wait on a row lock; a waiting
//     join holds no shard or slot when it queues; releases lock shards in one
//     order: no cycle of waits.
//   - freeSlots (pool.go) gives back a participant's place with their slots,
//     in the transaction that makes them returned, timed out or rejected: it
//     is the one release path for every way out of a study, and giving back
//     twice changes nothing (place_shard is cleared).

// placeShards is how many rows a study's count of places is split over: more
// than the joins that can be in flight at once (the connection pool).
const placeShards = 32

// createPlaceShards makes the study's counter rows.
func createPlaceShards(ctx context.Context, tx pgx.Tx, studyID uuid.UUID) error {
	_, err := tx.Exec(ctx, `
		INSERT INTO study_place_shards (study_id, shard, cap)
		SELECT $1, s, (st.places + $2 - 1 - s) / $2 FROM studies st, generate_series(0, $2::int - 1) AS s
		WHERE st.id = $1
		ON CONFLICT DO NOTHING`, studyID, placeShards)
	if err != nil {
		return fmt.Errorf("postgres: places: %w", err)
	}
	return nil
}

// joinClaim is what a new participant takes: the shard that counts their
// place (incremented) and, in a pool study, their slots (locked until the
// join writes them).
type joinClaim struct {
	shard int16
	// used is the shard's count with this place: the Yes side alternates
	// with it (study.YesSideFor).
	used  int
	slots poolClaim
}

// placeClaimSQL counts a place ($1 the study) in the lowest shard below its
// cap, skipping shards other transactions hold unless wait, and returns the
// shard and its count. The outer UPDATE finds the shard by its key, not by
// the ctid the locking subquery saw: a shard another join updated and
// committed after this statement began is locked in its newest version,
// which this statement's snapshot cannot see by ctid; by key, the update
// follows the row to it. cond ("" or "AND ..") is a further condition.
func placeClaimSQL(wait bool, cond string) string {
	lock := `FOR UPDATE OF sh SKIP LOCKED`
	if wait {
		lock = `FOR UPDATE OF sh`
	}
	return `
		UPDATE study_place_shards SET used = used + 1
		WHERE study_id = $1 AND shard = (SELECT sh.shard FROM study_place_shards sh
			WHERE sh.study_id = $1 AND sh.used < sh.cap
			ORDER BY sh.shard LIMIT 1 ` + lock + `) ` + cond + `
		RETURNING shard, used`
}

// waitingClaimSQL is claimPlace's statement.
var waitingClaimSQL = placeClaimSQL(true, "")

// claimPlace counts a place, waiting for shards other transactions hold.
// ok is false when there is none.
func claimPlace(ctx context.Context, tx pgx.Tx, st study.Study) (c joinClaim, ok bool, err error) {
	err = tx.QueryRow(ctx, waitingClaimSQL, st.ID).Scan(&c.shard, &c.used)
	if err == pgx.ErrNoRows {
		return c, false, nil
	} else if err != nil {
		return c, false, fmt.Errorf("postgres: claim place: %w", err)
	}
	return c, true, nil
}

// firstClaimSQL is a join's first claim of a place (joinFirst), made
// without waiting, sent in one batch with the study's items: it returns the
// study's status and the shard and its count, or nulls when nothing was
// claimed. It claims only while the study takes new participants: a join
// that claims nothing may resume a participant already there and commit,
// and a place it had counted would then stay counted with nobody holding
// it (TestJoin/ResumeTakesNoPlace).
var firstClaimSQL = `
	WITH claim AS (` + placeClaimSQL(false, `AND EXISTS (SELECT FROM studies WHERE id = $1 AND status = `+sqlPublished+`)`) + `)
	SELECT st.status, claim.shard, claim.used FROM studies st LEFT JOIN claim ON true WHERE st.id = $1`

func errNoPlaces() error {
	return problem.Errorf(problem.EGONE, "All places in this study are taken. Please return the study on Prolific.")
}

// errSweepFirst asks Join to time out the participants past the limit, in a
// transaction of its own, and try again.
var errSweepFirst = errors.New("postgres: participants past the time limit hold places")

// errClaimShort asks Join to try again in a new transaction, claiming the
// waiting way: the first claim came up short (no place, or too few of a
// pool's slots) because of rows other joins hold for the moment. The
// transaction may hold a shard or slots (the first claim locked them, or
// locked a shard that a concurrent join filled meanwhile): rolling it back
// gives them back before the join queues (claimWaiting).
var errClaimShort = errors.New("postgres: a join came up short without waiting")

// claimSlots completes a first claim that took a place without waiting,
// in a pool study, with the slots it can lock without waiting;
// errClaimShort when they are too few (what it claimed is then given back
// by rolling the transaction back).
func claimSlots(ctx context.Context, tx pgx.Tx, st study.Study, c *joinClaim) (err error) {
	if st.Design != study.Pool {
		return nil
	}
	if c.slots, err = lockFreeSlots(ctx, tx, st); err != nil {
		return err
	}
	if len(c.slots.stimuli) < st.ItemsPerParticipant {
		return errClaimShort
	}
	return nil
}

// refuseEarly is the first step of a join that came up short: once a study
// is full every join comes this way, and it refuses at once, without
// queueing, when nothing is free even counting rows others hold and nobody
// is past the time limit. The limit is read once, as a scalar: joined to
// the studies row instead, the plan of a fresh database read it again for
// each started participant, 7 ms a check with 3,000 started (0.7 ms so). It
// returns errSweepFirst when participants past the time limit hold some and
// swept is false, and nil when the join should wait for a place.
func refuseEarly(ctx context.Context, tx pgx.Tx, st study.Study, swept bool) error {
	var freePlace, freeSlot, late bool
	err := tx.QueryRow(ctx, `
		SELECT EXISTS (SELECT 1 FROM study_place_shards sh WHERE sh.study_id = $1 AND sh.used < sh.cap),
			NOT $2 OR EXISTS (SELECT 1 FROM pool_slots WHERE study_id = $1 AND participant_id IS NULL),
			EXISTS (SELECT 1 FROM participants p
				WHERE p.study_id = $1 AND p.status = `+sqlStarted+`
				  AND p.started_at < now() - (SELECT time_limit_minutes FROM studies WHERE id = $1) * interval '1 minute')`,
		st.ID, st.Design == study.Pool).Scan(&freePlace, &freeSlot, &late)
	if err != nil {
		return fmt.Errorf("postgres: free places: %w", err)
	}
	switch {
	case late && !swept:
		return errSweepFirst
	case !freePlace:
		return errNoPlaces()
	case !freeSlot:
		return errNoSlots(ctx, tx, st.ID)
	}
	return nil
}

// claimWaiting claims for a join that came up short, one such join of the
// study at a time, waiting for the rows other joins hold. It refuses only when
// no place, or no slot, is left (refuseEarly). The transaction must hold no
// shard or slot: a join queued on the study's lock while holding a row
// another queued join waits for would deadlock.
func claimWaiting(ctx context.Context, tx pgx.Tx, st study.Study, swept bool) (c joinClaim, err error) {
	if err := refuseEarly(ctx, tx, st, swept); err != nil {
		return c, err
	}
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended('cubelab join ' || $1::text, 0))`, st.ID); err != nil {
		return c, fmt.Errorf("postgres: join lock: %w", err)
	}
	c, ok, err := claimPlace(ctx, tx, st)
	if err != nil {
		return c, err
	}
	if !ok {
		return c, errNoPlaces()
	}
	if st.Design != study.Pool {
		return c, nil
	}
	if c.slots, err = lockFreeSlots(ctx, tx, st); err != nil {
		return c, err
	}
	if len(c.slots.stimuli) < st.ItemsPerParticipant {
		if err := c.slots.lockRest(ctx, tx, st.ItemsPerParticipant); err != nil {
			return c, err
		}
	}
	// An adaptive pool's extra answers are claimed here only, one join at a
	// time under the lock above, which keeps their budget exact.
	if err := c.slots.lockExtra(ctx, tx, st, st.ItemsPerParticipant); err != nil {
		return c, err
	}
	if len(c.slots.stimuli) == 0 {
		return c, errNoSlots(ctx, tx, st.ID)
	}
	return c, nil
}

// releasePlaces gives back the places of the participants who hold one and
// clears their place_shard, so that giving back twice changes nothing. The
// shards are locked in one order (study, shard), so that concurrent releases
// cannot deadlock.
func releasePlaces(ctx context.Context, tx pgx.Tx, participantIDs []uuid.UUID) error {
	rows, err := tx.Query(ctx, `
		UPDATE participants p SET place_shard = NULL
		FROM (SELECT id, place_shard FROM participants
			WHERE id = ANY($1) AND place_shard IS NOT NULL FOR UPDATE) old
		WHERE p.id = old.id
		RETURNING p.study_id, old.place_shard`, participantIDs)
	if err != nil {
		return fmt.Errorf("postgres: release places: %w", err)
	}
	type key struct {
		study uuid.UUID
		shard int16
	}
	counts := map[key]int{}
	for rows.Next() {
		var k key
		if err := rows.Scan(&k.study, &k.shard); err != nil {
			rows.Close()
			return fmt.Errorf("postgres: release places: %w", err)
		}
		counts[k]++
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("postgres: release places: %w", err)
	}
	keys := make([]key, 0, len(counts))
	for k := range counts {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b key) int {
		return cmp.Or(slices.Compare(a.study[:], b.study[:]), cmp.Compare(a.shard, b.shard))
	})
	for _, k := range keys {
		if _, err := tx.Exec(ctx, `UPDATE study_place_shards SET used = used - $3 WHERE study_id = $1 AND shard = $2`,
			k.study, k.shard, counts[k]); err != nil {
			return fmt.Errorf("postgres: release places: %w", err)
		}
	}
	return nil
}
