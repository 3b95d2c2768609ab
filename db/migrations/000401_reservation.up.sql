-- Issue 10: a place held by someone who opened the study but has not
-- answered within this many minutes is given back, with its pool slots
-- (Prolific's own hold is 10 minutes). study.Participant.ReservationExpired
-- holds the rule; postgres.Store.ReleaseReservations repeats it.
ALTER TABLE studies
    ADD COLUMN reservation_minutes integer NOT NULL DEFAULT 10 CHECK (reservation_minutes BETWEEN 1 AND 1440);
