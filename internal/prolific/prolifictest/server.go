// Package prolifictest is a stand-in for Prolific's researcher API, for
// tests: the endpoints cubelab uses, with Prolific's documented request and
// response shapes, held in memory, and faults on demand (429 with
// Retry-After, 500s, slow answers, a pay whose answer is lost after paying).
// It counts what it pays, so a test can prove a bonus was paid exactly once.
package prolifictest

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/cubelab/cubelab/internal/prolific"
)

// Token is the API token the stand-in accepts.
const Token = "test-token-not-a-secret"

// Server is the stand-in. Its zero value is not usable; call New.
type Server struct {
	*httptest.Server

	mu          sync.Mutex
	studies     map[string]*prolific.Study
	submissions map[string]*prolific.Submission // by id
	order       []string                        // submission ids in creation order
	bonuses     map[string]*bulkBonus
	calls       map[string]int // "METHOD /path" -> requests
	payments    int            // pay calls that paid
	paidByPID   map[string]int64

	faults []fault
	// Delay is added before every answer.
	Delay time.Duration
	// OnPay, when set, runs after a pay has been recorded and before its
	// answer is written (a test kills the caller there).
	OnPay func(bulkBonusID string)
	// PageSize is how many submissions a list page holds (default 100).
	PageSize int
}

type bulkBonus struct {
	prolific.BulkBonus
	lines []prolific.BonusLine
	paid  int
}

type fault struct {
	prefix     string // "METHOD /path" prefix this fault applies to
	status     int    // 0: lose the answer (close the connection)
	retryAfter string
	afterDoing bool // lose the answer after doing the work (pay only)
}

// New starts a stand-in; Close it when done.
func New() *Server {
	s := &Server{studies: map[string]*prolific.Study{}, submissions: map[string]*prolific.Submission{},
		bonuses: map[string]*bulkBonus{}, calls: map[string]int{}, paidByPID: map[string]int64{}, PageSize: 100}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	return s
}

// NewID is a fresh Prolific-style id: 24 lowercase hex digits.
func NewID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// Fail makes the next n requests whose "METHOD /path" starts with prefix
// answer status (with Retry-After when retryAfter is not "").
func (s *Server) Fail(prefix string, n, status int, retryAfter string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.faults = append(s.faults, fault{prefix: prefix, status: status, retryAfter: retryAfter})
	}
}

// ClearFaults drops every fault not yet used.
func (s *Server) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = nil
}

// LoseNextPayAnswer makes the next pay call pay and then close the
// connection without an answer, as a lost response would.
func (s *Server) LoseNextPayAnswer() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, fault{prefix: "POST /api/v1/bulk-bonus-payments/", afterDoing: true})
}

// AddStudy adds a study as if created on Prolific by hand; it returns its id.
func (s *Server) AddStudy(name string, places int) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := NewID()
	s.studies[id] = &prolific.Study{ID: id, Name: name, Status: "UNPUBLISHED", TotalAvailablePlaces: places}
	return id
}

// Study returns a copy of a study.
func (s *Server) Study(id string) (prolific.Study, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st, ok := s.studies[id]
	if !ok {
		return prolific.Study{}, false
	}
	return *st, true
}

// Start makes a participant start the study on Prolific: an ACTIVE
// submission, whose id is the SESSION_ID Prolific would put in the link.
func (s *Server) Start(studyID, pid string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := NewID()
	s.submissions[id] = &prolific.Submission{ID: id, ParticipantID: pid, StudyID: studyID,
		Status: prolific.StatusActive, StartedAt: time.Now().UTC()}
	s.order = append(s.order, id)
	if st := s.studies[studyID]; st != nil {
		st.PlacesTaken++
	}
	return id
}

// SetStatus changes a submission's status as Prolific would (a participant
// returning, timing out, completing).
func (s *Server) SetStatus(submissionID, status string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if sub := s.submissions[submissionID]; sub != nil {
		sub.Status = status
		if status == prolific.StatusAwaitingReview {
			now := time.Now().UTC()
			sub.CompletedAt = &now
		}
		if status == prolific.StatusReturned || status == prolific.StatusTimedOut {
			if st := s.studies[sub.StudyID]; st != nil && st.PlacesTaken > 0 {
				st.PlacesTaken--
			}
		}
	}
}

