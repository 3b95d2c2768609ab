package main

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/cubelab/cubelab/internal/account"
	"github.com/cubelab/cubelab/internal/postgres"
	"github.com/cubelab/cubelab/internal/postgres/pgtest"
)

func TestAdminCreate(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dsn, pool := pgtest.New(t)
	admin := func(password string, args ...string) (string, error) {
		var out, errOut bytes.Buffer
		e := env{getenv: func(string) string { return "" }, stdin: strings.NewReader(password), stdout: &out, stderr: &errOut}
		err := run(ctx, append([]string{"admin"}, append(args, "--database-url", dsn)...), e)
		return out.String(), err
	}
	out, err := admin("a long enough password\n", "create", "--email", "Ada@Example.org")
	if err != nil || !strings.Contains(out, "ada@example.org created") {
		t.Fatalf("create: %q, %v", out, err)
	}
	store := postgres.NewStore(pool)
	_, hash, err := store.AdminByEmail(ctx, "ada@example.org")
	if err != nil || account.Check("a long enough password", hash) != nil || !strings.HasPrefix(hash, "$argon2id$v=19$m=65536,t=3,p=2$") {
		t.Errorf("stored hash %q does not check (%v)", hash, err)
	}
	if _, err := admin("another long password\n", "create", "--email", "ada@example.org"); err == nil {
		t.Error("a second account for the same email was created")
	}
	if _, err := admin("short\n", "create", "--email", "bob@example.org"); err == nil {
		t.Error("a short password was accepted")
	}
	if _, err := admin("x\n", "create"); !errors.Is(err, errUsage) {
		t.Errorf("no email: %v, want a usage error", err)
	}
	if _, err := admin("", "delete", "--email", "ada@example.org"); !errors.Is(err, errUsage) {
		t.Errorf("unknown subcommand: %v, want a usage error", err)
	}
	if _, err := admin("a new long password", "password", "--email", "ada@example.org"); err != nil {
		t.Fatalf("password: %v", err)
	}
	_, hash, _ = store.AdminByEmail(ctx, "ada@example.org")
	if account.Check("a new long password", hash) != nil {
		t.Error("the new password does not check")
	}
	// Roles and disabling (issue 16): the first account is an admin.
	if _, err := admin("a long enough password\n", "create", "--email", "bob@example.org"); err != nil {
		t.Fatal(err)
	}
	if out, err := admin("", "role", "--email", "bob@example.org", "--role", "admin"); err != nil || !strings.Contains(out, "bob@example.org is now admin") {
		t.Errorf("role: %q %v", out, err)
	}
	if _, err := admin("", "role", "--email", "bob@example.org", "--role", "boss"); !errors.Is(err, errUsage) {
		t.Errorf("an unknown role: %v", err)
	}
	if out, err := admin("", "disable", "--email", "ada@example.org"); err != nil || !strings.Contains(out, "disabled") {
		t.Errorf("disable: %q %v", out, err)
	}
	if _, _, err := store.AdminByEmail(ctx, "ada@example.org"); err == nil {
		t.Error("a disabled account is found for a login")
	}
	if _, err := admin("", "disable", "--email", "bob@example.org"); err == nil {
		t.Error("the last enabled admin was disabled")
	}
	if out, err := admin("", "disable", "--email", "ada@example.org", "--enable"); err != nil || !strings.Contains(out, "enabled") {
		t.Errorf("enable: %q %v", out, err)
	}
}
