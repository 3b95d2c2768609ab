package server

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/cubelab/cubelab/internal/problem"
	"github.com/cubelab/cubelab/internal/prolific"
	"github.com/cubelab/cubelab/internal/study"
	"github.com/cubelab/cubelab/web"
	"github.com/google/uuid"
)

// studyLink is the exact URL to paste into Prolific: Prolific replaces the
// {{%...%}} placeholders with each participant's values.
func (s *Server) studyLink(r *http.Request, slug string) string {
	return s.origin(r) + "/s/" + slug + "?" + prolific.ParamPID + "={{%PROLIFIC_PID%}}&" +
		prolific.ParamStudyID + "={{%STUDY_ID%}}&" + prolific.ParamSessionID + "={{%SESSION_ID%}}"
}

// origin is BASE_URL, or else the scheme and host the request came to.
func (s *Server) origin(r *http.Request) string {
	if s.baseURL != "" {
		return s.baseURL
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

// studyMoves are the status buttons of a study in status st.
func studyMoves(st study.Status) []web.Option {
	switch st {
	case study.Draft:
		return []web.Option{{Value: string(study.Published), Label: "Publish"}}
	case study.Published:
		return []web.Option{{Value: string(study.Paused), Label: "Pause"}, {Value: string(study.Closed), Label: "Close"}}
	case study.Paused:
		return []web.Option{{Value: string(study.Published), Label: "Resume"}, {Value: string(study.Closed), Label: "Close"}}
	case study.Complete:
		return []web.Option{{Value: string(study.Published), Label: "Reopen"}, {Value: string(study.Closed), Label: "Close"}}
	}
	return nil
}

// handleStudy is a study's page: link, settings, and the live monitor. It
// sweeps timed-out participants first, so the page never shows someone as
// started who is past the time limit.
func (s *Server) handleStudy(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	st, err := s.studyParam(r)
	if err != nil {
		return err
	}
	if _, err := s.store.SweepTimeouts(ctx); err != nil {
		return err
	}
	f := monitorFilter(r.URL.Query())
	mon, err := s.monitorView(r, st, f)
	if err != nil {
		return err
	}
	items, err := s.store.ItemCount(ctx, st)
	if err != nil {
		return err
	}
	settings, err := s.settings(r, st, items)
	if err != nil {
		return err
	}
	pro, err := s.prolificPanel(r, st)
	if err != nil {
		return err
	}
	undo, err := s.undoView(r, st, "")
	if err != nil {
		return err
	}
	live := web.LiveView{}
	if st.Status != study.Draft {
		live = s.liveViewOrNote(r, st)
		if st, err = s.store.StudyByID(ctx, st.ID); err != nil { // the rule may have paused it
			return err
		}
	}
	v := web.StudyView{
		AdminPage: adminPage(r, st.Title, "studies"), ID: st.ID.String(), Base: studyURL(st.ID), Title: st.Title,
		Status: string(st.Status), Draft: st.Status == study.Draft, Pool: st.Design == study.Pool, Moves: studyMoves(st.Status),
		Link: s.studyLink(r, st.Slug), PreviewLink: s.origin(r) + "/s/" + url.PathEscape(st.Slug) + "/preview",
		Settings: settings, Filter: f, Monitor: mon, Prolific: pro,
		Bulk: web.BulkApproveView{Base: studyURL(st.ID), CSRF: mon.CSRF, Query: mon.Query, Prolific: pro.Linked,
			Approved: r.URL.Query().Get("approved")},
		Undo: undo, Live: live,
		Version: strconv.Itoa(st.Version), Editable: st.Status.Editable(), Running: st.Status.Editable() && st.Status != study.Draft,
		Deletable: st.Status.Deletable(), Archivable: st.Status.Archivable(), Archived: st.ArchivedAt != nil,
	}
	if items == 0 {
		v.Warnings = append(v.Warnings, "This study has 0 items: its stimulus set has no "+string(st.Domain)+
			" items of the sizes and split chosen. Edit it and choose a set of this task before publishing.")
	} else if most := st.PoolPlaces(items); most > 0 && st.Places > most {
		v.Warnings = append(v.Warnings, problem.Message(st.CheckPoolPlaces(items)))
	}
	if v.Members, err = s.membersView(r, st); err != nil {
		return err
	}
	changes, err := s.store.StudyChanges(ctx, st.ID, 50)
	if err != nil {
		return err
	}
	for _, c := range changes {
		who := c.Actor
		if who == "" {
			who = "the system"
		}
		v.Changes = append(v.Changes, web.ChangeRow{At: whenSeconds(c.At), Actor: who, What: c.What})
	}
	return render(w, r, http.StatusOK, web.Study(v))
}

// settings lists a study's settings in words; items is how many it has
// (Store.ItemCount).
func (s *Server) settings(r *http.Request, st study.Study, items int) ([]web.Setting, error) {
	ctx := r.Context()
	sets, err := s.store.Sets(ctx)
	if err != nil {
		return nil, err
	}
	setName := st.SetID.String()
	for _, set := range sets {
		if set.ID == st.SetID {
			setName = set.Name
		}
	}
	checks, err := s.store.ExtIDs(ctx, st.AttentionCheckIDs)
	if err != nil {
		return nil, err
	}
	sizes := "every size"
	if len(st.Sizes) > 0 {
		parts := make([]string, len(st.Sizes))
		for i, n := range st.Sizes {
			parts[i] = strconv.Itoa(n)
		}
		sizes = strings.Join(parts, ", ")
	}
	or := func(s, empty string) string {
		if s == "" {
			return empty
		}
		return s
	}
	checkText := "none"
	if len(checks) > 0 {
		checkText = strconv.Itoa(len(checks)) + ": " + strings.Join(checks, ", ")
	}
	perPerson := strconv.Itoa(items + st.Checks())
	if st.Design == study.Pool {
		perPerson = strconv.Itoa(min(st.ItemsPerParticipant, items)+st.Checks()) + " (K=" + strconv.Itoa(st.ItemsPerParticipant) + ")"
	}
	instructed := "none"
	if st.InstructedChecks > 0 {
		instructed = strconv.Itoa(st.InstructedChecks) + " per participant, at random positions"
	}
	money := func(m int64) string { return study.FormatMoney(m, st.Pay.Currency) }
	return []web.Setting{
		{Name: "Link name", Value: st.Slug},
		{Name: "Task", Value: string(st.Domain)},
		{Name: "Stimulus set", Value: setName},
		{Name: "Sizes", Value: sizes},
		{Name: "Split", Value: or(st.Split, "every split")},
		{Name: "Design", Value: designName(st)},
		{Name: "Items", Value: strconv.Itoa(items)},
		{Name: "Trials per participant", Value: perPerson},
		{Name: "Attention checks", Value: checkText},
		{Name: "Instructed checks", Value: instructed},
		{Name: "Breaks", Value: breakText(st.BreakEvery)},
		{Name: "Practice", Value: practiceSetting(st)},
		{Name: "Places", Value: placesText(st, items)},
		{Name: "Time limit", Value: strconv.Itoa(st.TimeLimitMinutes) + " min"},
		{Name: "Base pay", Value: money(st.Pay.BaseMinor)},
		{Name: "Bonus", Value: money(st.Pay.PerCorrectMinor) + " per correct, at most " + money(st.Pay.MaxBonusMinor)},
		{Name: "Completion code", Value: or(st.CompletionCode, "not set (needed to publish)")},
		{Name: "Prolific study id", Value: or(st.ProlificStudyID, "not set")},
		{Name: "Created", Value: when(st.CreatedAt)},
	}, nil
}

// placesText is a study's places, with a pool's ceiling and its sum.
func placesText(st study.Study, items int) string {
	out := strconv.Itoa(st.Places)
	if most := st.PoolPlaces(items); most > 0 && st.Adaptive() {
		out += " (this adaptive pool fills at most " + strconv.Itoa(most) + ": ceil(budget " + strconv.Itoa(st.PoolAnswers(items)) +
			" answers / K " + strconv.Itoa(st.ItemsPerParticipant) + "))"
	} else if most > 0 {
		out += " (this pool fills at most " + strconv.Itoa(most) + ": ceil(" + strconv.Itoa(items) + " items × R " +
			strconv.Itoa(st.FirstResponses()) + " / K " + strconv.Itoa(st.ItemsPerParticipant) + "))"
	}
	return out
}

// handleStudyStatus publishes, pauses, resumes or closes a study.
func (s *Server) handleStudyStatus(w http.ResponseWriter, r *http.Request) error {
	st, err := s.studyParam(r)
	if err != nil {
		return err
	}
	if err := s.store.MoveStudy(r.Context(), st.ID, study.Status(r.PostFormValue("status")), adminSession(r).Admin.Email); err != nil {
		return err
	}
	return redirect(w, r, studyURL(st.ID))
}

// handleStudyDuplicate makes a draft copy of the study and opens its form.
// The form names the version of the settings the page showed: a copy of
// settings someone changed since is refused, like a stale save.
func (s *Server) handleStudyDuplicate(w http.ResponseWriter, r *http.Request) error {
	st, err := s.studyParam(r)
	if err != nil {
		return err
	}
	if v, err := strconv.Atoi(r.PostFormValue("version")); err != nil || v != st.Version {
		return problem.Errorf(problem.ECONFLICT, "The study's settings changed after this page was shown (or the form lost its version); reload the page and duplicate again.")
	}
	ses := adminSession(r)
	cp, err := s.store.DuplicateStudyFor(r.Context(), st.ID, ses.Admin.ID, ses.Admin.Email)
	if err != nil {
		return err
	}
	return redirect(w, r, studyURL(cp.ID)+"/edit")
}

// handleStudyDelete deletes a draft and goes back to the list.
func (s *Server) handleStudyDelete(w http.ResponseWriter, r *http.Request) error {
	st, err := s.studyParam(r)
	if err != nil {
		return err
	}
	if err := s.store.DeleteStudy(r.Context(), st.ID); err != nil {
		return err
	}
	return redirect(w, r, "/admin/")
}

// handleStudyArchive archives a closed study (archive=1) or shows it in the
// list again (archive=0).
func (s *Server) handleStudyArchive(w http.ResponseWriter, r *http.Request) error {
	st, err := s.studyParam(r)
	if err != nil {
		return err
	}
	var archive bool
	switch r.PostFormValue("archive") {
	case "1":
		archive = true
	case "0":
	default:
		return problem.Errorf(problem.EINVALID, "Say whether to archive the study (1) or to show it again (0).")
	}
	if err := s.store.ArchiveStudy(r.Context(), st.ID, archive, adminSession(r).Admin.Email); err != nil {
		return err
	}
	return redirect(w, r, studyURL(st.ID))
}

// RunSweeper times out participants past their study's time limit every
// interval until ctx ends. Every server process may run it: the sweep is
// idempotent and skips rows another sweep holds.
func (s *Server) RunSweeper(ctx context.Context, interval time.Duration) {
	s.store.RunSweeper(ctx, interval, func(n int, err error) {
		if err != nil {
			s.log.WarnContext(ctx, "timeout sweep failed", "err", err)
		} else {
			s.log.InfoContext(ctx, "timed out participants", "count", n)
		}
	})
}

// breakText says how often the study pauses (study.BreakAfter).
func breakText(every int) string {
	if every <= 0 {
		return "none"
	}
	return "a pause after every " + strconv.Itoa(every) + " trials"
}

// practiceSetting says the study's practice trials in words.
func practiceSetting(st study.Study) string {
	switch {
	case len(st.PracticeIDs) > 0:
		return strconv.Itoa(len(st.PracticeIDs)) + " picked items, with feedback; they count nowhere"
	case st.PracticeItems > 0:
		from := "the study's set"
		if st.PracticeSetID != uuid.Nil {
			from = "another set"
		}
		return strconv.Itoa(st.PracticeItems) + " drawn from " + from + " for each participant, with feedback; they count nowhere"
	}
	return "none"
}
