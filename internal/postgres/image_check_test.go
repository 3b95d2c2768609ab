package postgres_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"io/fs"
	"strings"
	"testing"

	"github.com/cubelab/cubelab/db"
	"github.com/cubelab/cubelab/internal/postgres"
	"github.com/cubelab/cubelab/internal/postgres/pgtest"
)

// TestImageCheckMigration runs migration 000500 over pictures imported
// before imports decoded them: an HTML page, a PNG called a JPEG and a PNG
// too wide. The page and the wide PNG are reported, nothing is deleted, and
// the PNG gets its true type.
func TestImageCheckMigration(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	_, pool := pgtest.New(t)
	store := postgres.NewStore(pool)
	read := func(name string) string {
		b, err := fs.ReadFile(db.Migrations(), name)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	if _, err := pool.Exec(ctx, read("000500_image_check.down.sql")); err != nil {
		t.Fatal(err)
	}
	in := pgtest.TowerSet("old-set", 4)
	setID, _, err := store.ImportSet(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	wide := bytes.Clone(in.Items[3].Image)
	binary.BigEndian.PutUint32(wide[16:], 5000) // IHDR width
	for ext, v := range map[string]struct {
		ct  string
		img []byte
	}{
		"t01": {"text/html", []byte("<script>fetch('/admin/')</script>")},
		"t02": {"image/jpeg", in.Items[1].Image},
		"t04": {"image/png", wide},
	} {
		if _, err := pool.Exec(ctx, `UPDATE stimuli SET content_type = $3, image = $4 WHERE set_id = $1 AND ext_id = $2`,
			setID, ext, v.ct, v.img); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := pool.Exec(ctx, read("000500_image_check.up.sql")); err != nil {
		t.Fatal(err)
	}
	problems, err := store.ImageProblems(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"set old-set, item t01 (images/t01.png): is not a PNG, JPEG or WebP image (stored as text/html); it is not served",
		"set old-set, item t04 (images/t04.png): is 5000x512 pixels, over the limit of 4096 pixels a side",
	}
	if strings.Join(problems, "\n") != strings.Join(want, "\n") {
		t.Errorf("problems:\n%s\nwant:\n%s", strings.Join(problems, "\n"), strings.Join(want, "\n"))
	}
	var n int
	var ct string
	if err := pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM stimuli WHERE set_id = $1),
		(SELECT content_type FROM stimuli WHERE set_id = $1 AND ext_id = 't02')`, setID).Scan(&n, &ct); err != nil {
		t.Fatal(err)
	}
	if n != 4 || ct != "image/png" {
		t.Errorf("%d stimuli (want 4: nothing deleted), t02 is %s (want image/png, what it is)", n, ct)
	}
}
