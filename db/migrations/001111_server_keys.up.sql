-- Issue 17, less work per answer: keys the server processes of one database
-- share, so that what one process signs another can check. The first
-- process to need a key makes it (random, from Go's crypto/rand) and every
-- process reads it from here. 'picture served' signs the cookie a picture's
-- response sets (the time the server served it), the evidence an answer is
-- checked against without a write per picture.
CREATE TABLE server_keys (
    name       text PRIMARY KEY CHECK (length(name) <= 100),
    key        bytea NOT NULL CHECK (length(key) >= 32),
    created_at timestamptz NOT NULL DEFAULT now()
);
