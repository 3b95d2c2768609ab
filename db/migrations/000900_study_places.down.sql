ALTER TABLE participants DROP COLUMN place_shard;
DROP TABLE study_place_shards;
