package postgres_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/cubelab/cubelab/internal/postgres"
	"github.com/cubelab/cubelab/internal/postgres/pgtest"
	"github.com/cubelab/cubelab/internal/prolific"
	"github.com/cubelab/cubelab/internal/study"
)

// TestSessionPathsFollowStudy holds the participant's one-statement paths
// equal to study's rules on every case: ShowTrialBySession shows a trial
// exactly when study.Participant.Step is StepTrial, and
// TrialStimulusBySession finds a picture exactly when
// study.Participant.MaySee allows it. Every participant status, with and
// without consent and demographics, before, during and after the trials.
func TestSessionPathsFollowStudy(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	_, pool := pgtest.New(t)
	store := postgres.NewStore(pool)
	const n = 4
	st := pgtest.NewStudy(t, store, "rules", n)
	pgtest.SetPlaces(t, pool, st.ID, 1000)
	statuses := []study.ParticipantStatus{study.Started, study.Completed, study.Approved, study.Returned, study.TimedOut, study.Rejected}
	i := 0
	for _, status := range statuses {
		for _, consented := range []bool{false, true} {
			for _, demographics := range []bool{false, true} {
				for _, answered := range []int{0, 2, n} {
					for _, practiceLeft := range []int{0, 1} {
						i++
						name := fmt.Sprintf("%s consented=%v demographics=%v answered=%d practice left=%d", status, consented, demographics, answered, practiceLeft)
						token := hashOf(fmt.Sprintf("rules-%d", i))
						joinedP, err := store.Join(ctx, st, prolific.Params{PID: pid(500 + i)}, int64(i), token)
						if err != nil {
							t.Fatalf("%s: join: %v", name, err)
						}
						var consentedAt, demographicsAt *time.Time
						now := time.Now()
						if consented {
							consentedAt = &now
						}
						if demographics {
							demographicsAt = &now
						}
						if _, err := pool.Exec(ctx, `UPDATE participants SET status = $2, consented_at = $3, demographics_at = $4, n_answered = $5,
						n_practice = 2, n_practice_answered = 2 - $6
						WHERE id = $1`, joinedP.ID, string(status), consentedAt, demographicsAt, answered, practiceLeft); err != nil {
							t.Fatalf("%s: set state: %v", name, err)
						}
						_, p, err := store.Session(ctx, st.Slug, token)
						if err != nil {
							t.Fatalf("%s: session: %v", name, err)
						}
						for pos := -1; pos <= n+2; pos++ {
							_, ok, err := store.TrialStimulusBySession(ctx, st.Slug, token, pos)
							if err != nil {
								t.Fatalf("%s: picture %d: %v", name, pos, err)
							}
							if want := p.MaySee(pos); ok != want {
								t.Errorf("%s: picture %d: the statement finds it %v, study.MaySee says %v", name, pos, ok, want)
							}
						}
						_, _, _, ok, err := store.ShowTrialBySession(ctx, st.Slug, token)
						if err != nil {
							t.Fatalf("%s: show trial: %v", name, err)
						}
						if want := p.Step() == study.StepTrial; ok != want {
							t.Errorf("%s: the statement shows a trial: %v; study says step %q", name, ok, p.Step())
						}
					}
				}
			}
		}
	}
}
