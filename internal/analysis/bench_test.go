package analysis

import "testing"

// benchMatrix is the acceptance workload: 100 people x 120 towers (six sizes)
// x 10 model runs.
func benchMatrix() *Matrix { return randomMatrix(100, 120, 10, 2026) }

// BenchmarkAnalyze is the acceptance benchmark: model-human, human-human and
// model-ground truth with 10,000 resamples over the 120 items as one condition,
// the same work as the numpy reference script.
func BenchmarkAnalyze(b *testing.B) {
	m := benchMatrix()
	for b.Loop() {
		if _, err := Analyze(m, Options{Seed: 1, Grouping: ByTask}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAnalyzeBySize adds the six tower sizes, each with its own bootstraps
// (seven conditions in all), which is what the report pages show.
func BenchmarkAnalyzeBySize(b *testing.B) {
	m := benchMatrix()
	for b.Loop() {
		if _, err := Analyze(m, Options{Seed: 1}); err != nil {
			b.Fatal(err)
		}
	}
}
