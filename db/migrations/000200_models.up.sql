-- Model outputs (issue 5): a run is one model, condition and seed answering a
-- stimulus set; its outputs are one row per stimulus. A run is replaced whole
-- (delete and insert in one transaction), never merged with an older import.

CREATE TABLE model_runs (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    model       text NOT NULL CHECK (model <> '' AND length(model) <= 200),
    -- '' is the base model; e.g. "fine-tuned on towers 2-4" otherwise.
    condition   text NOT NULL DEFAULT '' CHECK (length(condition) <= 200),
    seed        bigint NOT NULL DEFAULT 0,
    set_id      uuid NOT NULL REFERENCES stimulus_sets (id),
    imported_at timestamptz NOT NULL DEFAULT now(),
    source_file text NOT NULL DEFAULT '' CHECK (length(source_file) <= 500),
    UNIQUE (model, condition, seed, set_id)
);
CREATE INDEX model_runs_set ON model_runs (set_id);

CREATE TABLE model_outputs (
    run_id      uuid NOT NULL REFERENCES model_runs (id) ON DELETE CASCADE,
    stimulus_id uuid NOT NULL REFERENCES stimuli (id),
    -- NULL when neither label was among the top tokens (flag no-answer).
    p_yes       double precision CHECK (p_yes BETWEEN 0 AND 1),
    logp_yes    double precision,
    logp_no     double precision,
    -- P_yes + P_no; NULL when the input gave P(Yes) only.
    coverage    double precision CHECK (coverage BETWEEN 0 AND 1),
    -- modelout.Flag bits: 1 low coverage, 2 missing Yes, 4 missing No, 8 no answer.
    flag        smallint NOT NULL DEFAULT 0 CHECK (flag >= 0),
    PRIMARY KEY (run_id, stimulus_id)
);
