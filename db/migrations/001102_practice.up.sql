-- Issue 10, item 4: practice trials with feedback, before the real ones.
-- Practice lives in a table of its own, so that no analysis, bonus, score,
-- export or report, all of which read responses, can ever count it.
ALTER TABLE studies
    -- How many practice trials each participant gets (0: none)...
    ADD COLUMN practice_items integer NOT NULL DEFAULT 0 CHECK (practice_items BETWEEN 0 AND 20),
    -- ...drawn from this set (null: the study's own), of the study's task,
    -- never one of the participant's own trials;
    ADD COLUMN practice_set_id uuid REFERENCES stimulus_sets (id),
    -- or exactly these, picked by hand (then left out of the trials).
    ADD COLUMN practice_ids uuid[] NOT NULL DEFAULT '{}';

ALTER TABLE participants
    ADD COLUMN n_practice integer NOT NULL DEFAULT 0 CHECK (n_practice >= 0),
    ADD COLUMN n_practice_answered integer NOT NULL DEFAULT 0,
    ADD CONSTRAINT participants_practice_answered CHECK (n_practice_answered BETWEEN 0 AND n_practice);

CREATE TABLE practice_trials (
    participant_id  uuid NOT NULL REFERENCES participants (id) ON DELETE CASCADE,
    position        integer NOT NULL CHECK (position >= 1),
    stimulus_id     uuid NOT NULL REFERENCES stimuli (id),
    shown_at        timestamptz,
    image_served_at timestamptz,
    answer          text CHECK (answer IN ('Yes', 'No')),
    correct         boolean,
    browser_rt_ms   integer CHECK (browser_rt_ms >= 0),
    timed           boolean,
    answered_at     timestamptz,
    PRIMARY KEY (participant_id, position),
    CHECK ((answer IS NULL) = (answered_at IS NULL) AND (answer IS NULL) = (correct IS NULL))
);
CREATE INDEX practice_trials_stimulus ON practice_trials (stimulus_id);
