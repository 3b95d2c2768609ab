package web

import (
	"bytes"
	"context"
	"regexp"
	"strings"
	"testing"
)

// TestPromptQuestion: the prompt keeps its exact text and its question
// stands out.
func TestPromptQuestion(t *testing.T) {
	const tower = "You are now viewing a tower of blocks. Will the tower fall? Answer Yes if you think this tower is unstable and will fall. Answer No if you think this tower is stable and will not fall."
	var b bytes.Buffer
	if err := prompt(tower).Render(context.Background(), &b); err != nil {
		t.Fatal(err)
	}
	html := b.String()
	if !strings.Contains(html, `<strong class="question">Will the tower fall?</strong>`) {
		t.Errorf("question not emphasised: %s", html)
	}
	if text := regexp.MustCompile(`<[^>]+>`).ReplaceAllString(html, ""); text != tower {
		t.Errorf("prompt text changed:\n%q\nwant\n%q", text, tower)
	}
	if b, q, a := splitQuestion("No question here."); b != "No question here." || q != "" || a != "" {
		t.Errorf("splitQuestion without a question = %q %q %q", b, q, a)
	}
}
