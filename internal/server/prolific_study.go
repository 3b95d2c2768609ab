package server

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/cubelab/cubelab/internal/postgres"
	"github.com/cubelab/cubelab/internal/problem"
	"github.com/cubelab/cubelab/internal/prolific"
	"github.com/cubelab/cubelab/internal/study"
	"github.com/cubelab/cubelab/web"
)

// prolificStudyURL is a study on Prolific's researcher site.
func prolificStudyURL(id string) string {
	return "https://app.prolific.com/researcher/workspaces/studies/" + url.PathEscape(id)
}

// poolPlaces is the places a pool study needs for every item to get R
// answers: ceil(items x R / K).
func poolPlaces(items, r, k int) int {
	if k <= 0 {
		return 0
	}
	return (items*r + k - 1) / k
}

// prolificPanel builds the study page's Prolific panel.
func (s *Server) prolificPanel(r *http.Request, st study.Study) (web.ProlificPanelView, error) {
	ctx := r.Context()
	v := web.ProlificPanelView{Base: studyURL(st.ID), CSRF: adminSession(r).CSRFToken, HasToken: s.pro.client != nil,
		TokenProblem: s.pro.err}
	link, linked, err := s.store.ProlificLinkOf(ctx, st.ID)
	if err != nil {
		return v, err
	}
	if !linked {
		v.Create, err = s.createDefaults(ctx, st)
		return v, err
	}
	v.Linked = true
	v.ProlificStudyID, v.ProlificURL, v.Status = link.ProlificStudyID, prolificStudyURL(link.ProlificStudyID), link.Status
	v.Places, v.PlacesTaken, v.CreatedHere, v.OnUnreachable = link.Places, link.PlacesTaken, link.CreatedHere, link.OnUnreachable
	v.CanPublish = link.Status == "UNPUBLISHED" || link.Status == ""
	v.LastSync = "never"
	if link.LastSyncAt != nil {
		v.LastSync = when(*link.LastSyncAt) + " (every " + s.pro.cfg.SyncEvery.String() + ", and on each webhook)"
	}
	if link.LastError != "" && link.LastErrorAt != nil {
		v.LastError = link.LastError + " (" + when(*link.LastErrorAt) + ")"
	}
	counts, err := s.store.ProlificCountsOf(ctx, st.ID)
	if err != nil {
		return v, err
	}
	v.Unverified = counts.Unverified
	for _, name := range []string{prolific.StatusActive, prolific.StatusAwaitingReview, prolific.StatusApproved,
		prolific.StatusReturned, prolific.StatusTimedOut, prolific.StatusRejected, ""} {
		label := name
		if name == "" {
			label = "not yet synced"
		}
		v.Counts = append(v.Counts, web.Setting{Name: label, Value: strconv.Itoa(counts.ByStatus[name])})
	}
	return v, nil
}

// createDefaults fills the create form with what cubelab knows: estimated
// minutes from a pilot's median when there is one, places of a pool study
// as ceil(items x R / K).
func (s *Server) createDefaults(ctx context.Context, st study.Study) (web.ProlificCreateForm, error) {
	f := web.ProlificCreateForm{Name: st.Title, Currency: st.Pay.Currency, Reward: prolific.Amount(st.Pay.BaseMinor),
		MaxMinutes: strconv.Itoa(st.TimeLimitMinutes), Places: strconv.Itoa(st.Places), NeedsCode: st.CompletionCode == "",
		Description: "Look at pictures of block " + map[bool]string{true: "towers", false: "pyramids"}[st.Domain == "tower"] +
			" and answer Yes or No to one question about each. Works on a laptop or a phone."}
	minutes, n, err := s.store.PilotMinutes(ctx, st.ID)
	if err != nil {
		return f, err
	}
	if n > 0 {
		f.Minutes = strconv.Itoa(minutes)
		f.MinutesHint = "the median of " + strconv.Itoa(n) + " who completed"
	} else {
		f.Minutes = strconv.Itoa(max(1, st.TimeLimitMinutes/3))
		f.MinutesHint = "no pilot yet: your estimate"
	}
	if st.Design == study.Pool {
		items, err := s.store.ItemCount(ctx, st)
		if err != nil {
			return f, err
		}
		p := poolPlaces(items, st.ResponsesPerItem, st.ItemsPerParticipant)
		f.Places = strconv.Itoa(p)
		f.PlacesHint = "ceil(" + strconv.Itoa(items) + " items x R=" + strconv.Itoa(st.ResponsesPerItem) + " / K=" +
			strconv.Itoa(st.ItemsPerParticipant) + ") = " + strconv.Itoa(p)
	}
	return f, nil
}

