package postgres_test

import (
	"context"
	"errors"
	"net/url"
	"testing"

	"github.com/cubelab/cubelab/internal/postgres"
	"github.com/cubelab/cubelab/internal/postgres/pgtest"
)

func TestMigrate(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	t.Run("OK", func(t *testing.T) {
		t.Parallel()
		dsn, _ := pgtest.New(t)
		v, err := postgres.Migrate(ctx, dsn) // a second run finds nothing to do
		if err != nil || v < 1 {
			t.Fatalf("Migrate again = %d, %v; want the same version, nil", v, err)
		}
	})
	t.Run("ErrSchemaTooNew", func(t *testing.T) {
		t.Parallel()
		dsn, pool := pgtest.New(t)
		if _, err := pool.Exec(ctx, `UPDATE schema_migrations SET version = 999999`); err != nil {
			t.Fatal(err)
		}
		if _, err := postgres.Migrate(ctx, dsn); !errors.Is(err, postgres.ErrSchemaTooNew) {
			t.Fatalf("Migrate on a newer schema = %v, want ErrSchemaTooNew", err)
		}
	})
	t.Run("ErrSchemaDirty", func(t *testing.T) {
		t.Parallel()
		dsn, pool := pgtest.New(t)
		if _, err := pool.Exec(ctx, `UPDATE schema_migrations SET dirty = true`); err != nil {
			t.Fatal(err)
		}
		if _, err := postgres.Migrate(ctx, dsn); !errors.Is(err, postgres.ErrSchemaDirty) {
			t.Fatalf("Migrate on a dirty schema = %v, want ErrSchemaDirty", err)
		}
	})
}

// The pool's settings in the URL reach the pool and are kept from the
// migration's connection, which PostgreSQL would refuse.
func TestPoolSettingsInURL(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dsn, _ := pgtest.New(t)
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("pool_max_conns", "3")
	u.RawQuery = q.Encode()
	if _, err := postgres.Migrate(ctx, u.String()); err != nil {
		t.Fatalf("Migrate with pool_max_conns: %v", err)
	}
	pool, err := postgres.Open(ctx, u.String())
	if err != nil {
		t.Fatalf("Open with pool_max_conns: %v", err)
	}
	defer pool.Close()
	if got := pool.Config().MaxConns; got != 3 {
		t.Errorf("MaxConns = %d, want 3 from the URL", got)
	}
}
