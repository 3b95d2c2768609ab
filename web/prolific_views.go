package web

// ProlificPanelView is the Prolific panel of a study page: the link to the
// Prolific study, or the forms that make one, and what the last sync saw.
type ProlificPanelView struct {
	Base         string // /admin/studies/{id}
	CSRF         string
	HasToken     bool
	TokenProblem string
	Linked       bool

	ProlificStudyID string
	ProlificURL     string // the study on Prolific's researcher site
	Status          string // Prolific's study status
	Places          int
	PlacesTaken     int
	CreatedHere     bool
	LastSync        string
	LastError       string
	Counts          []Setting // participants by Prolific status
	Unverified      int
	OnUnreachable   string // "admit" or "refuse"
	CanPublish      bool

	Create ProlificCreateForm
}

// ProlificCreateForm is the form that creates a draft on Prolific from the
// study, filled with what cubelab knows.
type ProlificCreateForm struct {
	Name        string
	Description string
	Minutes     string
	MinutesHint string
	Reward      string // a decimal of Currency
	Currency    string
	Places      string
	PlacesHint  string
	MaxMinutes  string
	NeedsCode   bool // the study has no completion code yet
}

// ProlificSettingsView is the Prolific settings page: the token's health,
// the webhook, and the latest API calls.
type ProlificSettingsView struct {
	AdminPage
	HasToken     bool
	TokenOK      bool
	TokenStatus  string
	BaseURL      string
	WebhookURL   string
	HasSecret    bool
	HTTPSWebhook bool
	Calls        []ProlificCallRow
}

// ProlificCallRow is one logged API call.
type ProlificCallRow struct {
	At       string
	Method   string
	Path     string
	Status   string
	Duration string
	Error    string
	Bad      bool
}

// BulkApproveView is the bulk approval form above the participant table.
type BulkApproveView struct {
	Base     string
	CSRF     string
	Query    string // the monitor's filter
	Prolific bool   // approvals go to Prolific
	Approved string // "" or how many the last bulk approval approved
}

// BatchProlific is a bonus batch's state on Prolific, on the payouts page.
type BatchProlific struct {
	State  string // "", created, paying, paid
	Note   string
	PayURL string // "" when it cannot be paid through Prolific now
}
