package postgres_test

import (
	"context"
	"testing"
	"time"

	"github.com/cubelab/cubelab/internal/postgres"
	"github.com/cubelab/cubelab/internal/postgres/pgtest"
	"github.com/cubelab/cubelab/internal/problem"
)

func TestAdminSessions(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	_, pool := pgtest.New(t)
	store := postgres.NewStore(pool)
	const hash = "$argon2id$v=19$m=1024,t=1,p=1$c2FsdHNhbHRzYWx0$a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2U"
	id, err := store.CreateAdmin(ctx, "ada@example.org", hash)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := store.CreateAdmin(ctx, "ada@example.org", hash); problem.Code(err) != problem.ECONFLICT {
		t.Errorf("second account for one email: %v, want ECONFLICT", err)
	}
	if _, err := store.CreateAdmin(ctx, "Bob@example.org", hash); err == nil {
		t.Error("an email that is not lower-case was stored")
	}
	if _, err := store.CreateAdmin(ctx, "bob@example.org", "plain text"); err == nil {
		t.Error("a password that is not an argon2id hash was stored")
	}

	csrf := "0123456789abcdef0123456789abcdef"
	if err := store.CreateAdminSession(ctx, id, hashOf("live"), csrf, time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := store.CreateAdminSession(ctx, id, hashOf("old"), csrf, time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	ses, err := store.AdminSession(ctx, hashOf("live"))
	if err != nil || ses.Admin.ID != id || ses.Admin.Email != "ada@example.org" || ses.CSRFToken != csrf {
		t.Errorf("session: %+v, %v", ses, err)
	}
	if _, err := pool.Exec(ctx, `UPDATE admin_sessions SET expires_at = now() - interval '1 second' WHERE token_hash = $1`, hashOf("old")); err != nil {
		t.Fatal(err)
	}
	if _, err := store.AdminSession(ctx, hashOf("old")); problem.Code(err) != problem.EUNAUTHORIZED {
		t.Errorf("expired session: %v, want EUNAUTHORIZED", err)
	}
	if _, err := store.AdminSession(ctx, hashOf("never")); problem.Code(err) != problem.EUNAUTHORIZED {
		t.Errorf("unknown token: %v, want EUNAUTHORIZED", err)
	}
	if err := store.DeleteAdminSession(ctx, hashOf("live")); err != nil {
		t.Fatal(err)
	}
	if _, err := store.AdminSession(ctx, hashOf("live")); problem.Code(err) != problem.EUNAUTHORIZED {
		t.Errorf("deleted session: %v, want EUNAUTHORIZED", err)
	}
}

func TestLoginFailures(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	_, pool := pgtest.New(t)
	store := postgres.NewStore(pool)
	for range 3 {
		if err := store.RecordLoginFailure(ctx, "10.0.0.1", "ada@example.org"); err != nil {
			t.Fatal(err)
		}
	}
	if err := store.RecordLoginFailure(ctx, "10.0.0.2", "bob@example.org"); err != nil {
		t.Fatal(err)
	}
	// One failure from before the window does not count.
	if _, err := pool.Exec(ctx, `INSERT INTO login_failures (ip, email, at) VALUES ('10.0.0.1', 'ada@example.org', now() - interval '16 minutes')`); err != nil {
		t.Fatal(err)
	}
	c, err := store.LoginFailures(ctx, "10.0.0.1", "bob@example.org", 15*time.Minute)
	if err != nil || c != (postgres.LoginCounts{ByAddress: 3, ByEmailAddress: 0, ByEmail: 1}) {
		t.Errorf("failures: %+v, %v; want 3 by address, 0 by email and address, 1 by email", c, err)
	}
	c, err = store.LoginFailures(ctx, "10.0.0.1", "ada@example.org", 15*time.Minute)
	if err != nil || c != (postgres.LoginCounts{ByAddress: 3, ByEmailAddress: 3, ByEmail: 3}) {
		t.Errorf("failures: %+v, %v; want 3, 3, 3", c, err)
	}
}
