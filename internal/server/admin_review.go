package server

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/go-chi/chi/v5"
	"github.com/google/uuid"

	"github.com/cubelab/cubelab/internal/postgres"
	"github.com/cubelab/cubelab/internal/problem"
	"github.com/cubelab/cubelab/internal/study"
	"github.com/cubelab/cubelab/web"
)

// Reviewing at scale (issue 16, item 3): single and bulk reviews with a
// confirmation where study asks for one (Action.NeedsConfirmation), and undo
// within study.UndoWindow of what stayed here (study.MayUndo).

// maxListed is how many people a confirmation page names; the rest are counted.
const maxListed = 50

// monitorQuery is the store's query for the table's filter.
func monitorQuery(f web.MonitorFilter) postgres.MonitorQuery {
	return postgres.MonitorQuery{Status: f.Status, PID: f.PID, Checks: f.Checks, Flags: f.Flags, Sort: f.Sort, Desc: f.Desc}
}

// handleParticipantAction approves, rejects or marks returned one
// participant, then goes back to the table as it was. A rejection, and the
// approval of someone who needs a look, show a confirmation page first.
func (s *Server) handleParticipantAction(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	st, err := s.studyParam(r)
	if err != nil {
		return err
	}
	pid, err := uuid.Parse(chi.URLParam(r, "participant"))
	if err != nil {
		return problem.Errorf(problem.ENOTFOUND, "There is no such participant in this study.")
	}
	act := study.Action(chi.URLParam(r, "action"))
	if !act.Known() {
		return problem.Errorf(problem.ENOTFOUND, "There is no such action: approve, reject or return.")
	}
	reason, category := strings.TrimSpace(r.PostFormValue("reason")), r.PostFormValue("category")
	q, _ := url.ParseQuery(r.PostFormValue("q"))
	f := monitorFilter(q)
	back := studyURL(st.ID) + "?" + filterQuery(f).Encode()
	_, linked, err := s.store.ProlificLinkOf(ctx, st.ID)
	if err != nil {
		return err
	}
	if act == study.Reject {
		if err := checkRejection(linked, reason, category); err != nil {
			return err
		}
	}
	targets, err := s.store.ReviewTargets(ctx, st.ID, []uuid.UUID{pid})
	if err != nil {
		return err
	}
	var look []string
	if act == study.Approve {
		cs, err := s.store.ApprovalCandidates(ctx, st.ID, postgres.MonitorQuery{}, []uuid.UUID{pid})
		if err != nil {
			return err
		}
		if len(cs) == 1 && cs[0].Facts().NeedsLook() {
			look = lookReasons(cs[0])
		}
	}
	if act.NeedsConfirmation(1, len(look) > 0) && r.PostFormValue("confirm") != "1" {
		t := targets[0]
		v := web.ReviewConfirmView{
			AdminPage: adminPage(r, "Confirm", "studies"), Back: back,
			Action: studyURL(st.ID) + "/participants/" + pid.String() + "/" + string(act),
			Fields: []web.Hidden{{Name: "q", Value: r.PostFormValue("q")}},
		}
		switch act {
		case study.Reject:
			v.Heading, v.Confirm, v.Danger = "Reject "+t.PID+"?", "Reject "+t.PID, true
			v.Lines = []string{"Participant " + t.PID + " is " + statusLabel(t.Status) + ".", "Reason: " + reason}
			v.Fields = append(v.Fields, web.Hidden{Name: "reason", Value: reason}, web.Hidden{Name: "category", Value: category})
			v.Final = "A rejection cannot be undone."
			if linked {
				v.Lines = append(v.Lines, "Category: "+category)
				v.Final = "The rejection goes to Prolific, which tells the participant; it cannot be undone."
			}
		default:
			v.Heading, v.Confirm = "Approve "+t.PID+"?", "Approve "+t.PID+" anyway"
			v.Warnings = append([]string{t.PID + " needs a look:"}, look...)
			v.Final = undoNote(linked)
		}
		return render(w, r, http.StatusOK, web.ReviewConfirm(v))
	}
	if err := s.reviewParticipants(ctx, st, []uuid.UUID{pid}, act, reason, category, adminSession(r).Admin.ID); err != nil {
		return err
	}
	return redirect(w, r, back)
}

