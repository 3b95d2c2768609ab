package server

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/cubelab/cubelab/internal/postgres"
	"github.com/cubelab/cubelab/internal/study"
	"github.com/cubelab/cubelab/web"
)

// monitorPageSize is the participant table's page.
const monitorPageSize = 50

// maxPage bounds a page number from a URL: page x size must stay an OFFSET
// PostgreSQL takes.
const maxPage = 1_000_000

// monitorFilter reads the table's filter, sort and page from the query,
// falling back to defaults for anything it does not know.
func monitorFilter(q url.Values) web.MonitorFilter {
	f := web.MonitorFilter{Status: q.Get("status"), PID: q.Get("pid"), Sort: q.Get("sort"), Desc: q.Get("desc") == "1"}
	switch study.ParticipantStatus(f.Status) {
	case study.Started, study.Completed, study.Approved, study.Returned, study.TimedOut, study.Rejected:
	default:
		f.Status = ""
	}
	if f.Checks = q.Get("checks"); !postgres.ValidFilter("checks", f.Checks) {
		f.Checks = ""
	}
	if f.Flags = q.Get("flags"); !postgres.ValidFilter("flags", f.Flags) {
		f.Flags = ""
	}
	if r := []rune(f.PID); len(r) > 24 {
		f.PID = string(r[:24])
	}
	if !postgres.ValidSort(f.Sort) {
		f.Sort, f.Desc = "started", true
	}
	f.Page, _ = strconv.Atoi(q.Get("page"))
	f.Page = min(max(f.Page, 1), maxPage) // past the end shows an empty page, never a negative OFFSET
	return f
}

func filterQuery(f web.MonitorFilter) url.Values {
	q := url.Values{}
	if f.Status != "" {
		q.Set("status", f.Status)
	}
	if f.PID != "" {
		q.Set("pid", f.PID)
	}
	if f.Checks != "" {
		q.Set("checks", f.Checks)
	}
	if f.Flags != "" {
		q.Set("flags", f.Flags)
	}
	q.Set("sort", f.Sort)
	if f.Desc {
		q.Set("desc", "1")
	}
	if f.Page > 1 {
		q.Set("page", strconv.Itoa(f.Page))
	}
	return q
}

// duration writes a duration as minutes and seconds.
func duration(d time.Duration) string {
	d = d.Round(time.Second)
	return fmt.Sprintf("%d:%02d", int(d.Minutes()), int(d.Seconds())%60)
}

// hourlyRate is the pay per hour that base pay for a task of duration d
// implies, in minor units: how Prolific judges the minimum pay.
func hourlyRate(baseMinor int64, d time.Duration) int64 {
	if d <= 0 {
		return 0
	}
	return int64(float64(baseMinor)*float64(time.Hour)/float64(d) + 0.5)
}