// backToStudy goes back to the study page's Prolific panel.
func backToStudy(w http.ResponseWriter, r *http.Request, st study.Study) error {
	return redirect(w, r, studyURL(st.ID)+"#prolific")
}

// handleProlificLink links the study to an existing Prolific study, after
// reading it from Prolific.
func (s *Server) handleProlificLink(w http.ResponseWriter, r *http.Request) error {
	st, err := s.studyParam(r)
	if err != nil {
		return err
	}
	c, err := s.prolificClient()
	if err != nil {
		return err
	}
	id := strings.TrimSpace(r.PostFormValue("prolific_study_id"))
	if !prolific.ValidID(id) {
		return problem.Errorf(problem.EINVALID, "%q is not a Prolific study id (24 characters, 0-9 and a-f).", id)
	}
	ps, err := c.Study(r.Context(), id)
	if err != nil {
		return prolificError(err)
	}
	if err := s.store.LinkProlific(r.Context(), st.ID, ps, false); err != nil {
		return err
	}
	return backToStudy(w, r, st)
}

// handleProlificCreate creates a draft study on Prolific from the study and
// links it.
func (s *Server) handleProlificCreate(w http.ResponseWriter, r *http.Request) error {
	st, err := s.studyParam(r)
	if err != nil {
		return err
	}
	c, err := s.prolificClient()
	if err != nil {
		return err
	}
	if _, linked, err := s.store.ProlificLinkOf(r.Context(), st.ID); err != nil || linked {
		if err == nil {
			err = problem.Errorf(problem.ECONFLICT, "The study is already linked to Prolific.")
		}
		return err
	}
	if st.CompletionCode == "" {
		return problem.Errorf(problem.EINVALID, "Set a completion code on the study first: Prolific's codes are made from it.")
	}
	num := func(name, label string) (int, error) {
		n, err := strconv.Atoi(strings.TrimSpace(r.PostFormValue(name)))
		if err != nil || n < 1 || n > 100000 {
			return 0, problem.Errorf(problem.EINVALID, "%s must be a whole number of at least 1.", label)
		}
		return n, nil
	}
	minutes, err := num("minutes", "Estimated minutes")
	if err != nil {
		return err
	}
	maxMinutes, err := num("max_minutes", "Maximum minutes")
	if err != nil {
		return err
	}
	places, err := num("places", "Places")
	if err != nil {
		return err
	}
	reward, err := prolific.ParseAmount(r.PostFormValue("reward"))
	if err != nil || reward <= 0 {
		return problem.Errorf(problem.EINVALID, "The reward must be an amount like 1.50 in %s.", st.Pay.Currency)
	}
	name, desc := strings.TrimSpace(r.PostFormValue("name")), strings.TrimSpace(r.PostFormValue("description"))
	if name == "" || desc == "" {
		return problem.Errorf(problem.EINVALID, "Prolific needs a name and a description.")
	}
	completed := prolific.ActionManualReview
	if r.PostFormValue("completed_action") == "auto" {
		completed = prolific.ActionAutoApprove
	}
	draft := prolific.StudyDraft{
		Name: name, InternalName: st.Slug, Description: desc,
		ExternalStudyURL:        prolific.StudyURL(s.origin(r) + "/s/" + url.PathEscape(st.Slug)),
		EstimatedCompletionTime: minutes, MaximumAllowedTime: maxMinutes, Reward: reward, TotalAvailablePlaces: places,
		DeviceCompatibility: []string{"desktop", "tablet", "mobile"},
		CompletionCodes: []prolific.CompletionCode{
			{Code: st.CompletionCode, CodeType: prolific.CodeCompleted, Actions: []prolific.CodeAction{{Action: completed}}},
			{Code: st.CompletionCode + "AC", CodeType: prolific.CodeFailedAttention, Actions: []prolific.CodeAction{{Action: prolific.ActionManualReview}}},
			{Code: st.CompletionCode + "NC", CodeType: prolific.CodeNoConsent, Actions: []prolific.CodeAction{{Action: prolific.ActionRequestReturn}}},
		},
	}
	ps, err := c.CreateStudy(r.Context(), draft)
	if err != nil {
		return prolificError(err)
	}
	if err := s.store.LinkProlific(context.WithoutCancel(r.Context()), st.ID, ps, true); err != nil {
		return err
	}
	if places > st.Places {
		if err := s.store.SetStudyPlaces(r.Context(), st.ID, places); err != nil {
			return err
		}
	}
	return backToStudy(w, r, st)
}

