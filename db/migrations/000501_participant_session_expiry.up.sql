-- A participant's session ends a day after the study's time limit: long
-- enough to come back to the end page, short enough that a cookie left on
-- a shared computer does not open someone's record for ever. Join sets it
-- from the study; the default only covers rows written some other way.
ALTER TABLE participant_sessions ADD COLUMN expires_at timestamptz NOT NULL DEFAULT now() + interval '1 day';
UPDATE participant_sessions ps
SET expires_at = ps.created_at + st.time_limit_minutes * interval '1 minute' + interval '1 day'
FROM participants p JOIN studies st ON st.id = p.study_id
WHERE p.id = ps.participant_id;
