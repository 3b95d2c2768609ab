ALTER TABLE studies DROP COLUMN break_every;
