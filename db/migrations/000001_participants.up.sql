-- The spine: stimulus sets, studies, participants, their trial lists and answers.
-- Money is integer minor units; ids are UUIDs; every rule the database can hold
-- is a constraint, so that no code path can record a second answer.

CREATE TABLE stimulus_sets (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name         text NOT NULL UNIQUE CHECK (name ~ '^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$'),
    -- sha256 over the manifest, scenes and images: a re-import of the same
    -- content is a no-op, a different content under the same name is refused.
    content_hash text NOT NULL CHECK (content_hash ~ '^[0-9a-f]{64}$'),
    has_scenes   boolean NOT NULL,
    imported_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE stimuli (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    set_id       uuid NOT NULL REFERENCES stimulus_sets (id) ON DELETE CASCADE,
    ext_id       text NOT NULL CHECK (ext_id <> ''), -- the manifest's own id
    domain       text NOT NULL CHECK (domain IN ('tower', 'pyramid', 'pyramid-removed')),
    n_blocks     integer NOT NULL CHECK (n_blocks > 0),
    n_rows       integer NOT NULL CHECK (n_rows >= 0),
    red_row      integer CHECK (red_row >= 0),
    -- size is what studies filter on: blocks of a tower, rows of a pyramid.
    size         integer NOT NULL CHECK (size > 0),
    answer       text NOT NULL CHECK (answer IN ('Yes', 'No')),
    split        text NOT NULL DEFAULT '',
    pair_id      text NOT NULL DEFAULT '',
    file         text NOT NULL CHECK (file <> ''),
    content_type text NOT NULL DEFAULT 'image/png',
    image        bytea NOT NULL CHECK (length(image) > 0),
    scene        jsonb,
    UNIQUE (set_id, ext_id)
);
CREATE INDEX stimuli_set_domain_size ON stimuli (set_id, domain, size);

CREATE TABLE studies (
    id                      uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    slug                    text NOT NULL UNIQUE CHECK (slug ~ '^[a-z0-9][a-z0-9-]{0,62}$'),
    title                   text NOT NULL CHECK (title <> ''),
    domain                  text NOT NULL CHECK (domain IN ('tower', 'pyramid', 'pyramid-removed')),
    set_id                  uuid NOT NULL REFERENCES stimulus_sets (id),
    sizes                   integer[] NOT NULL DEFAULT '{}', -- empty: every size
    split                   text NOT NULL DEFAULT '',        -- empty: every split
    design                  text NOT NULL CHECK (design IN ('fixed', 'pool')),
    items_per_participant   integer CHECK (items_per_participant > 0),
    responses_per_item      integer NOT NULL DEFAULT 1 CHECK (responses_per_item > 0),
    places                  integer NOT NULL CHECK (places > 0),
    time_limit_minutes      integer NOT NULL CHECK (time_limit_minutes > 0),
    attention_check_ids     uuid[] NOT NULL DEFAULT '{}',
    consent_text            text NOT NULL,
    instructions_text       text NOT NULL,
    base_pay_minor          bigint NOT NULL CHECK (base_pay_minor >= 0),
    bonus_per_correct_minor bigint NOT NULL CHECK (bonus_per_correct_minor >= 0),
    max_bonus_minor         bigint NOT NULL CHECK (max_bonus_minor >= 0),
    currency                text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    completion_code         text NOT NULL DEFAULT '' CHECK (completion_code ~ '^[A-Za-z0-9]{0,64}$'),
    prolific_study_id       text NOT NULL DEFAULT '' CHECK (prolific_study_id ~ '^([0-9a-f]{24})?$'),
    status                  text NOT NULL DEFAULT 'draft'
                            CHECK (status IN ('draft', 'published', 'paused', 'closed')),
    created_at              timestamptz NOT NULL DEFAULT now(),
    CHECK (design = 'fixed' OR items_per_participant IS NOT NULL),
    -- Prolific cannot accept a submission without a code.
    CHECK (status = 'draft' OR completion_code <> '')
);

CREATE TABLE participants (
    id                  uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    study_id            uuid NOT NULL REFERENCES studies (id),
    prolific_pid        text NOT NULL CHECK (prolific_pid ~ '^[0-9a-f]{24}$'),
    prolific_study_id   text NOT NULL DEFAULT '',
    prolific_session_id text NOT NULL DEFAULT '',
    status              text NOT NULL DEFAULT 'started'
                        CHECK (status IN ('started', 'completed', 'approved', 'returned', 'timed_out', 'rejected')),
    seed                bigint NOT NULL,
    n_trials            integer NOT NULL CHECK (n_trials >= 0),
    -- Counters kept with the answers in one statement, so the answer path needs
    -- no count and the row lock orders concurrent answers of one participant.
    n_answered          integer NOT NULL DEFAULT 0 CHECK (n_answered BETWEEN 0 AND n_trials),
    n_correct           integer NOT NULL DEFAULT 0 CHECK (n_correct BETWEEN 0 AND n_answered),
    started_at          timestamptz NOT NULL DEFAULT now(),
    consented_at        timestamptz,
    demographics_at     timestamptz, -- when the optional form was sent or skipped
    completed_at        timestamptz,
    age                 integer CHECK (age BETWEEN 18 AND 120),
    gender              text NOT NULL DEFAULT '' CHECK (length(gender) <= 100),
    bonus_minor         bigint CHECK (bonus_minor >= 0),
    UNIQUE (study_id, prolific_pid),
    CHECK (completed_at IS NULL OR n_answered = n_trials),
    CHECK ((completed_at IS NULL) = (bonus_minor IS NULL))
);
CREATE INDEX participants_study_status ON participants (study_id, status);

-- A participant may open the link in several browsers; each open gets its own
-- token. Only the hash is stored, so a database dump gives no one a session.
CREATE TABLE participant_sessions (
    token_hash     bytea PRIMARY KEY CHECK (length(token_hash) = 32),
    participant_id uuid NOT NULL REFERENCES participants (id) ON DELETE CASCADE,
    created_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX participant_sessions_participant ON participant_sessions (participant_id);

CREATE TABLE trials (
    participant_id     uuid NOT NULL REFERENCES participants (id) ON DELETE CASCADE,
    position           integer NOT NULL CHECK (position >= 1),
    stimulus_id        uuid NOT NULL REFERENCES stimuli (id),
    is_attention_check boolean NOT NULL DEFAULT false,
    shown_at           timestamptz, -- first time the trial page was served
    PRIMARY KEY (participant_id, position),
    UNIQUE (participant_id, stimulus_id)
);
CREATE INDEX trials_stimulus ON trials (stimulus_id);

CREATE TABLE responses (
    participant_id uuid NOT NULL,
    position       integer NOT NULL,
    answer         text NOT NULL CHECK (answer IN ('Yes', 'No')),
    correct        boolean NOT NULL,
    browser_rt_ms  integer CHECK (browser_rt_ms >= 0), -- null without JavaScript
    server_rt_ms   integer NOT NULL CHECK (server_rt_ms >= 0),
    answered_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (participant_id, position),
    FOREIGN KEY (participant_id, position) REFERENCES trials (participant_id, position) ON DELETE CASCADE
);
