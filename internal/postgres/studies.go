package postgres

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/cubelab/cubelab/internal/problem"
	"github.com/cubelab/cubelab/internal/study"
)

// studyColumns are read by scanStudy, in this order.
const studyColumns = `st.id, st.slug, st.title, st.domain, st.set_id, st.sizes, st.split, st.design,
	COALESCE(st.items_per_participant, 0), st.responses_per_item, st.places, st.time_limit_minutes,
	st.attention_check_ids, st.consent_text, st.instructions_text, st.base_pay_minor,
	st.bonus_per_correct_minor, st.max_bonus_minor, st.currency, st.completion_code,
	st.prolific_study_id, st.status, st.created_at, st.exclusion, st.min_view_ms, st.too_fast_ms, st.reservation_minutes,
	st.version, st.text_version, st.archived_at, COALESCE(st.owner_id, '00000000-0000-0000-0000-000000000000'::uuid),
	st.instructed_checks, st.stop_measure, st.stop_width, st.stop_fired_at, st.break_every,
	COALESCE(st.max_responses_per_item, 0), COALESCE(st.answer_budget, 0),
	st.practice_items, COALESCE(st.practice_set_id, '00000000-0000-0000-0000-000000000000'::uuid), st.practice_ids`

func scanStudy(row pgx.Row, st *study.Study) error {
	return row.Scan(studyTargets(st)...)
}

// studyTargets are the scan destinations for studyColumns, for queries that
// read more columns after them.
func studyTargets(st *study.Study) []any {
	return []any{&st.ID, &st.Slug, &st.Title, &st.Domain, &st.SetID, &st.Sizes, &st.Split, &st.Design,
		&st.ItemsPerParticipant, &st.ResponsesPerItem, &st.Places, &st.TimeLimitMinutes,
		&st.AttentionCheckIDs, &st.ConsentText, &st.InstructionsText, &st.Pay.BaseMinor,
		&st.Pay.PerCorrectMinor, &st.Pay.MaxBonusMinor, &st.Pay.Currency, &st.CompletionCode,
		&st.ProlificStudyID, &st.Status, &st.CreatedAt, &st.Exclusion, &st.MinViewMs, &st.TooFastMs, &st.ReservationMinutes,
		&st.Version, &st.TextVersion, &st.ArchivedAt, &st.OwnerID,
		&st.InstructedChecks, &st.Stop.Measure, &st.Stop.Width, &st.StopFiredAt, &st.BreakEvery,
		&st.MaxResponsesPerItem, &st.AnswerBudget,
		&st.PracticeItems, &st.PracticeSetID, &st.PracticeIDs}
}

// studySettingColumns are what an experimenter sets on a study, in the order
// of studySettings; create and edit both write exactly these.
const studySettingColumns = `slug, title, domain, set_id, sizes, split, design, items_per_participant,
	responses_per_item, places, time_limit_minutes, attention_check_ids, consent_text,
	instructions_text, base_pay_minor, bonus_per_correct_minor, max_bonus_minor, currency,
	completion_code, prolific_study_id, exclusion, min_view_ms, too_fast_ms, reservation_minutes,
	instructed_checks, break_every, max_responses_per_item, answer_budget,
	practice_items, practice_set_id, practice_ids`

// studySettings returns st's values for studySettingColumns. It first gives
// st empty lists for nil ones, as the array columns are NOT NULL; items per
// participant is stored only for a pool study.
func studySettings(st *study.Study) []any {
	var ipp, rmax, budget *int
	if st.Design == study.Pool {
		ipp = &st.ItemsPerParticipant
	}
	if st.Adaptive() {
		rmax, budget = &st.MaxResponsesPerItem, &st.AnswerBudget
	}
	if st.Sizes == nil {
		st.Sizes = []int{}
	}
	if st.AttentionCheckIDs == nil {
		st.AttentionCheckIDs = []uuid.UUID{}
	}
	if st.PracticeIDs == nil {
		st.PracticeIDs = []uuid.UUID{}
	}
	return []any{st.Slug, st.Title, string(st.Domain), st.SetID, st.Sizes, st.Split, string(st.Design), ipp,
		st.FirstResponses(), st.Places, st.TimeLimitMinutes, st.AttentionCheckIDs, st.ConsentText,
		st.InstructionsText, st.Pay.BaseMinor, st.Pay.PerCorrectMinor, st.Pay.MaxBonusMinor, st.Pay.Currency,
		st.CompletionCode, st.ProlificStudyID, st.Exclusion, st.MinViewMs, st.TooFastMs, max(st.ReservationMinutes, 1),
		st.InstructedChecks, st.BreakEvery, rmax, budget,
		st.PracticeItems, nullID(st.PracticeSetID), st.PracticeIDs}
}

// placeholders returns n query parameters "$first, ..., $first+n-1".
func placeholders(first, n int) string {
	ps := make([]string, n)
	for i := range ps {
		ps[i] = "$" + strconv.Itoa(first+i)
	}
	return strings.Join(ps, ", ")
}

// CreateStudy stores a new study and fills in its id and creation time.
func (s *Store) CreateStudy(ctx context.Context, st *study.Study) error {
	return s.inTx(ctx, func(tx pgx.Tx) error { return createStudy(ctx, tx, st) })
}

