package analysis

import (
	"testing"
	"time"

	"github.com/cubelab/cubelab/internal/procstat"
)

// benchMatrix is the acceptance workload: 100 people x 120 towers (six sizes)
// x 10 model runs.
func benchMatrix() *Matrix { return randomMatrix(100, 120, 10, 2026) }

// benchAnalyze reports the CPU time per analysis beside the wall time: the
// machine is shared, and the CPU time does not grow when other processes
// take the cores.
func benchAnalyze(b *testing.B, opt Options) {
	m := benchMatrix()
	start := procstat.Self()
	for b.Loop() {
		if _, err := Analyze(m, opt); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(procstat.Self()-start)/float64(time.Millisecond)/float64(b.N), "cpu-ms/op")
}

// BenchmarkAnalyze is the acceptance benchmark: model-human, human-human and
// model-ground truth with 10,000 resamples over the 120 items as one condition,
// the same work as the numpy reference script.
func BenchmarkAnalyze(b *testing.B) { benchAnalyze(b, Options{Seed: 1, Grouping: ByTask}) }

// BenchmarkAnalyzeBySize adds the six tower sizes, each with its own bootstraps
// (seven conditions in all), which is what the report pages show.
func BenchmarkAnalyzeBySize(b *testing.B) { benchAnalyze(b, Options{Seed: 1}) }

// BenchmarkAnalyzePool is a pool study: 2,000 people who each answered K = 20
// of 10,000 towers, every tower answered R = 4 times, two model runs over all
// of them, per size and over all sizes; 100 resamples, since the point is the
// human-human pairs: only pairs that share a tower have a kappa.
func BenchmarkAnalyzePool(b *testing.B) {
	m := poolMatrix(2000, 20, 10000, 2, 2026)
	start := procstat.Self()
	for b.Loop() {
		if _, err := Analyze(m, Options{Resamples: 100, Seed: 1}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(procstat.Self()-start)/float64(time.Millisecond)/float64(b.N), "cpu-ms/op")
}
