package server

import (
	"context"
	"regexp"
	"testing"

	"github.com/google/uuid"

	"github.com/cubelab/cubelab/internal/study"
	"github.com/cubelab/cubelab/web"
)

// The database's own checks on a study (db/migrations/000001), restated so
// that the fuzz target proves the form never hands the store a study that
// the database would refuse with a 500 instead of a message.
var (
	dbSlug     = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)
	dbCurrency = regexp.MustCompile(`^[A-Z]{3}$`)
	dbCode     = regexp.MustCompile(`^[A-Za-z0-9]{0,64}$`)
	dbProlific = regexp.MustCompile(`^([0-9a-f]{24})?$`)
)

// FuzzStudyForm feeds any values to the experimenter's study form: a form
// accepted without complaints holds a study that satisfies every database
// check; anything else comes back as messages, never a panic.
func FuzzStudyForm(f *testing.F) {
	f.Add("Towers", "towers-1", "tower", "fixed", "", "", "100", "30", "2.00", "0.01", "1.20", "GBP", "ABC123", "", "2,3")
	f.Add("Pool", "pool", "pyramid", "pool", "20", "1", "500", "45", "1.50", "0.05", "1.00", "EUR", "X", "60ffe5c8371090c7041d43f8", "")
	f.Add("<script>alert(1)</script>", "Bad Slug", "tower", "pool", "-1", "0", "1e3", "0", "-2.00", "0.001", "NaN", "gbp", "no spaces", "xyz", "2,-3")
	f.Add("", "-x", "moon", "other", "k", "r", "99999999999999999999", "30", "1,50", "", "", "", "", "", ",,")
	s := &Server{}
	set := uuid.NewString()
	f.Fuzz(func(t *testing.T, title, slug, domain, design, k, r, places, minutes, base, perCorrect, maxBonus, currency, code, prolificID, sizes string) {
		v := web.StudyFormView{Title: title, Slug: slug, Domain: domain, SetID: set, Sizes: sizes, Design: design,
			ItemsPerParticipant: k, ResponsesPerItem: r, Places: places, Minutes: minutes, Consent: "c", Instructions: "i",
			BasePay: base, PerCorrect: perCorrect, MaxBonus: maxBonus, Currency: currency, CompletionCode: code,
			ProlificStudyID: prolificID}
		st, errs, err := s.parseStudyForm(context.Background(), v)
		if err != nil {
			t.Fatalf("error without attention checks: %v", err)
		}
		if len(errs) > 0 {
			return
		}
		if st.Title == "" || !dbSlug.MatchString(st.Slug) || st.Places <= 0 || st.TimeLimitMinutes <= 0 ||
			st.Pay.BaseMinor < 0 || st.Pay.PerCorrectMinor < 0 || st.Pay.MaxBonusMinor < 0 ||
			!dbCurrency.MatchString(st.Pay.Currency) || !dbCode.MatchString(st.CompletionCode) ||
			!dbProlific.MatchString(st.ProlificStudyID) || st.ResponsesPerItem <= 0 ||
			(st.Design == study.Pool && st.ItemsPerParticipant <= 0) || (st.Design != study.Pool && st.Design != study.Fixed) {
			t.Fatalf("accepted a study the database refuses: %+v", st)
		}
		for _, n := range st.Sizes {
			if n <= 0 {
				t.Fatalf("accepted size %d", n)
			}
		}
	})
}
