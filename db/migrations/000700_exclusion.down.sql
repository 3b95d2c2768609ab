ALTER TABLE studies DROP COLUMN exclusion;
