package postgres

import (
	"context"
	"crypto/rand"
	"fmt"
)

// ServerKey returns the key called name that every server process of this
// database shares, making it (32 random bytes) when none exists: the first
// process to ask wins, and the others read its key.
func (s *Store) ServerKey(ctx context.Context, name string) ([]byte, error) {
	fresh := make([]byte, 32)
	_, _ = rand.Read(fresh) // crypto/rand.Read never fails on Linux
	if _, err := s.pool.Exec(ctx, `INSERT INTO server_keys (name, key) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING`,
		name, fresh); err != nil {
		return nil, fmt.Errorf("postgres: server key: %w", err)
	}
	// A statement of its own: in read committed it sees the row of a
	// process that inserted first, which the insert's snapshot does not.
	var key []byte
	if err := s.pool.QueryRow(ctx, `SELECT key FROM server_keys WHERE name = $1`, name).Scan(&key); err != nil {
		return nil, fmt.Errorf("postgres: server key: %w", err)
	}
	return key, nil
}
