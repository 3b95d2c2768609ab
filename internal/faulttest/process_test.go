package faulttest

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/cubelab/cubelab/internal/postgres"
)

// serverBin is the server binary built once by TestMain; the tests only read it.
var serverBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "cubelab-faulttest-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "faulttest:", err)
		os.Exit(1)
	}
	serverBin = filepath.Join(dir, "server")
	build := exec.Command("go", "build", "-o", serverBin, "github.com/cubelab/cubelab/cmd/server")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "faulttest: build the server:", err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// cluster is a private PostgreSQL: its own data folder and port, so that the
// tests may kill it without disturbing anyone else's database.
type cluster struct {
	bindir string
	dir    string
	port   int
	as     []string // runs PostgreSQL's programs as the postgres user when we are root
}

// pgBindir finds the installed PostgreSQL programs as scripts/db.sh does.
func pgBindir() string {
	if out, err := exec.Command("pg_config", "--bindir").Output(); err == nil {
		if d := strings.TrimSpace(string(out)); fileExists(filepath.Join(d, "initdb")) {
			return d
		}
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return versionOf(dirs[i]) < versionOf(dirs[j]) })
	for i := len(dirs) - 1; i >= 0; i-- {
		if fileExists(filepath.Join(dirs[i], "initdb")) {
			return dirs[i]
		}
	}
	return ""
}

func versionOf(bindir string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(bindir)))
	return n
}

func fileExists(p string) bool { _, err := os.Stat(p); return err == nil }

// newCluster initialises and starts a private cluster, stopped and removed
// when the test ends. fsync is off: the faults here kill processes, not the
// machine, and a killed PostgreSQL still recovers every commit from the WAL
// it had written to the kernel.
func newCluster(t *testing.T) *cluster {
	t.Helper()
	bindir := pgBindir()
	if bindir == "" {
		t.Skip("faulttest: no PostgreSQL programs (initdb) installed; install postgresql to run the fault tests")
	}
	dir, err := os.MkdirTemp("", "cubelab-faulttest-pg-")
	if err != nil {
		t.Fatal(err)
	}
	c := &cluster{bindir: bindir, dir: dir, port: freePort(t)}
	if os.Geteuid() == 0 {
		// PostgreSQL refuses to run as root.
		u, err := user.Lookup("postgres")
		if err != nil {
			t.Fatalf("faulttest: running as root needs a postgres user: %v", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(dir, uid, gid); err != nil {
			t.Fatal(err)
		}
		c.as = []string{"runuser", "-u", "postgres", "--"}
	}
	t.Cleanup(func() {
		_ = c.pgctl("stop", "-m", "immediate")
		os.RemoveAll(dir)
	})
	if out, err := c.run(filepath.Join(bindir, "initdb"), "-D", c.data(), "--auth=trust", "--username=postgres", "--no-sync"); err != nil {
		t.Fatalf("faulttest: initdb: %v\n%s", err, out)
	}
	if err := c.start(); err != nil {
		t.Fatal(err)
	}
	return c
}

func (c *cluster) data() string { return filepath.Join(c.dir, "data") }

func (c *cluster) run(name string, args ...string) ([]byte, error) {
	argv := append(append([]string{}, c.as...), name)
	argv = append(argv, args...)
	return exec.Command(argv[0], argv[1:]...).CombinedOutput()
}

func (c *cluster) pgctl(args ...string) error {
	args = append([]string{"-D", c.data(), "-l", filepath.Join(c.dir, "server.log"), "-w", "-t", "60"}, args...)
	if out, err := c.run(filepath.Join(c.bindir, "pg_ctl"), args...); err != nil {
		return fmt.Errorf("faulttest: pg_ctl %v: %v\n%s", args, err, out)
	}
	return nil
}

func (c *cluster) start() error {
	return c.pgctl("start", "-o", fmt.Sprintf("-k %s -p %d -h 127.0.0.1 -c fsync=off -c max_connections=100", c.dir, c.port))
}

// crash stops PostgreSQL the hard way: every backend is killed at once and
// the next start replays the WAL, as after a crash.
func (c *cluster) crash() error { return c.pgctl("stop", "-m", "immediate") }

func (c *cluster) url(db string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", c.port, db)
}

// newDatabase creates a database in the cluster, migrates it and returns its
// URL and a pool on it for the test's own checks.
func (c *cluster) newDatabase(t *testing.T, name string) (string, *pgxpool.Pool) {
	t.Helper()
	ctx := context.Background()
	admin, err := pgx.Connect(ctx, c.url("postgres"))
	if err != nil {
		t.Fatalf("faulttest: connect: %v", err)
	}
	defer admin.Close(ctx)
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("faulttest: create database: %v", err)
	}
	dsn := c.url(name)
	if _, err := postgres.Migrate(ctx, dsn); err != nil {
		t.Fatal(err)
	}
	pool, err := postgres.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return dsn, pool
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// serverProc is the server binary running as a child process.
type serverProc struct {
	cmd     *exec.Cmd
	url     string
	logPath string
}

// startServer runs `server serve` on port against dsn and waits until its
// /healthz answers; the process is killed when the test ends. extra are
// more environment variables (KEY=value).
func startServer(t *testing.T, dsn string, port int, extra ...string) *serverProc {
	t.Helper()
	s := &serverProc{url: fmt.Sprintf("http://127.0.0.1:%d", port), logPath: filepath.Join(t.TempDir(), "server.log")}
	logFile, err := os.Create(s.logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer logFile.Close() // the child holds its own descriptor
	s.cmd = exec.Command(serverBin, "serve", "-addr", fmt.Sprintf("127.0.0.1:%d", port))
	// BASE_URL must not make the cookies Secure: the tests speak plain HTTP;
	// every participant comes from 127.0.0.1, so the entry limit is off.
	s.cmd.Env = append(append(os.Environ(), "DATABASE_URL="+dsn, "BASE_URL=", "ADDR=", "CUBELAB_ENTRY_LIMIT=0"), extra...)
	s.cmd.Stdout, s.cmd.Stderr = logFile, logFile
	if err := s.cmd.Start(); err != nil {
		t.Fatalf("faulttest: start server: %v", err)
	}
	t.Cleanup(s.kill)
	if err := waitHealthy(s.url, 30*time.Second); err != nil {
		t.Fatalf("faulttest: server on %d: %v\n%s", port, err, s.logTail())
	}
	return s
}

// logTail is the end of the server's log, for failure messages.
func (s *serverProc) logTail() string {
	b, _ := os.ReadFile(s.logPath)
	return string(b[max(0, len(b)-4000):])
}

// kill sends SIGKILL: no graceful shutdown, requests in flight are cut.
func (s *serverProc) kill() {
	if s.cmd.ProcessState != nil {
		return
	}
	_ = s.cmd.Process.Signal(syscall.SIGKILL)
	_ = s.cmd.Wait()
}

// running reports whether the process has not exited.
func (s *serverProc) running() bool {
	return s.cmd.ProcessState == nil && s.cmd.Process.Signal(syscall.Signal(0)) == nil
}

// waitHealthy polls /healthz until it answers 200.
func waitHealthy(base string, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	c := &http.Client{Timeout: time.Second}
	for {
		resp, err := c.Get(base + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			err = fmt.Errorf("status %d", resp.StatusCode)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not healthy after %s: %v", limit, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
