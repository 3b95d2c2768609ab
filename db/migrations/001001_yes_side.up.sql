-- Issue 10, item 6: the side of the Yes button, counterbalanced across
-- participants (study.YesSideFor); everyone before this had Yes on the left.
ALTER TABLE participants ADD COLUMN yes_side text NOT NULL DEFAULT 'left' CHECK (yes_side IN ('left', 'right'));
