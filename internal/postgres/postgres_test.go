package postgres_test

import (
	"context"
	"errors"
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
