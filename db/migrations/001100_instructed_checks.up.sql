-- Issue 10, item 5: instructed-response attention checks. A study asks for
-- N of them; each participant gets N trials, at random positions, whose
-- prompt says which button to press (trials.instructed_answer, kept since
-- 000400). Such a trial shows one of the participant's own pictures, so a
-- picture may now appear twice in a list: once as an item, once as a check.
ALTER TABLE studies
    ADD COLUMN instructed_checks integer NOT NULL DEFAULT 0 CHECK (instructed_checks BETWEEN 0 AND 20);

ALTER TABLE trials DROP CONSTRAINT trials_participant_id_stimulus_id_key;
-- Still one trial per picture among the items and item checks.
CREATE UNIQUE INDEX trials_participant_stimulus ON trials (participant_id, stimulus_id)
    WHERE instructed_answer IS NULL;
-- An instructed trial is an attention check: left out of accuracy, bonus and exports.
ALTER TABLE trials ADD CONSTRAINT trials_instructed_is_check
    CHECK (instructed_answer IS NULL OR is_attention_check);