// lookReasons says why a participant needs a look, with how many attention
// checks they answered.
func lookReasons(c postgres.ReviewCandidate) []string {
	out := c.Facts().LookReasons()
	if c.FailedChecks > 0 && len(out) > 0 {
		out[0] += " of " + strconv.Itoa(c.Checks)
	}
	return out
}

// undoNote says whether an approval can be taken back.
func undoNote(linked bool) string {
	if linked {
		return "The approval goes to Prolific, where it is final: it cannot be undone."
	}
	return "You can undo this for " + strconv.Itoa(int(study.UndoWindow.Minutes())) + " minutes."
}

// handleBulkApprove approves every participant awaiting review that matches
// the monitor's filter, leaving out those who need a look
// (study.ParticipantFacts.NeedsLook) unless with_flagged is ticked; on a
// linked study through one bulk approval on Prolific. It shows what it will
// do and asks for a confirmation first, and again when the set changed
// between the two (n is the count confirmed).
func (s *Server) handleBulkApprove(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	st, err := s.studyParam(r)
	if err != nil {
		return err
	}
	rawQ := r.PostFormValue("q")
	q, _ := url.ParseQuery(rawQ)
	f := monitorFilter(q)
	back := studyURL(st.ID) + "?" + filterQuery(f).Encode()
	if f.Status != "" && !study.ParticipantStatus(f.Status).Allows(study.Approve) {
		return problem.Errorf(problem.ECONFLICT, "Only participants awaiting review can be approved: filter by completed or by any status.")
	}
	cands, err := s.store.ApprovalCandidates(ctx, st.ID, monitorQuery(f), nil)
	if err != nil {
		return err
	}
	withFlagged := r.PostFormValue("with_flagged") == "1"
	var ids []uuid.UUID
	var left, included []string
	for _, c := range cands {
		look := lookReasons(c)
		switch {
		case !c.Facts().NeedsLook():
			ids = append(ids, c.ID)
		case withFlagged:
			ids = append(ids, c.ID)
			included = append(included, c.PID+": "+strings.Join(look, "; "))
		default:
			left = append(left, c.PID+": "+strings.Join(look, "; "))
		}
	}
	if len(ids) == 0 {
		msg := "No participant awaiting review matches the filter."
		if len(left) > 0 {
			msg = "Every participant awaiting review that matches needs a look (" + strconv.Itoa(len(left)) +
				"): tick \"including flagged people\" to approve them, or approve them one by one."
		}
		return problem.Errorf(problem.ECONFLICT, "%s", msg)
	}
	_, linked, err := s.store.ProlificLinkOf(ctx, st.ID)
	if err != nil {
		return err
	}
	n := strconv.Itoa(len(ids))
	digest := idsDigest(ids)
	if r.PostFormValue("confirm") != "1" || r.PostFormValue("n") != n || r.PostFormValue("set") != digest {
		v := web.ReviewConfirmView{
			AdminPage: adminPage(r, "Confirm", "studies"), Back: back, Action: studyURL(st.ID) + "/participants/approve",
			Heading: "Approve " + plural(len(ids), "participant") + "?", Confirm: "Approve " + plural(len(ids), "participant"),
			Lines:  []string{plural(len(cands), "participant") + " awaiting review match the filter" + describeFilter(f) + "."},
			Final:  undoNote(linked),
			Fields: []web.Hidden{{Name: "q", Value: rawQ}, {Name: "n", Value: n}, {Name: "set", Value: digest}},
		}
		if withFlagged {
			v.Fields = append(v.Fields, web.Hidden{Name: "with_flagged", Value: "1"})
		}
		if len(left) > 0 {
			v.Lines = append(v.Lines, strconv.Itoa(len(left))+" of them "+map[bool]string{true: "need a look and are", false: "needs a look and is"}[len(left) > 1]+" left out.")
		}
		if r.PostFormValue("confirm") == "1" {
			v.Warnings = []string{"The participants matching changed since the last page (" + n + " match now): check again."}
		}
		v.LeftOut, v.Included = listed(left, maxListed), listed(included, maxListed-min(len(left), maxListed))
		v.More = len(left) + len(included) - len(v.LeftOut) - len(v.Included)
		return render(w, r, http.StatusOK, web.ReviewConfirm(v))
	}
	if err := s.reviewParticipants(ctx, st, ids, study.Approve, "", "", adminSession(r).Admin.ID); err != nil {
		return err
	}
	v := filterQuery(f)
	v.Set("approved", n)
	return redirect(w, r, studyURL(st.ID)+"?"+v.Encode())
}

