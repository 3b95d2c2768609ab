package main

import (
	"context"
	"errors"
)

// runAnalyze is not built yet; the issue that owns it replaces this file.
func runAnalyze(ctx context.Context, args []string, e env) error {
	return errors.New("analyze: not built yet")
}
