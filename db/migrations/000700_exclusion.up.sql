-- Issue 15: each study's exclusion rule (study.Exclusion's text form; '' or
-- 'none' excludes nobody). The report, "server analyze" and the exports apply
-- it unless a run overrides it.
ALTER TABLE studies ADD COLUMN exclusion text NOT NULL DEFAULT '' CHECK (length(exclusion) <= 200);
