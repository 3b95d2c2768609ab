-- Issue 16 (part A, item 1): a study can change while it runs. Each save
-- carries the version it was made from, so that a save from a stale form is
-- refused (two experimenters editing the same study); every change is
-- logged (who, when, what); texts keep their versions, and each participant
-- the version they were shown; a closed study can be archived (hidden from
-- the list, its data kept).
ALTER TABLE studies
    ADD COLUMN version      integer NOT NULL DEFAULT 1 CHECK (version >= 1),
    ADD COLUMN text_version integer NOT NULL DEFAULT 1 CHECK (text_version >= 1),
    ADD COLUMN archived_at  timestamptz;

-- Every version of a study's consent and instructions; studies holds the
-- newest, and a participant's record the version they joined under.
CREATE TABLE study_texts (
    study_id          uuid NOT NULL REFERENCES studies (id) ON DELETE CASCADE,
    version           integer NOT NULL CHECK (version >= 1),
    consent_text      text NOT NULL,
    instructions_text text NOT NULL,
    created_at        timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (study_id, version)
);
INSERT INTO study_texts (study_id, version, consent_text, instructions_text, created_at)
SELECT id, 1, consent_text, instructions_text, created_at FROM studies;

ALTER TABLE participants ADD COLUMN text_version integer NOT NULL DEFAULT 1 CHECK (text_version >= 1);

-- The log of changes: one row per save or move, naming the study version it
-- made (0 for changes that do not touch the settings, such as an archive).
CREATE TABLE study_changes (
    id       bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    study_id uuid NOT NULL REFERENCES studies (id) ON DELETE CASCADE,
    version  integer NOT NULL DEFAULT 0,
    actor    text NOT NULL DEFAULT '' CHECK (length(actor) <= 320),
    at       timestamptz NOT NULL DEFAULT now(),
    what     text NOT NULL CHECK (what <> '' AND length(what) <= 20000)
);
CREATE INDEX study_changes_study ON study_changes (study_id, at DESC, id DESC);

-- Places that change while joins run (see study_places.go). Each shard of
-- the count of places has its own cap, and the caps add up to places. When
-- places change, the shards are locked (in shard order, waiting for joins
-- that hold one) and each gets its own count plus an even share of the
-- places still free, so no shard is ever over its cap and the places free
-- to joins are exactly places minus those taken. Places below those taken
-- are refused (SQLSTATE CL001, the number taken in the detail).
ALTER TABLE study_place_shards ADD COLUMN cap integer;
UPDATE study_place_shards sh SET cap = GREATEST(sh.used, (st.places + 31 - sh.shard) / 32)
FROM studies st WHERE st.id = sh.study_id;
ALTER TABLE study_place_shards ALTER COLUMN cap SET NOT NULL;
ALTER TABLE study_place_shards ADD CONSTRAINT study_place_shards_within_cap CHECK (used <= cap);

CREATE FUNCTION study_places_changed() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    taken integer;
BEGIN
    IF NEW.places = OLD.places THEN
        RETURN NEW;
    END IF;
    PERFORM 1 FROM study_place_shards WHERE study_id = NEW.id ORDER BY shard FOR UPDATE;
    SELECT COALESCE(sum(used), 0) INTO taken FROM study_place_shards WHERE study_id = NEW.id;
    IF NEW.places < taken THEN
        RAISE EXCEPTION 'places % is below the % taken', NEW.places, taken
            USING ERRCODE = 'CL001', DETAIL = taken::text;
    END IF;
    UPDATE study_place_shards SET cap = used + (NEW.places - taken + 31 - shard) / 32
    WHERE study_id = NEW.id;
    RETURN NEW;
END $$;

CREATE TRIGGER study_places_changed BEFORE UPDATE OF places ON studies
    FOR EACH ROW EXECUTE FUNCTION study_places_changed();
