package postgres

import (
	"context"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/cubelab/cubelab/internal/analysis"
	"github.com/cubelab/cubelab/internal/modelout"
	"github.com/cubelab/cubelab/internal/problem"
	"github.com/cubelab/cubelab/internal/task"
)

// ModelImport is a parsed model output file to store on a stimulus set. The
// file may hold several runs (a CSV with a seed column, say); each is stored
// as a whole.
type ModelImport struct {
	Set        string // stimulus set name
	SourceFile string // the uploaded or given file name, kept with each run
	Rows       []modelout.Row
	// Replace allows overwriting runs already stored; without it, importing
	// a run a second time is refused, so that a typo in --seed cannot
	// silently throw away an earlier run.
	Replace bool
	// Trained, when not nil, records what every condition of the import was
	// fine-tuned on (an empty one clears the record); nil leaves what is
	// recorded as it is.
	Trained *analysis.Trained
}

// ModelRun is a stored run with the counts the admin pages show.
type ModelRun struct {
	ID         uuid.UUID
	Model      string
	Condition  string
	Seed       int64
	Set        string
	SourceFile string
	ImportedAt time.Time
	Trained    string // what its condition was fine-tuned on (analysis.Trained's text form)
	Outputs    int
	Flagged    int // rows with any modelout.Flag
	NoAnswer   int // rows whose answer is neither Yes nor No
}

// Label names the run as people read it: "model (condition) seed N", the
// condition left out when there is none.
func (r ModelRun) Label() string {
	s := r.Model
	if r.Condition != "" {
		s += " (" + r.Condition + ")"
	}
	return fmt.Sprintf("%s seed %d", s, r.Seed)
}

// ImportSummary is what an import stored.
type ImportSummary struct {
	Runs     []ModelRun
	Replaced int // runs that existed before and were replaced
}

// runKey identifies a run within a set.
type runKey struct {
	model, condition string
	seed             int64
}

// ImportModelOutputs stores every run of in, all or nothing, in one
// transaction. Problems with the rows themselves (a stimulus id not in the
// set, a stimulus answered twice in one run) come back as *problem.Lines
// naming line and field, like the parser's; a run stored before is a
// conflict unless in.Replace is set.
func (s *Store) ImportModelOutputs(ctx context.Context, in ModelImport) (ImportSummary, error) {
	var sum ImportSummary
	if len(in.Rows) == 0 {
		return sum, problem.Errorf(problem.EINVALID, "the file holds no model outputs")
	}
	setID, err := s.SetIDByName(ctx, in.Set)
	if err != nil {
		return sum, err
	}
	ids, err := s.stimulusIDsByExt(ctx, setID)
	if err != nil {
		return sum, err
	}

	// Check every row before writing anything, and report all problems at once.
	var problems problem.Lines
	fail := func(line int, field, format string, args ...any) {
		problems.Add(modelout.DefaultMaxErrors, in.SourceFile, line, field, format, args...)
	}
	var order []runKey
	runs := map[runKey][]int{} // row indexes of each run
	seen := map[runKey]map[string]int{}
	for i, r := range in.Rows {
		k := runKey{r.Model, r.Condition, r.Seed}
		switch {
		case r.Model == "":
			fail(r.Line, "model", "no model name: give it in the file or as the model option")
			continue
		case len(r.Model) > 200:
			fail(r.Line, "model", "the model name is longer than 200 bytes")
			continue
		case len(r.Condition) > 200:
			fail(r.Line, "condition", "the condition is longer than 200 bytes")
			continue
		}
		if _, ok := ids[r.StimulusID]; !ok {
			fail(r.Line, "stimulus_id", "%q is not a stimulus of set %q", r.StimulusID, in.Set)
			continue
		}
		if seen[k] == nil {
			seen[k] = map[string]int{}
			order = append(order, k)
		}
		if first, dup := seen[k][r.StimulusID]; dup {
			fail(r.Line, "stimulus_id", "%q is answered twice by %s (first on line %d)", r.StimulusID, runName(k), first)
			continue
		}
		seen[k][r.StimulusID] = r.Line
		runs[k] = append(runs[k], i)
	}
	if len(problems.List) > 0 {
		return sum, &problems
	}

	err = s.inTx(ctx, func(tx pgx.Tx) error {
		for _, k := range order {
			var old uuid.UUID
			err := tx.QueryRow(ctx, `
				SELECT id FROM model_runs WHERE model = $1 AND condition = $2 AND seed = $3 AND set_id = $4
				FOR UPDATE`, k.model, k.condition, k.seed, setID).Scan(&old)
			switch {
			case err == pgx.ErrNoRows:
			case err != nil:
				return fmt.Errorf("postgres: find run %s: %w", runName(k), err)
			case !in.Replace:
				return problem.Errorf(problem.ECONFLICT,
					"%s is already imported on set %q; nothing was stored. Import again with replace to overwrite it.", runName(k), in.Set)
			default:
				if _, err := tx.Exec(ctx, `DELETE FROM model_runs WHERE id = $1`, old); err != nil {
					return fmt.Errorf("postgres: replace run %s: %w", runName(k), err)
				}
				sum.Replaced++
			}
			run := ModelRun{Model: k.model, Condition: k.condition, Seed: k.seed, Set: in.Set, SourceFile: in.SourceFile}
			err = tx.QueryRow(ctx, `
				INSERT INTO model_runs (model, condition, seed, set_id, source_file) VALUES ($1, $2, $3, $4, $5)
				RETURNING id, imported_at`, k.model, k.condition, k.seed, setID, clip(in.SourceFile, 500),
			).Scan(&run.ID, &run.ImportedAt)
			if isUniqueViolation(err) {
				// Another import of the same run committed between our read and insert.
				return problem.Errorf(problem.ECONFLICT, "%s was imported by someone else just now; nothing was stored", runName(k))
			} else if err != nil {
				return fmt.Errorf("postgres: insert run %s: %w", runName(k), err)
			}
			rows := make([][]any, 0, len(runs[k]))
			for _, i := range runs[k] {
				r := in.Rows[i]
				rows = append(rows, []any{run.ID, ids[r.StimulusID], nullNaN(r.PYes), r.LogpYes, r.LogpNo, nullNaN(r.Coverage), int16(r.Flag)})
				if r.Flag != 0 {
					run.Flagged++
				}
				if r.Answer() == "" {
					run.NoAnswer++
				}
			}
			if _, err := tx.CopyFrom(ctx, pgx.Identifier{"model_outputs"},
				[]string{"run_id", "stimulus_id", "p_yes", "logp_yes", "logp_no", "coverage", "flag"},
				pgx.CopyFromRows(rows)); err != nil {
				return fmt.Errorf("postgres: copy outputs of %s: %w", runName(k), err)
			}
			run.Outputs = len(rows)
			sum.Runs = append(sum.Runs, run)
		}
		if in.Trained != nil {
			for _, k := range order {
				if err := setTrained(ctx, tx, k.model, k.condition, *in.Trained); err != nil {
					return err
				}
			}
		}
		for i, run := range sum.Runs {
			if err := tx.QueryRow(ctx, `SELECT COALESCE((SELECT trained FROM model_conditions WHERE model = $1 AND condition = $2), '')`,
				run.Model, run.Condition).Scan(&sum.Runs[i].Trained); err != nil {
				return fmt.Errorf("postgres: trained of %s: %w", run.Model, err)
			}
		}
		return nil
	})
	if err != nil {
		return ImportSummary{}, err
	}
	return sum, nil
}

