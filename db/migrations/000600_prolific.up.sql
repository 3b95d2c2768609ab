-- Prolific through its API (issue 14): a study's link to its Prolific study,
-- what Prolific last said of each submission, bulk bonuses paid exactly once,
-- and the log of API calls (never the token).

CREATE TABLE prolific_links (
    study_id          uuid PRIMARY KEY REFERENCES studies (id) ON DELETE CASCADE,
    prolific_study_id text NOT NULL UNIQUE CHECK (prolific_study_id ~ '^[0-9a-f]{24}$'),
    created_here      boolean NOT NULL DEFAULT false, -- the draft was made by cubelab
    prolific_status   text NOT NULL DEFAULT '',
    places            integer NOT NULL DEFAULT 0,     -- total_available_places, as last read
    places_taken      integer NOT NULL DEFAULT 0,
    -- When Prolific cannot be asked at a first opening: admit and verify at
    -- the next sync, or refuse.
    on_unreachable    text NOT NULL DEFAULT 'admit' CHECK (on_unreachable IN ('admit', 'refuse')),
    last_sync_at      timestamptz,
    last_error        text NOT NULL DEFAULT '' CHECK (length(last_error) <= 2000),
    last_error_at     timestamptz,
    linked_at         timestamptz NOT NULL DEFAULT now()
);

-- Prolific's own status of the participant's submission ('' before the
-- first sync), and whether the entry was checked against Prolific.
ALTER TABLE participants ADD COLUMN prolific_status text NOT NULL DEFAULT '';
ALTER TABLE participants ADD COLUMN prolific_verified text NOT NULL DEFAULT ''
    CHECK (prolific_verified IN ('', 'verified', 'unverified'));
CREATE INDEX participants_unverified ON participants (study_id) WHERE prolific_verified = 'unverified';

-- A batch paid through the API moves '' -> created (bulk bonus set up, its
-- id recorded) -> paying (recorded BEFORE the pay call) -> paid. Prolific's
-- pay is not idempotent: a batch found 'paying' is never paid again before
-- Prolific's bonuses have been read.
ALTER TABLE bonus_batches ADD COLUMN prolific_bonus_id text NOT NULL DEFAULT '';
ALTER TABLE bonus_batches ADD COLUMN prolific_state text NOT NULL DEFAULT ''
    CHECK (prolific_state IN ('', 'created', 'paying', 'paid'));
ALTER TABLE bonus_batches ADD COLUMN pay_sent_at timestamptz;
ALTER TABLE bonus_batches ADD COLUMN prolific_error text NOT NULL DEFAULT '' CHECK (length(prolific_error) <= 2000);
ALTER TABLE bonus_batches ADD CONSTRAINT bonus_batches_prolific_paid
    CHECK (prolific_state <> 'paid' OR paid_at IS NOT NULL);
CREATE INDEX bonus_batches_paying ON bonus_batches (study_id) WHERE prolific_state = 'paying';

CREATE TABLE prolific_calls (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at          timestamptz NOT NULL DEFAULT now(),
    method      text NOT NULL,
    path        text NOT NULL,
    status      integer NOT NULL,
    duration_ms integer NOT NULL,
    error       text NOT NULL DEFAULT ''
);

-- A webhook names a submission: find its participant without a scan.
CREATE INDEX participants_session ON participants (prolific_session_id) WHERE prolific_session_id <> '';
