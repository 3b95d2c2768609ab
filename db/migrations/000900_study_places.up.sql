-- The places of a study as a counter split over 32 rows, so that joins to one
-- study take places in parallel instead of queueing on the study row. Shard s
-- may hold at most (places + 31 - s) / 32 participants: the 32 caps add up to
-- places exactly, so no more than places participants can hold one. A join
-- increments a shard below its cap, chosen with FOR UPDATE SKIP LOCKED (a
-- shard another join is incrementing is skipped, not waited for), and the
-- participant keeps the shard's number in place_shard until they leave
-- (returned, timed out, rejected), when it is decremented in the same
-- transaction. Caps come from studies.places at the time of each claim.
CREATE TABLE study_place_shards (
    study_id uuid NOT NULL REFERENCES studies (id) ON DELETE CASCADE,
    shard    smallint NOT NULL CHECK (shard BETWEEN 0 AND 31),
    used     integer NOT NULL DEFAULT 0 CHECK (used >= 0),
    PRIMARY KEY (study_id, shard)
);

ALTER TABLE participants ADD COLUMN place_shard smallint CHECK (place_shard BETWEEN 0 AND 31);

-- Participants holding a place now: round robin over the shards in the order
-- they started, which fills shard s with (active + 31 - s) / 32, never above
-- its cap unless the study is over-full already.
UPDATE participants p SET place_shard = (x.rn - 1) % 32
FROM (SELECT id, row_number() OVER (PARTITION BY study_id ORDER BY started_at, id) AS rn
      FROM participants WHERE status IN ('started', 'completed', 'approved')) x
WHERE p.id = x.id;

INSERT INTO study_place_shards (study_id, shard, used)
SELECT st.id, g.s, (SELECT count(*) FROM participants p WHERE p.study_id = st.id AND p.place_shard = g.s)
FROM studies st CROSS JOIN generate_series(0, 31) AS g(s);
