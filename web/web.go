// Package web holds the participant pages as templ components, their view
// models, and the static files (CSS and the little JavaScript) they use.
package web

import (
	"embed"
	"io/fs"
	"strings"
)

//go:embed static
var static embed.FS

// Static is the folder served under /static/.
func Static() fs.FS {
	sub, err := fs.Sub(static, "static")
	if err != nil {
		panic(err) // "static" is a constant path
	}
	return sub
}

// paragraphs splits an experimenter's plain text at blank lines, so that
// consent and instruction texts keep their paragraphs without any HTML.
func paragraphs(s string) []string {
	var out []string
	for _, p := range strings.Split(strings.ReplaceAll(s, "\r\n", "\n"), "\n\n") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// splitQuestion cuts a prompt around its question, the sentence that ends
// with the first "?"; without one the whole text is "before".
func splitQuestion(s string) (before, question, after string) {
	end := strings.IndexByte(s, '?')
	if end < 0 {
		return s, "", ""
	}
	start := strings.LastIndex(s[:end], ". ")
	if start < 0 {
		start = 0
	} else {
		start += 2
	}
	return s[:start], s[start : end+1], s[end+1:]
}
