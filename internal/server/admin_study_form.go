package server

import (
	"context"
	"net/http"
	"regexp"
	"strconv"
	"strings"

	"github.com/google/uuid"

	"github.com/cubelab/cubelab/internal/prolific"
	"github.com/cubelab/cubelab/internal/study"
	"github.com/cubelab/cubelab/internal/task"
	"github.com/cubelab/cubelab/web"
)

// The same rules as the studies table's checks, so that a mistake is
// explained on the form rather than refused by the database.
var (
	slugPattern       = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)
	codePattern       = regexp.MustCompile(`^[A-Za-z0-9]{0,64}$`)
	prolificIDPattern = regexp.MustCompile(`^([0-9a-f]{24})?$`)
)

// currencies are those Prolific pays in, all with two decimals.
func currencies() []string { return []string{"GBP", "USD", "EUR"} }

// newStudyForm is the form of a new study, with defaults.
func newStudyForm() web.StudyFormView {
	return web.StudyFormView{
		New: true, Action: "/admin/studies", Domain: string(task.Tower), Design: string(study.Fixed),
		ResponsesPerItem: "1", Places: "100", Minutes: "30", Currency: "GBP",
		BasePay: "2.00", PerCorrect: "0.01", MaxBonus: "1.00",
		MinViewMs: strconv.Itoa(study.DefaultMinViewMs), TooFastMs: strconv.Itoa(study.DefaultTooFastMs),
		ReservationMinutes: strconv.Itoa(study.DefaultReservationMinutes),
		Consent: "This is a study of how people judge whether blocks will fall. You will see pictures of blocks " +
			"and answer one question about each.\n\nYour answers are stored with your Prolific ID and used only for " +
			"research. You may stop at any time by returning the study on Prolific.\n\nBy pressing \"I agree\" you " +
			"confirm that you are at least 18 years old and agree to take part.",
		Instructions: "Look at each picture and answer the question. Please answer at your natural pace. " +
			"You earn a bonus for every correct answer.",
	}
}

// formOf fills the form from a stored study.
func (s *Server) formOf(ctx context.Context, st study.Study) (web.StudyFormView, error) {
	checks, err := s.store.ExtIDs(ctx, st.AttentionCheckIDs)
	if err != nil {
		return web.StudyFormView{}, err
	}
	sizes := make([]string, len(st.Sizes))
	for i, n := range st.Sizes {
		sizes[i] = strconv.Itoa(n)
	}
	v := web.StudyFormView{
		Action: studyURL(st.ID), Title: st.Title, Slug: st.Slug, Domain: string(st.Domain), SetID: st.SetID.String(),
		Sizes: strings.Join(sizes, ","), Split: st.Split, Design: string(st.Design),
		ResponsesPerItem: strconv.Itoa(st.ResponsesPerItem), Places: strconv.Itoa(st.Places),
		Minutes: strconv.Itoa(st.TimeLimitMinutes), AttentionChecks: strings.Join(checks, ", "),
		Consent: st.ConsentText, Instructions: st.InstructionsText, Currency: st.Pay.Currency,
		BasePay: prolific.Amount(st.Pay.BaseMinor), PerCorrect: prolific.Amount(st.Pay.PerCorrectMinor),
		MaxBonus: prolific.Amount(st.Pay.MaxBonusMinor), CompletionCode: st.CompletionCode,
		ProlificStudyID: st.ProlificStudyID,
		MinViewMs:       strconv.Itoa(st.MinViewMs), TooFastMs: strconv.Itoa(st.TooFastMs),
		ReservationMinutes: strconv.Itoa(st.ReservationMinutes),
		Exclusion:          st.Exclusion,
	}
	if st.Design == study.Pool {
		v.ItemsPerParticipant = strconv.Itoa(st.ItemsPerParticipant)
	}
	if v.PickChecksURL, err = s.pickChecksURL(ctx, st); err != nil {
		return web.StudyFormView{}, err
	}
	return v, nil
}

// readStudyForm reads the posted form as typed, for showing it again.
func readStudyForm(r *http.Request) web.StudyFormView {
	f := func(k string) string { return strings.TrimSpace(r.PostFormValue(k)) }
	return web.StudyFormView{
		Title: f("title"), Slug: f("slug"), Domain: f("domain"), SetID: f("set"), Sizes: f("sizes"), Split: f("split"),
		Design: f("design"), ItemsPerParticipant: f("k"), ResponsesPerItem: f("r"), Places: f("places"),
		Minutes: f("minutes"), AttentionChecks: f("checks"), Consent: r.PostFormValue("consent"),
		Instructions: r.PostFormValue("instructions"), BasePay: f("base"), PerCorrect: f("per_correct"),
		MaxBonus: f("max_bonus"), Currency: f("currency"), CompletionCode: f("code"), ProlificStudyID: f("prolific_id"),
		MinViewMs: f("min_view"), TooFastMs: f("too_fast"), ReservationMinutes: f("reservation"),
		Exclusion: f("exclusion"),
	}
}

