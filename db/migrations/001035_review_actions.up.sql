-- Reviews an experimenter may take back (issue 16, item 3): every approval,
-- return, rejection and mark-paid is logged with who, when, whom, and whether
-- it went to Prolific; an approval, a return or a mark-paid that stayed here
-- can be undone within study.UndoWindow.
CREATE TABLE review_actions (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    study_id         uuid NOT NULL REFERENCES studies (id) ON DELETE CASCADE,
    action           text NOT NULL CHECK (action IN ('approve', 'return', 'reject', 'paid')),
    participant_ids  uuid[] NOT NULL DEFAULT '{}',
    batch_number     integer,
    sent_to_prolific boolean NOT NULL DEFAULT false,
    admin_id         uuid, -- who (no foreign key: accounts may be removed, the log stays)
    at               timestamptz NOT NULL,
    undone_at        timestamptz,
    CHECK ((action = 'paid') = (batch_number IS NOT NULL))
);
CREATE INDEX review_actions_recent ON review_actions (study_id, at DESC);
