package server

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/google/uuid"

	"github.com/cubelab/cubelab/internal/postgres"
	"github.com/cubelab/cubelab/internal/problem"
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
		InstructedChecks:   "0",
		BreakEvery:         "0",
		PracticeItems:      "0",
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
		InstructedChecks:   strconv.Itoa(st.InstructedChecks),
		BreakEvery:         strconv.Itoa(st.BreakEvery),
		Version:            strconv.Itoa(st.Version), Running: st.Status != study.Draft, Status: string(st.Status),
	}
	if st.Design == study.Pool {
		v.ItemsPerParticipant = strconv.Itoa(st.ItemsPerParticipant)
	}
	if st.Adaptive() {
		v.MaxResponsesPerItem, v.AnswerBudget = strconv.Itoa(st.MaxResponsesPerItem), strconv.Itoa(st.AnswerBudget)
	}
	if v.PickChecksURL, err = s.pickURL(ctx, st, ""); err != nil {
		return web.StudyFormView{}, err
	}
	practice, err := s.store.ExtIDs(ctx, st.PracticeIDs)
	if err != nil {
		return web.StudyFormView{}, err
	}
	v.PracticeItems, v.PracticeIDs = strconv.Itoa(st.PracticeItems), strings.Join(practice, ", ")
	if st.PracticeSetID != uuid.Nil {
		v.PracticeSet = st.PracticeSetID.String()
	}
	if v.PickPracticeURL, err = s.pickURL(ctx, st, pickPractice); err != nil {
		return web.StudyFormView{}, err
	}
	link, linked, err := s.store.ProlificLinkOf(ctx, st.ID)
	if err != nil {
		return web.StudyFormView{}, err
	}
	if linked {
		v.Prolific = prolificEditNote(link)
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
		Exclusion: f("exclusion"), InstructedChecks: f("instructed"), BreakEvery: f("break_every"),
		MaxResponsesPerItem: f("r_max"), AnswerBudget: f("budget"),
		PracticeItems: f("practice"), PracticeSet: f("practice_set"), PracticeIDs: f("practice_ids"),
		Version: f("version"),
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
		switch {
		case v.MaxResponsesPerItem != "":
			st.MaxResponsesPerItem = positive(v.MaxResponsesPerItem, "Most answers per item (R_max)")
			st.AnswerBudget = positive(v.AnswerBudget, "Budget of answers")
			if st.MaxResponsesPerItem > 0 && st.AnswerBudget > 0 && st.ResponsesPerItem > 0 {
				if err := st.CheckAdaptive(0); err != nil {
					bad(problem.Message(err))
				}
			}
		case v.AnswerBudget != "":
			bad("Budget of answers: only an adaptive pool has one; set most answers per item (R_max), or leave the budget empty.")
		}
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
		bad(problem.Message(err))
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
	if v.InstructedChecks != "" {
		n, err := strconv.Atoi(v.InstructedChecks)
		if err != nil || n < 0 || n > study.MaxInstructedChecks {
			bad("Instructed-response checks must be a whole number from 0 to " + strconv.Itoa(study.MaxInstructedChecks) + ".")
		}
		st.InstructedChecks = n
	}
	if v.BreakEvery != "" {
		n, err := strconv.Atoi(v.BreakEvery)
		if err != nil || n < 0 || n > study.MaxBreakEvery {
			bad("Pause every N trials must be a whole number from 0 (no breaks) to " + strconv.Itoa(study.MaxBreakEvery) + ".")
		}
		st.BreakEvery = n
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
		if problem.Code(err) == problem.EINVALID {
			bad("Attention checks: " + problem.Message(err))
		} else if err != nil {
			return st, nil, err
		}
		st.AttentionCheckIDs = ids
	}
	if err := s.parsePractice(ctx, v, &st, bad); err != nil {
		return st, nil, err
	}
	return st, errs, nil
}

