package web

// SetBrowserView is a stimulus set's page: a grid of thumbnails filtered by
// task, size and answer (issue 16, item 5), and, opened from a draft study,
// the place to pick its attention checks by clicking.
type SetBrowserView struct {
	AdminPage
	Set     string // the set's name
	Base    string // /admin/sets/{name}
	Domains []Option
	Sizes   []Option
	Answers []Option
	Filter  SetBrowserFilter
	Items   []SetBrowserItem
	Total   int
	From    int
	To      int
	PrevURL string
	NextURL string
	Pick    *PickChecks // nil when browsing only
}

// SetBrowserFilter is the browser's filter as in its URL.
type SetBrowserFilter struct {
	Domain, Size, Answer, Study string
	Pick                        string // "practice": picking practice items; "": attention checks
	Page                        int
}

// SetBrowserItem is one thumbnail of the grid.
type SetBrowserItem struct {
	ExtID  string
	Label  string // e.g. "tower, 3 blocks, answer Yes"
	Answer string
	Thumb  string // the thumbnail's URL
	Picked bool   // an attention check of the study being edited
}

// PickChecks is the study whose attention checks are being picked.
type PickChecks struct {
	Title  string
	URL    string // the study's page
	Action string // where the picks are saved
	Back   string // the browser's query, to come back to
	Draft  bool   // only a draft's checks can change
	Count  int    // attention checks it has now
	Max    int    // the most that may be picked, 0 for no bound
	Saved  bool   // the last save went through
	// Practice: practice items are being picked, not attention checks.
	Practice bool
}
