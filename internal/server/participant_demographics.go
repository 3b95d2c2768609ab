package server

import (
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/cubelab/cubelab/internal/study"
	"github.com/cubelab/cubelab/web"
)

// handleDemographics shows the optional age and gender form.
func (s *Server) handleDemographics(w http.ResponseWriter, r *http.Request) error {
	st, p, err := s.participant(r)
	if err != nil {
		return err
	}
	if onStep(w, r, st, p, study.StepInstructions) {
		return nil
	}
	return render(w, r, http.StatusOK, web.Demographics(demographicsView(st, "", "", "")))
}

func demographicsView(st study.Study, age, gender, msg string) web.DemographicsView {
	return web.DemographicsView{
		Page:    web.Page{Title: "About you", Study: st.Title},
		Action:  "/s/" + st.Slug + "/about-you",
		Genders: study.Genders(),
		Age:     age,
		Gender:  gender,
		Error:   msg,
	}
}

// handleDemographicsSave records the answers (or that they were skipped) and
// starts the trials.
func (s *Server) handleDemographicsSave(w http.ResponseWriter, r *http.Request) error {
	st, p, err := s.participant(r)
	if err != nil {
		return err
	}
	if p.Step() != study.StepInstructions {
		return redirect(w, r, stepURL(st.Slug, p.Step()))
	}
	var age *int
	gender := ""
	if r.PostFormValue("skip") != "yes" {
		ageText := strings.TrimSpace(r.PostFormValue("age"))
		gender = r.PostFormValue("gender")
		if ageText != "" {
			n, err := strconv.Atoi(ageText)
			if err != nil || n < 18 || n > 120 {
				return render(w, r, http.StatusBadRequest, web.Demographics(demographicsView(st, ageText, gender,
					"Please give your age as a whole number of years between 18 and 120, or leave it empty.")))
			}
			age = &n
		}
		if gender != "" && !slices.Contains(study.Genders(), gender) {
			return render(w, r, http.StatusBadRequest, web.Demographics(demographicsView(st, ageText, "",
				"Please choose one of the listed options for gender, or leave it empty.")))
		}
	}
	if err := s.store.SaveDemographics(r.Context(), p.ID, age, gender); err != nil {
		return err
	}
	if p.NPractice > p.NPracticeAnswered {
		return redirect(w, r, practiceURL(st.Slug))
	}
	return redirect(w, r, "/s/"+st.Slug+"/trial")
}
