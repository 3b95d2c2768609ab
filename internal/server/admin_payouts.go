package server

import (
	"bytes"
	"math"
	"net/http"
	"strconv"
	"strings"

	"github.com/go-chi/chi/v5"
	"github.com/google/uuid"

	"github.com/cubelab/cubelab/internal/postgres"
	"github.com/cubelab/cubelab/internal/problem"
	"github.com/cubelab/cubelab/internal/prolific"
	"github.com/cubelab/cubelab/internal/study"
	"github.com/cubelab/cubelab/web"
)

// batchURL is the download of a study's bonus batch.
func batchURL(st study.Study, n int) string {
	return studyURL(st.ID) + "/payouts/" + strconv.Itoa(n) + "/bonuses.csv"
}

// handlePayouts is the ledger: what the next export would hold, and every
// past batch with its file and whether it was paid.
func (s *Server) handlePayouts(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	st, err := s.studyParam(r)
	if err != nil {
		return err
	}
	waiting, sum, err := s.store.BonusWaiting(ctx, st.ID)
	if err != nil {
		return err
	}
	batches, err := s.store.BonusBatches(ctx, st.ID)
	if err != nil {
		return err
	}
	states, err := s.store.BatchProlificStates(ctx, st.ID)
	if err != nil {
		return err
	}
	_, linked, err := s.store.ProlificLinkOf(ctx, st.ID)
	if err != nil {
		return err
	}
	linked = linked && s.pro.client != nil
	money := func(m int64) string { return study.FormatMoney(m, st.Pay.Currency) }
	undo, err := s.undoView(r, st, "payouts")
	if err != nil {
		return err
	}
	v := web.PayoutsView{
		AdminPage: adminPage(r, "Payouts: "+st.Title, "studies"), Base: studyURL(st.ID), StudyTitle: st.Title,
		Currency: st.Pay.Currency, Waiting: waiting, WaitingSum: money(sum), Undo: undo,
	}
	for _, b := range batches {
		row := web.BatchRow{Number: b.Number, Created: when(b.CreatedAt), People: b.People, Amount: money(b.AmountMinor),
			Download: batchURL(st, b.Number), PayURL: studyURL(st.ID) + "/payouts/" + strconv.Itoa(b.Number) + "/paid"}
		if b.PaidAt != nil {
			row.Paid = when(*b.PaidAt)
		}
		row.Prolific = batchProlific(st, linked, b.Number, b.PaidAt != nil, states[b.Number])
		v.Batches = append(v.Batches, row)
	}
	if n, err := strconv.Atoi(r.URL.Query().Get("new")); err == nil && n > 0 && n <= math.MaxInt32 {
		v.NewBatch, v.NewBatchNum = batchURL(st, n), n
	}
	return render(w, r, http.StatusOK, web.Payouts(v))
}

// handleBonusExport makes the next batch and goes back to the ledger, which
// starts the batch's download.
func (s *Server) handleBonusExport(w http.ResponseWriter, r *http.Request) error {
	st, err := s.studyParam(r)
	if err != nil {
		return err
	}
	n, err := s.store.CreateBonusBatch(r.Context(), st.ID)
	if err != nil {
		return err
	}
	return redirect(w, r, studyURL(st.ID)+"/payouts?new="+strconv.Itoa(n))
}

// batchNumber reads the {number} of a batch route.
func batchNumber(r *http.Request) (int, error) {
	n, err := strconv.Atoi(chi.URLParam(r, "number"))
	if err != nil || n < 1 || n > math.MaxInt32 {
		return 0, problem.Errorf(problem.ENOTFOUND, "There is no such bonus batch.")
	}
	return n, nil
}

// handleBonusBatchCSV downloads a batch as Prolific's bulk bonus lines; the
// same batch downloads the same lines every time.
func (s *Server) handleBonusBatchCSV(w http.ResponseWriter, r *http.Request) error {
	st, err := s.studyParam(r)
	if err != nil {
		return err
	}
	n, err := batchNumber(r)
	if err != nil {
		return err
	}
	lines, err := s.store.BonusLines(r.Context(), st.ID, n)
	if err != nil {
		return err
	}
	// Written to a buffer first: a batch is small, and a half-sent file must
	// not look like a whole one.
	var buf bytes.Buffer
	if err := prolific.WriteBonusLines(&buf, lines); err != nil {
		return err
	}
	download(w, st.Slug+"-bonus-batch-"+strconv.Itoa(n)+".csv")
	_, err = w.Write(buf.Bytes())
	return err
}

// handleBatchPaid records that a batch was paid on Prolific.
func (s *Server) handleBatchPaid(w http.ResponseWriter, r *http.Request) error {
	st, err := s.studyParam(r)
	if err != nil {
		return err
	}
	n, err := batchNumber(r)
	if err != nil {
		return err
	}
	log := postgres.ReviewLog{By: adminSession(r).Admin.ID, At: s.now()}
	if err := s.store.MarkBatchPaidLogged(r.Context(), st.ID, n, log); err != nil {
		return err
	}
	return redirect(w, r, studyURL(st.ID)+"/payouts")
}

// download sets the headers of a CSV file download.
func download(w http.ResponseWriter, name string) {
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="`+name+`"`)
	w.Header().Set("Cache-Control", "no-store")
}

// handlePayCSV streams the participants table: status, times, accuracy,
// attention checks, demographics, pay, and the exclusion rule's verdict (the
// study's rule, or ?exclude= for this download).
func (s *Server) handlePayCSV(w http.ResponseWriter, r *http.Request) error {
	st, err := s.studyParam(r)
	if err != nil {
		return err
	}
	override, err := exclusionOverride(r.URL.Query().Get("exclude"))
	if err != nil {
		return err
	}
	download(w, st.Slug+"-participants.csv")
	return s.streamed(r, s.store.WriteParticipantsCSV(r.Context(), []uuid.UUID{st.ID}, override, w))
}

// exclusionOverride reads an exclusion rule given for one download or page;
// nil (the studies' own rules) when none is given.
func exclusionOverride(text string) (*study.Exclusion, error) {
	if strings.TrimSpace(text) == "" {
		return nil, nil
	}
	rule, err := study.ParseExclusion(text)
	if err != nil {
		return nil, err
	}
	return &rule, nil
}

// handleAnswersCSV streams every answer of the study as a tidy CSV.
func (s *Server) handleAnswersCSV(w http.ResponseWriter, r *http.Request) error {
	st, err := s.studyParam(r)
	if err != nil {
		return err
	}
	download(w, st.Slug+"-answers.csv")
	return s.streamed(r, s.store.WriteAnswersCSV(r.Context(), st.ID, w))
}

// streamed handles an error that happens after a download has started: the
// status is sent, so the error can only be logged, and the file is cut
// short, which the client sees as a failed download.
func (s *Server) streamed(r *http.Request, err error) error {
	if err != nil {
		s.log.ErrorContext(r.Context(), "download failed midway", "path", r.URL.Path, "err", err)
		panic(http.ErrAbortHandler) // aborts the response so the truncated file is not taken as complete
	}
	return nil
}

// handleItemsCSV streams a pool study's answer counts per item.
func (s *Server) handleItemsCSV(w http.ResponseWriter, r *http.Request) error {
	st, err := s.studyParam(r)
	if err != nil {
		return err
	}
	download(w, st.Slug+"-items.csv")
	return s.streamed(r, s.store.WriteItemCountsCSV(r.Context(), st.ID, w))
}
