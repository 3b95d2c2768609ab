package plot

import (
	"bytes"
	"compress/zlib"
	"io"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// pdfText inflates every content stream of a PDF and returns the text it sets.
func pdfText(t *testing.T, pdf []byte) string {
	t.Helper()
	var out strings.Builder
	for _, m := range regexp.MustCompile(`(?s)stream\r?\n(.*?)\r?\nendstream`).FindAllSubmatch(pdf, -1) {
		r, err := zlib.NewReader(bytes.NewReader(m[1]))
		if err != nil {
			out.Write(m[1]) // an uncompressed stream
			continue
		}
		b, _ := io.ReadAll(r)
		out.Write(b)
	}
	return out.String()
}

// TestPDF: every example figure converts to a one-page PDF of the chosen
// width, sets the figure's labels as text (vector, not a picture), draws
// the same for the same figure, and without a title sets none.
func TestPDF(t *testing.T) {
	for name, f := range examples() {
		for _, width := range []float64{SingleColumnPt, DoubleColumnPt} {
			for _, title := range []bool{true, false} {
				fig := ForPrint(f, width, title)
				svg := render(t, name, fig)
				var a, b bytes.Buffer
				if err := PDF(svg, &a, width); err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				if err := PDF(svg, &b, width); err != nil || !bytes.Equal(a.Bytes(), b.Bytes()) {
					t.Errorf("%s at %v pt: two conversions differ (%v)", name, width, err)
				}
				pdf := a.Bytes()
				if !bytes.HasPrefix(pdf, []byte("%PDF-")) || bytes.Count(pdf, []byte("/Type /Page\n")) != 1 {
					t.Errorf("%s: not a one-page PDF", name)
				}
				box := regexp.MustCompile(`/MediaBox \[0 0 ([0-9.]+) ([0-9.]+)\]`).FindSubmatch(pdf)
				if box == nil || math.Abs(fl(string(box[1]))-width) > 0.01 {
					t.Errorf("%s: MediaBox %q, want width %v", name, box, width)
				}
				text := pdfText(t, pdf)
				if !strings.Contains(text, ") Tj") || strings.Contains(text, "Towers:") != title {
					t.Errorf("%s at %v pt, title %v: text set %q", name, width, title, text[:min(300, len(text))])
				}
				if dir := os.Getenv("PLOT_OUT"); dir != "" {
					suffix := map[float64]string{SingleColumnPt: "single", DoubleColumnPt: "double"}[width]
					if !title {
						suffix += "-notitle"
					}
					os.WriteFile(filepath.Join(dir, name+"-"+suffix+".pdf"), pdf, 0o644)
					os.WriteFile(filepath.Join(dir, name+"-"+suffix+".svg"), svg, 0o644)
				}
			}
		}
	}
}
