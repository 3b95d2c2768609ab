UPDATE studies SET status = 'closed' WHERE status = 'complete';
ALTER TABLE studies DROP CONSTRAINT studies_status_check;
ALTER TABLE studies ADD CONSTRAINT studies_status_check
    CHECK (status IN ('draft', 'published', 'paused', 'closed'));
