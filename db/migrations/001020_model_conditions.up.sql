-- Issue 15: what a model condition was fine-tuned on (analysis.Trained's text
-- form, e.g. "tower:2-4"), so that reports split a task's items into the
-- sizes it was trained on and those held out. One row per model and
-- condition, whatever the seed or set; no row (or '') means not recorded.
CREATE TABLE model_conditions (
    model     text NOT NULL CHECK (model <> '' AND length(model) <= 200),
    condition text NOT NULL CHECK (length(condition) <= 200),
    trained   text NOT NULL DEFAULT '' CHECK (length(trained) <= 500),
    PRIMARY KEY (model, condition)
);
