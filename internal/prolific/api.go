package prolific

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Submission statuses, as Prolific spells them.
const (
	StatusReserved       = "RESERVED"
	StatusActive         = "ACTIVE"
	StatusAwaitingReview = "AWAITING REVIEW"
	StatusApproved       = "APPROVED"
	StatusRejected       = "REJECTED"
	StatusReturned       = "RETURNED"
	StatusTimedOut       = "TIMED-OUT"
	StatusScreenedOut    = "SCREENED OUT"
)

// Completion code types and actions of a study's completion codes.
const (
	CodeCompleted        = "COMPLETED"
	CodeFailedAttention  = "FAILED_ATTENTION_CHECK"
	CodeNoConsent        = "NO_CONSENT"
	ActionAutoApprove    = "AUTOMATICALLY_APPROVE"
	ActionManualReview   = "MANUALLY_REVIEW"
	ActionRequestReturn  = "REQUEST_RETURN"
	studyURLPlaceholders = "PROLIFIC_PID={{%PROLIFIC_PID%}}&STUDY_ID={{%STUDY_ID%}}&SESSION_ID={{%SESSION_ID%}}"
)

// RejectionCategories are the categories Prolific accepts with a rejection,
// with their meaning in words, in the order a form offers them.
func RejectionCategories() [][2]string {
	return [][2]string{
		{"FAILED_CHECK", "Failed attention checks"},
		{"LOW_EFFORT", "Low effort"},
		{"TOO_QUICKLY", "Completed exceptionally fast"},
		{"FAILED_INSTRUCTIONS", "Did not follow the instructions"},
		{"NO_DATA", "No data"},
		{"NO_CODE", "No completion code"},
		{"BAD_CODE", "Wrong completion code"},
		{"TOO_SLOWLY", "Too slow"},
		{"MALINGERING", "Malingering"},
		{"INCOMP_LONGITUDINAL", "Incomplete longitudinal study"},
		{"UNSUPP_DEVICE", "Unsupported device"},
		{"OTHER", "Other"},
	}
}

// ValidRejectionCategory reports whether c is one of RejectionCategories.
func ValidRejectionCategory(c string) bool {
	for _, rc := range RejectionCategories() {
		if rc[0] == c {
			return true
		}
	}
	return false
}

// MinRejectionMessage is the shortest rejection message Prolific accepts.
const MinRejectionMessage = 100

// StudyURL is the external study URL Prolific sends participants to: the
// study link with Prolific's three placeholders.
func StudyURL(link string) string {
	sep := "?"
	if strings.Contains(link, "?") {
		sep = "&"
	}
	return link + sep + studyURLPlaceholders
}

// CompletionCode is one of a study's completion codes.
type CompletionCode struct {
	Code     string       `json:"code"`
	CodeType string       `json:"code_type"`
	Actions  []CodeAction `json:"actions"`
}

// CodeAction is what Prolific does when a participant ends with a code.
type CodeAction struct {
	Action string `json:"action"`
}

// StudyDraft is what creating a study sends.
type StudyDraft struct {
	Name                    string           `json:"name"`
	InternalName            string           `json:"internal_name,omitempty"`
	Description             string           `json:"description"`
	ExternalStudyURL        string           `json:"external_study_url"`
	ProlificIDOption        string           `json:"prolific_id_option"`
	CompletionCodes         []CompletionCode `json:"completion_codes"`
	EstimatedCompletionTime int              `json:"estimated_completion_time"` // minutes
	MaximumAllowedTime      int              `json:"maximum_allowed_time,omitempty"`
	Reward                  int64            `json:"reward"` // minor units
	TotalAvailablePlaces    int              `json:"total_available_places"`
	DeviceCompatibility     []string         `json:"device_compatibility,omitempty"`
}

// Study is a Prolific study as the API returns it (the fields cubelab reads).
type Study struct {
	ID                      string           `json:"id"`
	Name                    string           `json:"name"`
	InternalName            string           `json:"internal_name"`
	Status                  string           `json:"status"`
	ExternalStudyURL        string           `json:"external_study_url"`
	EstimatedCompletionTime int              `json:"estimated_completion_time"`
	MaximumAllowedTime      int              `json:"maximum_allowed_time"`
	Reward                  float64          `json:"reward"`
	TotalAvailablePlaces    int              `json:"total_available_places"`
	PlacesTaken             int              `json:"places_taken"`
	CompletionCodes         []CompletionCode `json:"completion_codes"`
}

// Submission is one participant's submission, from the list of a study's
// submissions or from a single read (which names the study and participant
// with other keys; both are read).
type Submission struct {
	ID            string     `json:"id"`
	ParticipantID string     `json:"participant_id"`
	Participant   string     `json:"participant"`
	StudyID       string     `json:"study_id"`
	Status        string     `json:"status"`
	StartedAt     time.Time  `json:"started_at"`
	CompletedAt   *time.Time `json:"completed_at"`
	StudyCode     string     `json:"study_code"`
	// BonusPayments are the bonuses paid on the submission, in minor units
	// (single reads only).
	BonusPayments []float64 `json:"bonus_payments"`
}

