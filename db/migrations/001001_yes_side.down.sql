ALTER TABLE participants DROP COLUMN IF EXISTS yes_side;
