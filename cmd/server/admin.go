package main

import (
	"context"
	"errors"
)

// runAdmin is not built yet; the issue that owns it replaces this file.
func runAdmin(ctx context.Context, args []string, e env) error {
	return errors.New("admin: not built yet")
}
