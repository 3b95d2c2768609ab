package server

import (
	"context"
	"fmt"
	"net/http"
	"strings"
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

	cache   *lru[string, reportEntry]
	mu      sync.Mutex
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

// reportCacheSize bounds the cache, in reports. A report holds at most the
// models a page shows (reportMaxRuns picked and a table page), a few
// kilobytes each.
const reportCacheSize = 32

// newReports makes the report handlers of one Handler, with an empty cache.
func (s *Server) newReports() *reports {
	return &reports{s: s, cache: newLRU[string](reportCacheSize, func(reportEntry) int { return 1 }), flights: map[string]*flight{}}
}

// analyze returns the report of subj over the people and the given models
// only, computed with opt (seeded with reportSeed). The key is the data's
// version (postgres.MatrixVersion) and the models, so a new answer, a status
// change or an import is seen at once. The full report serves every lighter
// request too. A model's numbers do not depend on which others are analysed
// with it (the bootstrap's streams are keyed by what they measure), so a
// report of some models holds the numbers the report of all would.
func (rp *reports) analyze(r *http.Request, subj reportSubject, models []analysis.Condition, opt analysis.Options) (*analysis.Report, postgres.MatrixInfo, error) {
	opt.Seed = reportSeed
	version, err := rp.s.store.MatrixVersion(r.Context(), subj.sel)
	if err != nil {
		return nil, postgres.MatrixInfo{}, err
	}
	if subj.sel.Exclude != nil {
		version += "|exclude=" + subj.sel.Exclude.String()
	}
	keys := make([]string, len(models))
	for i, m := range models {
		keys[i] = reportModelKey(m)
	}
	version += "|models=" + strings.Join(keys, ",")
	full := version + "/full"
	key := fmt.Sprintf("%s/%d/%d", version, opt.Resamples, opt.Grouping)
	if opt == (analysis.Options{Seed: reportSeed}) {
		key = full
	}
	for _, k := range []string{full, key} {
		if e, ok := rp.cache.get(k); ok {
			return e.rep, e.info, nil
		}
	}
	sel := subj.sel
	sel.Models = append([]analysis.Condition{}, models...) // not nil: these and no others
	e, err := rp.compute(r.Context(), key, func(ctx context.Context) (reportEntry, error) {
		rp.s.reportsComputed.Add(1)
		m, info, err := rp.s.store.LoadMatrix(ctx, sel)
		if err != nil {
			return reportEntry{info: info}, err
		}
		if rp.s.beforeAnalysis != nil {
			rp.s.beforeAnalysis(ctx)
		}
		rep, err := analysis.AnalyzeContext(ctx, m, opt) // stops when nobody waits
		return reportEntry{rep, info}, err
	})
	return e.rep, e.info, err
}

// compute runs calc once for key however many requests ask at once: the
// first starts it, the others wait for its result. It runs on a context of
// its own, cancelled when the last request waiting for it has gone, which
// stops the database reads and the bootstrap. A result is kept in the
// cache; should the data have changed since the version in key was read,
// that report is newer than its key says, and no later request reads the
// older version.
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
				rp.cache.put(key, e)
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
