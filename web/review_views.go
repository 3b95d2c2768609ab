package web

// ReviewConfirmView asks an experimenter to confirm a rejection, a bulk
// action, or the approval of someone who needs a look (issue 16, item 3).
type ReviewConfirmView struct {
	AdminPage
	Heading  string
	Action   string   // where the confirmed form goes
	Fields   []Hidden // hidden fields carried to it
	Lines    []string // what will happen
	Warnings []string // what the experimenter should know first
	// LeftOut and Included list participants who need a look, with why:
	// left out of a bulk approval, or included because it was asked.
	LeftOut  []string
	Included []string
	More     int    // how many more of either list are not shown
	Final    string // why it cannot be undone, or how long it can
	Confirm  string // the button's label
	Danger   bool
	Back     string
}

// UndoView lists the reviews that can still be taken back.
type UndoView struct {
	CSRF   string
	Back   string // "payouts" when the list is on the payouts page
	Notice string // what the last action did, "" for nothing
	Items  []UndoItem
}

// UndoItem is one review that can be undone.
type UndoItem struct {
	ID    string // the form's id suffix
	URL   string
	Text  string
	Until string
}

// Hidden is a hidden field of a form.
type Hidden struct {
	Name  string
	Value string
}
