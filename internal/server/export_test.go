package server

import (
	"context"
	"sync"
	"time"

	"github.com/cubelab/cubelab/internal/analysis"
)

// HoldLogins takes every place of the login semaphore, as logins in progress
// would, until release is called.
func (s *Server) HoldLogins() (release func()) {
	for range cap(s.logins) {
		s.logins <- struct{}{}
	}
	return func() {
		for range cap(s.logins) {
			<-s.logins
		}
	}
}

// RecordDelays makes the login delay record what it would wait instead of
// waiting; the function returned lists the waits so far.
func (s *Server) RecordDelays() func() []time.Duration {
	var mu sync.Mutex
	var got []time.Duration
	s.delay = func(_ context.Context, d time.Duration) error {
		mu.Lock()
		defer mu.Unlock()
		got = append(got, d)
		return nil
	}
	return func() []time.Duration {
		mu.Lock()
		defer mu.Unlock()
		return append([]time.Duration(nil), got...)
	}
}

// ReportsComputed is how many reports the server has computed.
func (s *Server) ReportsComputed() int64 { return s.reportsComputed.Load() }

// BeforeAnalysis makes every report computation call f with its context
// after reading its matrix and before its analysis.
func (s *Server) BeforeAnalysis(f func(context.Context)) { s.beforeAnalysis = f }

// ReportModelKey is how a report's links name a model and condition.
func ReportModelKey(model, condition string) string {
	return reportModelKey(analysis.Condition{Model: model, Condition: condition})
}

// LiveRebuilds is how many times a live comparison was read from scratch.
func (s *Server) LiveRebuilds() int64 { return s.liveRebuilds.Load() }

// LiveWatchOnce runs one round of the stopping-rule watcher.
func (s *Server) LiveWatchOnce(ctx context.Context) error { return s.liveWatchOnce(ctx) }
