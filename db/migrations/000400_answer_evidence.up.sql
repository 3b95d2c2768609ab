-- Issue 10: every recorded answer is one the participant saw and meant.
-- The evidence kept with each answer, the participant's running measures of
-- it, and the study settings of the method (minimum viewing time, the
-- too-fast threshold). Answers are never refused for their evidence, only
-- flagged (study.Evidence.Flags holds the rule; the answer statement repeats
-- it and a database test holds the two equal).

ALTER TABLE studies
    -- Input on the trial page is ignored for this long after the picture is painted.
    ADD COLUMN min_view_ms integer NOT NULL DEFAULT 300 CHECK (min_view_ms BETWEEN 0 AND 5000),
    -- An answer faster than this (paint to answer) is flagged too_fast.
    ADD COLUMN too_fast_ms integer NOT NULL DEFAULT 200 CHECK (too_fast_ms BETWEEN 0 AND 5000);

ALTER TABLE trials
    -- How many times the trial page was served: more than once is a reload,
    -- the back button or a resume on another device.
    ADD COLUMN shows integer NOT NULL DEFAULT 0 CHECK (shows >= 0),
    -- When the participant's picture at this position was first served.
    ADD COLUMN image_served_at timestamptz,
    -- An instructed-response check: the prompt says which button to press,
    -- and the correct answer is this one, not the picture's.
    ADD COLUMN instructed_answer text CHECK (instructed_answer IN ('Yes', 'No'));

ALTER TABLE responses
    -- The page measured the time (its script ran); false: a plain form, no timing.
    ADD COLUMN timed       boolean,
    -- Server time from the first serving of the picture to the answer; null:
    -- the picture was never served before the answer.
    ADD COLUMN image_ms    integer CHECK (image_ms >= 0),
    ADD COLUMN shows       integer CHECK (shows >= 0),
    -- The page was hidden or lost focus during the trial (null: not measured).
    ADD COLUMN page_hidden boolean,
    -- The picture's rendered size on screen in CSS pixels (its shorter side).
    ADD COLUMN image_px    integer CHECK (image_px BETWEEN 0 AND 100000),
    ADD COLUMN flags       text[] NOT NULL DEFAULT '{}'
        CHECK (flags <@ ARRAY['no_image', 'too_fast', 'reloaded', 'hidden']);

ALTER TABLE participants
    -- Kept by the answer statement, so the monitor needs no scan of answers:
    -- answers with any flag, and the longest run of identical answers
    -- (straight-lining), with the current run.
    ADD COLUMN n_flagged   integer NOT NULL DEFAULT 0 CHECK (n_flagged >= 0),
    ADD COLUMN last_answer text CHECK (last_answer IN ('Yes', 'No')),
    ADD COLUMN run_length  integer NOT NULL DEFAULT 0 CHECK (run_length >= 0),
    ADD COLUMN longest_run integer NOT NULL DEFAULT 0 CHECK (longest_run >= 0);
