ALTER TABLE trials DROP CONSTRAINT trials_instructed_is_check;
DELETE FROM trials WHERE instructed_answer IS NOT NULL;
DROP INDEX trials_participant_stimulus;
ALTER TABLE trials ADD CONSTRAINT trials_participant_id_stimulus_id_key UNIQUE (participant_id, stimulus_id);
ALTER TABLE studies DROP COLUMN instructed_checks;
