package server

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"

	"github.com/go-chi/chi/v5"

	"github.com/cubelab/cubelab/internal/postgres"
	"github.com/cubelab/cubelab/internal/problem"
	"github.com/cubelab/cubelab/internal/prolific"
	"github.com/cubelab/cubelab/internal/study"
)

// payBatch pays a bonus batch through Prolific, exactly once. Holding the
// batch's advisory lock (one process at a time), it moves the batch along
//
//	'' --create bulk bonus, record its id--> created
//	   --record paying (committed)--> paying --pay call, answer 2xx--> paid
//
// Prolific's pay is not idempotent, so the batch is recorded as paying
// before the call and a batch found paying is never paid again: its outcome
// is first read from Prolific (reconcileBatch). A refusal from Prolific
// (4xx, 429) means nothing was paid and the batch goes back to created.
func (s *Server) payBatch(ctx context.Context, st study.Study, number int) error {
	c, err := s.prolificClient()
	if err != nil {
		return err
	}
	link, linked, err := s.store.ProlificLinkOf(ctx, st.ID)
	if err != nil {
		return err
	}
	if !linked {
		return problem.Errorf(problem.ECONFLICT, "Link the study to Prolific to pay through it; or download the batch and mark it paid.")
	}
	b, err := s.store.PayBatchOf(ctx, st.ID, number)
	if err != nil {
		return err
	}
	// The pay call must finish and be recorded even if the browser leaves.
	ctx = context.WithoutCancel(ctx)
	ran, err := s.store.WithTryLock(ctx, "prolific-pay:"+b.ID.String(), func() error {
		b, err := s.store.PayBatchOf(ctx, st.ID, number) // again, under the lock
		if err != nil {
			return err
		}
		if b.PaidAt != nil {
			return problem.Errorf(problem.ECONFLICT, "Batch %d is already paid.", number)
		}
		switch b.State {
		case postgres.BonusPaying:
			return s.reconcileBatch(ctx, c, b)
		case postgres.BonusNotSent:
			bb, err := c.CreateBonus(ctx, link.ProlificStudyID, b.BonusLines())
			if err != nil {
				_ = s.store.RecordBonusError(ctx, b.ID, "Setting up the bonus: "+prolific.Message(err))
				return prolificError(err)
			}
			if ok, err := s.store.RecordBonusCreated(ctx, b.ID, bb.ID); err != nil || !ok {
				if err == nil {
					err = problem.Errorf(problem.ECONFLICT, "Batch %d changed meanwhile; reload the page.", number)
				}
				return err
			}
			b.BonusID = bb.ID
		}
		if ok, err := s.store.MarkBonusPaying(ctx, b.ID); err != nil || !ok {
			if err == nil {
				err = problem.Errorf(problem.ECONFLICT, "Batch %d changed meanwhile; reload the page.", number)
			}
			return err
		}
		err = c.PayBonus(ctx, b.BonusID)
		var ae *prolific.APIError
		switch {
		case err == nil:
			_, err = s.store.MarkBonusPaid(ctx, b.ID)
			return err
		case errors.As(err, &ae) && ae.Status < 500:
			// Prolific answered and refused: nothing was paid.
			_, rerr := s.store.ReleaseBonusPaying(ctx, b.ID, "Prolific refused the payment: "+prolific.Message(err))
			return errors.Join(prolificError(err), rerr)
		}
		_ = s.store.RecordBonusError(ctx, b.ID, "The answer to the payment was lost ("+prolific.Message(err)+"); "+
			"cubelab reads Prolific's bonuses before anything else is done with this batch.")
		return prolificError(err)
	})
	if err != nil {
		return err
	}
	if !ran {
		return problem.Errorf(problem.ECONFLICT, "Batch %d is being paid right now; reload the page in a moment.", number)
	}
	return nil
}

// reconcileBatch settles a batch whose pay call was sent but whose outcome
// was not recorded (a crash, a lost answer), by reading each of its
// submissions' bonuses on Prolific: if any shows the batch's amount the
// batch is paid; if none does a PayGrace after the call (Prolific pays
// asynchronously, within minutes), it was not, and may be paid again; until
// then it waits. The caller holds the batch's lock.
func (s *Server) reconcileBatch(ctx context.Context, c *prolific.Client, b postgres.PayBatch) error {
	readable := 0
	for _, l := range b.Lines {
		if l.SessionID == "" {
			continue
		}
		sub, err := c.Submission(ctx, l.SessionID)
		if err != nil {
			_ = s.store.RecordBonusError(ctx, b.ID, "Reading Prolific's bonuses: "+prolific.Message(err))
			return prolificError(err)
		}
		readable++
		for _, paid := range sub.BonusPayments {
			if int64(math.Round(paid)) == l.AmountMinor {
				_, err := s.store.MarkBonusPaid(ctx, b.ID)
				return err
			}
		}
	}
	switch {
	case readable == 0:
		msg := "None of this batch's participants has a Prolific session id, so cubelab cannot read whether Prolific paid it. Check on Prolific."
		_ = s.store.RecordBonusError(ctx, b.ID, msg)
		return problem.Errorf(problem.ECONFLICT, "%s", msg)
	case b.PaySentAt != nil && s.now().Sub(*b.PaySentAt) > s.pro.cfg.PayGrace:
		_, err := s.store.ReleaseBonusPaying(ctx, b.ID, fmt.Sprintf("Prolific shows none of these bonuses %s after the pay call: "+
			"it was not paid, and may be paid again.", s.pro.cfg.PayGrace))
		return err
	}
	msg := "Waiting for Prolific to show the bonuses (it pays asynchronously); cubelab checks again at every sync."
	_ = s.store.RecordBonusError(ctx, b.ID, msg)
	return nil
}

// reconcilePaying reconciles every batch left paying, each under its lock
// (a batch whose pay call is in flight in another process is skipped: that
// process holds the lock).
func (s *Server) reconcilePaying(ctx context.Context) error {
	batches, err := s.store.PayingBatches(ctx)
	if err != nil || len(batches) == 0 {
		return err
	}
	c, err := s.prolificClient()
	if err != nil {
		return err
	}
	var errs []error
	for _, b := range batches {
		_, err := s.store.WithTryLock(ctx, "prolific-pay:"+b.ID.String(), func() error {
			cur, err := s.store.PayBatchOf(ctx, b.StudyID, b.Number)
			if err != nil || cur.State != postgres.BonusPaying {
				return err
			}
			return s.reconcileBatch(ctx, c, cur)
		})
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// handleBatchPay pays a batch through Prolific and goes back to the ledger.
func (s *Server) handleBatchPay(w http.ResponseWriter, r *http.Request) error {
	st, err := s.studyParam(r)
	if err != nil {
		return err
	}
	n, err := strconv.Atoi(chi.URLParam(r, "number"))
	if err != nil {
		return problem.Errorf(problem.ENOTFOUND, "There is no such bonus batch.")
	}
	if err := s.payBatch(r.Context(), st, n); err != nil {
		return withLink(err, studyURL(st.ID)+"/payouts", "Back to the payouts")
	}
	return redirect(w, r, studyURL(st.ID)+"/payouts")
}
