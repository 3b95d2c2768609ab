// Package pgtest gives each test its own freshly migrated PostgreSQL database.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/cubelab/cubelab/internal/postgres"
)

// DefaultURL is the administrative database used when DATABASE_URL is unset.
const DefaultURL = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

// AdminURL is the URL from which test databases are created.
func AdminURL() string {
	if u := os.Getenv("DATABASE_URL"); u != "" {
		return u
	}
	return DefaultURL
}

// New creates a database with a random name, migrates it, and drops it when
// the test ends. It returns the database's URL and a pool connected to it.
func New(t testing.TB) (string, *pgxpool.Pool) {
	t.Helper()
	ctx := context.Background()
	admin, err := pgx.Connect(ctx, AdminURL())
	if err != nil {
		t.Fatalf("pgtest: connect to %s: %v (is PostgreSQL running? see scripts/db.sh)", AdminURL(), err)
	}
	defer admin.Close(ctx)

	b := make([]byte, 8)
	_, _ = rand.Read(b)
	name := "cubelab_test_" + hex.EncodeToString(b)
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("pgtest: create database: %v", err)
	}
	t.Cleanup(func() {
		c, err := pgx.Connect(context.Background(), AdminURL())
		if err != nil {
			t.Errorf("pgtest: drop %s: %v", name, err)
			return
		}
		defer c.Close(context.Background())
		if _, err := c.Exec(context.Background(), "DROP DATABASE "+name+" WITH (FORCE)"); err != nil {
			t.Errorf("pgtest: drop %s: %v", name, err)
		}
	})

	u, err := url.Parse(AdminURL())
	if err != nil {
		t.Fatalf("pgtest: parse %s: %v", AdminURL(), err)
	}
	u.Path = "/" + name
	dsn := u.String()
	if _, err := postgres.Migrate(ctx, dsn); err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	pool, err := postgres.Open(ctx, dsn)
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	t.Cleanup(pool.Close) // runs before the drop: cleanups are last in, first out
	return dsn, pool
}
