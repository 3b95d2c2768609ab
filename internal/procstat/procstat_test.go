package procstat_test

import (
	"os"
	"testing"
	"time"

	"github.com/cubelab/cubelab/internal/procstat"
)

// TestCPU: this process's CPU time from /proc grows as Self's (getrusage,
// the kernel's other account of it) does, to the clock tick; a process that
// does not exist is an error.
func TestCPU(t *testing.T) {
	before, err := procstat.CPU(os.Getpid())
	if err != nil {
		t.Skipf("no /proc here: %v", err)
	}
	r0 := procstat.Self()
	for procstat.Self()-r0 < 200*time.Millisecond {
	}
	after, err := procstat.CPU(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	grew, want := after-before, procstat.Self()-r0
	// Two readings of 10 ms ticks each side, and the time between them.
	if grew <= 0 || grew < want-50*time.Millisecond || grew > want+50*time.Millisecond {
		t.Errorf("CPU grew by %v by /proc, by %v by getrusage", grew, want)
	}
	if _, err := procstat.CPU(1 << 30); err == nil {
		t.Error("a process that does not exist has a CPU time")
	}
}
