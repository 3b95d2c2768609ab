-- Issue 16 (part A, item 7): accounts and roles. Each study has an owner and
-- members; other accounts do not see it. An account's role is 'experimenter'
-- or 'admin' (an admin manages accounts); a disabled account cannot log in.
ALTER TABLE admins
    ADD COLUMN role        text NOT NULL DEFAULT 'experimenter' CHECK (role IN ('experimenter', 'admin')),
    ADD COLUMN disabled_at timestamptz;
-- Someone must manage accounts: the oldest.
UPDATE admins SET role = 'admin' WHERE id = (SELECT id FROM admins ORDER BY created_at, id LIMIT 1);

-- NULL: made without an account (the command line's demo), seen by every account.
ALTER TABLE studies ADD COLUMN owner_id uuid REFERENCES admins (id);

CREATE TABLE study_members (
    study_id uuid NOT NULL REFERENCES studies (id) ON DELETE CASCADE,
    admin_id uuid NOT NULL REFERENCES admins (id) ON DELETE CASCADE,
    added_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (study_id, admin_id)
);
CREATE INDEX study_members_admin ON study_members (admin_id);

-- Studies made before owners existed: everyone who could see them keeps
-- seeing them. The oldest account owns them, every other is a member.
UPDATE studies SET owner_id = (SELECT id FROM admins ORDER BY created_at, id LIMIT 1);
INSERT INTO study_members (study_id, admin_id)
SELECT st.id, a.id FROM studies st CROSS JOIN admins a WHERE a.id IS DISTINCT FROM st.owner_id;