// monitorView builds the self-refreshing part of a study page.
func (s *Server) monitorView(r *http.Request, st study.Study, f web.MonitorFilter) (web.MonitorView, error) {
	ctx := r.Context()
	base := studyURL(st.ID)
	mq := monitorQuery(f)
	mq.Offset, mq.Limit = (f.Page-1)*monitorPageSize, monitorPageSize
	rows, total, err := s.store.Participants(ctx, st.ID, mq)
	if err != nil {
		return web.MonitorView{}, err
	}
	tot, err := s.store.StudyTotals(ctx, st)
	if err != nil {
		return web.MonitorView{}, err
	}
	money := func(m int64) string { return study.FormatMoney(m, st.Pay.Currency) }
	// A median that rounds to 0:00 is shown as such: bot-speed completions
	// must not hide behind a dash.
	median, rate := "–", "–"
	if tot.Completed > 0 {
		median = duration(tot.MedianDuration)
	}
	if tot.MedianDuration > 0 {
		rate = money(hourlyRate(st.Pay.BaseMinor, tot.MedianDuration)) + "/h"
	}
	v := web.MonitorView{
		Base: base, CSRF: adminSession(r).CSRFToken, Query: filterQuery(f).Encode(), Total: total,
		Updated: s.now().UTC().Format("15:04:05 UTC"),
		Totals: []web.Setting{
			// Awaiting review and approved apart: "completed" used to count both.
			{Name: "Awaiting review", Value: strconv.Itoa(tot.AwaitingReview)},
			{Name: "Approved", Value: strconv.Itoa(tot.Approved)},
			{Name: "Started", Value: strconv.Itoa(tot.Started)},
			{Name: "Returned", Value: strconv.Itoa(tot.Returned)},
			{Name: "Timed out", Value: strconv.Itoa(tot.TimedOut)},
			{Name: "Rejected", Value: strconv.Itoa(tot.Rejected)},
			{Name: "Median duration", Value: median},
			{Name: "Hourly rate at the median", Value: rate},
			{Name: "Money committed", Value: money(tot.CommittedMinor)},
		},
	}
	if _, linked, err := s.store.ProlificLinkOf(ctx, st.ID); err != nil {
		return v, err
	} else if linked {
		v.Prolific, v.Categories = true, rejectionCategories()
	}
	var poolFree, poolWorking int
	if st.Design == study.Pool && st.Status != study.Draft {
		pc, err := s.store.PoolState(ctx, st)
		if err != nil {
			return v, err
		}
		poolFree, poolWorking = pc.Free, pc.Working
		// Every slot is one of: free (an answer still needed), held by
		// someone still working, or done (answered by someone who finished).
		v.Slots = []web.Setting{
			{Name: "Answers still needed", Value: strconv.Itoa(pc.Free)},
			{Name: "Held by people working", Value: strconv.Itoa(pc.Working)},
			{Name: "Done", Value: strconv.Itoa(pc.Answered)},
			{Name: "Slots (items × R)", Value: strconv.Itoa(pc.Items) + " × " + strconv.Itoa(st.FirstResponses()) + " = " + strconv.Itoa(pc.Slots)},
		}
		if st.Adaptive() {
			v.Slots[3] = web.Setting{Name: "Slots (the budget of answers)", Value: strconv.Itoa(pc.Slots) + " (" + strconv.Itoa(pc.Items) +
				" items × R " + strconv.Itoa(st.FirstResponses()) + " first, then up to R_max " + strconv.Itoa(st.MaxResponsesPerItem) + ")"}
		}
		v.Pool = []web.Setting{}
		for n, items := range pc.ByAnswers {
			name := "Items with " + strconv.Itoa(n) + " answers"
			if n == 1 {
				name = "Items with 1 answer"
			}
			v.Pool = append(v.Pool, web.Setting{Name: name, Value: strconv.Itoa(items)})
		}
	}
	if st.Status != study.Draft {
		taken, err := s.store.PlacesTaken(ctx, st.ID)
		if err != nil {
			return v, err
		}
		v.Availability = availability(st, v.Slots != nil, poolFree, poolWorking, taken, tot.Started)
	}
	for _, p := range rows {
		row := web.ParticipantRow{
			ID: p.ID.String(), PID: p.PID, Status: statusLabel(p.Status), StatusClass: "st-" + string(p.Status),
			Reason: p.StatusReason, Progress: strconv.Itoa(p.NAnswered) + "/" + strconv.Itoa(p.NTrials),
			Practice: practiceText(p.NPracticeAnswered, p.NPractice, p.PracticeCorrect),
			Started:  rowTime(p.StartedAt), Finished: "–", Duration: duration(p.Duration), Accuracy: "–", Bonus: "–",
			CheckFailures:  p.CheckFailures,
			CheckKinds:     checkKinds(p.InstructedFailures),
			Flagged:        flaggedShare(p.NFlagged, p.NAnswered),
			LongestRun:     p.LongestRun,
			CanReturn:      p.Status.Allows(study.MarkReturned),
			CanReject:      p.Status.Allows(study.Reject),
			CanApprove:     p.Status.Allows(study.Approve),
			ProlificStatus: p.ProlificStatus, Unverified: p.ProlificVerified == "unverified",
			FlaggedAny: p.NFlagged > 0,
			Device:     deviceText(p.Device) + "; Yes " + string(p.YesSide),
			UserAgent:  p.Device.UserAgent,
		}
		if p.Status.Allows(study.Approve) {
			facts := study.ParticipantFacts{FailedChecks: p.CheckFailures, FailedInstructed: p.InstructedFailures, Flagged: p.NFlagged}
			row.Look = strings.Join(facts.LookReasons(), "; ")
		}
		if p.Counted > 0 {
			row.Accuracy = strconv.Itoa((200*p.NCorrect+p.Counted)/(2*p.Counted)) + "% (" + strconv.Itoa(p.NCorrect) + "/" + strconv.Itoa(p.Counted) + ")"
		}
		if p.BonusMinor != nil {
			row.Bonus = money(*p.BonusMinor)
		}
		if p.CompletedAt != nil {
			row.Finished = rowTime(*p.CompletedAt)
		}
		if p.InBatch > 0 {
			row.Batch = "bonus batch " + strconv.Itoa(p.InBatch)
		}
		v.Rows = append(v.Rows, row)
	}
	if total > 0 {
		v.From = (f.Page-1)*monitorPageSize + 1
		v.To = v.From + len(rows) - 1
	}
	page := func(n int) string {
		g := f
		g.Page = n
		return base + "?" + filterQuery(g).Encode()
	}
	if f.Page > 1 {
		v.PrevURL = page(f.Page - 1)
	}
	if f.Page*monitorPageSize < total {
		v.NextURL = page(f.Page + 1)
	}
	for _, c := range []struct{ label, key string }{
		{"Prolific id", "pid"}, {"Status", "status"}, {"Progress", "progress"}, {"Started (UTC)", "started"},
		{"Finished (UTC)", "finished"}, {"Duration", "duration"}, {"Accuracy", "correct"}, {"Checks failed", "checks"},
		{"Flagged", "flagged"}, {"Longest run", ""}, {"Device", ""}, {"Bonus", "bonus"}, {"Actions", ""},
	} {
		l := web.SortLink{Label: c.label}
		if c.key != "" {
			g := f
			g.Page, g.Sort, g.Desc = 1, c.key, false
			if f.Sort == c.key {
				g.Desc = !f.Desc
				l.Sort = "ascending"
				if f.Desc {
					l.Sort = "descending"
				}
			}
			l.URL = base + "?" + filterQuery(g).Encode()
		}
		v.SortLinks = append(v.SortLinks, l)
	}
	return v, nil
}

