package main

import (
	"context"
	"errors"
)

// runMigrate is not built yet; the issue that owns it replaces this file.
func runMigrate(ctx context.Context, args []string, e env) error {
	return errors.New("migrate: not built yet")
}
