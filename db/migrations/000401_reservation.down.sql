ALTER TABLE studies DROP COLUMN reservation_minutes;
