package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"strconv"

	"github.com/cubelab/cubelab/internal/postgres"
	"github.com/cubelab/cubelab/internal/stimulus"
)

// imageFlags adds the limits on stimulus pictures to a command's flags, with
// the environment (CUBELAB_MAX_IMAGE_MB, CUBELAB_MAX_IMAGE_SIDE) as defaults.
func imageFlags(fs *flag.FlagSet, lim *stimulus.ImageLimits, e env) {
	mb := stimulus.DefaultImageLimits.MaxBytes >> 20
	if v, err := strconv.ParseInt(e.getenv("CUBELAB_MAX_IMAGE_MB"), 10, 64); err == nil {
		mb = v
	}
	side := stimulus.DefaultImageLimits.MaxSide
	if v, err := strconv.Atoi(e.getenv("CUBELAB_MAX_IMAGE_SIDE")); err == nil {
		side = v
	}
	lim.MaxBytes, lim.MaxSide = mb<<20, side
	fs.Func("max-image-mb", fmt.Sprintf("largest stimulus picture accepted, in MB (env CUBELAB_MAX_IMAGE_MB; default %d)", mb), func(s string) error {
		v, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return fmt.Errorf("%q is not a whole number of MB", s)
		}
		lim.MaxBytes = v << 20
		return nil
	})
	fs.Func("max-image-side", fmt.Sprintf("largest width or height of a stimulus picture, in pixels (env CUBELAB_MAX_IMAGE_SIDE; default %d)", side), func(s string) error {
		v, err := strconv.Atoi(s)
		if err != nil {
			return fmt.Errorf("%q is not a whole number of pixels", s)
		}
		lim.MaxSide = v
		return nil
	})
}

// checkImageFlags refuses limits that would let nothing in or overflow.
func checkImageFlags(lim stimulus.ImageLimits) error {
	if lim.MaxBytes < 1<<20 || lim.MaxBytes > 1<<30 {
		return fmt.Errorf("%w: -max-image-mb must be 1 to 1024", errUsage)
	}
	if lim.MaxSide < 1 || lim.MaxSide > 1<<15 {
		return fmt.Errorf("%w: -max-image-side must be 1 to 32768", errUsage)
	}
	return nil
}

// logImageProblems logs the stored pictures that failed the image check
// (migration 000500), which the server does not serve: the researcher
// should re-import those sets with images.
func logImageProblems(ctx context.Context, store *postgres.Store, log *slog.Logger) error {
	problems, err := store.ImageProblems(ctx)
	if err != nil {
		return err
	}
	for _, p := range problems {
		log.Warn("stored stimulus failed the image check and is not served", "problem", p)
	}
	return nil
}
