-- Issue 18 (part 2): a study may stop recruiting by itself once the 95%
-- interval of one measure of the live comparison is narrower than a target
-- width. stop_measure '' is off; stop_fired_at records that the rule paused
-- the study, so that it fires once (re-arming the rule clears it).
ALTER TABLE studies
    ADD COLUMN stop_measure  text NOT NULL DEFAULT ''
        CHECK (stop_measure IN ('', 'accuracy', 'human_human', 'model_human')),
    ADD COLUMN stop_width    double precision NOT NULL DEFAULT 0
        CHECK (stop_width >= 0 AND stop_width <= 2),
    ADD COLUMN stop_fired_at timestamptz,
    ADD CONSTRAINT studies_stop_rule_check CHECK (stop_measure = '' OR stop_width > 0);