// PID is the participant's Prolific id, whichever key carried it.
func (s Submission) PID() string {
	if s.ParticipantID != "" {
		return s.ParticipantID
	}
	return s.Participant
}

// BulkBonus is a bulk bonus payment set up on Prolific, not yet paid.
type BulkBonus struct {
	ID          string  `json:"id"`
	Study       string  `json:"study"`
	Amount      float64 `json:"amount"`
	Fees        float64 `json:"fees"`
	TotalAmount float64 `json:"total_amount"`
	VAT         float64 `json:"vat"`
}

// User is the token's owner, for the token's health.
type User struct {
	ID    string `json:"id"`
	Email string `json:"email"`
	Name  string `json:"name"`
}

func studyPath(id string) string      { return "/api/v1/studies/" + url.PathEscape(id) + "/" }
func submissionPath(id string) string { return "/api/v1/submissions/" + url.PathEscape(id) + "/" }

// Me reads the token's user: the cheapest call that proves a token works.
func (c *Client) Me(ctx context.Context) (User, error) {
	var u User
	return u, c.do(ctx, "GET", "/api/v1/users/me/", nil, nil, &u, idempotent)
}

// CreateStudy creates a draft study. Creating is not idempotent, so it is
// retried only after 429.
func (c *Client) CreateStudy(ctx context.Context, d StudyDraft) (Study, error) {
	if d.ProlificIDOption == "" {
		d.ProlificIDOption = "url_parameters"
	}
	var st Study
	return st, c.do(ctx, "POST", "/api/v1/studies/", nil, d, &st, once)
}

// Study reads a study.
func (c *Client) Study(ctx context.Context, id string) (Study, error) {
	var st Study
	return st, c.do(ctx, "GET", studyPath(id), nil, nil, &st, idempotent)
}

// PublishStudy moves a draft study to published (it spends money).
func (c *Client) PublishStudy(ctx context.Context, id string) (Study, error) {
	var st Study
	return st, c.do(ctx, "POST", studyPath(id)+"transition/", nil, map[string]string{"action": "PUBLISH"}, &st, idempotent)
}

// PauseStudy pauses an active study: Prolific stops offering it (no new
// reservations) while people already in it finish. It is the documented
// transition for stopping recruitment that can be undone (START); places can
// only be raised once a study is published, and STOP is final. A study that
// is paused already (a retry whose first answer was lost) counts as done.
func (c *Client) PauseStudy(ctx context.Context, id string) (Study, error) {
	var st Study
	err := c.do(ctx, "POST", studyPath(id)+"transition/", nil, map[string]string{"action": "PAUSE"}, &st, idempotent)
	if e := (*APIError)(nil); errors.As(err, &e) && e.Status == http.StatusBadRequest {
		if cur, gerr := c.Study(ctx, id); gerr == nil && cur.Status == "PAUSED" {
			return cur, nil
		}
	}
	return st, err
}

// SetPlaces sets a study's total available places; Prolific accepts only
// an increase once the study is published.
func (c *Client) SetPlaces(ctx context.Context, id string, places int) (Study, error) {
	return c.UpdateStudy(ctx, id, StudyUpdate{TotalAvailablePlaces: &places})
}

// StudyUpdate is what an update of a study changes; nil fields stay. Once a
// study is published Prolific changes only its places, and only upwards;
// before that, its maximum allowed time too.
type StudyUpdate struct {
	TotalAvailablePlaces *int `json:"total_available_places,omitempty"`
	MaximumAllowedTime   *int `json:"maximum_allowed_time,omitempty"` // minutes
}

// Empty reports whether the update changes nothing.
func (u StudyUpdate) Empty() bool {
	return u.TotalAvailablePlaces == nil && u.MaximumAllowedTime == nil
}

// UpdateStudy changes the fields of u (PATCH of the study).
func (c *Client) UpdateStudy(ctx context.Context, id string, u StudyUpdate) (Study, error) {
	var st Study
	return st, c.do(ctx, "PATCH", studyPath(id), nil, u, &st, idempotent)
}

