package problem

import (
	"errors"
	"fmt"
	"slices"
	"testing"
)

func TestCodeAndMessage(t *testing.T) {
	internal := errors.New("pq: connection refused")
	lines := &Lines{List: []Line{{File: "m.csv", Line: 3, Field: "answer", Msg: `"maybe" is not Yes or No`}}}
	for _, c := range []struct {
		name      string
		err       error
		code, msg string
	}{
		{"nil", nil, "", ""},
		{"coded", Errorf(ENOTFOUND, "No study %q.", "x"), ENOTFOUND, `No study "x".`},
		{"wrapped", fmt.Errorf("postgres: study: %w", Errorf(ECONFLICT, "Taken.")), ECONFLICT, "Taken."},
		{"internal", internal, EINTERNAL, "Something went wrong on our side. Please try again in a moment."},
		{"lines", fmt.Errorf("stimulus: set x:\n%w", lines), EINVALID, "1 problem was found"},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := Code(c.err); got != c.code {
				t.Errorf("Code = %q, want %q", got, c.code)
			}
			if got := Message(c.err); got != c.msg {
				t.Errorf("Message = %q, want %q", got, c.msg)
			}
		})
	}
}

func TestForward(t *testing.T) {
	e := Errorf(ETIMEUP, "Time is up.")
	f := e.Forward("https://app.prolific.com/", "Back to Prolific")
	if e.Link != "" {
		t.Error("Forward changed the error it was called on")
	}
	link, text := Forward(fmt.Errorf("x: %w", f))
	if link != "https://app.prolific.com/" || text != "Back to Prolific" {
		t.Errorf("Forward = %q %q", link, text)
	}
	if l, _ := Forward(errors.New("plain")); l != "" {
		t.Errorf("a plain error has a way forward: %q", l)
	}
	if f.Error() != "Time is up." {
		t.Errorf("Error() = %q, want the message alone", f.Error())
	}
}

func TestLines(t *testing.T) {
	var ls Lines
	if ls.Err() != nil {
		t.Fatal("an empty list is an error")
	}
	for i := 1; i <= 4; i++ {
		open := ls.Add(3, "manifest.csv", i, "id", "bad %d", i)
		if open != (i <= 3) {
			t.Errorf("Add %d reported open=%v", i, open)
		}
	}
	ls.Add(3, "manifest.csv", 0, "", "no items")
	want := []string{"manifest.csv:1: id: bad 1", "manifest.csv:2: id: bad 2", "manifest.csv:3: id: bad 3", "(stopped after 3 problems)"}
	if got := ls.Strings(); !slices.Equal(got, want) {
		t.Errorf("Strings = %q, want %q", got, want)
	}
	err := ls.Err()
	var got *Lines
	if !errors.As(err, &got) || len(got.List) != 3 || !got.More {
		t.Fatalf("Err = %#v", err)
	}
	if got.Summary() != "3 problems were found before the check stopped (more are not listed)" {
		t.Errorf("Summary = %q", got.Summary())
	}
	if s := (Line{File: "f.jsonl", Msg: "empty"}).String(); s != "f.jsonl: empty" {
		t.Errorf("a line without line number: %q", s)
	}
}