// setTrained records what a model condition was fine-tuned on.
func setTrained(ctx context.Context, tx pgx.Tx, model, condition string, t analysis.Trained) error {
	if _, err := tx.Exec(ctx, `
		INSERT INTO model_conditions (model, condition, trained) VALUES ($1, $2, $3)
		ON CONFLICT (model, condition) DO UPDATE SET trained = EXCLUDED.trained`, model, condition, t.String()); err != nil {
		return fmt.Errorf("postgres: record trained sizes of model %q: %w", model, err)
	}
	return nil
}

// SetTrained records what a model condition was fine-tuned on, for every
// seed and set it was run on; the condition must have a run.
func (s *Store) SetTrained(ctx context.Context, model, condition string, t analysis.Trained) error {
	return s.inTx(ctx, func(tx pgx.Tx) error {
		var n int
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM model_runs WHERE model = $1 AND condition = $2`, model, condition).Scan(&n); err != nil {
			return fmt.Errorf("postgres: runs of model %q: %w", model, err)
		}
		if n == 0 {
			return problem.Errorf(problem.ENOTFOUND, "No run of model %q with condition %q is imported.", model, condition)
		}
		return setTrained(ctx, tx, model, condition, t)
	})
}

// runName is how messages name a run.
func runName(k runKey) string {
	s := fmt.Sprintf("model %q", k.model)
	if k.condition != "" {
		s += fmt.Sprintf(", condition %q", k.condition)
	}
	return s + fmt.Sprintf(", seed %d", k.seed)
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "")
}

// nullNaN stores NaN (undefined) as NULL.
func nullNaN(v float64) *float64 {
	if math.IsNaN(v) {
		return nil
	}
	return &v
}

// stimulusIDsByExt maps the manifest ids of a set to stimulus ids.
func (s *Store) stimulusIDsByExt(ctx context.Context, setID uuid.UUID) (map[string]uuid.UUID, error) {
	rows, err := s.pool.Query(ctx, `SELECT ext_id, id FROM stimuli WHERE set_id = $1`, setID)
	if err != nil {
		return nil, fmt.Errorf("postgres: stimuli of set: %w", err)
	}
	defer rows.Close()
	out := map[string]uuid.UUID{}
	for rows.Next() {
		var ext string
		var id uuid.UUID
		if err := rows.Scan(&ext, &id); err != nil {
			return nil, fmt.Errorf("postgres: stimuli of set: %w", err)
		}
		out[ext] = id
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("postgres: stimuli of set: %w", err)
	}
	return out, nil
}

// ModelRuns lists the stored runs, of one set when set is not "", by set,
// model, condition and seed.
func (s *Store) ModelRuns(ctx context.Context, set string) ([]ModelRun, error) {
	rows, err := s.pool.Query(ctx, `
		SELECT r.id, r.model, r.condition, r.seed, ss.name, r.source_file, r.imported_at, COALESCE(mc.trained, ''),
		       count(o.stimulus_id), count(o.stimulus_id) FILTER (WHERE o.flag <> 0),
		       count(o.stimulus_id) FILTER (WHERE o.p_yes IS NULL OR o.p_yes = 0.5)
		FROM model_runs r JOIN stimulus_sets ss ON ss.id = r.set_id
		LEFT JOIN model_conditions mc ON mc.model = r.model AND mc.condition = r.condition
		LEFT JOIN model_outputs o ON o.run_id = r.id
		WHERE $1 = '' OR ss.name = $1
		GROUP BY r.id, ss.name, mc.trained
		ORDER BY ss.name, r.model, r.condition, r.seed`, set)
	if err != nil {
		return nil, fmt.Errorf("postgres: model runs: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (ModelRun, error) {
		var m ModelRun
		return m, r.Scan(&m.ID, &m.Model, &m.Condition, &m.Seed, &m.Set, &m.SourceFile, &m.ImportedAt, &m.Trained,
			&m.Outputs, &m.Flagged, &m.NoAnswer)
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: model runs: %w", err)
	}
	return out, nil
}

// SetStimuli lists what a model is asked about in a set, by manifest id.
func (s *Store) SetStimuli(ctx context.Context, set string) ([]modelout.Stimulus, error) {
	setID, err := s.SetIDByName(ctx, set)
	if err != nil {
		return nil, err
	}
	rows, err := s.pool.Query(ctx, `SELECT ext_id, domain FROM stimuli WHERE set_id = $1 ORDER BY ext_id`, setID)
	if err != nil {
		return nil, fmt.Errorf("postgres: stimuli of %q: %w", set, err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (modelout.Stimulus, error) {
		var st modelout.Stimulus
		return st, r.Scan(&st.ID, &st.Domain)
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: stimuli of %q: %w", set, err)
	}
	return out, nil
}

// SetImage returns the image of a set's stimulus by its manifest id.
func (s *Store) SetImage(ctx context.Context, set, extID string) ([]byte, error) {
	var img []byte
	err := s.pool.QueryRow(ctx, `
		SELECT st.image FROM stimuli st JOIN stimulus_sets ss ON ss.id = st.set_id
		WHERE ss.name = $1 AND st.ext_id = $2`, set, extID).Scan(&img)
	if err == pgx.ErrNoRows {
		return nil, problem.Errorf(problem.ENOTFOUND, "set %q has no stimulus %q", set, extID)
	} else if err != nil {
		return nil, fmt.Errorf("postgres: image %s/%s: %w", set, extID, err)
	}
	return img, nil
}

// WriteBatchInput writes the OpenAI batch input of a whole set for model,
// streaming the images from the database one row at a time so that memory
// stays flat for a large set. It returns how many requests it wrote.
func (s *Store) WriteBatchInput(ctx context.Context, set string, b *modelout.BatchWriter) (int, error) {
	setID, err := s.SetIDByName(ctx, set)
	if err != nil {
		return 0, err
	}
	rows, err := s.pool.Query(ctx, `SELECT ext_id, domain, image FROM stimuli WHERE set_id = $1 ORDER BY ext_id`, setID)
	if err != nil {
		return 0, fmt.Errorf("postgres: batch input of %q: %w", set, err)
	}
	defer rows.Close()
	n := 0
	var ext string
	var domain task.Domain
	var img []byte
	for rows.Next() {
		if err := rows.Scan(&ext, &domain, &img); err != nil {
			return n, fmt.Errorf("postgres: batch input of %q: %w", set, err)
		}
		if err := b.Write(ext, domain, img); err != nil {
			return n, err
		}
		n++
	}
	if err := rows.Err(); err != nil {
		return n, fmt.Errorf("postgres: batch input of %q: %w", set, err)
	}
	if n == 0 {
		return 0, problem.Errorf(problem.EINVALID, "stimulus set %q has no items", set)
	}
	return n, b.Flush()
}