// idsDigest names a set of participants: the confirmed form carries it, so
// that a bulk approval takes exactly the people its confirmation counted.
func idsDigest(ids []uuid.UUID) string {
	h := sha256.New()
	for _, id := range ids {
		h.Write(id[:])
	}
	return hex.EncodeToString(h.Sum(nil)[:12])
}

// listed is at most n of xs.
func listed(xs []string, n int) []string { return xs[:min(len(xs), max(n, 0))] }

// describeFilter says in words which filter a bulk action takes.
func describeFilter(f web.MonitorFilter) string {
	var parts []string
	if f.PID != "" {
		parts = append(parts, "Prolific id starting with "+f.PID)
	}
	switch f.Checks {
	case "failed":
		parts = append(parts, "failed an attention check")
	case "passed":
		parts = append(parts, "failed no attention check")
	}
	switch f.Flags {
	case "flagged":
		parts = append(parts, "with flagged answers")
	case "clean":
		parts = append(parts, "without flagged answers")
	}
	if len(parts) == 0 {
		return ""
	}
	return " (" + strings.Join(parts, ", ") + ")"
}

// handleUndo takes back a logged review: an approval, a return or a
// mark-paid, within study.UndoWindow and never one sent to Prolific.
func (s *Server) handleUndo(w http.ResponseWriter, r *http.Request) error {
	st, err := s.studyParam(r)
	if err != nil {
		return err
	}
	id, err := strconv.ParseInt(chi.URLParam(r, "review"), 10, 64)
	if err != nil || id <= 0 {
		return problem.Errorf(problem.ENOTFOUND, "There is no such action to undo in this study.")
	}
	if _, err := s.store.UndoReview(r.Context(), st.ID, id, s.now()); err != nil {
		return err
	}
	back := studyURL(st.ID)
	if r.PostFormValue("back") == "payouts" {
		back += "/payouts"
	}
	return redirect(w, r, back+"?undone=1")
}

// reviewText says what a logged review did.
func reviewText(a postgres.ReviewAction) string {
	who := strings.Join(a.PIDs, ", ")
	if len(a.Participants) > len(a.PIDs) {
		who += " and " + strconv.Itoa(len(a.Participants)-len(a.PIDs)) + " more"
	}
	switch a.Action {
	case study.Approve:
		if len(a.Participants) > 1 {
			return "Approved " + plural(len(a.Participants), "participant") + ": " + who
		}
		return "Approved " + who
	case study.MarkReturned:
		return "Marked " + who + " returned"
	case study.MarkPaid:
		return "Marked bonus batch " + strconv.Itoa(a.Batch) + " paid"
	}
	return string(a.Action) + " " + who
}

// undoView lists the study's reviews that can still be undone; back is
// "payouts" on the payouts page, where only mark-paids are listed.
func (s *Server) undoView(r *http.Request, st study.Study, back string) (web.UndoView, error) {
	v := web.UndoView{CSRF: adminSession(r).CSRFToken, Back: back}
	if r.URL.Query().Get("undone") == "1" {
		v.Notice = "Undone."
	}
	acts, err := s.store.UndoableReviews(r.Context(), st.ID, s.now())
	if err != nil {
		return v, err
	}
	for _, a := range acts {
		if (back == "payouts") != (a.Action == study.MarkPaid) {
			continue
		}
		v.Items = append(v.Items, web.UndoItem{
			ID: strconv.FormatInt(a.ID, 10), URL: studyURL(st.ID) + "/undo/" + strconv.FormatInt(a.ID, 10),
			Text: reviewText(a), Until: a.At.Add(study.UndoWindow).UTC().Format("15:04:05 UTC"),
		})
	}
	return v, nil
}
