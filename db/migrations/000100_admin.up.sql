-- Experimenters (issue 4): accounts and their sessions, login rate limiting,
-- the pool design's slots, and the payouts ledger.

CREATE TABLE admins (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    -- Stored lower-cased so that logins ignore case without an extension.
    email         text NOT NULL UNIQUE CHECK (email = lower(email) AND email ~ '^[^@\s]+@[^@\s]+$'),
    password_hash text NOT NULL CHECK (password_hash LIKE '$argon2id$%'),
    created_at    timestamptz NOT NULL DEFAULT now()
);

-- Only the SHA-256 of a session token is kept: a dump of this table lets no
-- one in. The CSRF token is per session and travels in a hidden form field.
CREATE TABLE admin_sessions (
    token_hash bytea PRIMARY KEY CHECK (length(token_hash) = 32),
    admin_id   uuid NOT NULL REFERENCES admins (id) ON DELETE CASCADE,
    csrf_token text NOT NULL CHECK (length(csrf_token) >= 32),
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL
);
CREATE INDEX admin_sessions_admin ON admin_sessions (admin_id);
CREATE INDEX admin_sessions_expires ON admin_sessions (expires_at);

-- Failed logins, counted per address and per email over a recent window, in
-- the database so that every server process sees the same count.
CREATE TABLE login_failures (
    id    bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    ip    text NOT NULL,
    email text NOT NULL,
    at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX login_failures_ip ON login_failures (ip, at);
CREATE INDEX login_failures_email ON login_failures (email, at);

-- A rejection carries the experimenter's reason.
ALTER TABLE participants ADD COLUMN status_reason text NOT NULL DEFAULT '' CHECK (length(status_reason) <= 1000);
ALTER TABLE participants ADD COLUMN status_changed_at timestamptz;
-- The monitor sorts and filters participants of one study by these.
CREATE INDEX participants_study_started ON participants (study_id, started_at, id);
-- The timeout sweep looks only at started participants.
CREATE INDEX participants_started ON participants (study_id) WHERE status = 'started';

-- The pool design: one row per (study, stimulus, replica r in 1..R), made when
-- the study is published. participant_id is NULL while the slot is free. A
-- slot is one row with one participant column, so no two participants can
-- hold it, and an item has exactly R slots, so it can never get more than R
-- answers.
CREATE TABLE pool_slots (
    study_id       uuid NOT NULL REFERENCES studies (id) ON DELETE CASCADE,
    stimulus_id    uuid NOT NULL REFERENCES stimuli (id),
    replica        integer NOT NULL CHECK (replica >= 1),
    participant_id uuid REFERENCES participants (id) ON DELETE SET NULL,
    PRIMARY KEY (study_id, stimulus_id, replica),
    -- A participant holds at most one slot of an item.
    UNIQUE (participant_id, stimulus_id)
);
-- Claims read free slots in fill order: every item's first replica, then the second...
CREATE INDEX pool_slots_free ON pool_slots (study_id, replica, stimulus_id) WHERE participant_id IS NULL;
CREATE INDEX pool_slots_free_item ON pool_slots (study_id, stimulus_id, replica) WHERE participant_id IS NULL;

-- The payouts ledger. Prolific pays a bonus line every time it is uploaded,
-- so a participant is in at most one batch, ever.
CREATE TABLE bonus_batches (
    id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    study_id   uuid NOT NULL REFERENCES studies (id),
    number     integer NOT NULL CHECK (number >= 1),
    created_at timestamptz NOT NULL DEFAULT now(),
    paid_at    timestamptz,
    UNIQUE (study_id, number)
);

CREATE TABLE bonus_batch_items (
    batch_id       uuid NOT NULL REFERENCES bonus_batches (id),
    participant_id uuid NOT NULL UNIQUE REFERENCES participants (id),
    amount_minor   bigint NOT NULL CHECK (amount_minor > 0),
    PRIMARY KEY (batch_id, participant_id)
);
