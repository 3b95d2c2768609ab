package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/cubelab/cubelab/internal/account"
	"github.com/cubelab/cubelab/internal/problem"
)

// CreateAdmin stores a new experimenter account with a password hash made by
// account.Hash; the email must already be normalised. The first account
// manages accounts: without one, nobody could.
func (s *Store) CreateAdmin(ctx context.Context, email, passwordHash string) (uuid.UUID, error) {
	return s.createAccount(ctx, email, passwordHash, `CASE WHEN EXISTS (SELECT 1 FROM admins WHERE role = $3 AND disabled_at IS NULL)
		THEN $4 ELSE $3 END`, string(account.RoleAdmin), string(account.Experimenter))
}

// CreateAccount stores a new account with the role given, in one statement
// (an admin making an account on the web).
func (s *Store) CreateAccount(ctx context.Context, email, passwordHash string, role account.Role) (uuid.UUID, error) {
	return s.createAccount(ctx, email, passwordHash, `$3`, string(role))
}

// createAccount inserts an account whose role is the SQL expression role
// over the parameters from $3 on.
func (s *Store) createAccount(ctx context.Context, email, passwordHash, role string, args ...any) (uuid.UUID, error) {
	var id uuid.UUID
	err := s.pool.QueryRow(ctx, `INSERT INTO admins (email, password_hash, role) VALUES ($1, $2, `+role+`) RETURNING id`,
		append([]any{email, passwordHash}, args...)...).Scan(&id)
	if isUniqueViolation(err) {
		return id, problem.Errorf(problem.ECONFLICT, "an account for %s already exists", email)
	} else if err != nil {
		return id, fmt.Errorf("postgres: create admin: %w", err)
	}
	return id, nil
}

// SetAdminPassword replaces the password hash of an existing account.
func (s *Store) SetAdminPassword(ctx context.Context, email, passwordHash string) error {
	return s.ChangeAdminPassword(ctx, email, passwordHash, nil)
}

// ChangeAdminPassword sets the account's password and, in the same
// transaction, ends every session of the account but the one whose token
// hashes to keep (nil: every one): whoever held a session opened with the
// old password (a stolen cookie, a forgotten browser) is logged out.
func (s *Store) ChangeAdminPassword(ctx context.Context, email, passwordHash string, keep []byte) error {
	return s.inTx(ctx, func(tx pgx.Tx) error {
		var id uuid.UUID
		err := tx.QueryRow(ctx, `UPDATE admins SET password_hash = $2 WHERE email = $1 RETURNING id`, email, passwordHash).Scan(&id)
		if err == pgx.ErrNoRows {
			return problem.Errorf(problem.ENOTFOUND, "there is no account for %s", email)
		} else if err != nil {
			return fmt.Errorf("postgres: set password: %w", err)
		}
		if _, err := tx.Exec(ctx, `DELETE FROM admin_sessions WHERE admin_id = $1 AND token_hash IS DISTINCT FROM $2`, id, keep); err != nil {
			return fmt.Errorf("postgres: end sessions: %w", err)
		}
		return nil
	})
}

// AdminByEmail finds an account and its password hash.
func (s *Store) AdminByEmail(ctx context.Context, email string) (account.Admin, string, error) {
	var a account.Admin
	var hash string
	// A disabled account is no account: its login fails like a wrong password.
	err := s.pool.QueryRow(ctx, `SELECT id, email, role, password_hash FROM admins WHERE email = $1 AND disabled_at IS NULL`, email).
		Scan(&a.ID, &a.Email, &a.Role, &hash)
	if err == pgx.ErrNoRows {
		return a, "", problem.Errorf(problem.ENOTFOUND, "no such account")
	} else if err != nil {
		return a, "", fmt.Errorf("postgres: admin: %w", err)
	}
	return a, hash, nil
}

// LoginFailures counts the failed logins within the window from ip and for
// email.
func (s *Store) LoginFailures(ctx context.Context, ip, email string, window time.Duration) (LoginCounts, error) {
	var c LoginCounts
	err := s.pool.QueryRow(ctx, `
		SELECT count(*) FILTER (WHERE ip = $1),
		       count(*) FILTER (WHERE ip = $1 AND email = $2),
		       count(*) FILTER (WHERE email = $2)
		FROM login_failures WHERE (ip = $1 OR email = $2) AND at > now() - $3::interval`,
		ip, email, window).Scan(&c.ByAddress, &c.ByEmailAddress, &c.ByEmail)
	if err != nil {
		return c, fmt.Errorf("postgres: login failures: %w", err)
	}
	return c, nil
}

// LoginCounts are the failed logins within a window that the limits count.
type LoginCounts struct {
	ByAddress      int // from the address, for any email
	ByEmailAddress int // from the address, for the email
	ByEmail        int // for the email, from any address
}

// Refused reports whether the address has failed too often, in all or for
// the email, to have another password checked now (account.MaxFailuresIP,
// account.MaxFailuresEmail). Failures for the email from elsewhere never
// refuse (that would let anyone lock the owner out): see account.EmailDelay.
func (c LoginCounts) Refused() bool {
	return c.ByAddress >= account.MaxFailuresIP || c.ByEmailAddress >= account.MaxFailuresEmail
}

// RecordLoginFailure notes a failed login; failures older than a day are
// deleted on the way, so the table stays small.
func (s *Store) RecordLoginFailure(ctx context.Context, ip, email string) error {
	_, err := s.pool.Exec(ctx, `
		WITH old AS (DELETE FROM login_failures WHERE at < now() - interval '1 day')
		INSERT INTO login_failures (ip, email) VALUES ($1, $2)`, ip, email)
	if err != nil {
		return fmt.Errorf("postgres: record login failure: %w", err)
	}
	return nil
}

// CreateAdminSession stores a session by its token's hash.
func (s *Store) CreateAdminSession(ctx context.Context, adminID uuid.UUID, tokenHash []byte, csrf string, expires time.Time) error {
	_, err := s.pool.Exec(ctx, `
		WITH old AS (DELETE FROM admin_sessions WHERE expires_at < now())
		INSERT INTO admin_sessions (token_hash, admin_id, csrf_token, expires_at) VALUES ($1, $2, $3, $4)`,
		tokenHash, adminID, csrf, expires)
	if err != nil {
		return fmt.Errorf("postgres: create admin session: %w", err)
	}
	return nil
}

// AdminSession finds the unexpired session whose token has this hash.
func (s *Store) AdminSession(ctx context.Context, tokenHash []byte) (account.Session, error) {
	var ses account.Session
	err := s.pool.QueryRow(ctx, `
		SELECT a.id, a.email, a.role, s.csrf_token, s.expires_at
		FROM admin_sessions s JOIN admins a ON a.id = s.admin_id
		WHERE s.token_hash = $1 AND s.expires_at > now() AND a.disabled_at IS NULL`, tokenHash).
		Scan(&ses.Admin.ID, &ses.Admin.Email, &ses.Admin.Role, &ses.CSRFToken, &ses.ExpiresAt)
	if err == pgx.ErrNoRows {
		return ses, problem.Errorf(problem.EUNAUTHORIZED, "Please log in.")
	} else if err != nil {
		return ses, fmt.Errorf("postgres: admin session: %w", err)
	}
	return ses, nil
}

// DeleteAdminSession ends a session (logout).
func (s *Store) DeleteAdminSession(ctx context.Context, tokenHash []byte) error {
	if _, err := s.pool.Exec(ctx, `DELETE FROM admin_sessions WHERE token_hash = $1`, tokenHash); err != nil {
		return fmt.Errorf("postgres: delete admin session: %w", err)
	}
	return nil
}
