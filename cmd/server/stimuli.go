package main

import (
	"context"
	"errors"
)

// runStimuli is not built yet; the issue that owns it replaces this file.
func runStimuli(ctx context.Context, args []string, e env) error {
	return errors.New("stimuli: not built yet")
}
