package web

// LiveView is the live comparison panel of a study page (issue 18, part 2):
// people's accuracy and the kappas with their intervals so far, and the
// stopping rule.
type LiveView struct {
	Base, CSRF string
	Updated    string // when the numbers were computed, UTC
	People     int    // people whose answers count
	Answers    int
	Resamples  string // bootstrap resamples of the intervals
	Problem    string // why there are no numbers, when there are none
	Rows       []LiveRow
	// The stopping rule: its form's values, the state in words, and
	// whether it fired.
	Measures   []Option
	Measure    string
	Width      string
	RuleState  string
	Fired      bool
	PollMs     string
	RefreshURL string // the page itself, for a reload without JavaScript
	MinPeople  int
}

// LiveRow is one measure: its estimate, 95% interval and the interval's width.
type LiveRow struct {
	Measure, Estimate, Interval, Width, N string
	Watched                               bool // the stopping rule watches this row
}
