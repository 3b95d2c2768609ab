package server_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/cubelab/cubelab/internal/server"
	"github.com/cubelab/cubelab/internal/task"
)

// TestPictureEvidenceCookie: the picture served on the ordinary path writes
// nothing to the database, and its answer still carries the evidence (the
// time since the picture was served, no no_image flag), from the picture's
// signed cookie: the first serving counts, the cookie works on another
// server process of the same database, and a dropped, altered or borrowed
// cookie proves nothing (the answer is flagged no_image).
func TestPictureEvidenceCookie(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 8)
	c := e.client(t)
	e.join(t, c, 1)
	ctx := context.Background()
	base, _ := url.Parse(e.srv.URL + "/s/towers")
	picture := func(c *http.Client, pos int) response {
		t.Helper()
		p := e.do(t, c, "GET", "/s/towers/image/"+strconv.Itoa(pos), nil)
		if p.status != 200 {
			t.Fatalf("picture %d = %d", pos, p.status)
		}
		return p
	}
	cookie := func(c *http.Client, pos int) *http.Cookie {
		for _, k := range c.Jar.Cookies(base) {
			if k.Name == "cubelab_towers_p"+strconv.Itoa(pos%4) {
				return k
			}
		}
		t.Fatalf("no picture cookie for position %d", pos)
		return nil
	}
	setCookie := func(c *http.Client, pos int, value string, maxAge int) {
		c.Jar.SetCookies(base, []*http.Cookie{{Name: "cubelab_towers_p" + strconv.Itoa(pos%4), Value: value, Path: "/s/towers", MaxAge: maxAge}})
	}
	answer := func(e *env, c *http.Client, pos int) {
		t.Helper()
		if p := e.answer(t, c, pos, task.Yes); p.status != http.StatusSeeOther {
			t.Fatalf("answer %d = %d %s", pos, p.status, p.body)
		}
	}

	// Trial 1: the picture sets its cookie and writes nothing; fetched
	// again, it keeps the first serving's cookie.
	pos := e.trial(t, c)
	if p := picture(c, pos); !strings.Contains(p.header.Get("Set-Cookie"), "cubelab_towers_p1=") {
		t.Fatalf("picture 1 set no cookie: %q", p.header.Values("Set-Cookie"))
	}
	var written int
	if err := e.pool.QueryRow(ctx, `SELECT count(*) FROM trials WHERE image_served_at IS NOT NULL`).Scan(&written); err != nil || written != 0 {
		t.Fatalf("%d trial rows written by a picture served from a grant (%v), want none", written, err)
	}
	first := cookie(c, pos).Value
	if p := picture(c, pos); len(p.header.Values("Set-Cookie")) != 0 || cookie(c, pos).Value != first {
		t.Errorf("a second serving replaced the first one's cookie: %q", p.header.Values("Set-Cookie"))
	}
	answer(e, c, pos)

	// Trial 2: the cookie dropped.
	pos = e.trial(t, c)
	picture(c, pos)
	setCookie(c, pos, "", -1)
	answer(e, c, pos)

	// Trial 3: the cookie's time moved a minute back, its signature kept.
	pos = e.trial(t, c)
	picture(c, pos)
	parts := strings.Split(cookie(c, pos).Value, ".")
	ms, _ := strconv.ParseInt(parts[1], 10, 64)
	setCookie(c, pos, parts[0]+"."+strconv.FormatInt(ms-60000, 10)+"."+parts[2], 3600)
	answer(e, c, pos)

	// Trial 4: the picture served by this process, the answer taken by
	// another one of the same database.
	pos = e.trial(t, c)
	picture(c, pos)
	other := httptest.NewServer(server.New(server.Config{Store: e.store}).Handler())
	t.Cleanup(other.Close)
	e2 := *e
	e2.srv = other
	answer(&e2, c, pos)

	// Another participant with the first one's cookie of trial 1.
	c2 := e.client(t)
	e.join(t, c2, 2)
	pos = e.trial(t, c2)
	setCookie(c2, pos, first, 3600)
	answer(e, c2, pos)

	rows, err := e.pool.Query(ctx, `SELECT p.prolific_pid, r.position, r.image_ms IS NOT NULL, 'no_image' = ANY(r.flags)
		FROM responses r JOIN participants p ON p.id = r.participant_id ORDER BY p.prolific_pid, r.position`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var got []string
	for rows.Next() {
		var who string
		var pos int
		var served, noImage bool
		if err := rows.Scan(&who, &pos, &served, &noImage); err != nil {
			t.Fatal(err)
		}
		n := "1"
		if who == pid(2) {
			n = "2"
		}
		got = append(got, n+"/"+strconv.Itoa(pos)+" served="+strconv.FormatBool(served)+" no_image="+strconv.FormatBool(noImage))
	}
	want := []string{
		"1/1 served=true no_image=false",
		"1/2 served=false no_image=true",
		"1/3 served=false no_image=true",
		"1/4 served=true no_image=false",
		"2/1 served=false no_image=true",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("stored evidence:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
