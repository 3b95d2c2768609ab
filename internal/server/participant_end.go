package server

import (
	"net/http"

	"github.com/cubelab/cubelab/internal/problem"
	"github.com/cubelab/cubelab/internal/prolific"
	"github.com/cubelab/cubelab/internal/study"
	"github.com/cubelab/cubelab/web"
)

// handleEnd shows the pay and the way back to Prolific, once every answer is
// committed; a participant who already completed sees it again.
func (s *Server) handleEnd(w http.ResponseWriter, r *http.Request) error {
	st, p, err := s.participant(r)
	if err != nil {
		return err
	}
	switch p.Step() {
	case study.StepDone:
	case study.StepInactive:
		if p.TimeUp(st, s.now()) {
			return s.renderTimeUp(w, r, http.StatusOK, st, p)
		}
		return problem.Errorf(problem.EGONE, "Your participation in this study has ended (%s). If you think this is a mistake, please message the researchers on Prolific.", statusText(p.Status))
	default:
		return redirect(w, r, stepURL(st.Slug, p.Step()))
	}
	var bonus int64
	if p.BonusMinor != nil {
		bonus = *p.BonusMinor
	}
	return render(w, r, http.StatusOK, web.End(web.EndView{
		Page:          web.Page{Title: "Thank you", Study: st.Title},
		Base:          study.FormatMoney(st.Pay.BaseMinor, st.Pay.Currency),
		Bonus:         study.FormatMoney(bonus, st.Pay.Currency),
		Total:         study.FormatMoney(st.Pay.BaseMinor+bonus, st.Pay.Currency),
		Correct:       p.NCorrect,
		Counted:       p.NTrials - st.Checks(),
		CompletionURL: prolific.CompletionURL(st.CompletionCode),
		Code:          st.CompletionCode,
		ScoreShown:    p.ScoreShown(),
		BonusRule:     bonusRule(st.Pay),
	}))
}

// bonusRule says how the bonus is worked out: "£0.10 per correct answer, up
// to £1.00".
func bonusRule(pay study.Pay) string {
	return study.FormatMoney(pay.PerCorrectMinor, pay.Currency) + " per correct answer, up to " +
		study.FormatMoney(pay.MaxBonusMinor, pay.Currency)
}

func statusText(s study.ParticipantStatus) string {
	switch s {
	case study.Returned:
		return "returned"
	case study.TimedOut:
		return "the time limit has passed"
	case study.Rejected:
		return "rejected"
	}
	return string(s)
}
