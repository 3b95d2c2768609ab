DROP TABLE practice_trials;
ALTER TABLE participants DROP CONSTRAINT participants_practice_answered,
    DROP COLUMN n_practice_answered, DROP COLUMN n_practice;
ALTER TABLE studies DROP COLUMN practice_ids, DROP COLUMN practice_set_id, DROP COLUMN practice_items;
