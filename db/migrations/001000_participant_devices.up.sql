-- Issue 10, item 3: the device each participant answered on. One row per
-- participant, written with their answers (the first one, and again when a
-- resumed session reports a different device); the picture's rendered size
-- per trial stays with each answer (responses.image_px).
CREATE TABLE participant_devices (
    participant_id uuid PRIMARY KEY REFERENCES participants (id) ON DELETE CASCADE,
    user_agent text NOT NULL DEFAULT '' CHECK (length(user_agent) <= 512),
    screen_w integer CHECK (screen_w >= 0),
    screen_h integer CHECK (screen_h >= 0),
    viewport_w integer CHECK (viewport_w >= 0),
    viewport_h integer CHECK (viewport_h >= 0),
    dpr real CHECK (dpr > 0),
    pointer text NOT NULL DEFAULT '' CHECK (pointer IN ('', 'touch', 'mouse', 'none')),
    kind text NOT NULL DEFAULT '' CHECK (kind IN ('', 'desktop', 'phone', 'tablet')),
    scripted boolean NOT NULL,
    changes integer NOT NULL DEFAULT 0,
    recorded_at timestamptz NOT NULL DEFAULT now()
);
