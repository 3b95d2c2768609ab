package server

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"

	"github.com/cubelab/cubelab/internal/analysis"
	"github.com/cubelab/cubelab/internal/plot"
	"github.com/cubelab/cubelab/internal/postgres"
	"github.com/cubelab/cubelab/internal/problem"
	"github.com/cubelab/cubelab/web"
)

// A report's cost is bounded by what it shows, not by the runs stored: its
// figures and numbers table show the model runs a reader picks (the latest
// by default), or the table one page of every model by name, and only those
// are read and bootstrapped.
const (
	reportDefaultRuns   = 12 // figures show the latest this many unless the reader picks
	reportMaxRuns       = 24 // the most a reader may pick (more lines than a figure can tell apart)
	reportModelsPerPage = 25 // models per page of the numbers table
)

// runChoice is which models a report request shows: picked in the figures,
// and in the numbers table unless it shows a page of every model.
type runChoice struct {
	all      []postgres.ReportModel // latest first
	picked   []analysis.Condition   // in the order of all
	explicit bool                   // picked by the reader, so carried in every link
	dropped  int                    // picks that name no model on the set any more
	page     int                    // of the table, from 1; 0: the table shows the picked
	pages    int
	// onPage is the models of table page max(page, 1) by name; the picker
	// lists them after the picked, and the table when page > 0.
	onPage []analysis.Condition
}

// reportModelKey names a model and condition in a URL: a digest, since
// names may hold any character.
func reportModelKey(c analysis.Condition) string {
	sum := sha256.Sum256([]byte(c.Model + "\x00" + c.Condition))
	return hex.EncodeToString(sum[:8])
}

// chooseRuns reads the request's picks (run=KEY, repeated, with runs=picked;
// none: the latest reportDefaultRuns) and table page (page=N).
func (rp *reports) chooseRuns(r *http.Request, subj reportSubject) (runChoice, error) {
	q := r.URL.Query()
	var c runChoice
	switch q.Get("runs") {
	case "":
	case "picked":
		c.explicit = true
	default:
		return c, problem.Errorf(problem.EINVALID, "runs: %q is not a choice; the run picker sends runs=picked.", q.Get("runs"))
	}
	keys := q["run"]
	if len(keys) > 0 {
		c.explicit = true
	}
	if len(keys) > reportMaxRuns {
		return c, problem.Errorf(problem.EINVALID, "run: %d model runs picked; the figures show at most %d.", len(keys), reportMaxRuns)
	}
	for _, k := range keys {
		if len(k) != 16 || !isLowerHex(k) {
			return c, problem.Errorf(problem.EINVALID, "run: %q is not a model run of this report; pick runs with the run picker.", k)
		}
	}
	all, err := rp.s.store.ReportModels(r.Context(), subj.sel)
	if err != nil {
		return c, err
	}
	c.all = all
	if c.explicit {
		found := 0
		for _, m := range all {
			if slices.Contains(keys, reportModelKey(m.Condition)) {
				c.picked = append(c.picked, m.Condition)
				found++
			}
		}
		c.dropped = len(uniq(keys)) - found
	} else {
		for _, m := range all[:min(reportDefaultRuns, len(all))] {
			c.picked = append(c.picked, m.Condition)
		}
	}
	byName := make([]analysis.Condition, len(all))
	for i, m := range all {
		byName[i] = m.Condition
	}
	slices.SortFunc(byName, compareConditions)
	c.pages = max(1, (len(byName)+reportModelsPerPage-1)/reportModelsPerPage)
	if p := q.Get("page"); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > c.pages {
			return c, problem.Errorf(problem.EINVALID, "page: %q is not a page of the numbers table; it has pages 1 to %d.", p, c.pages)
		}
		c.page = n
	}
	from := (max(c.page, 1) - 1) * reportModelsPerPage
	c.onPage = byName[from:min(from+reportModelsPerPage, len(byName))]
	return c, nil
}

// compareConditions is the analysis's order of models: by model, then condition.
func compareConditions(a, b analysis.Condition) int {
	return cmp.Or(cmp.Compare(a.Model, b.Model), cmp.Compare(a.Condition, b.Condition))
}

