package main

import (
	"bytes"
	"context"
	"io"
	"strings"
	"testing"

	"github.com/cubelab/cubelab/internal/postgres/pgtest"
)

func TestMigrateCommand(t *testing.T) {
	t.Parallel()
	dsn, _ := pgtest.New(t)
	t.Run("OK", func(t *testing.T) {
		var out bytes.Buffer
		e := env{getenv: func(string) string { return "" }, stdin: strings.NewReader(""), stdout: &out, stderr: io.Discard}
		if err := run(context.Background(), []string{"migrate", "-database-url", dsn}, e); err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(out.String(), "database schema at version ") {
			t.Fatalf("migrate printed %q", out.String())
		}
	})
	t.Run("FromEnvironment", func(t *testing.T) {
		var out bytes.Buffer
		getenv := func(k string) string {
			if k == "DATABASE_URL" {
				return dsn
			}
			return ""
		}
		e := env{getenv: getenv, stdin: strings.NewReader(""), stdout: &out, stderr: io.Discard}
		if err := run(context.Background(), []string{"migrate"}, e); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("ErrNoDatabase", func(t *testing.T) {
		e := env{getenv: func(string) string { return "" }, stdin: strings.NewReader(""), stdout: io.Discard, stderr: io.Discard}
		if err := run(context.Background(), []string{"migrate"}, e); err == nil || !strings.Contains(err.Error(), "DATABASE_URL") {
			t.Fatalf("migrate without a database = %v", err)
		}
	})
}