// Submission returns a copy of a submission.
func (s *Server) Submission(id string) (prolific.Submission, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sub, ok := s.submissions[id]
	if !ok {
		return prolific.Submission{}, false
	}
	return *sub, true
}

// Payments is how many pay calls paid a bulk bonus.
func (s *Server) Payments() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.payments
}

// Paid is what a participant was paid in bonuses, in minor units.
func (s *Server) Paid(pid string) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.paidByPID[pid]
}

// Calls is how many requests came for "METHOD /path" (exact).
func (s *Server) Calls(methodPath string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[methodPath]
}

// Webhook sends a signed submission.status.change event to url, as
// Prolific would; secret "" or a wrong one makes a bad signature.
func (s *Server) Webhook(url, secret, submissionID string) (*http.Response, error) {
	s.mu.Lock()
	sub := s.submissions[submissionID]
	ev := prolific.Event{ResourceID: submissionID, EventType: prolific.EventSubmissionStatus}
	if sub != nil {
		ev.ParticipantID, ev.Status = sub.ParticipantID, sub.Status
	}
	s.mu.Unlock()
	body, _ := json.Marshal(ev)
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	req, err := http.NewRequest("POST", url, strings.NewReader(string(body)))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(prolific.HeaderTimestamp, ts)
	req.Header.Set(prolific.HeaderSignature, prolific.Sign(secret, ts, body))
	return http.DefaultClient.Do(req)
}

// takeFault removes and returns the first fault matching key.
func (s *Server) takeFault(key string) (fault, bool) {
	for i, f := range s.faults {
		if strings.HasPrefix(key, f.prefix) {
			s.faults = append(s.faults[:i], s.faults[i+1:]...)
			return f, true
		}
	}
	return fault{}, false
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// apiError writes Prolific's error shape.
func apiError(w http.ResponseWriter, status int, title string, detail any) {
	writeJSON(w, status, map[string]any{"error": map[string]any{"status": status, "error_code": status * 100,
		"title": title, "detail": detail}})
}

// loseAnswer closes the connection without an answer.
func loseAnswer(w http.ResponseWriter) {
	if hj, ok := w.(http.Hijacker); ok {
		if conn, _, err := hj.Hijack(); err == nil {
			conn.Close()
			return
		}
	}
	panic(http.ErrAbortHandler)
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	if s.Delay > 0 {
		select {
		case <-time.After(s.Delay):
		case <-r.Context().Done():
			return
		}
	}
	key := r.Method + " " + r.URL.Path
	s.mu.Lock()
	s.calls[key]++
	f, faulty := s.takeFault(key)
	s.mu.Unlock()
	if r.Header.Get("Authorization") != "Token "+Token {
		apiError(w, http.StatusUnauthorized, "Authentication failed", "Invalid token.")
		return
	}
	if faulty && !f.afterDoing {
		if f.status == 0 {
			loseAnswer(w)
			return
		}
		if f.retryAfter != "" {
			w.Header().Set("Retry-After", f.retryAfter)
		}
		apiError(w, f.status, http.StatusText(f.status), "Injected fault.")
		return
	}
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/") // api v1 ...
	if len(parts) < 3 || parts[0] != "api" || parts[1] != "v1" {
		apiError(w, http.StatusNotFound, "Not found", "No such endpoint.")
		return
	}
	parts = parts[2:]
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case r.Method == "GET" && len(parts) == 2 && parts[0] == "users" && parts[1] == "me":
		writeJSON(w, 200, prolific.User{ID: "5f0000000000000000000001", Email: "researcher@example.org", Name: "Stand-in"})
	case r.Method == "POST" && len(parts) == 1 && parts[0] == "studies":
		s.createStudy(w, body)
	case len(parts) == 2 && parts[0] == "studies" && r.Method == "GET":
		if st := s.studies[parts[1]]; st != nil {
			writeJSON(w, 200, st)
		} else {
			apiError(w, 404, "Not found", "Study not found.")
		}
	case len(parts) == 2 && parts[0] == "studies" && r.Method == "PATCH":
		s.patchStudy(w, parts[1], body)
	case len(parts) == 3 && parts[0] == "studies" && parts[2] == "transition" && r.Method == "POST":
		s.transitionStudy(w, parts[1], body)
	case len(parts) == 3 && parts[0] == "studies" && parts[2] == "submissions" && r.Method == "GET":
		s.listSubmissions(w, r, parts[1])
	case len(parts) == 2 && parts[0] == "submissions" && parts[1] == "bulk-approve" && r.Method == "POST":
		s.bulkApprove(w, body)
	case len(parts) == 2 && parts[0] == "submissions" && parts[1] == "bonus-payments" && r.Method == "POST":
		s.createBonus(w, body)
	case len(parts) == 2 && parts[0] == "submissions" && r.Method == "GET":
		s.getSubmission(w, parts[1])
	case len(parts) == 3 && parts[0] == "submissions" && parts[2] == "transition" && r.Method == "POST":
		s.transitionSubmission(w, parts[1], body)
	case len(parts) == 3 && parts[0] == "bulk-bonus-payments" && parts[2] == "pay" && r.Method == "POST":
		s.pay(w, parts[1], faulty && f.afterDoing)
	default:
		apiError(w, http.StatusNotFound, "Not found", "No such endpoint.")
	}
}

