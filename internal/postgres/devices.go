package postgres

import (
	"context"
	"fmt"
	"strings"

	"github.com/google/uuid"

	"github.com/cubelab/cubelab/internal/study"
)

// RecordDeviceBySession keeps the device of the participant whose session
// token has hash tokenHash in the study at slug. A later report replaces it
// only when it differs (a session resumed on another device; counted in
// changes), and a report without the page's script (user agent only) never
// replaces one the script measured.
func (s *Store) RecordDeviceBySession(ctx context.Context, slug string, tokenHash []byte, d study.Device) error {
	ua := d.UserAgent
	if len(ua) > study.MaxUserAgent {
		ua = ua[:study.MaxUserAgent]
	}
	// A header is bytes; the column is text (and a sequence cut above is
	// no longer UTF-8).
	ua = strings.ToValidUTF8(strings.ReplaceAll(ua, "\x00", ""), "")
	_, err := s.pool.Exec(ctx, `
		INSERT INTO participant_devices AS d (participant_id, user_agent, screen_w, screen_h, viewport_w, viewport_h,
			dpr, pointer, kind, scripted)
		SELECT p.id, $3, NULLIF($4, 0), NULLIF($5, 0), NULLIF($6, 0), NULLIF($7, 0), NULLIF($8, 0::real), $9, $10, $11
		FROM participant_sessions ps
		JOIN participants p ON p.id = ps.participant_id
		JOIN studies st ON st.id = p.study_id
		WHERE ps.token_hash = $1 AND st.slug = $2
		ON CONFLICT (participant_id) DO UPDATE SET user_agent = excluded.user_agent,
			screen_w = excluded.screen_w, screen_h = excluded.screen_h,
			viewport_w = excluded.viewport_w, viewport_h = excluded.viewport_h, dpr = excluded.dpr,
			pointer = excluded.pointer, kind = excluded.kind, scripted = excluded.scripted,
			changes = d.changes + 1, recorded_at = now()
		WHERE (excluded.scripted OR NOT d.scripted)
			AND (d.user_agent, d.screen_w, d.screen_h, d.viewport_w, d.viewport_h, d.dpr, d.pointer, d.scripted)
				IS DISTINCT FROM (excluded.user_agent, excluded.screen_w, excluded.screen_h, excluded.viewport_w,
					excluded.viewport_h, excluded.dpr, excluded.pointer, excluded.scripted)`,
		tokenHash, slug, ua, d.ScreenW, d.ScreenH, d.ViewportW, d.ViewportH, float32(d.DPR), d.Pointer, d.DeviceKind(), d.Scripted)
	if err != nil {
		return fmt.Errorf("postgres: device: %w", err)
	}
	return nil
}

// deviceColumns are read by scanDevice, from participant_devices d (which
// may be absent: a LEFT JOIN gives the zero Device).
const deviceColumns = `COALESCE(d.user_agent, ''), COALESCE(d.screen_w, 0), COALESCE(d.screen_h, 0),
	COALESCE(d.viewport_w, 0), COALESCE(d.viewport_h, 0), COALESCE(d.dpr, 0)::float8, COALESCE(d.pointer, ''),
	COALESCE(d.scripted, false), COALESCE(d.kind, '')`

func deviceTargets(d *study.Device) []any {
	return []any{&d.UserAgent, &d.ScreenW, &d.ScreenH, &d.ViewportW, &d.ViewportH, &d.DPR, &d.Pointer, &d.Scripted, &d.Kind}
}

// Devices returns the device of every participant of the study who has
// one, by participant id: for the participants table and the monitor.
func (s *Store) Devices(ctx context.Context, studyID uuid.UUID) (map[uuid.UUID]study.Device, error) {
	rows, err := s.pool.Query(ctx, `SELECT d.participant_id, `+deviceColumns+`
		FROM participant_devices d JOIN participants p ON p.id = d.participant_id
		WHERE p.study_id = $1`, studyID)
	if err != nil {
		return nil, fmt.Errorf("postgres: devices: %w", err)
	}
	defer rows.Close()
	out := map[uuid.UUID]study.Device{}
	for rows.Next() {
		var id uuid.UUID
		var d study.Device
		if err := rows.Scan(append([]any{&id}, deviceTargets(&d)...)...); err != nil {
			return nil, fmt.Errorf("postgres: devices: %w", err)
		}
		out[id] = d
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("postgres: devices: %w", err)
	}
	return out, nil
}
