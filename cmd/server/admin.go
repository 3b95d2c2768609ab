package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"golang.org/x/term"

	"github.com/cubelab/cubelab/internal/account"
	"github.com/cubelab/cubelab/internal/postgres"
)

const adminUsage = `usage: server admin create --email E     create an experimenter account (the first is an admin)
       server admin password --email E   set a new password for an account
       server admin role --email E --role admin|experimenter
                                         an admin also manages accounts
       server admin disable --email E [--enable]
                                         end the account's sessions and logins (or allow them again)

The password is read from the terminal without echo (asked twice), or from
the first line of standard input when it is not a terminal.`

// runAdmin manages experimenter accounts.
func runAdmin(ctx context.Context, args []string, e env) error {
	if len(args) == 0 || (args[0] != "create" && args[0] != "password" && args[0] != "role" && args[0] != "disable") {
		return fmt.Errorf("%w: admin needs a subcommand\n\n%s", errUsage, adminUsage)
	}
	sub := args[0]
	fs := flag.NewFlagSet("admin "+sub, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	email := fs.String("email", "", "the experimenter's email address")
	dbURL := fs.String("database-url", e.getenv("DATABASE_URL"), "PostgreSQL URL (env DATABASE_URL)")
	var roleName *string
	var enable *bool
	switch sub {
	case "role":
		roleName = fs.String("role", "", "admin or experimenter")
	case "disable":
		enable = fs.Bool("enable", false, "enable the account again instead")
	}
	if err := fs.Parse(args[1:]); err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: admin %s takes no arguments, got %q", errUsage, sub, fs.Args())
	}
	norm, err := account.NormalizeEmail(*email)
	if err != nil {
		return fmt.Errorf("%w: --email: %v", errUsage, err)
	}
	if *dbURL == "" {
		return errors.New("admin: no database: set -database-url or DATABASE_URL")
	}
	if sub == "role" || sub == "disable" {
		return adminAccount(ctx, e, *dbURL, sub, norm, roleName, enable)
	}
	password, err := readPassword(e)
	if err != nil {
		return err
	}
	hash, err := account.Hash(password, account.DefaultParams())
	if err != nil {
		return fmt.Errorf("admin: %w", err)
	}

	if _, err := postgres.Migrate(ctx, *dbURL); err != nil {
		return fmt.Errorf("admin: %w", err)
	}
	pool, err := postgres.Open(ctx, *dbURL)
	if err != nil {
		return fmt.Errorf("admin: %w", err)
	}
	defer pool.Close()
	store := postgres.NewStore(pool)
	if sub == "create" {
		if _, err := store.CreateAdmin(ctx, norm, hash); err != nil {
			return fmt.Errorf("admin: %w", err)
		}
		fmt.Fprintf(e.stdout, "account %s created; log in at /admin/login\n", norm)
		return nil
	}
	if err := store.SetAdminPassword(ctx, norm, hash); err != nil {
		return fmt.Errorf("admin: %w", err)
	}
	fmt.Fprintf(e.stdout, "password of %s changed\n", norm)
	return nil
}

// adminAccount changes an account's role or disables (enables) it.
func adminAccount(ctx context.Context, e env, dbURL, sub, email string, roleName *string, enable *bool) error {
	var role account.Role
	if sub == "role" {
		var ok bool
		if role, ok = account.ParseRole(*roleName); !ok {
			return fmt.Errorf("%w: --role must be admin or experimenter, not %q", errUsage, *roleName)
		}
	}
	if _, err := postgres.Migrate(ctx, dbURL); err != nil {
		return fmt.Errorf("admin: %w", err)
	}
	pool, err := postgres.Open(ctx, dbURL)
	if err != nil {
		return fmt.Errorf("admin: %w", err)
	}
	defer pool.Close()
	store := postgres.NewStore(pool)
	if sub == "role" {
		if err := store.SetAccountRole(ctx, email, role); err != nil {
			return fmt.Errorf("admin: %w", err)
		}
		fmt.Fprintf(e.stdout, "%s is now %s\n", email, role)
		return nil
	}
	if err := store.SetAccountDisabled(ctx, email, !*enable); err != nil {
		return fmt.Errorf("admin: %w", err)
	}
	if *enable {
		fmt.Fprintf(e.stdout, "%s is enabled\n", email)
	} else {
		fmt.Fprintf(e.stdout, "%s is disabled: its sessions ended and it cannot log in\n", email)
	}
	return nil
}

// readPassword asks twice on a terminal, without echo; otherwise it reads
// one line from stdin, so that scripts can pipe a password in.
func readPassword(e env) (string, error) {
	if f, ok := e.stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		fmt.Fprintf(e.stderr, "Password (at least %d characters): ", account.MinPasswordLen)
		p1, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(e.stderr)
		if err != nil {
			return "", fmt.Errorf("admin: read password: %w", err)
		}
		fmt.Fprint(e.stderr, "Again: ")
		p2, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(e.stderr)
		if err != nil {
			return "", fmt.Errorf("admin: read password: %w", err)
		}
		if string(p1) != string(p2) {
			return "", errors.New("admin: the two passwords differ")
		}
		return string(p1), nil
	}
	line, err := bufio.NewReader(e.stdin).ReadString('\n')
	if err != nil && !(errors.Is(err, io.EOF) && line != "") {
		return "", fmt.Errorf("admin: read password from stdin: %w", err)
	}
	return strings.TrimRight(line, "\r\n"), nil
}
