DROP TRIGGER study_places_changed ON studies;
DROP FUNCTION study_places_changed();
ALTER TABLE study_place_shards DROP CONSTRAINT study_place_shards_within_cap;
ALTER TABLE study_place_shards DROP COLUMN cap;
DROP TABLE study_changes;
ALTER TABLE participants DROP COLUMN text_version;
DROP TABLE study_texts;
ALTER TABLE studies DROP COLUMN archived_at, DROP COLUMN text_version, DROP COLUMN version;
