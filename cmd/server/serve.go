package main

import (
	"context"
	"errors"
)

// runServe is not built yet; the issue that owns it replaces this file.
func runServe(ctx context.Context, args []string, e env) error {
	return errors.New("serve: not built yet")
}
