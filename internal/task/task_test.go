package task

import (
	"slices"
	"strings"
	"testing"
)

func TestPromptsVerbatim(t *testing.T) {
	// The texts of DESIGN.md, joined from its wrapped lines.
	want := map[Domain]string{
		Tower:          "You are now viewing a tower of blocks. Will the tower fall? Answer Yes if you think this tower is unstable and will fall. Answer No if you think this tower is stable and will not fall.",
		Pyramid:        "You are now viewing a pyramid of blocks. If the red block was not there, would any other blocks fall? Answer Yes if you think that other blocks would fall if the red block was not there. Answer No if you think that no other blocks would fall if the red block was not there.",
		PyramidRemoved: "You are now viewing a pyramid of blocks from which the red block has been removed. Will the pyramid fall? Answer Yes if you think this pyramid is unstable and will fall. Answer No if you think this pyramid is stable and will not fall.",
	}
	for d, w := range want {
		if got := d.Prompt(); got != w {
			t.Errorf("%s prompt:\n got %q\nwant %q", d, got, w)
		}
		if strings.Contains(d.Prompt(), "  ") {
			t.Errorf("%s prompt has a double space", d)
		}
	}
}

func TestParseDomain(t *testing.T) {
	for _, d := range Domains {
		if got, err := ParseDomain(string(d)); err != nil || got != d {
			t.Errorf("ParseDomain(%q) = %q, %v", d, got, err)
		}
	}
	for _, bad := range []string{"", "Tower", "pyramid_removed", "towers"} {
		if _, err := ParseDomain(bad); err == nil {
			t.Errorf("ParseDomain(%q) accepted", bad)
		}
	}
}

func TestDomainsOrder(t *testing.T) {
	var got []Domain
	for i, d := range Domains {
		if d.Order() != i {
			t.Errorf("%s.Order() = %d, want %d", d, d.Order(), i)
		}
		got = append(got, d)
	}
	if len(got) != 3 || got[0] != Tower || got[1] != Pyramid || got[2] != PyramidRemoved {
		t.Errorf("Domains = %v", got)
	}
	if Domain("cube").Order() != -1 {
		t.Error("an unknown domain has an order")
	}
	for range Domains {
		break // an early stop must not panic
	}
}

func TestParseSizes(t *testing.T) {
	for in, want := range map[string][]int{"": nil, "3": {3}, "2-4": {2, 3, 4}, "2,5": {2, 5}, "2-3,7": {2, 3, 7}, " 4 ": {4}} {
		got, err := ParseSizes(strings.Split(in, ","))
		if err != nil || !slices.Equal(got, want) {
			t.Errorf("ParseSizes(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"4-2", "x", "0", "1-5000", "2-"} {
		if _, err := ParseSizes([]string{in}); err == nil {
			t.Errorf("ParseSizes(%q) accepted", in)
		}
	}
}