// createStudy inserts a study with its first texts and its count of places.
func createStudy(ctx context.Context, tx pgx.Tx, st *study.Study) error {
	args := append(studySettings(st), string(st.Status), nullID(st.OwnerID))
	err := tx.QueryRow(ctx, `
		INSERT INTO studies (`+studySettingColumns+`, status, owner_id)
		VALUES (`+placeholders(1, len(args))+`)
		RETURNING id, created_at, version, text_version`, args...,
	).Scan(&st.ID, &st.CreatedAt, &st.Version, &st.TextVersion)
	if isUniqueViolation(err) {
		return problem.Errorf(problem.ECONFLICT, "a study with the link name %q already exists", st.Slug)
	} else if err != nil {
		return fmt.Errorf("postgres: create study %q: %w", st.Slug, err)
	}
	if _, err := tx.Exec(ctx, `INSERT INTO study_texts (study_id, version, consent_text, instructions_text)
		VALUES ($1, 1, $2, $3)`, st.ID, st.ConsentText, st.InstructionsText); err != nil {
		return fmt.Errorf("postgres: create study %q: texts: %w", st.Slug, err)
	}
	return createPlaceShards(ctx, tx, st.ID)
}

// StudyBySlug finds a study by the name in its link.
func (s *Store) StudyBySlug(ctx context.Context, slug string) (study.Study, error) {
	var st study.Study
	err := scanStudy(s.pool.QueryRow(ctx, `SELECT `+studyColumns+` FROM studies st WHERE st.slug = $1`, slug), &st)
	if err == pgx.ErrNoRows {
		return st, problem.Errorf(problem.ENOTFOUND, "There is no study at this address. Please check the link.")
	} else if err != nil {
		return st, fmt.Errorf("postgres: study %q: %w", slug, err)
	}
	return st, nil
}

// itemIDs lists the study's items (its set filtered by domain, sizes and split,
// attention checks excluded) in a stable order, the input of every shuffle.
func itemIDs(ctx context.Context, q interface {
	Query(context.Context, string, ...any) (pgx.Rows, error)
}, st study.Study) ([]uuid.UUID, error) {
	rows, err := q.Query(ctx, itemsSQL, itemsArgs(st)...)
	if err != nil {
		return nil, fmt.Errorf("postgres: items of %q: %w", st.Slug, err)
	}
	return scanItemIDs(rows, st)
}

// itemsSQL is the statement of itemIDs, with the parameters itemsArgs, its
// rows read by scanItemIDs: a join sends it in a batch.
const itemsSQL = `
		SELECT id FROM stimuli
		WHERE set_id = $1 AND domain = $2
		  AND (cardinality($3::int[]) = 0 OR size = ANY($3))
		  AND ($4 = '' OR split = $4)
		  AND NOT (id = ANY($5)) AND NOT (id = ANY($6))
		ORDER BY ext_id`

func itemsArgs(st study.Study) []any {
	return []any{st.SetID, string(st.Domain), st.Sizes, st.Split, st.AttentionCheckIDs, nonNil(st.PracticeIDs)}
}

func scanItemIDs(rows pgx.Rows, st study.Study) ([]uuid.UUID, error) {
	ids, err := pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
	if err != nil {
		return nil, fmt.Errorf("postgres: items of %q: %w", st.Slug, err)
	}
	return ids, nil
}

// Preview is what a preview walks through: the trials one participant
// would get (seed 0), each with the answer an instructed check demands (""
// for any other trial), and the practice pictures before them.
type Preview struct {
	Trials     []uuid.UUID
	Instructed []string
	Practice   []uuid.UUID
}

// PreviewItems is the list a preview walks through, built as a join builds
// a participant's (insertParticipant) with seed 0. Nothing is written.
func (s *Store) PreviewItems(ctx context.Context, st study.Study) (Preview, error) {
	var pv Preview
	items, err := itemIDs(ctx, s.pool, st)
	if err != nil {
		return pv, err
	}
	if st.Design == study.Pool && st.ItemsPerParticipant > 0 && st.ItemsPerParticipant < len(items) {
		order := study.Order(0, len(items))
		some := make([]uuid.UUID, st.ItemsPerParticipant)
		for i := range some {
			some[i] = items[order[i]]
		}
		items = some
	}
	trials := study.NewTrialList(0, items, st.AttentionCheckIDs, st.InstructedChecks)
	pv.Trials, pv.Instructed = trials.Stimuli, trials.Demanded
	pv.Practice, err = practiceItems(ctx, s.pool, st, pv.Trials, 0)
	return pv, err
}

// ExampleStimulus is the picture the instructions show: an item of the
// study's own set and task, one that is not among its trials when the set
// has one (another size or split), else its first item; never an attention
// check. Only the study's own set: a picture of another set is whatever
// someone else uploaded.
func (s *Store) ExampleStimulus(ctx context.Context, st study.Study) (uuid.UUID, error) {
	var id uuid.UUID
	err := s.pool.QueryRow(ctx, `
		SELECT id FROM stimuli
		WHERE set_id = $1 AND domain = $2 AND NOT (id = ANY($5))
		ORDER BY ((cardinality($3::int[]) = 0 OR size = ANY($3)) AND ($4 = '' OR split = $4)), ext_id
		LIMIT 1`, st.SetID, string(st.Domain), st.Sizes, st.Split, st.AttentionCheckIDs).Scan(&id)
	if err == pgx.ErrNoRows {
		return id, problem.Errorf(problem.ENOTFOUND, "This study has no example picture.")
	} else if err != nil {
		return id, fmt.Errorf("postgres: example image: %w", err)
	}
	return id, nil
}

// nonNil is ids, or an empty list for nil (a NULL array matches nothing in
// NOT (id = ANY(..)), which would drop every row).
func nonNil(ids []uuid.UUID) []uuid.UUID {
	if ids == nil {
		return []uuid.UUID{}
	}
	return ids
}
