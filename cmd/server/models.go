package main

import (
	"context"
	"errors"
)

// runModels is not built yet; the issue that owns it replaces this file.
func runModels(ctx context.Context, args []string, e env) error {
	return errors.New("models: not built yet")
}
