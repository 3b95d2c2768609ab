package web

// AdminPage is what every experimenter page shows around its content.
type AdminPage struct {
	Title string
	Email string // the logged-in experimenter; "" on the login page
	CSRF  string // the session's token, carried by every form
	Nav   string // "studies", "sets", "models", "export" or "" for none
	// ManagesAccounts: the account's role is admin (the Accounts page).
	ManagesAccounts bool
}

// LoginView is the login form.
type LoginView struct {
	AdminPage
	LoginCSRF string // double-submit token, also in a cookie
	Email     string
	Next      string
	Error     string
}

// AdminErrorView is an error on an experimenter page.
type AdminErrorView struct {
	AdminPage
	Status   int
	Message  string
	Link     string // the way forward; "" for none
	LinkText string
}

// StudyRow is a line of the study list.
type StudyRow struct {
	URL       string
	Title     string
	Slug      string
	Status    string
	Design    string
	Domain    string
	Started   int
	Completed int
	Inactive  int
	Created   string
	Archived  bool
}

// StudyListView is the list of studies.
type StudyListView struct {
	AdminPage
	Studies      []StudyRow
	ShowArchived bool // archived studies are listed too
	Archived     int  // how many studies are archived
}

// Option is a choice of a select or a set of radio buttons.
type Option struct {
	Value string
	Label string
}

// StudyFormView is the form that creates or edits a study; every field is
// the text as typed, so that a form with errors comes back as it was sent.
type StudyFormView struct {
	AdminPage
	Action     string
	New        bool
	Errors     []string
	Sets       []Option
	SetDomains []string // per set (same order): the tasks it has items of, space-separated
	Domains    []Option
	Currencies []string

	Title, Slug, Domain, SetID, Sizes, Split, Design       string
	ItemsPerParticipant, ResponsesPerItem, Places, Minutes string
	// MaxResponsesPerItem (R_max) and AnswerBudget make a pool adaptive
	// (issue 18); empty for a plain pool.
	MaxResponsesPerItem, AnswerBudget        string
	AttentionChecks, Consent, Instructions   string
	BasePay, PerCorrect, MaxBonus, Currency  string
	CompletionCode, ProlificStudyID          string
	MinViewMs, TooFastMs, ReservationMinutes string // the participant method (issue 10)
	PickChecksURL                            string // the set browser picking the checks; "" for a new study
	Exclusion                                string // the exclusion rule's text form (study.ParseExclusion)
	InstructedChecks                         string // instructed-response checks per participant
	BreakEvery                               string // a pause every N trials, 0 for none
	// Practice: how many, from which set (PracticeSet "" for the study's
	// own; PracticeSets its choices), or exactly these item ids.
	PracticeItems, PracticeSet, PracticeIDs string
	PracticeSets                            []Option
	PickPracticeURL                         string // the set browser picking practice items; "" for a new study

	// Version is the study's version the form was loaded from: a save from
	// an older one is refused. Running: the study has participants, and only
	// places, the time limit and the texts may change (the rest is shown
	// disabled). Notice is said above the form (what a save did not do).
	Version string
	Running bool
	Status  string
	// PlacesCap is the most places a pool study can use, ceil(items x R /
	// K), once its items are known ("" otherwise).
	PlacesCap string
	// Prolific says, for a study linked to Prolific, that places and the
	// time limit change there too, and what Prolific still allows ("" when
	// not linked).
	Prolific string
}

// Setting is one line of a study's settings.
type Setting struct {
	Name  string
	Value string
}

// StudyView is a study's page: settings, link, actions and the monitor.
type StudyView struct {
	AdminPage
	ID          string
	Base        string // /admin/studies/{id}
	Title       string
	Status      string
	Draft       bool
	Pool        bool     // a pool study, which has per-item counts
	Moves       []Option // status changes offered: value and button label
	Link        string   // the exact link to paste into Prolific
	PreviewLink string
	Settings    []Setting
	Filter      MonitorFilter
	Monitor     MonitorView
	Prolific    ProlificPanelView // prolific.templ
	Bulk        BulkApproveView
	Undo        UndoView // reviews that can be taken back (admin_review.templ)
	// Actions on the study as a whole (issue 16): edit (all of a draft, or
	// places, time and texts of a running study), duplicate, delete a
	// draft, archive a closed study; and the log of its changes.
	Version                                            string
	Editable, Running, Deletable, Archivable, Archived bool
	Changes                                            []ChangeRow
	Warnings                                           []string
	Members                                            MembersView
	Live                                               LiveView // admin_live.templ
}

