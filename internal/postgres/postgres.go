// Package postgres is cubelab's storage in PostgreSQL through pgx: the
// connection pool, the embedded migrations and the store methods, each of
// which owns its transaction.
package postgres

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/golang-migrate/migrate/v4"
	_ "github.com/golang-migrate/migrate/v4/database/pgx/v5" // registers the pgx5:// driver
	"github.com/golang-migrate/migrate/v4/source/iofs"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/cubelab/cubelab/db"
)

// defaultMaxConns is the pool size unless the URL sets pool_max_conns. The
// participant path is short statements whose commits wait for the WAL
// flush, so a few connections per core keep PostgreSQL busy while others
// wait on the disk and share its flushes; more only queue inside PostgreSQL
// and switch between its processes. On 2 cores with PostgreSQL beside the
// server, 8 gave the most answers/s (4 the least database CPU per answer,
// 16 the most; docs/BENCHMARKS.md, "Load").
const defaultMaxConns = 8

// Open connects a pool to url and checks that the database answers.
//
// The pool recovers by itself when PostgreSQL restarts: broken connections
// are discarded on release, idle ones are pinged before reuse and checked
// periodically, so requests after a restart get fresh connections.
func Open(ctx context.Context, dsn string) (*pgxpool.Pool, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("postgres: parse url: %w", err)
	}
	if !strings.Contains(dsn, "pool_max_conns") {
		cfg.MaxConns = defaultMaxConns
	}
	cfg.HealthCheckPeriod = 5 * time.Second
	cfg.MaxConnIdleTime = 5 * time.Minute
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: open: %w", err)
	}
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := pool.Ping(pctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("postgres: ping: %w", err)
	}
	return pool, nil
}

// ErrSchemaTooNew means the database was migrated by a newer build.
var ErrSchemaTooNew = errors.New("postgres: database schema is newer than this build knows")

// ErrSchemaDirty means a migration failed half-way and needs a person.
var ErrSchemaDirty = errors.New("postgres: database schema is dirty")

// Migrate applies every embedded migration not yet applied to the database at
// dsn and returns the resulting version. It refuses a database whose version is
// newer than the newest embedded migration, or dirty, rather than run code
// against a schema it does not know.
func Migrate(ctx context.Context, dsn string) (uint, error) {
	src, err := iofs.New(db.Migrations(), ".")
	if err != nil {
		return 0, fmt.Errorf("postgres: migrations: %w", err)
	}
	newest, err := newestVersion(src)
	if err != nil {
		return 0, err
	}
	u, err := url.Parse(dsn)
	if err != nil {
		return 0, fmt.Errorf("postgres: parse url: %w", err)
	}
	u.Scheme = "pgx5"
	// The pool's own settings (pool_max_conns and the like) are pgxpool's,
	// not the server's: the migration's single connection would send them to
	// PostgreSQL, which refuses unknown parameters.
	q := u.Query()
	for k := range q {
		if strings.HasPrefix(k, "pool_") {
			q.Del(k)
		}
	}
	u.RawQuery = q.Encode()
	m, err := migrate.NewWithSourceInstance("iofs", src, u.String())
	if err != nil {
		return 0, fmt.Errorf("postgres: migrate: %w", err)
	}
	defer m.Close()

	version, dirty, err := m.Version()
	switch {
	case errors.Is(err, migrate.ErrNilVersion):
	case err != nil:
		return 0, fmt.Errorf("postgres: schema version: %w", err)
	case dirty:
		return version, fmt.Errorf("%w at version %d: a migration failed half-way; repair it by hand and clear the flag in schema_migrations", ErrSchemaDirty, version)
	case version > newest:
		return version, fmt.Errorf("%w: the database is at version %d, this build knows up to %d; run a newer build", ErrSchemaTooNew, version, newest)
	}

	done := make(chan error, 1)
	go func() { done <- m.Up() }()
	select {
	case err = <-done:
	case <-ctx.Done():
		m.GracefulStop <- true
		err = <-done
	}
	if err != nil && !errors.Is(err, migrate.ErrNoChange) {
		return 0, fmt.Errorf("postgres: migrate up: %w", err)
	}
	version, _, err = m.Version()
	if err != nil {
		return 0, fmt.Errorf("postgres: schema version: %w", err)
	}
	return version, nil
}

// newestVersion walks the source to its last migration.
func newestVersion(src interface {
	First() (uint, error)
	Next(uint) (uint, error)
}) (uint, error) {
	v, err := src.First()
	if err != nil {
		return 0, fmt.Errorf("postgres: no embedded migrations: %w", err)
	}
	for {
		next, err := src.Next(v)
		if err != nil {
			return v, nil
		}
		v = next
	}
}
