-- Issue 16 (part A, item 2): a pool study whose every slot is answered (by
-- participants who finished) moves to "complete" by itself; the experimenter
-- may reopen it (a rejection frees slots again) or close it.
ALTER TABLE studies DROP CONSTRAINT studies_status_check;
ALTER TABLE studies ADD CONSTRAINT studies_status_check
    CHECK (status IN ('draft', 'published', 'paused', 'closed', 'complete'));