func (s *Server) createStudy(w http.ResponseWriter, body []byte) {
	var d prolific.StudyDraft
	if err := json.Unmarshal(body, &d); err != nil {
		apiError(w, 400, "Bad request", err.Error())
		return
	}
	problems := map[string][]string{}
	if d.Name == "" {
		problems["name"] = []string{"This field is required."}
	}
	if !strings.Contains(d.ExternalStudyURL, "{{%PROLIFIC_PID%}}") {
		problems["external_study_url"] = []string{"Must contain {{%PROLIFIC_PID%}}."}
	}
	if d.TotalAvailablePlaces < 1 {
		problems["total_available_places"] = []string{"Ensure this value is greater than or equal to 1."}
	}
	if d.EstimatedCompletionTime < 1 {
		problems["estimated_completion_time"] = []string{"Ensure this value is greater than or equal to 1."}
	}
	if len(d.CompletionCodes) == 0 {
		problems["completion_codes"] = []string{"This field is required."}
	}
	if len(problems) > 0 {
		apiError(w, 400, "Bad request", problems)
		return
	}
	id := NewID()
	st := &prolific.Study{ID: id, Name: d.Name, InternalName: d.InternalName, Status: "UNPUBLISHED",
		ExternalStudyURL: d.ExternalStudyURL, EstimatedCompletionTime: d.EstimatedCompletionTime,
		MaximumAllowedTime: d.MaximumAllowedTime, Reward: float64(d.Reward),
		TotalAvailablePlaces: d.TotalAvailablePlaces, CompletionCodes: d.CompletionCodes}
	s.studies[id] = st
	writeJSON(w, 201, st)
}

func (s *Server) patchStudy(w http.ResponseWriter, id string, body []byte) {
	st := s.studies[id]
	if st == nil {
		apiError(w, 404, "Not found", "Study not found.")
		return
	}
	var p prolific.StudyUpdate
	if err := json.Unmarshal(body, &p); err != nil || p.Empty() {
		apiError(w, 400, "Bad request", "Give total_available_places or maximum_allowed_time.")
		return
	}
	published := st.Status != "UNPUBLISHED"
	if p.TotalAvailablePlaces != nil && published && *p.TotalAvailablePlaces < st.TotalAvailablePlaces {
		apiError(w, 400, "Bad request", map[string][]string{"total_available_places": {"Places can only be increased once a study is published."}})
		return
	}
	if p.MaximumAllowedTime != nil && published {
		apiError(w, 400, "Bad request", map[string][]string{"maximum_allowed_time": {"This field cannot be changed once a study is published."}})
		return
	}
	if p.TotalAvailablePlaces != nil {
		st.TotalAvailablePlaces = *p.TotalAvailablePlaces
	}
	if p.MaximumAllowedTime != nil {
		st.MaximumAllowedTime = *p.MaximumAllowedTime
	}
	writeJSON(w, 200, st)
}

