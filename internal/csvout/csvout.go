// Package csvout is the one CSV writer of cubelab: every CSV the server or
// the command line writes goes through it, so that no cell a participant,
// researcher or uploaded file chose can run as a spreadsheet formula.
package csvout

import (
	"encoding/csv"
	"io"
	"math"
	"strconv"
)

// Writer is encoding/csv's Writer with every cell made inert: a cell that
// a spreadsheet would read as a formula (it starts with '=', '+', '-', '@',
// a tab or a carriage return) gets a leading apostrophe, unless it is a
// plain decimal number, so that numeric columns (negative kappas, amounts)
// stay numbers. OWASP's "CSV injection" advice, applied to every cell,
// because which columns hold free text is a question every new CSV would
// otherwise have to answer correctly.
type Writer struct {
	w   *csv.Writer
	rec []string
}

// NewWriter returns a Writer that writes to w.
func NewWriter(w io.Writer) *Writer { return &Writer{w: csv.NewWriter(w)} }

// Write writes one record, each cell neutralised; rec is not changed.
func (w *Writer) Write(rec []string) error {
	w.rec = w.rec[:0]
	for _, c := range rec {
		w.rec = append(w.rec, Cell(c))
	}
	return w.w.Write(w.rec)
}

// WriteAll writes every record and flushes.
func (w *Writer) WriteAll(recs [][]string) error {
	for _, r := range recs {
		if err := w.Write(r); err != nil {
			return err
		}
	}
	w.w.Flush()
	return w.w.Error()
}

// Flush writes buffered data to the underlying writer.
func (w *Writer) Flush() { w.w.Flush() }

// Error reports any error of an earlier Write or Flush.
func (w *Writer) Error() error { return w.w.Error() }

// Num is a number as the reports' CSVs write it: six decimals, and empty
// for NaN (undefined).
func Num(v float64) string {
	if math.IsNaN(v) {
		return ""
	}
	return strconv.FormatFloat(v, 'f', 6, 64)
}

// Cell returns s as it is written to a CSV: with a leading apostrophe when a
// spreadsheet would take it for a formula, unchanged otherwise.
func Cell(s string) string {
	if s == "" {
		return s
	}
	switch s[0] {
	case '=', '+', '-', '@', '\t', '\r':
		if isNumber(s) {
			return s
		}
		return "'" + s
	}
	return s
}

// isNumber reports whether s is a plain decimal number such as -0.470135,
// +3 or -1.5e-07: the only cells starting with a sign that stay as they are.
// strconv.ParseFloat would also take "-Inf", "-NaN" and hex floats, which a
// spreadsheet reads as formulas.
func isNumber(s string) bool {
	i := 0
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		i++
	}
	digits := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i, digits = i+1, digits+1
	}
	if i < len(s) && s[i] == '.' {
		i++
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i, digits = i+1, digits+1
		}
	}
	if digits == 0 {
		return false
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		exp := 0
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i, exp = i+1, exp+1
		}
		if exp == 0 {
			return false
		}
	}
	return i == len(s)
}