// linkedStudy is the study of the request, the Prolific client and the
// study's link, refused when the study is not linked yet.
func (s *Server) linkedStudy(r *http.Request) (study.Study, *prolific.Client, postgres.ProlificLink, error) {
	st, err := s.studyParam(r)
	if err != nil {
		return st, nil, postgres.ProlificLink{}, err
	}
	c, err := s.prolificClient()
	if err != nil {
		return st, nil, postgres.ProlificLink{}, err
	}
	link, linked, err := s.store.ProlificLinkOf(r.Context(), st.ID)
	if err == nil && !linked {
		err = problem.Errorf(problem.ECONFLICT, "Link the study to Prolific first.")
	}
	return st, c, link, err
}

// handleProlificPublish publishes the study here (when still a draft, so
// that its pool slots exist before anyone comes) and then on Prolific.
func (s *Server) handleProlificPublish(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	st, c, link, err := s.linkedStudy(r)
	if err != nil {
		return err
	}
	if st.Status == study.Draft {
		if err := s.store.SetStudyStatus(ctx, st.ID, study.Published); err != nil {
			return err
		}
	} else if st.Status != study.Published {
		return problem.Errorf(problem.ECONFLICT, "The study is %s here: resume it before publishing on Prolific.", st.Status)
	}
	ps, err := c.PublishStudy(context.WithoutCancel(ctx), link.ProlificStudyID)
	if err != nil {
		_ = s.store.RecordProlificError(ctx, st.ID, "Publish: "+prolific.Message(err))
		return prolificError(err)
	}
	if err := s.store.RecordProlificStudy(ctx, st.ID, ps); err != nil {
		return err
	}
	return backToStudy(w, r, st)
}

// handleProlificPlaces increases the study's places on Prolific and here.
func (s *Server) handleProlificPlaces(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	st, c, link, err := s.linkedStudy(r)
	if err != nil {
		return err
	}
	n, err := strconv.Atoi(strings.TrimSpace(r.PostFormValue("places")))
	if err != nil || n <= link.Places || n > 100000 {
		return problem.Errorf(problem.EINVALID, "Places can only be increased: give a number above %d.", link.Places)
	}
	ps, err := c.SetPlaces(context.WithoutCancel(ctx), link.ProlificStudyID, n)
	if err != nil {
		return prolificError(err)
	}
	if err := s.store.RecordProlificStudy(ctx, st.ID, ps); err != nil {
		return err
	}
	if n > st.Places {
		if err := s.store.SetStudyPlaces(ctx, st.ID, n); err != nil {
			return err
		}
	}
	return backToStudy(w, r, st)
}

// handleProlificSync syncs the study with Prolific now.
func (s *Server) handleProlificSync(w http.ResponseWriter, r *http.Request) error {
	st, err := s.studyParam(r)
	if err != nil {
		return err
	}
	if _, _, err := s.syncStudy(r.Context(), st.ID, true); err != nil {
		return withLink(prolificError(err), studyURL(st.ID), "Back to the study")
	}
	return backToStudy(w, r, st)
}

// handleProlificSettings saves what the entry does when Prolific cannot be asked.
func (s *Server) handleProlificStudySettings(w http.ResponseWriter, r *http.Request) error {
	st, err := s.studyParam(r)
	if err != nil {
		return err
	}
	if err := s.store.SetProlificUnreachable(r.Context(), st.ID, r.PostFormValue("on_unreachable")); err != nil {
		return err
	}
	return backToStudy(w, r, st)
}

// handleProlificPage is the settings page: the token's health (one cheap
// call), the webhook address and the latest API calls.
func (s *Server) handleProlificPage(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	hook := s.origin(r) + "/prolific/webhook"
	v := web.ProlificSettingsView{AdminPage: adminPage(r, "Prolific", "prolific"), HasToken: s.pro.client != nil,
		WebhookURL: hook, HasSecret: s.pro.cfg.WebhookSecret != "", HTTPSWebhook: strings.HasPrefix(hook, "https://"),
		BaseURL: s.pro.cfg.Client.BaseURL}
	if v.BaseURL == "" {
		v.BaseURL = prolific.DefaultBaseURL
	}
	if c := s.pro.client; c == nil {
		v.TokenStatus = s.pro.err
	} else {
		cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		u, err := c.Me(cctx)
		cancel()
		if err != nil {
			v.TokenStatus = prolific.Message(err)
		} else {
			v.TokenOK, v.TokenStatus = true, "The token works: it belongs to "+u.Email+"."
		}
	}
	calls, err := s.store.ProlificCalls(ctx, 50)
	if err != nil {
		return err
	}
	for _, c := range calls {
		status := strconv.Itoa(c.Status)
		if c.Status == 0 {
			status = "no answer"
		}
		v.Calls = append(v.Calls, web.ProlificCallRow{At: c.At.UTC().Format("01-02 15:04:05"), Method: c.Method,
			Path: c.Path, Status: status, Duration: c.Duration.String(), Error: c.Error, Bad: c.Status == 0 || c.Status >= 400})
	}
	return render(w, r, http.StatusOK, web.ProlificSettings(v))
}