// Submissions lists every submission of a study, following the pages.
func (c *Client) Submissions(ctx context.Context, studyID string) ([]Submission, error) {
	var all []Submission
	q := url.Values{}
	path := studyPath(studyID) + "submissions/"
	for page := 1; page <= 1000; page++ {
		var resp struct {
			Results []Submission `json:"results"`
			Links   struct {
				Next struct {
					Href *string `json:"href"`
				} `json:"next"`
			} `json:"_links"`
		}
		if err := c.do(ctx, "GET", path, q, nil, &resp, idempotent); err != nil {
			return nil, err
		}
		all = append(all, resp.Results...)
		if resp.Links.Next.Href == nil || *resp.Links.Next.Href == "" || len(resp.Results) == 0 {
			return all, nil
		}
		// The next link is absolute on Prolific's host; keep its query
		// only, so a configured base URL (proxy, stand-in) is honoured.
		next, err := url.Parse(*resp.Links.Next.Href)
		if err != nil {
			return nil, fmt.Errorf("prolific: next page %q: %w", *resp.Links.Next.Href, err)
		}
		q = next.Query()
	}
	return all, nil
}

// Submission reads one submission (SESSION_ID is its id).
func (c *Client) Submission(ctx context.Context, id string) (Submission, error) {
	var s Submission
	return s, c.do(ctx, "GET", submissionPath(id), nil, nil, &s, idempotent)
}

// Approve approves a submission; Prolific ignores a repeat.
func (c *Client) Approve(ctx context.Context, submissionID string) error {
	return c.do(ctx, "POST", submissionPath(submissionID)+"transition/", nil, map[string]string{"action": "APPROVE"}, nil, idempotent)
}

// Reject rejects a submission with a message for the participant (at least
// MinRejectionMessage characters) and a category of RejectionCategories.
func (c *Client) Reject(ctx context.Context, submissionID, message, category string) error {
	if len([]rune(message)) < MinRejectionMessage {
		return fmt.Errorf("prolific: a rejection message needs at least %d characters", MinRejectionMessage)
	}
	if !ValidRejectionCategory(category) {
		return fmt.Errorf("prolific: %q is not a rejection category", category)
	}
	return c.do(ctx, "POST", submissionPath(submissionID)+"transition/", nil,
		map[string]string{"action": "REJECT", "message": message, "rejection_category": category}, nil, idempotent)
}

// BulkApprove approves submissions by their ids (Prolific's recommended form).
func (c *Client) BulkApprove(ctx context.Context, submissionIDs []string) error {
	return c.do(ctx, "POST", "/api/v1/submissions/bulk-approve/", nil,
		map[string][]string{"submission_ids": submissionIDs}, nil, idempotent)
}

// CreateBonus sets up a bulk bonus for a study from lines of participant id
// and amount; it pays nothing. Not idempotent (a repeat sets up a second
// bulk bonus, which is harmless while unpaid), so retried only after 429.
func (c *Client) CreateBonus(ctx context.Context, studyID string, lines []BonusLine) (BulkBonus, error) {
	var b strings.Builder
	if err := WriteBonusLines(&b, lines); err != nil {
		return BulkBonus{}, err
	}
	var bb BulkBonus
	err := c.do(ctx, "POST", "/api/v1/submissions/bonus-payments/", nil,
		map[string]string{"study_id": studyID, "csv_bonuses": strings.TrimSuffix(b.String(), "\n")}, &bb, once)
	return bb, err
}

// PayBonus pays a bulk bonus. Prolific's pay is NOT idempotent: a second
// call pays again. It is sent exactly once, retried only after a 429, and
// an error that is not an *APIError leaves it unknown whether it paid.
func (c *Client) PayBonus(ctx context.Context, bulkBonusID string) error {
	return c.do(ctx, "POST", "/api/v1/bulk-bonus-payments/"+url.PathEscape(bulkBonusID)+"/pay/", nil, struct{}{}, nil, once)
}

// Webhook headers Prolific signs its hook requests with.
const (
	HeaderSignature = "X-Prolific-Request-Signature"
	HeaderTimestamp = "X-Prolific-Request-Timestamp"
)

// Sign is the signature of a hook request: base64 of HMAC-SHA256 over the
// timestamp followed by the raw body, keyed with the workspace secret.
func Sign(secret, timestamp string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(timestamp))
	m.Write(body)
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// VerifySignature checks a hook request's signature in constant time and
// that its timestamp is within maxAge of now (a replayed request is refused).
func VerifySignature(secret, timestamp, signature string, body []byte, now time.Time, maxAge time.Duration) bool {
	if secret == "" || signature == "" {
		return false
	}
	ts, err := strconv.ParseInt(strings.TrimSpace(timestamp), 10, 64)
	if err != nil {
		return false
	}
	if d := now.Sub(time.Unix(ts, 0)); d > maxAge || d < -maxAge {
		return false
	}
	return hmac.Equal([]byte(Sign(secret, timestamp, body)), []byte(signature))
}

// Event is a hook's payload; for submission.status.change, ResourceID is
// the submission id.
type Event struct {
	ResourceID    string `json:"resource_id"`
	EventType     string `json:"event_type"`
	ParticipantID string `json:"participant_id"`
	Status        string `json:"status"`
}

// EventSubmissionStatus is the event type cubelab subscribes to.
const EventSubmissionStatus = "submission.status.change"
