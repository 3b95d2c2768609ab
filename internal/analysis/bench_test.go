package analysis

import (
	"syscall"
	"testing"
	"time"
)

// benchMatrix is the acceptance workload: 100 people x 120 towers (six sizes)
// x 10 model runs.
func benchMatrix() *Matrix { return randomMatrix(100, 120, 10, 2026) }

// cpuTime is the process's user plus system time. Reported beside the wall
// time because the machine is shared: the CPU time per analysis does not grow
// when other processes take the cores.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func benchAnalyze(b *testing.B, opt Options) {
	m := benchMatrix()
	start := cpuTime()
	for b.Loop() {
		if _, err := Analyze(m, opt); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(cpuTime()-start)/float64(time.Millisecond)/float64(b.N), "cpu-ms/op")
}

// BenchmarkAnalyze is the acceptance benchmark: model-human, human-human and
// model-ground truth with 10,000 resamples over the 120 items as one condition,
// the same work as the numpy reference script.
func BenchmarkAnalyze(b *testing.B) { benchAnalyze(b, Options{Seed: 1, Grouping: ByTask}) }

// BenchmarkAnalyzeBySize adds the six tower sizes, each with its own bootstraps
// (seven conditions in all), which is what the report pages show.
func BenchmarkAnalyzeBySize(b *testing.B) { benchAnalyze(b, Options{Seed: 1}) }