func isLowerHex(s string) bool {
	for _, r := range s {
		if (r < '0' || r > '9') && (r < 'a' || r > 'f') {
			return false
		}
	}
	return true
}

func uniq(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return slices.Compact(s)
}

// analysed is every model the request's report covers: the picked and the
// table's page when it shows one, in the analysis's order.
func (c runChoice) analysed() []analysis.Condition {
	out := slices.Clone(c.picked)
	if c.page > 0 {
		out = append(out, c.onPage...)
	}
	slices.SortFunc(out, compareConditions)
	return slices.Compact(out)
}

// tableModels is what the numbers table lists: a page of every model by
// name, or the picked.
func (c runChoice) tableModels() []analysis.Condition {
	if c.page > 0 {
		return c.onPage
	}
	return c.picked
}

// query is what every link of the page carries: the exclusion rule the page
// applies, the reader's picks and the table page (0: none).
func (c runChoice) query(subj reportSubject, page int) string {
	v := url.Values{}
	if subj.sel.Exclude != nil {
		v.Set("exclude", subj.sel.Exclude.String())
	}
	if c.explicit {
		v.Set("runs", "picked")
		for _, m := range c.picked {
			v.Add("run", reportModelKey(m))
		}
	}
	if page > 0 {
		v.Set("page", strconv.Itoa(page))
	}
	if len(v) == 0 {
		return ""
	}
	return "?" + v.Encode()
}

// only is rep with each group's models limited to keep (the report's
// values are shared, not copied).
func only(rep *analysis.Report, keep []analysis.Condition) *analysis.Report {
	out := *rep
	out.Groups = make([]analysis.Group, len(rep.Groups))
	for i, g := range rep.Groups {
		g.Models = slices.DeleteFunc(slices.Clone(g.Models), func(m analysis.ModelResult) bool {
			return !slices.Contains(keep, analysis.Condition{Model: m.Model, Condition: m.Condition})
		})
		out.Groups[i] = g
	}
	return &out
}

// runPicker is the view of the picker and the table's pages. The picker
// lists the picked runs, then the table page's: bounded, however many runs
// there are; a run on another page is picked from that page.
func runPicker(c runChoice, subj reportSubject) web.ReportRuns {
	v := web.ReportRuns{
		Total: len(c.all), Picked: len(c.picked), Max: reportMaxRuns, Default: reportDefaultRuns, Explicit: c.explicit,
		Page: c.page, Pages: c.pages, Exclude: "", ListPage: max(c.page, 1), PerPage: reportModelsPerPage,
		First: (max(c.page, 1)-1)*reportModelsPerPage + 1, Last: (max(c.page, 1)-1)*reportModelsPerPage + len(c.onPage),
	}
	if subj.sel.Exclude != nil {
		v.Exclude = subj.sel.Exclude.String()
	}
	if c.dropped > 0 {
		v.Note = fmt.Sprintf("%d picked model runs are no longer stored and are left out.", c.dropped)
	}
	seen := map[analysis.Condition]bool{}
	latest := map[analysis.Condition]postgres.ReportModel{}
	for _, m := range c.all {
		latest[m.Condition] = m
	}
	add := func(m analysis.Condition, picked bool) {
		if seen[m] {
			return
		}
		seen[m] = true
		rm := latest[m]
		v.Runs = append(v.Runs, web.ReportRun{
			Key: reportModelKey(m), Label: plot.ModelLabel(analysis.ModelResult{Model: m.Model, Condition: m.Condition}),
			Detail:  fmt.Sprintf("%s, imported %s", plural(rm.Seeds, "seed"), rm.Imported.UTC().Format("2006-01-02 15:04")),
			Checked: picked,
		})
	}
	for _, m := range c.picked {
		add(m, true)
	}
	for _, m := range c.onPage {
		add(m, false)
	}
	if c.page > 1 {
		v.PrevURL = subj.base + c.query(subj, c.page-1)
	}
	if c.page < c.pages && len(c.all) > 0 {
		v.NextURL = subj.base + c.query(subj, c.page+1)
	}
	v.PickedURL = subj.base + c.query(subj, 0)
	return v
}

// plural writes "1 seed", "3 seeds".
func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return strconv.Itoa(n) + " " + word + "s"
}