// parseStudyForm turns the form into a study, or a list of what is wrong,
// each in words an experimenter can act on.
func (s *Server) parseStudyForm(ctx context.Context, v web.StudyFormView) (study.Study, []string, error) {
	var errs []string
	bad := func(msg string) { errs = append(errs, msg) }
	st := study.Study{Title: v.Title, Slug: v.Slug, Split: v.Split, ConsentText: strings.TrimSpace(v.Consent),
		InstructionsText: strings.TrimSpace(v.Instructions), CompletionCode: v.CompletionCode,
		ProlificStudyID: v.ProlificStudyID, Status: study.Draft}
	if st.Title == "" {
		bad("Give the study a title.")
	}
	if !slugPattern.MatchString(st.Slug) {
		bad("The link name must be 1-63 lower-case letters, digits or hyphens, starting with a letter or digit.")
	}
	d, err := task.ParseDomain(v.Domain)
	if err != nil {
		bad("Choose a task.")
	}
	st.Domain = d
	setID, err := uuid.Parse(v.SetID)
	if err != nil {
		bad("Choose a stimulus set.")
	}
	st.SetID = setID
	st.Sizes = []int{}
	for _, part := range strings.Split(v.Sizes, ",") {
		if part = strings.TrimSpace(part); part == "" {
			continue
		}
		n, err := strconv.Atoi(part)
		if err != nil || n <= 0 {
			bad("Sizes must be whole numbers above zero, separated by commas.")
			break
		}
		st.Sizes = append(st.Sizes, n)
	}
	positive := func(s, what string) int {
		n, err := strconv.Atoi(s)
		if err != nil || n <= 0 {
			bad(what + " must be a whole number above zero.")
		}
		return n
	}
	switch study.Design(v.Design) {
	case study.Fixed:
		st.Design, st.ResponsesPerItem = study.Fixed, 1
	case study.Pool:
		st.Design = study.Pool
		st.ItemsPerParticipant = positive(v.ItemsPerParticipant, "Items per participant (K)")
		st.ResponsesPerItem = positive(v.ResponsesPerItem, "Answers per item (R)")
	default:
		bad("Choose a design.")
	}
	st.Places = positive(v.Places, "Places")
	methodMs := func(s string, def int, what string) int {
		if s == "" {
			return def
		}
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 || n > study.MaxMethodMs {
			bad(what + " must be a whole number of milliseconds from 0 to " + strconv.Itoa(study.MaxMethodMs) + ".")
		}
		return n
	}
	st.MinViewMs = methodMs(v.MinViewMs, study.DefaultMinViewMs, "The minimum viewing time")
	st.TooFastMs = methodMs(v.TooFastMs, study.DefaultTooFastMs, "The too-fast threshold")
	if rule, err := study.ParseExclusion(v.Exclusion); err != nil {
		bad(study.ErrorMessage(err))
	} else if st.Exclusion = rule.String(); st.Exclusion == "none" {
		st.Exclusion = ""
	}
	st.ReservationMinutes = study.DefaultReservationMinutes
	if v.ReservationMinutes != "" {
		n, err := strconv.Atoi(v.ReservationMinutes)
		if err != nil || n < 1 || n > 1440 {
			bad("The reservation window must be a whole number of minutes from 1 to 1440.")
		}
		st.ReservationMinutes = n
	}
	st.TimeLimitMinutes = positive(v.Minutes, "The time limit")
	money := func(s, what string) int64 {
		n, err := prolific.ParseAmount(s)
		if err != nil {
			bad(what + " must be an amount like 2.50 (at most two decimals).")
		}
		return n
	}
	st.Pay = study.Pay{BaseMinor: money(v.BasePay, "Base pay"), PerCorrectMinor: money(v.PerCorrect, "The bonus per correct answer"),
		MaxBonusMinor: money(v.MaxBonus, "The maximum bonus"), Currency: v.Currency}
	valid := false
	for _, c := range currencies() {
		valid = valid || c == v.Currency
	}
	if !valid {
		bad("Choose a currency.")
	}
	if st.ConsentText == "" {
		bad("Write the consent text.")
	}
	if st.InstructionsText == "" {
		bad("Write the instructions.")
	}
	if !codePattern.MatchString(st.CompletionCode) {
		bad("The completion code may hold only letters and digits (at most 64).")
	}
	if !prolificIDPattern.MatchString(st.ProlificStudyID) {
		bad("The Prolific study id is 24 characters, digits and letters a-f, or empty.")
	}
	var ext []string
	for _, part := range strings.Split(v.AttentionChecks, ",") {
		if part = strings.TrimSpace(part); part != "" {
			ext = append(ext, part)
		}
	}
	st.AttentionCheckIDs = []uuid.UUID{}
	if len(ext) > 0 && setID != uuid.Nil {
		ids, err := s.store.StimulusIDs(ctx, setID, ext)
		if study.ErrorCode(err) == study.EINVALID {
			bad("Attention checks: " + study.ErrorMessage(err))
		} else if err != nil {
			return st, nil, err
		}
		st.AttentionCheckIDs = ids
	}
	return st, errs, nil
}

