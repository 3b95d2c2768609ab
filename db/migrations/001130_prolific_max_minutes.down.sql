ALTER TABLE prolific_links DROP COLUMN max_minutes;
