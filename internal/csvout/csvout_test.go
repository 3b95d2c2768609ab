package csvout_test

import (
	"bytes"
	"encoding/csv"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cubelab/cubelab/internal/csvout"
)

func TestCell(t *testing.T) {
	for in, want := range map[string]string{
		"":                         "",
		"gpt-4o":                   "gpt-4o",
		"=HYPERLINK(\"http://x\")": "'=HYPERLINK(\"http://x\")",
		"+1+cmd|' /C calc'!A0":     "'+1+cmd|' /C calc'!A0",
		"-2+3":                     "'-2+3",
		"@SUM(A1)":                 "'@SUM(A1)",
		"\t=1":                     "'\t=1",
		"\r=1":                     "'\r=1",
		"-0.470135":                "-0.470135",
		"-1":                       "-1",
		"+3":                       "+3",
		"-1.5e-07":                 "-1.5e-07",
		"-.5":                      "-.5",
		"-Inf":                     "'-Inf",
		"-NaN":                     "'-NaN",
		"-0x1p-2":                  "'-0x1p-2",
		"-":                        "'-",
		"-1e":                      "'-1e",
		"fine-tuned on towers 2-4": "fine-tuned on towers 2-4",
		"0.85":                     "0.85",
	} {
		if got := csvout.Cell(in); got != want {
			t.Errorf("Cell(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestWriterRoundTrip(t *testing.T) {
	var buf bytes.Buffer
	w := csvout.NewWriter(&buf)
	rec := []string{"=1+1", "-0.25", "a,b", "x\ny"}
	if err := w.WriteAll([][]string{{"h1", "h2", "h3", "h4"}, rec}); err != nil {
		t.Fatal(err)
	}
	if rec[0] != "=1+1" {
		t.Fatalf("Write changed its argument: %q", rec[0])
	}
	got, err := csv.NewReader(&buf).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"'=1+1", "-0.25", "a,b", "x\ny"}
	for i := range want {
		if got[1][i] != want[i] {
			t.Errorf("cell %d = %q, want %q", i, got[1][i], want[i])
		}
	}
}

// TestOneWriter holds the rule that every CSV is written by this package:
// no other package of the module may call encoding/csv's NewWriter.
func TestOneWriter(t *testing.T) {
	root := filepath.Join("..", "..")
	fset := token.NewFileSet()
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			switch d.Name() {
			case ".git", "node_modules", "testdata":
				return filepath.SkipDir
			}
			if filepath.Clean(path) == filepath.Clean(filepath.Join(root, "internal", "csvout")) {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		names := map[string]bool{}
		for _, im := range f.Imports {
			if im.Path.Value == `"encoding/csv"` {
				name := "csv"
				if im.Name != nil {
					name = im.Name.Name
				}
				names[name] = true
			}
		}
		if len(names) == 0 {
			return nil
		}
		ast.Inspect(f, func(n ast.Node) bool {
			sel, ok := n.(*ast.SelectorExpr)
			if !ok {
				return true
			}
			if id, ok := sel.X.(*ast.Ident); ok && names[id.Name] && sel.Sel.Name == "NewWriter" {
				t.Errorf("%s: writes CSV with encoding/csv; use csvout.NewWriter, which neutralises formula cells",
					fset.Position(sel.Pos()))
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
