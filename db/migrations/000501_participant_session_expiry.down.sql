ALTER TABLE participant_sessions DROP COLUMN expires_at;
