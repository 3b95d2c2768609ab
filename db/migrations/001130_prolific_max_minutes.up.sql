-- Prolific's maximum allowed time of a linked study, as last read (0: not
-- read yet), so that an edit of the time limit here can be held to it once
-- Prolific no longer lets it change (issue 16).
ALTER TABLE prolific_links ADD COLUMN max_minutes integer NOT NULL DEFAULT 0 CHECK (max_minutes >= 0);
