DROP TABLE study_members;
ALTER TABLE studies DROP COLUMN owner_id;
ALTER TABLE admins DROP COLUMN disabled_at, DROP COLUMN role;