// availability says why a study takes nobody now, and whether waiting could
// change that: places or pool slots held by people still working come back
// when they return or time out. "" when the study has room.
func availability(st study.Study, pool bool, free, working, taken, started int) string {
	limit := "the time limit is " + strconv.Itoa(st.TimeLimitMinutes) + " min"
	switch {
	case pool && free == 0 && working == 0:
		return "Every slot of the pool is answered: the study needs nobody more."
	case pool && free == 0:
		return "No slots are free: the " + strconv.Itoa(working) + " answers still needed are held by people still working. " +
			"Waiting could free slots: they come back if those people return or time out (" + limit + ")."
	case taken >= st.Places && started > 0:
		return "All " + strconv.Itoa(st.Places) + " places are taken. " + strconv.Itoa(started) +
			" people are still working: waiting could free places if they return or time out (" + limit + "); or raise places."
	case taken >= st.Places:
		return "All " + strconv.Itoa(st.Places) + " places are taken by people who finished: waiting frees none. Raise places to admit more."
	}
	return ""
}

// rowTime is a time in a row of the participant table: to the second, in
// UTC (the headings say so), without the year, so that the table with two
// dates keeps to one line a row at 1366 px (TestBrowserMonitorLayout).
func rowTime(t time.Time) string { return t.UTC().Format("Jan 2 15:04:05") }

// flaggedShare writes how many of a participant's answers carry a flag
// (study.Evidence.Flags) and their share, "–" before the first answer.
func flaggedShare(flagged, answered int) string {
	if answered == 0 {
		return "–"
	}
	return strconv.Itoa(flagged) + " (" + strconv.Itoa((200*flagged+answered)/(2*answered)) + "%)"
}

// deviceText is a participant's device in a few words: "phone 390×664 @3x,
// touch"; "–" before the first answer, the browser's name alone without
// the page's script.
func deviceText(d study.Device) string {
	if !d.Scripted {
		if d.UserAgent == "" {
			return "–"
		}
		return "no script"
	}
	s := d.Kind + " " + strconv.Itoa(d.ViewportW) + "×" + strconv.Itoa(d.ViewportH)
	if d.DPR > 0 {
		s += " @" + strconv.FormatFloat(d.DPR, 'f', -1, 32) + "x"
	}
	if d.Pointer != "" {
		s += ", " + d.Pointer
	}
	return s
}

// statusLabel is a participant status in words.
func statusLabel(s study.ParticipantStatus) string {
	if s == study.TimedOut {
		return "timed out"
	}
	return string(s)
}

// handleMonitor is the fragment admin.js fetches every few seconds.
func (s *Server) handleMonitor(w http.ResponseWriter, r *http.Request) error {
	st, err := s.studyParam(r)
	if err != nil {
		return err
	}
	v, err := s.monitorView(r, st, monitorFilter(r.URL.Query()))
	if err != nil {
		return err
	}
	return render(w, r, http.StatusOK, web.Monitor(v))
}

// checkKinds names the failed instructed-response checks, "" for none:
// only those are grounds for a rejection on Prolific (the rest are item
// checks, the count's usual meaning, so they add no words to the table).
func checkKinds(instructed int) string {
	if instructed == 0 {
		return ""
	}
	return strconv.Itoa(instructed) + " " + string(study.CheckInstructed)
}

// practiceText is a participant's practice in a few words, "" without any:
// "practice 3/3, 2 right".
func practiceText(answered, total, correct int) string {
	if total == 0 {
		return ""
	}
	return "practice " + strconv.Itoa(answered) + "/" + strconv.Itoa(total) + ", " + strconv.Itoa(correct) + " right"
}