func (s *Server) transitionStudy(w http.ResponseWriter, id string, body []byte) {
	st := s.studies[id]
	if st == nil {
		apiError(w, 404, "Not found", "Study not found.")
		return
	}
	var a struct {
		Action string `json:"action"`
	}
	_ = json.Unmarshal(body, &a)
	switch {
	case a.Action == "PUBLISH" && st.Status == "UNPUBLISHED":
		st.Status = "ACTIVE"
	case a.Action == "PUBLISH" && st.Status == "ACTIVE":
	case a.Action == "PAUSE" && st.Status == "ACTIVE":
		st.Status = "PAUSED"
	case a.Action == "START" && st.Status == "PAUSED":
		st.Status = "ACTIVE"
	default:
		apiError(w, 400, "Bad request", fmt.Sprintf("Cannot %s a study that is %s.", a.Action, st.Status))
		return
	}
	writeJSON(w, 200, st)
}

// listSubmissions answers with Prolific's list shape: results, _links with
// an absolute next href (on Prolific's own host, as the real API writes it),
// and meta.count.
func (s *Server) listSubmissions(w http.ResponseWriter, r *http.Request, studyID string) {
	if s.studies[studyID] == nil {
		apiError(w, 404, "Not found", "Study not found.")
		return
	}
	var mine []prolific.Submission
	for _, id := range s.order {
		if sub := s.submissions[id]; sub.StudyID == studyID {
			short := *sub
			short.BonusPayments, short.StudyID = nil, ""
			mine = append(mine, short)
		}
	}
	page, _ := strconv.Atoi(r.URL.Query().Get("page"))
	if page < 1 {
		page = 1
	}
	size := s.PageSize
	from := min((page-1)*size, len(mine))
	to := min(from+size, len(mine))
	var next any
	if to < len(mine) {
		next = fmt.Sprintf("https://api.prolific.com/api/v1/studies/%s/submissions/?page=%d", studyID, page+1)
	}
	results := mine[from:to]
	if results == nil {
		results = []prolific.Submission{}
	}
	writeJSON(w, 200, map[string]any{"results": results,
		"_links": map[string]any{"self": map[string]any{"href": r.URL.String()}, "next": map[string]any{"href": next}},
		"meta":   map[string]any{"count": len(mine)}})
}

func (s *Server) getSubmission(w http.ResponseWriter, id string) {
	sub := s.submissions[id]
	if sub == nil {
		apiError(w, 404, "Not found", "Submission not found.")
		return
	}
	// A single read names the participant "participant" and carries the
	// bonuses paid in minor units.
	bonuses := sub.BonusPayments
	if bonuses == nil {
		bonuses = []float64{}
	}
	writeJSON(w, 200, map[string]any{"id": sub.ID, "study_id": sub.StudyID, "participant": sub.ParticipantID,
		"status": sub.Status, "started_at": sub.StartedAt, "completed_at": sub.CompletedAt, "bonus_payments": bonuses})
}

func (s *Server) transitionSubmission(w http.ResponseWriter, id string, body []byte) {
	sub := s.submissions[id]
	if sub == nil {
		apiError(w, 404, "Not found", "Submission not found.")
		return
	}
	var a struct {
		Action   string `json:"action"`
		Message  string `json:"message"`
		Category string `json:"rejection_category"`
	}
	_ = json.Unmarshal(body, &a)
	switch a.Action {
	case "APPROVE":
		if sub.Status == prolific.StatusApproved {
			break // idempotent
		}
		if sub.Status != prolific.StatusAwaitingReview {
			apiError(w, 400, "Bad request", fmt.Sprintf("A submission that is %s cannot be approved.", sub.Status))
			return
		}
		sub.Status = prolific.StatusApproved
	case "REJECT":
		if len([]rune(a.Message)) < prolific.MinRejectionMessage {
			apiError(w, 400, "Bad request", map[string][]string{"message": {"Ensure this field has at least 100 characters."}})
			return
		}
		if !prolific.ValidRejectionCategory(a.Category) {
			apiError(w, 400, "Bad request", map[string][]string{"rejection_category": {"Not a valid choice."}})
			return
		}
		if sub.Status == prolific.StatusRejected {
			break
		}
		if sub.Status != prolific.StatusAwaitingReview && sub.Status != prolific.StatusActive {
			apiError(w, 400, "Bad request", fmt.Sprintf("A submission that is %s cannot be rejected.", sub.Status))
			return
		}
		sub.Status = prolific.StatusRejected
	default:
		apiError(w, 400, "Bad request", map[string][]string{"action": {"Not a valid choice."}})
		return
	}
	writeJSON(w, 200, map[string]any{"id": sub.ID, "status": sub.Status, "participant": sub.ParticipantID})
}