// renderStudyForm shows the form, with the choices of sets and tasks.
func (s *Server) renderStudyForm(w http.ResponseWriter, r *http.Request, status int, v web.StudyFormView) error {
	sets, err := s.store.Sets(r.Context())
	if err != nil {
		return err
	}
	for _, set := range sets {
		v.Sets = append(v.Sets, web.Option{Value: set.ID.String(),
			Label: set.Name + " (" + strconv.Itoa(set.Items) + " items: " + set.Domains + ")"})
	}
	for _, d := range task.Domains {
		v.Domains = append(v.Domains, web.Option{Value: string(d), Label: string(d)})
	}
	v.Currencies = currencies()
	title := "New study"
	if !v.New {
		title = "Edit study"
	}
	v.AdminPage = adminPage(r, title, "studies")
	return render(w, r, status, web.StudyForm(v))
}

// handleStudyNew shows an empty form.
func (s *Server) handleStudyNew(w http.ResponseWriter, r *http.Request) error {
	return s.renderStudyForm(w, r, http.StatusOK, newStudyForm())
}

// handleStudyCreate stores a new draft study.
func (s *Server) handleStudyCreate(w http.ResponseWriter, r *http.Request) error {
	v := readStudyForm(r)
	v.New, v.Action = true, "/admin/studies"
	st, errs, err := s.parseStudyForm(r.Context(), v)
	if err != nil {
		return err
	}
	if len(errs) == 0 {
		err = s.store.CreateStudy(r.Context(), &st)
		if study.ErrorCode(err) == study.ECONFLICT {
			errs = append(errs, "A study with this link name already exists; choose another.")
		} else if err != nil {
			return err
		}
	}
	if len(errs) > 0 {
		v.Errors = errs
		return s.renderStudyForm(w, r, http.StatusUnprocessableEntity, v)
	}
	return redirect(w, r, studyURL(st.ID))
}

// handleStudyEdit shows a draft study's form.
func (s *Server) handleStudyEdit(w http.ResponseWriter, r *http.Request) error {
	st, err := s.studyParam(r)
	if err != nil {
		return err
	}
	if st.Status != study.Draft {
		return study.Errorf(study.ECONFLICT, "Only a draft study can be edited; participants may already hold this one's items.")
	}
	v, err := s.formOf(r.Context(), st)
	if err != nil {
		return err
	}
	return s.renderStudyForm(w, r, http.StatusOK, v)
}

// handleStudySave saves a draft study's form.
func (s *Server) handleStudySave(w http.ResponseWriter, r *http.Request) error {
	cur, err := s.studyParam(r)
	if err != nil {
		return err
	}
	v := readStudyForm(r)
	v.Action = studyURL(cur.ID)
	st, errs, err := s.parseStudyForm(r.Context(), v)
	if err != nil {
		return err
	}
	st.ID = cur.ID
	if len(errs) == 0 {
		err = s.store.UpdateStudy(r.Context(), st)
		if code := study.ErrorCode(err); code == study.ECONFLICT {
			errs = append(errs, study.ErrorMessage(err))
		} else if err != nil {
			return err
		}
	}
	if len(errs) > 0 {
		v.Errors = errs
		return s.renderStudyForm(w, r, http.StatusUnprocessableEntity, v)
	}
	return redirect(w, r, studyURL(st.ID))
}
