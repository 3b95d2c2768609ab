package postgres

import (
	"bufio"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/cubelab/cubelab/internal/study"
)

func TestStatusSQL(t *testing.T) {
	if got, want := counted("p.status"), "p.status IN ('completed', 'approved')"; got != want {
		t.Errorf("counted = %q, want %q", got, want)
	}
	if got, want := statusNotIn("status", study.LeftStatuses()...), "status NOT IN ('returned', 'timed_out', 'rejected')"; got != want {
		t.Errorf("statusNotIn = %q, want %q", got, want)
	}
	if sqlStarted != "'started'" || sqlCompleted != "'completed'" || sqlDraft != "'draft'" {
		t.Errorf("status constants %s %s %s", sqlStarted, sqlCompleted, sqlDraft)
	}
}

// statusLiteral is a status written out in SQL.
var statusLiteral = regexp.MustCompile(`'(started|completed|approved|returned|timed_out|rejected|draft|published|paused|closed|complete)'`)

// TestNoStatusLiterals holds the rules of statuses in one place: outside
// study (and the migrations, which are SQL files), no Go code spells a status
// out in SQL. Build the SQL from study instead: sqlStarted and its kin,
// statusIn(col, study.FinishedStatuses()...), counted(col) (statuses.go).
func TestNoStatusLiterals(t *testing.T) {
	root := filepath.Join("..", "..")
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if name := d.Name(); path != root && (strings.HasPrefix(name, ".") || name == "study" || name == "testdata") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		sc := bufio.NewScanner(f)
		sc.Buffer(nil, 1<<20)
		for n := 1; sc.Scan(); n++ {
			line := sc.Text()
			if strings.HasPrefix(strings.TrimSpace(line), "//") {
				continue
			}
			if m := statusLiteral.FindString(line); m != "" {
				t.Errorf("%s:%d: status %s spelled out in SQL; build it from study (postgres/statuses.go)", path, n, m)
			}
		}
		return sc.Err()
	})
	if err != nil {
		t.Fatal(err)
	}
}
