package server

import (
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
	order   []string // keys, least recently used first
}

type reportEntry struct {
	rep  *analysis.Report
	info postgres.MatrixInfo
}

// reportCacheSize bounds the cache; a report is a few kilobytes per model.
const reportCacheSize = 32

// newReports makes the report handlers of one Handler, with an empty cache.
func (s *Server) newReports() *reports {
	return &reports{s: s, entries: map[string]reportEntry{}}
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
	m, info, err := rp.s.store.LoadMatrix(r.Context(), subj.sel)
	if err != nil {
		return nil, info, err
	}
	rep, err := analysis.Analyze(m, opt)
	if err != nil {
		return nil, info, err
	}
	// Should the data have changed since the version was read, this report
	// is newer than its key says; no later request reads the older version,
	// so it is never shown in its place.
	rp.put(key, reportEntry{rep, info})
	return rep, info, nil
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

func (rp *reports) put(key string, e reportEntry) {
	rp.mu.Lock()
	defer rp.mu.Unlock()
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