// parsePractice reads the practice settings: a count, a set (empty for the
// study's own), or item ids of that set, which fix the count.
func (s *Server) parsePractice(ctx context.Context, v web.StudyFormView, st *study.Study, bad func(string)) error {
	st.PracticeIDs = []uuid.UUID{}
	if v.PracticeItems != "" {
		n, err := strconv.Atoi(v.PracticeItems)
		if err != nil || n < 0 || n > study.MaxPracticeItems {
			bad("Practice trials must be a whole number from 0 to " + strconv.Itoa(study.MaxPracticeItems) + ".")
		}
		st.PracticeItems = n
	}
	if v.PracticeSet != "" {
		id, err := uuid.Parse(v.PracticeSet)
		if err != nil {
			bad("Choose the practice pictures' set from the list.")
			return nil
		}
		st.PracticeSetID = id
	}
	var ext []string
	for _, part := range strings.Split(v.PracticeIDs, ",") {
		if part = strings.TrimSpace(part); part != "" {
			ext = append(ext, part)
		}
	}
	if len(ext) == 0 || st.PracticeSet() == uuid.Nil {
		return nil
	}
	if len(ext) > study.MaxPracticeItems {
		bad("Practice items: at most " + strconv.Itoa(study.MaxPracticeItems) + ".")
		return nil
	}
	ids, err := s.store.StimulusIDs(ctx, st.PracticeSet(), ext)
	if problem.Code(err) == problem.EINVALID {
		bad("Practice items: " + problem.Message(err))
		return nil
	} else if err != nil {
		return err
	}
	st.PracticeIDs, st.PracticeItems = ids, len(ids)
	return nil
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
		v.SetDomains = append(v.SetDomains, strings.ReplaceAll(set.Domains, ",", ""))
	}
	// A new form's set is one of its task (the default task is a tower;
	// sorted by name, the first set may be of pyramids).
	if v.SetID == "" {
		for i, set := range sets {
			if slices.Contains(strings.Fields(v.SetDomains[i]), v.Domain) {
				v.SetID = set.ID.String()
				break
			}
		}
	}
	for _, set := range sets {
		v.PracticeSets = append(v.PracticeSets, web.Option{Value: set.ID.String(), Label: set.Name})
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
		errs, err = s.checkItems(r.Context(), st, &v)
		if err != nil {
			return err
		}
	}
	if len(errs) == 0 {
		st.OwnerID = adminSession(r).Admin.ID
		err = s.store.CreateStudy(r.Context(), &st)
		if problem.Code(err) == problem.ECONFLICT {
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

// checkItems counts the items the study's filters select and refuses more
// places than a pool of them can use (study.Study.CheckPoolPlaces); it puts
// the ceiling on the form. A draft with 0 items is saved (it can be fixed
// later) with a warning on its page.
func (s *Server) checkItems(ctx context.Context, st study.Study, v *web.StudyFormView) ([]string, error) {
	items, err := s.store.ItemCount(ctx, st)
	if err != nil {
		return nil, err
	}
	if most := st.PoolPlaces(items); most > 0 {
		v.PlacesCap = strconv.Itoa(most)
	}
	if err := st.CheckAdaptive(items); err != nil {
		return []string{problem.Message(err)}, nil
	}
	if err := st.CheckPoolPlaces(items); err != nil {
		return []string{problem.Message(err)}, nil
	}
	if st.PracticeItems > 0 && len(st.PracticeIDs) == 0 {
		n, err := s.store.PracticeAvailable(ctx, st)
		if err != nil {
			return nil, err
		}
		if n < st.PracticeItems {
			return []string{"Practice: the practice set has " + strconv.Itoa(n) + " pictures of this task that are not among a participant's trials, fewer than " +
				strconv.Itoa(st.PracticeItems) + ". Choose another set for the practice pictures, ask for fewer, or pick them in the set browser (picked ones are left out of the trials)."}, nil
		}
	}
	return nil, nil
}

// handleStudyEdit shows a study's form: every setting of a draft, or the
// places, time limit and texts of a running study.
func (s *Server) handleStudyEdit(w http.ResponseWriter, r *http.Request) error {
	st, err := s.studyParam(r)
	if err != nil {
		return err
	}
	if !st.Status.Editable() {
		return problem.Errorf(problem.ECONFLICT, "A %s study cannot be edited. Duplicate it to start a new one from its settings.", st.Status)
	}
	v, err := s.formOf(r.Context(), st)
	if err != nil {
		return err
	}
	if _, err := s.checkItems(r.Context(), st, &v); err != nil {
		return err
	}
	return s.renderStudyForm(w, r, http.StatusOK, v)
}

// runningEdit applies the fields a running study may change (study.RunningFields)
// from the form to cur; the rest of the form is disabled and not sent.
func runningEdit(cur study.Study, v web.StudyFormView) (study.Study, []string) {
	var errs []string
	next := cur
	positive := func(s, what string) int {
		n, err := strconv.Atoi(s)
		if err != nil || n <= 0 {
			errs = append(errs, what+" must be a whole number above zero.")
		}
		return n
	}
	next.Places = positive(v.Places, "Places")
	next.TimeLimitMinutes = positive(v.Minutes, "The time limit")
	next.ConsentText, next.InstructionsText = strings.TrimSpace(v.Consent), strings.TrimSpace(v.Instructions)
	if next.ConsentText == "" {
		errs = append(errs, "Write the consent text.")
	}
	if next.InstructionsText == "" {
		errs = append(errs, "Write the instructions.")
	}
	return next, errs
}

// handleStudySave saves a study's form. A save from a form older than the
// study is refused, naming what changed, and the form comes back with the
// study as it is now.
func (s *Server) handleStudySave(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	cur, err := s.studyParam(r)
	if err != nil {
		return err
	}
	v := readStudyForm(r)
	v.Action = studyURL(cur.ID)
	version, verr := strconv.Atoi(v.Version)
	var st study.Study
	var errs []string
	switch {
	case verr != nil || version < 1 || version > math.MaxInt32:
		errs = append(errs, "The form does not say which version of the study it was loaded from; open the study's form again.")
	case cur.Status == study.Draft:
		st, errs, err = s.parseStudyForm(ctx, v)
		if err != nil {
			return err
		}
		// Settings the form does not show stay as stored.
		st.ID, st.Status, st.OwnerID = cur.ID, cur.Status, cur.OwnerID
	case cur.Status.Editable():
		st, errs = runningEdit(cur, v)
	default:
		return problem.Errorf(problem.ECONFLICT, "A %s study cannot be edited.", cur.Status)
	}
	if len(errs) == 0 {
		if errs, err = s.checkItems(ctx, st, &v); err != nil {
			return err
		}
	}
	var sent *prolific.Study // what Prolific said after taking this edit's places or time limit
	if len(errs) == 0 && version == cur.Version {
		// Prolific first: when it refuses, nothing changes anywhere.
		if sent, err = s.sendEditToProlific(ctx, cur, st); problem.Code(err) == problem.ECONFLICT {
			errs, err = append(errs, problem.Message(err)), nil
		} else if err != nil {
			return err
		}
	}
	if len(errs) == 0 {
		_, err = s.store.EditStudy(ctx, postgres.StudyEdit{Study: st, Version: version, Actor: adminSession(r).Admin.Email})
		var already string
		if err != nil && sent != nil {
			// Rare: the study changed between the check above and the save.
			already = fmt.Sprintf("Prolific had already taken the change: it now offers %d places and %d minutes.",
				sent.TotalAvailablePlaces, sent.MaximumAllowedTime)
		}
		if postgres.IsStale(err) {
			// Show the study as it is now, with what changed.
			now, lerr := s.store.StudyByID(ctx, cur.ID)
			if lerr != nil {
				return lerr
			}
			if v, lerr = s.formOf(ctx, now); lerr != nil {
				return lerr
			}
			v.Errors = slices.DeleteFunc([]string{problem.Message(err), already}, func(s string) bool { return s == "" })
			return s.renderStudyForm(w, r, http.StatusConflict, v)
		} else if code := problem.Code(err); code == problem.ECONFLICT || code == problem.EINVALID {
			errs = slices.DeleteFunc(append(errs, problem.Message(err), already), func(s string) bool { return s == "" })
		} else if err != nil {
			return err
		}
	}
	if len(errs) > 0 {
		v.Errors = errs
		v.Running, v.Status = cur.Status != study.Draft, string(cur.Status)
		if v.Running {
			// The disabled fields were not sent: show them as stored.
			stored, err := s.formOf(ctx, cur)
			if err != nil {
				return err
			}
			stored.Places, stored.Minutes, stored.Consent, stored.Instructions = v.Places, v.Minutes, v.Consent, v.Instructions
			stored.Version, stored.Errors = v.Version, v.Errors
			v = stored
		}
		return s.renderStudyForm(w, r, http.StatusUnprocessableEntity, v)
	}
	return redirect(w, r, studyURL(cur.ID))
}