// MembersView is the panel of who sees a study: its owner and members, and
// (for the owner or an admin) forms to add and remove members.
type MembersView struct {
	Base, CSRF string
	Owner      string   // the owner's email; "" for a study made without an account
	Members    []Option // account id and email
	Manage     bool
}

// AccountsView is the accounts page (admins only).
type AccountsView struct {
	AdminPage
	Notice   string
	Accounts []AccountRow
	// The form that creates an account: Error says why the last attempt
	// was refused (with what was typed); Created is the account just made,
	// with its password, shown this once.
	Error, Email, Role string
	Created            *NewAccount
}

// NewAccount is an account just created on the web, with the password that
// lets its owner in; it is shown once and stored only as a hash.
type NewAccount struct {
	Email, Role, Password string
}

// PasswordView is the page where an account changes its own password.
type PasswordView struct {
	AdminPage
	Errors []string
	Done   bool
	MinLen int // the shortest password accepted
}

// AccountRow is one account on the accounts page.
type AccountRow struct {
	ID, Email, Role, Created string
	Disabled, Self           bool
	Studies                  int // studies it owns
}

// ChangeRow is a line of a study's log of changes.
type ChangeRow struct {
	At    string
	Actor string
	What  string
}

// MonitorFilter is the participant table's filter, sort and page, as in the URL.
type MonitorFilter struct {
	Status string
	PID    string
	Checks string // "failed", "passed" or "" (attention checks)
	Flags  string // "flagged", "clean" or "" (answers flagged on the trial page)
	Sort   string
	Desc   bool
	Page   int
}

// MonitorView is the part of the study page that refreshes itself.
type MonitorView struct {
	Base   string
	CSRF   string
	Query  string // the current query string, kept across actions
	Totals []Setting
	Pool   []Setting // nil for a fixed study
	// Slots of a pool study: answers still needed (free), held by people
	// still working, and done; nil for a fixed study or a draft.
	Slots []Setting
	// Availability says, when the study takes nobody now, why, and whether
	// waiting could free places or slots ("" while it has room).
	Availability string
	Rows         []ParticipantRow
	Total        int // participants matching the filter
	From, To     int // 1-based range shown
	PrevURL      string
	NextURL      string
	SortLinks    []SortLink
	Updated      string
	// Prolific: the study is linked, so a rejection goes to Prolific and
	// needs a category and a reason of at least 100 characters.
	Prolific   bool
	Categories []Option
}

// SortLink is a column heading that sorts the table.
type SortLink struct {
	Label string
	URL   string // "" for a column that does not sort
	Sort  string // "ascending", "descending" or "" for aria-sort
}

// ParticipantRow is a line of the participant table.
type ParticipantRow struct {
	ID            string
	PID           string
	Status        string
	StatusClass   string
	Reason        string
	Progress      string
	Practice      string // "practice 3/3, 2 right"; "" without practice
	Started       string
	Finished      string // when they finished (completed), "–" before
	Duration      string
	Accuracy      string
	CheckFailures int
	// CheckKinds names the failed instructed-response checks ("1
	// instructed"), "" with none failed.
	CheckKinds string
	Flagged    string // answers with any flag (issue 10), e.g. "3 (8%)"
	LongestRun int    // the longest run of identical answers
	Bonus      string
	Batch      string
	// ProlificStatus is Prolific's status of the submission ("" before a
	// sync); Unverified marks an entry Prolific has not confirmed yet.
	ProlificStatus string
	Unverified     bool
	CanReturn      bool
	CanReject      bool
	CanApprove     bool
	// Look says why the participant needs a look before an approval
	// (study.ParticipantFacts.LookReasons); "" when they do not.
	Look       string
	FlaggedAny bool // one or more answers flagged
	// Device is the participant's device in a few words (issue 10), with
	// the full user agent as its title.
	Device    string
	UserAgent string
}

// BatchRow is a line of the list of bonus batches.
type BatchRow struct {
	Number   int
	Created  string
	People   int
	Amount   string
	Paid     string // "" when not yet paid
	Download string
	PayURL   string
	Prolific BatchProlific // paying through Prolific (prolific.templ)
}

// PayoutsView is a study's payouts page.
type PayoutsView struct {
	AdminPage
	Base        string
	StudyTitle  string
	Currency    string
	Waiting     int    // approved, bonus above zero, in no batch yet
	WaitingSum  string // their bonuses
	Batches     []BatchRow
	NewBatch    string // the download of a batch just made, "" otherwise
	NewBatchNum int
	Undo        UndoView // mark-paids that can be taken back (admin_review.templ)
}
