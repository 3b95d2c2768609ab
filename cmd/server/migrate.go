package main

import (
	"context"
	"errors"
	"flag"
	"fmt"

	"github.com/cubelab/cubelab/internal/postgres"
)

// runMigrate applies the embedded migrations and exits.
func runMigrate(ctx context.Context, args []string, e env) error {
	fs := flag.NewFlagSet("migrate", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	dbURL := fs.String("database-url", e.getenv("DATABASE_URL"), "PostgreSQL URL (env DATABASE_URL)")
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	if *dbURL == "" {
		return errors.New("migrate: no database: set -database-url or DATABASE_URL")
	}
	v, err := postgres.Migrate(ctx, *dbURL)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	fmt.Fprintf(e.stdout, "database schema at version %d\n", v)
	return nil
}
