package prolific

import (
	"strings"
	"testing"
)

func TestAmount(t *testing.T) {
	for minor, want := range map[int64]string{0: "0.00", 5: "0.05", 85: "0.85", 100: "1.00", 1234: "12.34", -85: "-0.85"} {
		if got := Amount(minor); got != want {
			t.Errorf("Amount(%d) = %q, want %q", minor, got, want)
		}
	}
}

func TestParseAmount(t *testing.T) {
	for s, want := range map[string]int64{"0": 0, "2": 200, "2.5": 250, "2.50": 250, "0.85": 85, " 12.34 ": 1234} {
		if got, err := ParseAmount(s); err != nil || got != want {
			t.Errorf("ParseAmount(%q) = %d, %v; want %d", s, got, err, want)
		}
	}
	for _, s := range []string{"", "-1", "1.234", "1.", ".5", "1,50", "£1", "1e3", "abc", "1.5x"} {
		if got, err := ParseAmount(s); err == nil {
			t.Errorf("ParseAmount(%q) = %d, want an error", s, got)
		}
	}
}

// The example line of Prolific's own documentation.
func TestWriteBonusLines(t *testing.T) {
	var b strings.Builder
	err := WriteBonusLines(&b, []BonusLine{{"60ffe5c8371090c7041d43f8", 85}, {"60ffe5c8371090c7041d43f9", 1200}})
	if err != nil {
		t.Fatal(err)
	}
	want := "60ffe5c8371090c7041d43f8,0.85\n60ffe5c8371090c7041d43f9,12.00\n"
	if b.String() != want {
		t.Errorf("got %q, want %q", b.String(), want)
	}
	for _, bad := range []BonusLine{{"nope", 85}, {"60ffe5c8371090c7041d43f8", 0}} {
		b.Reset()
		if err := WriteBonusLines(&b, []BonusLine{{"60ffe5c8371090c7041d43f9", 10}, bad}); err == nil || b.Len() != 0 {
			t.Errorf("line %+v: err %v, wrote %q; want an error and nothing written", bad, err, b.String())
		}
	}
}
