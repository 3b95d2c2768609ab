package server

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"sync"

	"github.com/cubelab/cubelab/internal/analysis"
	"github.com/cubelab/cubelab/internal/postgres"
)

// reports serves the report pages and downloads, keeping the last reports
// computed: a report costs a bootstrap (a third of a second of CPU for 100
// people and 10 models), and a reader opening the page and then its figures
// asks for the same numbers several times in a row.
type reports struct {
	s *Server

	mu      sync.Mutex
	entries map[string]reportEntry
	order   []string           // keys, least recently used first
	flights map[string]*flight // reports being computed, by key
}

// flight is one computation of a report that every request for the same
// key and data version waits for, rather than computing it again; when
// every waiting request has gone, it is cancelled.
type flight struct {
	done    chan struct{} // closed when entry and err are set
	entry   reportEntry
	err     error
	waiters int // under reports.mu
	cancel  context.CancelFunc
}

type reportEntry struct {
	rep  *analysis.Report
	info postgres.MatrixInfo
}

// reportCacheSize bounds the cache; a report is a few kilobytes per model.
const reportCacheSize = 32

// newReports makes the report handlers of one Handler, with an empty cache.
func (s *Server) newReports() *reports {
	return &reports{s: s, entries: map[string]reportEntry{}, flights: map[string]*flight{}}
}

// analyze returns the report of subj computed with opt (seeded with
// reportSeed). The key is the data's version (postgres.MatrixVersion), so a
// new answer, a status change or an import is seen at once. The full report
// serves every lighter request too.
func (rp *reports) analyze(r *http.Request, subj reportSubject, opt analysis.Options) (*analysis.Report, postgres.MatrixInfo, error) {
	opt.Seed = reportSeed
	version, err := rp.s.store.MatrixVersion(r.Context(), subj.sel)
	if err != nil {
		return nil, postgres.MatrixInfo{}, err
	}
	if subj.sel.Exclude != nil {
		version += "|exclude=" + subj.sel.Exclude.String()
	}
	full := version + "/full"
	key := fmt.Sprintf("%s/%d/%d", version, opt.Resamples, opt.Grouping)
	if opt == (analysis.Options{Seed: reportSeed}) {
		key = full
	}
	for _, k := range []string{full, key} {
		if e, ok := rp.get(k); ok {
			return e.rep, e.info, nil
		}
	}
	e, err := rp.compute(r.Context(), key, func(ctx context.Context) (reportEntry, error) {
		rp.s.reportsComputed.Add(1)
		m, info, err := rp.s.store.LoadMatrix(ctx, subj.sel)
		if err != nil {
			return reportEntry{info: info}, err
		}
		if err := ctx.Err(); err != nil {
			return reportEntry{info: info}, err // nobody waits any more
		}
		rep, err := analysis.Analyze(m, opt)
		return reportEntry{rep, info}, err
	})
	return e.rep, e.info, err
}

// compute runs calc once for key however many requests ask at once: the
// first starts it, the others wait for its result. It runs on a context of
// its own, cancelled when the last request waiting for it has gone (a
// client that left stops the database reads; see docs/BENCHMARKS.md for
// what the analysis itself costs). A result is kept in the cache; should
// the data have changed since the version in key was read, that report is
// newer than its key says, and no later request reads the older version.
func (rp *reports) compute(ctx context.Context, key string, calc func(context.Context) (reportEntry, error)) (reportEntry, error) {
	rp.mu.Lock()
	f, ok := rp.flights[key]
	if !ok {
		fctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
		f = &flight{done: make(chan struct{}), cancel: cancel}
		rp.flights[key] = f
		go func() {
			defer cancel()
			e, err := calc(fctx)
			rp.mu.Lock()
			f.entry, f.err = e, err
			if rp.flights[key] == f {
				delete(rp.flights, key)
			}
			if err == nil {
				rp.putLocked(key, e)
			}
			rp.mu.Unlock()
			close(f.done)
		}()
	}
	f.waiters++
	rp.mu.Unlock()

	select {
	case <-f.done:
		rp.mu.Lock()
		f.waiters--
		rp.mu.Unlock()
		return f.entry, f.err
	case <-ctx.Done():
		rp.mu.Lock()
		f.waiters--
		if f.waiters == 0 {
			f.cancel()
			if rp.flights[key] == f {
				delete(rp.flights, key) // a later request starts afresh
			}
		}
		rp.mu.Unlock()
		return reportEntry{}, ctx.Err()
	}
}

func (rp *reports) get(key string) (reportEntry, bool) {
	rp.mu.Lock()
	defer rp.mu.Unlock()
	e, ok := rp.entries[key]
	if ok {
		rp.touch(key)
	}
	return e, ok
}

// putLocked keeps e under key; the caller holds mu.
func (rp *reports) putLocked(key string, e reportEntry) {
	if _, ok := rp.entries[key]; !ok && len(rp.order) >= reportCacheSize {
		delete(rp.entries, rp.order[0])
		rp.order = rp.order[1:]
	}
	rp.entries[key] = e
	rp.touch(key)
}

// touch moves key to the most recently used end; the caller holds mu.
func (rp *reports) touch(key string) {
	if i := slices.Index(rp.order, key); i >= 0 {
		rp.order = slices.Delete(rp.order, i, i+1)
	}
	rp.order = append(rp.order, key)
}
