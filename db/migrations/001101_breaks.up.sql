-- Issue 10, item 7: a pause every N trials (0: never), a page with the
-- participant's progress and a Continue button.
ALTER TABLE studies
    ADD COLUMN break_every integer NOT NULL DEFAULT 0 CHECK (break_every BETWEEN 0 AND 10000);
