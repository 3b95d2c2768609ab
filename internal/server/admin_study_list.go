package server

import (
	"net/http"
	"strconv"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/google/uuid"

	"github.com/cubelab/cubelab/internal/postgres"
	"github.com/cubelab/cubelab/internal/problem"
	"github.com/cubelab/cubelab/internal/study"
	"github.com/cubelab/cubelab/web"
)

// adminPage is the frame of a page for the request's experimenter.
func adminPage(r *http.Request, title, nav string) web.AdminPage {
	ses := adminSession(r)
	return web.AdminPage{Title: title, Email: ses.Admin.Email, CSRF: ses.CSRFToken, Nav: nav,
		ManagesAccounts: ses.Admin.Role.ManagesAccounts()}
}

// when formats a time for experimenters: minutes, in UTC, said so.
func when(t time.Time) string { return t.UTC().Format("2006-01-02 15:04 UTC") }

// whenSeconds is when with seconds, for events minutes apart or less.
func whenSeconds(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05 UTC") }

// studyURL is a study's admin page.
func studyURL(id uuid.UUID) string { return "/admin/studies/" + id.String() }

// studyParam reads the study of an /admin/studies/{id} route.
func (s *Server) studyParam(r *http.Request) (study.Study, error) {
	id, err := uuid.Parse(chi.URLParam(r, "id"))
	if err != nil {
		return study.Study{}, problem.Errorf(problem.ENOTFOUND, "There is no such study.")
	}
	return s.visibleStudy(r, id)
}

// visibleStudy loads a study the request's account sees
// (study.Study.VisibleTo); any other is "no such study" (404), whatever the
// route: page, download or action.
func (s *Server) visibleStudy(r *http.Request, id uuid.UUID) (study.Study, error) {
	st, err := s.store.StudyByID(r.Context(), id)
	if err != nil {
		return st, err
	}
	viewer := adminSession(r).Admin.ID
	var members []uuid.UUID
	if st.OwnerID != uuid.Nil && st.OwnerID != viewer {
		if members, err = s.store.MemberIDs(r.Context(), st.ID); err != nil {
			return st, err
		}
	}
	if !st.VisibleTo(viewer, members) {
		return study.Study{}, problem.Errorf(problem.ENOTFOUND, "There is no such study.")
	}
	return st, nil
}

// visibleStudies lists the studies the request's account sees.
func (s *Server) visibleStudies(r *http.Request) ([]postgres.StudySummary, error) {
	return s.store.StudiesVisibleTo(r.Context(), adminSession(r).Admin.ID)
}

// handleStudyList lists every study.
func (s *Server) handleStudyList(w http.ResponseWriter, r *http.Request) error {
	list, err := s.visibleStudies(r)
	if err != nil {
		return err
	}
	v := web.StudyListView{AdminPage: adminPage(r, "Studies", "studies"), ShowArchived: r.URL.Query().Get("archived") == "1"}
	for _, st := range list {
		if st.ArchivedAt != nil {
			v.Archived++
			if !v.ShowArchived {
				continue
			}
		}
		v.Studies = append(v.Studies, web.StudyRow{Archived: st.ArchivedAt != nil,
			URL: studyURL(st.ID), Title: st.Title, Slug: st.Slug, Status: string(st.Status), Design: designName(st.Study),
			Domain: string(st.Domain), Started: st.Started, Completed: st.Completed, Inactive: st.Inactive,
			Created: when(st.CreatedAt),
		})
	}
	return render(w, r, http.StatusOK, web.StudyList(v))
}

// designName says a study's design with its numbers.
func designName(st study.Study) string {
	if st.Adaptive() {
		return "adaptive pool (K=" + strconv.Itoa(st.ItemsPerParticipant) + ", R=" + strconv.Itoa(st.ResponsesPerItem) + " to " +
			strconv.Itoa(st.MaxResponsesPerItem) + ", budget " + strconv.Itoa(st.AnswerBudget) + " answers)"
	}
	if st.Design == study.Pool {
		return "pool (K=" + strconv.Itoa(st.ItemsPerParticipant) + ", R=" + strconv.Itoa(st.ResponsesPerItem) + ")"
	}
	return "evaluation"
}
