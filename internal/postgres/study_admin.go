package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/cubelab/cubelab/internal/problem"
	"github.com/cubelab/cubelab/internal/study"
)

// SetSummary is a stimulus set as the study form offers it.
type SetSummary struct {
	ID      uuid.UUID
	Name    string
	Items   int
	Domains string // e.g. "tower" or "pyramid, pyramid-removed"
}

// Sets lists every stimulus set by name.
func (s *Store) Sets(ctx context.Context) ([]SetSummary, error) {
	rows, err := s.pool.Query(ctx, `
		SELECT ss.id, ss.name, count(st.id), COALESCE(string_agg(DISTINCT st.domain, ', '), '')
		FROM stimulus_sets ss LEFT JOIN stimuli st ON st.set_id = ss.id
		GROUP BY ss.id, ss.name ORDER BY ss.name`)
	if err != nil {
		return nil, fmt.Errorf("postgres: sets: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (SetSummary, error) {
		var v SetSummary
		return v, r.Scan(&v.ID, &v.Name, &v.Items, &v.Domains)
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: sets: %w", err)
	}
	return out, nil
}

// StimulusIDs resolves manifest ids of a set to stimulus ids, in the order
// given; an unknown id is an EINVALID error that names it.
func (s *Store) StimulusIDs(ctx context.Context, setID uuid.UUID, extIDs []string) ([]uuid.UUID, error) {
	if len(extIDs) == 0 {
		return []uuid.UUID{}, nil
	}
	rows, err := s.pool.Query(ctx, `
		SELECT e.ext_id, st.id FROM unnest($2::text[]) WITH ORDINALITY AS e(ext_id, ord)
		LEFT JOIN stimuli st ON st.set_id = $1 AND st.ext_id = e.ext_id ORDER BY e.ord`, setID, extIDs)
	if err != nil {
		return nil, fmt.Errorf("postgres: stimulus ids: %w", err)
	}
	defer rows.Close()
	out := make([]uuid.UUID, 0, len(extIDs))
	for rows.Next() {
		var ext string
		var id *uuid.UUID
		if err := rows.Scan(&ext, &id); err != nil {
			return nil, fmt.Errorf("postgres: stimulus ids: %w", err)
		}
		if id == nil {
			return nil, problem.Errorf(problem.EINVALID, "The stimulus set has no item %q.", ext)
		}
		out = append(out, *id)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("postgres: stimulus ids: %w", err)
	}
	return out, nil
}

// ExtIDs turns stimulus ids back into the manifest's ids, in the order given.
func (s *Store) ExtIDs(ctx context.Context, ids []uuid.UUID) ([]string, error) {
	rows, err := s.pool.Query(ctx, `
		SELECT st.ext_id FROM unnest($1::uuid[]) WITH ORDINALITY AS i(id, ord)
		JOIN stimuli st ON st.id = i.id ORDER BY i.ord`, ids)
	if err != nil {
		return nil, fmt.Errorf("postgres: ext ids: %w", err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("postgres: ext ids: %w", err)
	}
	return out, nil
}

// StudySummary is a line of the study list.
type StudySummary struct {
	study.Study
	Started   int
	Completed int // completed or approved
	Inactive  int // returned, timed out or rejected
}

// Studies lists every study, newest first, with participant counts.
func (s *Store) Studies(ctx context.Context) ([]StudySummary, error) {
	return s.studies(ctx, "true")
}

// studies lists the studies that where (a condition on st) selects.
func (s *Store) studies(ctx context.Context, where string, args ...any) ([]StudySummary, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+studyColumns+`,
		count(p.id) FILTER (WHERE p.status = `+sqlStarted+`),
		count(p.id) FILTER (WHERE `+counted("p.status")+`),
		count(p.id) FILTER (WHERE `+statusIn("p.status", study.LeftStatuses()...)+`)
		FROM studies st LEFT JOIN participants p ON p.study_id = st.id
		WHERE `+where+`
		GROUP BY st.id ORDER BY st.created_at DESC, st.slug`, args...)
	if err != nil {
		return nil, fmt.Errorf("postgres: studies: %w", err)
	}
	defer rows.Close()
	var out []StudySummary
	for rows.Next() {
		var v StudySummary
		st := &v.Study
		if err := rows.Scan(append(studyTargets(st), &v.Started, &v.Completed, &v.Inactive)...); err != nil {
			return nil, fmt.Errorf("postgres: studies: %w", err)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("postgres: studies: %w", err)
	}
	return out, nil
}

// StudyByID finds a study by its id.
func (s *Store) StudyByID(ctx context.Context, id uuid.UUID) (study.Study, error) {
	var st study.Study
	err := scanStudy(s.pool.QueryRow(ctx, `SELECT `+studyColumns+` FROM studies st WHERE st.id = $1`, id), &st)
	if err == pgx.ErrNoRows {
		return st, problem.Errorf(problem.ENOTFOUND, "There is no such study.")
	} else if err != nil {
		return st, fmt.Errorf("postgres: study %s: %w", id, err)
	}
	return st, nil
}

// SetStudyStatus moves a study to status to. Publishing a pool study for the
// first time makes its slots, in the same transaction, so a published pool
// study always has them.
func (s *Store) SetStudyStatus(ctx context.Context, id uuid.UUID, to study.Status) error {
	return s.MoveStudy(ctx, id, to, "")
}

// MoveStudy is SetStudyStatus by someone, whose move goes in the study's log.
func (s *Store) MoveStudy(ctx context.Context, id uuid.UUID, to study.Status, actor string) error {
	return s.inTx(ctx, func(tx pgx.Tx) error {
		var st study.Study
		err := scanStudy(tx.QueryRow(ctx, `SELECT `+studyColumns+` FROM studies st WHERE st.id = $1 FOR UPDATE`, id), &st)
		if err == pgx.ErrNoRows {
			return problem.Errorf(problem.ENOTFOUND, "There is no such study.")
		} else if err != nil {
			return fmt.Errorf("postgres: lock study: %w", err)
		}
		if !st.Status.CanMoveTo(to) {
			return problem.Errorf(problem.ECONFLICT, "A %s study cannot be made %s.", st.Status, to)
		}
		if to == study.Published && st.Status == study.Draft {
			if st.CompletionCode == "" {
				return problem.Errorf(problem.EINVALID, "Set a completion code before publishing: Prolific needs it to accept submissions.")
			}
			ids, err := itemIDs(ctx, tx, st)
			if err != nil {
				return err
			}
			if len(ids) == 0 {
				return problem.Errorf(problem.EINVALID, "The study's filters leave no items of its stimulus set.")
			}
			if st.Design == study.Pool {
				if err := createPoolSlots(ctx, tx, st, ids); err != nil {
					return err
				}
			}
		}
		if _, err := tx.Exec(ctx, `UPDATE studies SET status = $2 WHERE id = $1`, id, string(to)); err != nil {
			return fmt.Errorf("postgres: study status: %w", err)
		}
		return logChange(ctx, tx, id, 0, actor, "status "+string(st.Status)+" → "+string(to))
	})
}

// ItemCount is the number of items the study's filters select, attention
// checks excluded.
func (s *Store) ItemCount(ctx context.Context, st study.Study) (int, error) {
	ids, err := itemIDs(ctx, s.pool, st)
	return len(ids), err
}

// MonitorQuery is a page of the participant table.
type MonitorQuery struct {
	Status string // "" for every status
	PID    string // a prefix of the Prolific id; "" for all
	Checks string // "failed": failed an attention check; "passed": failed none; "" for all
	Flags  string // "flagged": an answer flagged on the trial page; "clean": none; "" for all
	Sort   string // one of MonitorSorts
	Desc   bool
	Offset int
	Limit  int
}

// monitorSort is the SQL expression behind a column the participant table
// sorts on (ties are broken by the participant id), and whether key is one.
func monitorSort(key string) (expr string, ok bool) {
	switch key {
	case "started":
		return "p.started_at", true
	case "finished":
		return "p.completed_at", true
	case "pid":
		return "p.prolific_pid", true
	case "status":
		return "p.status", true
	case "progress":
		return "p.n_answered", true
	case "duration":
		return "COALESCE(p.completed_at, now()) - p.started_at", true
	case "bonus":
		return "COALESCE(p.bonus_minor, -1)", true
	case "correct":
		return "p.n_correct", true
	case "checks":
		return checkFailuresSQL, true
	case "flagged":
		return "p.n_flagged", true
	}
	return "", false
}

// checkFailuresSQL is the number of attention checks participant p
// answered wrongly, from checkFailuresJoin.
const checkFailuresSQL = `COALESCE(cf.fails, 0)`

// checkFailuresJoin counts the failed attention checks of every participant
// of the study ($1) in one pass, for the filter and the sort that need it: a
// count per participant in a correlated subquery took 0.8-1.4 s for 10,000
// participants (BenchmarkMonitor).
const checkFailuresJoin = ` LEFT JOIN (SELECT t.participant_id, count(*) AS fails
	FROM participants pf JOIN trials t ON t.participant_id = pf.id
	JOIN responses r ON r.participant_id = t.participant_id AND r.position = t.position
	WHERE pf.study_id = $1 AND t.is_attention_check AND NOT r.correct
	GROUP BY t.participant_id) cf ON cf.participant_id = p.id`

// monitorFilters are the conditions of the table's check and flag filters.
var monitorFilters = map[string]string{
	"checks=failed": checkFailuresSQL + " > 0", "checks=passed": checkFailuresSQL + " = 0",
	"flags=flagged": "p.n_flagged > 0", "flags=clean": "p.n_flagged = 0",
}

// ValidFilter reports whether value is a value of the table's filter name
// ("checks" or "flags").
func ValidFilter(name, value string) bool { _, ok := monitorFilters[name+"="+value]; return ok }

// monitorFrom is the FROM list ("participants p" and the joins the filter
// and sort need) and the WHERE condition of the participants of a study
// that the table's filter selects, with their arguments ($1 to $3).
func monitorFrom(studyID uuid.UUID, q MonitorQuery) (from, where string, args []any) {
	from = `participants p`
	if q.Checks != "" || q.Sort == "checks" {
		from += checkFailuresJoin
	}
	where = `p.study_id = $1 AND ($2 = '' OR p.status = $2) AND ($3 = '' OR starts_with(p.prolific_pid, $3))`
	if c, ok := monitorFilters["checks="+q.Checks]; ok {
		where += " AND " + c
	}
	if c, ok := monitorFilters["flags="+q.Flags]; ok {
		where += " AND " + c
	}
	return from, where, []any{studyID, q.Status, q.PID}
}

// ValidSort reports whether the table can sort on key.
func ValidSort(key string) bool { _, ok := monitorSort(key); return ok }

// MonitorRow is one participant as the monitor shows them.
type MonitorRow struct {
	study.Participant
	StatusReason  string
	Counted       int // answered trials that are not attention checks
	CheckFailures int
	// InstructedFailures are the failed checks of the instructed kind, the
	// only ones Prolific lets a researcher reject on (study.CheckInstructed).
	InstructedFailures int
	PracticeCorrect    int // practice answers that were right (they count nowhere)
	Duration           time.Duration
	InBatch            int // the bonus batch holding them, 0 for none
	// ProlificStatus is Prolific's own status of the submission, and
	// ProlificVerified how the entry was checked (prolific_sync.go).
	ProlificStatus   string
	ProlificVerified string
	Device           study.Device // the zero Device before the first answer
}

// Participants returns a page of a study's participants and the number that
// match the filter. The page is chosen first (the LIMIT keeps the planner
// from merging it into the outer query), and only its rows get their
// per-trial counts, so the cost of those counts does not grow with the study.
func (s *Store) Participants(ctx context.Context, studyID uuid.UUID, q MonitorQuery) ([]MonitorRow, int, error) {
	key, ok := monitorSort(q.Sort)
	if !ok {
		key, _ = monitorSort("started")
	}
	dir := "ASC"
	if q.Desc {
		dir = "DESC"
	}
	if q.Limit <= 0 || q.Limit > 500 {
		q.Limit = 50
	}
	var total int
	from, where, args := monitorFrom(studyID, q)
	if err := s.pool.QueryRow(ctx, `SELECT count(*) FROM `+from+` WHERE `+where, args...).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("postgres: count participants: %w", err)
	}
	// key and dir come from the fixed map above, never from the request.
	rows, err := s.pool.Query(ctx, `
		WITH page AS (
			SELECT p.id, row_number() OVER (ORDER BY `+key+` `+dir+`, p.id `+dir+`) AS rn
			FROM `+from+` WHERE `+where+`
			ORDER BY `+key+` `+dir+`, p.id `+dir+`
			OFFSET $4 LIMIT $5
		)
		SELECT `+participantColumns+`, p.status_reason,
			COALESCE(p.completed_at, p.status_changed_at, now()) - p.started_at,
			c.counted, c.failures, c.instructed_failures,
			(SELECT count(*) FROM practice_trials pt WHERE pt.participant_id = page.id AND pt.correct),
			COALESCE(b.number, 0), p.prolific_status, p.prolific_verified, `+deviceColumns+`
		FROM page JOIN participants p ON p.id = page.id
		LEFT JOIN participant_devices d ON d.participant_id = page.id
		CROSS JOIN LATERAL (
			SELECT count(*) FILTER (WHERE NOT t.is_attention_check) AS counted,
			       count(*) FILTER (WHERE t.is_attention_check AND NOT r.correct) AS failures,
			       count(*) FILTER (WHERE t.instructed_answer IS NOT NULL AND NOT r.correct) AS instructed_failures
			FROM responses r JOIN trials t USING (participant_id, position)
			WHERE r.participant_id = page.id
		) c
		LEFT JOIN bonus_batch_items bi ON bi.participant_id = page.id
		LEFT JOIN bonus_batches b ON b.id = bi.batch_id
		ORDER BY page.rn`,
		append(args, q.Offset, q.Limit)...)
	if err != nil {
		return nil, 0, fmt.Errorf("postgres: participants: %w", err)
	}
	defer rows.Close()
	out := make([]MonitorRow, 0, q.Limit)
	for rows.Next() {
		var m MonitorRow
		if err := scanParticipant(rows, &m.Participant, append([]any{&m.StatusReason, &m.Duration, &m.Counted, &m.CheckFailures, &m.InstructedFailures, &m.PracticeCorrect, &m.InBatch,
			&m.ProlificStatus, &m.ProlificVerified}, deviceTargets(&m.Device)...)...); err != nil {
			return nil, 0, fmt.Errorf("postgres: participants: %w", err)
		}
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, fmt.Errorf("postgres: participants: %w", err)
	}
	return out, total, nil
}
