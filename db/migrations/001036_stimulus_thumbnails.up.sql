-- The set browser's thumbnails (issue 16, item 5): made from the stored
-- picture the first time one is asked for, kept here so that each is made
-- once; a picture never changes under its id, so neither does its thumbnail.
CREATE TABLE stimulus_thumbnails (
    stimulus_id uuid NOT NULL REFERENCES stimuli (id) ON DELETE CASCADE,
    side        integer NOT NULL CHECK (side > 0),
    png         bytea NOT NULL CHECK (length(png) > 0),
    made_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (stimulus_id, side)
);