func (s *Server) bulkApprove(w http.ResponseWriter, body []byte) {
	var b struct {
		SubmissionIDs  []string `json:"submission_ids"`
		StudyID        string   `json:"study_id"`
		ParticipantIDs []string `json:"participant_ids"`
	}
	if err := json.Unmarshal(body, &b); err != nil {
		apiError(w, 400, "Bad request", err.Error())
		return
	}
	for _, pid := range b.ParticipantIDs {
		for _, sub := range s.submissions {
			if sub.StudyID == b.StudyID && sub.ParticipantID == pid {
				b.SubmissionIDs = append(b.SubmissionIDs, sub.ID)
			}
		}
	}
	for _, id := range b.SubmissionIDs {
		if sub := s.submissions[id]; sub == nil || (sub.Status != prolific.StatusAwaitingReview && sub.Status != prolific.StatusApproved) {
			apiError(w, 400, "Bad request", fmt.Sprintf("Submission %s cannot be approved.", id))
			return
		}
	}
	for _, id := range b.SubmissionIDs {
		s.submissions[id].Status = prolific.StatusApproved
	}
	writeJSON(w, 200, "The request to bulk approve has been made successfully.")
}

func (s *Server) createBonus(w http.ResponseWriter, body []byte) {
	var b struct {
		StudyID    string `json:"study_id"`
		CSVBonuses string `json:"csv_bonuses"`
	}
	if err := json.Unmarshal(body, &b); err != nil || s.studies[b.StudyID] == nil {
		apiError(w, 400, "Bad request", "study_id: no such study.")
		return
	}
	bb := &bulkBonus{BulkBonus: prolific.BulkBonus{ID: NewID(), Study: b.StudyID}}
	var bad []string
	for _, line := range strings.Split(strings.TrimSpace(b.CSVBonuses), "\n") {
		pid, amount, ok := strings.Cut(strings.TrimSpace(line), ",")
		minor, err := prolific.ParseAmount(amount)
		taken := false
		for _, sub := range s.submissions {
			taken = taken || (sub.StudyID == b.StudyID && (sub.ParticipantID == pid || sub.ID == pid))
		}
		if !ok || err != nil || !taken {
			bad = append(bad, pid)
			continue
		}
		bb.lines = append(bb.lines, prolific.BonusLine{PID: pid, AmountMinor: minor})
		bb.Amount += float64(minor)
	}
	if len(bad) > 0 {
		apiError(w, 400, "Bad request", "These ids did not take part in the study: "+strings.Join(bad, ", "))
		return
	}
	bb.Fees = float64(int64(bb.Amount/3 + 0.5))
	bb.TotalAmount = bb.Amount + bb.Fees
	s.bonuses[bb.ID] = bb
	writeJSON(w, 201, bb.BulkBonus)
}

// pay pays a bulk bonus every time it is called, as Prolific does (the
// endpoint is not idempotent), crediting each line to the submission's
// bonus_payments.
func (s *Server) pay(w http.ResponseWriter, id string, loseAfter bool) {
	bb := s.bonuses[id]
	if bb == nil {
		apiError(w, 404, "Not found", "Bulk bonus payment not found.")
		return
	}
	bb.paid++
	s.payments++
	for _, l := range bb.lines {
		s.paidByPID[l.PID] += l.AmountMinor
		for _, sub := range s.submissions {
			if sub.StudyID == bb.Study && (sub.ParticipantID == l.PID || sub.ID == l.PID) {
				sub.BonusPayments = append(sub.BonusPayments, float64(l.AmountMinor))
			}
		}
	}
	if s.OnPay != nil {
		s.mu.Unlock()
		s.OnPay(id)
		s.mu.Lock()
	}
	if loseAfter {
		loseAnswer(w)
		return
	}
	writeJSON(w, 200, fmt.Sprintf("Bulk bonus payment with ID %s is being processed asynchronously. Payments will be completed shortly.", id))
}