// batchProlific is a batch's Prolific cell on the payouts page.
func batchProlific(st study.Study, linked bool, number int, paid bool, b postgres.BatchProlificState) web.BatchProlific {
	v := web.BatchProlific{State: b.State, Note: b.Error}
	if linked && !paid && b.State != postgres.BonusPaid {
		v.PayURL = studyURL(st.ID) + "/payouts/" + strconv.Itoa(number) + "/pay"
	}
	return v
}

// prolificEditNote tells the study form that places and the time limit of
// a linked study change on Prolific too, and what Prolific still allows.
func prolificEditNote(link postgres.ProlificLink) string {
	note := fmt.Sprintf("Linked to Prolific study %s (%s, %d places): places and the time limit you save here change there too.",
		link.ProlificStudyID, link.Status, link.Places)
	if prolificPublished(link) {
		note += fmt.Sprintf(" Prolific lets places only go up now (no fewer than %d)", link.Places)
		if link.MaxMinutes > 0 {
			note += fmt.Sprintf(", and times people out after %d minutes, so the time limit can be at most that", link.MaxMinutes)
		}
		note += "."
	}
	return note
}

// prolificPublished reports whether the linked Prolific study has left its
// draft (UNPUBLISHED): from then on Prolific changes only its places, and
// only upwards. A status never read counts as published.
func prolificPublished(link postgres.ProlificLink) bool { return link.Status != "UNPUBLISHED" }

// prolificUpdate is what an edit of a linked study from cur to next changes
// on Prolific: places kept equal on both sides, and the maximum allowed
// time equal to the time limit while Prolific still lets it change. It
// refuses, naming Prolific's rule, what Prolific would refuse: fewer places
// once published, and a time limit past Prolific's maximum.
func prolificUpdate(link postgres.ProlificLink, cur, next study.Study) (prolific.StudyUpdate, error) {
	var u prolific.StudyUpdate
	published := prolificPublished(link)
	if next.Places != cur.Places && next.Places != link.Places {
		if published && next.Places < link.Places {
			return u, problem.Errorf(problem.ECONFLICT, "Prolific lets places only go up once a study is published, and it offers %d: "+
				"places here cannot go below that. To take no more people, pause the study here and on Prolific.", link.Places)
		}
		u.TotalAvailablePlaces = &next.Places
	}
	if next.TimeLimitMinutes != cur.TimeLimitMinutes {
		switch {
		case !published:
			u.MaximumAllowedTime = &next.TimeLimitMinutes
		case link.MaxMinutes > 0 && next.TimeLimitMinutes > link.MaxMinutes:
			return u, problem.Errorf(problem.ECONFLICT, "Prolific times participants out after %d minutes and does not let that change "+
				"once a study is published, so the time limit here can be at most %d minutes.", link.MaxMinutes, link.MaxMinutes)
		}
	}
	return u, nil
}

// sendEditToProlific sends an edit's places and time limit to the linked
// Prolific study before the edit is stored, and returns what Prolific said
// (nil when nothing was sent). A refusal, here or by Prolific, is an
// ECONFLICT naming why; nothing was changed on either side then.
func (s *Server) sendEditToProlific(ctx context.Context, cur, next study.Study) (*prolific.Study, error) {
	if next.Places == cur.Places && next.TimeLimitMinutes == cur.TimeLimitMinutes {
		return nil, nil
	}
	link, linked, err := s.store.ProlificLinkOf(ctx, cur.ID)
	if err != nil || !linked {
		return nil, err
	}
	u, err := prolificUpdate(link, cur, next)
	if err != nil || u.Empty() {
		return nil, err
	}
	c, err := s.prolificClient()
	if err != nil {
		return nil, problem.Errorf(problem.ECONFLICT, "The study is linked to Prolific, where places and the time limit must change too, "+
			"but Prolific cannot be asked: %s Nothing was saved.", problem.Message(err))
	}
	ps, err := c.UpdateStudy(context.WithoutCancel(ctx), link.ProlificStudyID, u)
	if err != nil {
		_ = s.store.RecordProlificError(ctx, cur.ID, "Update: "+prolific.Message(err))
		return nil, problem.Errorf(problem.ECONFLICT, "Prolific did not take the change, so nothing was saved: %s", prolific.Message(err))
	}
	return &ps, s.store.RecordProlificStudy(ctx, cur.ID, ps)
}
