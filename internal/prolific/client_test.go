package prolific_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cubelab/cubelab/internal/prolific"
	"github.com/cubelab/cubelab/internal/prolific/prolifictest"
	"github.com/cubelab/cubelab/internal/study"
)

// newClient returns a client of the stand-in that records its calls and
// the waits it asked for instead of sleeping.
func newClient(t *testing.T, ps *prolifictest.Server, mod func(*prolific.ClientConfig)) (*prolific.Client, *[]prolific.Call, *[]time.Duration) {
	t.Helper()
	var mu sync.Mutex
	calls, waits := &[]prolific.Call{}, &[]time.Duration{}
	cfg := prolific.ClientConfig{Token: prolifictest.Token, BaseURL: ps.URL, Timeout: 2 * time.Second,
		Log: func(c prolific.Call) { mu.Lock(); *calls = append(*calls, c); mu.Unlock() },
		Sleep: func(ctx context.Context, d time.Duration) error {
			mu.Lock()
			*waits = append(*waits, d)
			mu.Unlock()
			return nil
		}}
	if mod != nil {
		mod(&cfg)
	}
	c, err := prolific.NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c, calls, waits
}

func TestClient(t *testing.T) {
	ps := prolifictest.New()
	defer ps.Close()
	ctx := context.Background()

	t.Run("OK", func(t *testing.T) {
		c, calls, _ := newClient(t, ps, nil)
		st, err := c.CreateStudy(ctx, prolific.StudyDraft{Name: "Towers", Description: "d",
			ExternalStudyURL: prolific.StudyURL("https://lab.example.org/s/towers"), EstimatedCompletionTime: 8,
			Reward: 150, TotalAvailablePlaces: 3,
			CompletionCodes: []prolific.CompletionCode{{Code: "C1", CodeType: prolific.CodeCompleted,
				Actions: []prolific.CodeAction{{Action: prolific.ActionManualReview}}}}})
		if err != nil || st.ID == "" || st.Status != "UNPUBLISHED" {
			t.Fatalf("CreateStudy = %+v, %v", st, err)
		}
		if _, err := c.PublishStudy(ctx, st.ID); err != nil {
			t.Fatal(err)
		}
		if st, err = c.SetPlaces(ctx, st.ID, 5); err != nil || st.TotalAvailablePlaces != 5 || st.Status != "ACTIVE" {
			t.Fatalf("SetPlaces = %+v, %v", st, err)
		}
		for _, call := range *calls {
			if strings.Contains(fmt.Sprint(call), prolifictest.Token) {
				t.Fatalf("a logged call holds the token: %+v", call)
			}
		}
	})

	t.Run("OKSubmissionsPaged", func(t *testing.T) {
		c, _, _ := newClient(t, ps, nil)
		id := ps.AddStudy("paged", 10)
		ps.PageSize = 2
		defer func() { ps.PageSize = 100 }()
		for i := range 5 {
			ps.Start(id, fmt.Sprintf("%024x", i))
		}
		subs, err := c.Submissions(ctx, id)
		if err != nil || len(subs) != 5 || subs[4].PID() != fmt.Sprintf("%024x", 4) || subs[0].Status != prolific.StatusActive {
			t.Fatalf("Submissions = %+v, %v", subs, err)
		}
	})

	t.Run("RetryAfterHonoured", func(t *testing.T) {
		c, calls, waits := newClient(t, ps, nil)
		id := ps.AddStudy("busy", 1)
		ps.Fail("GET /api/v1/studies/", 2, http.StatusTooManyRequests, "7")
		if _, err := c.Study(ctx, id); err != nil {
			t.Fatal(err)
		}
		if len(*waits) != 2 || (*waits)[0] != 7*time.Second || (*waits)[1] != 7*time.Second {
			t.Fatalf("waits %v, want two of 7s", *waits)
		}
		if len(*calls) != 3 || (*calls)[0].Status != 429 || (*calls)[2].Status != 200 {
			t.Fatalf("calls %+v", *calls)
		}
	})

	t.Run("Retry5xxOnReads", func(t *testing.T) {
		c, _, waits := newClient(t, ps, nil)
		id := ps.AddStudy("flaky", 1)
		ps.Fail("GET /api/v1/studies/", 2, http.StatusBadGateway, "")
		if _, err := c.Study(ctx, id); err != nil || len(*waits) != 2 {
			t.Fatalf("err %v waits %v", err, *waits)
		}
	})

	t.Run("ErrGiveUp", func(t *testing.T) {
		c, calls, _ := newClient(t, ps, func(cfg *prolific.ClientConfig) { cfg.Retries = 2 })
		id := ps.AddStudy("down", 1)
		ps.Fail("GET /api/v1/studies/", 3, http.StatusInternalServerError, "")
		_, err := c.Study(ctx, id)
		var ae *prolific.APIError
		if !errors.As(err, &ae) || ae.Status != 500 || !prolific.IsUnreachable(err) || len(*calls) != 3 {
			t.Fatalf("err %v after %d calls", err, len(*calls))
		}
	})

	t.Run("ErrPayNeverRepeatedAfter5xx", func(t *testing.T) {
		c, calls, _ := newClient(t, ps, nil)
		ps.Fail("POST /api/v1/bulk-bonus-payments/", 1, http.StatusInternalServerError, "")
		err := c.PayBonus(ctx, "621014cb8e9e0f81e387021f")
		if err == nil || len(*calls) != 1 {
			t.Fatalf("pay after a 500: err %v, %d calls; want an error after one call", err, len(*calls))
		}
	})

	t.Run("PayRepeatedAfter429", func(t *testing.T) {
		c, calls, _ := newClient(t, ps, nil)
		ps.Fail("POST /api/v1/bulk-bonus-payments/", 1, http.StatusTooManyRequests, "1")
		err := c.PayBonus(ctx, "621014cb8e9e0f81e387021f") // unknown: 404 after the 429
		if !prolific.IsNotFound(err) || len(*calls) != 2 {
			t.Fatalf("err %v, %d calls", err, len(*calls))
		}
	})

	t.Run("ErrLostPayAnswer", func(t *testing.T) {
		c, calls, _ := newClient(t, ps, nil)
		id := ps.AddStudy("bonus", 1)
		pid := prolifictest.NewID()
		ps.Start(id, pid)
		bb, err := c.CreateBonus(ctx, id, []prolific.BonusLine{{PID: pid, AmountMinor: 85}})
		if err != nil || bb.ID == "" || bb.Amount != 85 {
			t.Fatalf("CreateBonus = %+v, %v", bb, err)
		}
		before := ps.Payments()
		ps.LoseNextPayAnswer()
		err = c.PayBonus(ctx, bb.ID)
		var ue *prolific.UnreachableError
		if !errors.As(err, &ue) || len(*calls) != 2 || ps.Payments() != before+1 {
			t.Fatalf("lost answer: err %v, calls %d, payments %d", err, len(*calls), ps.Payments()-before)
		}
	})

	t.Run("ErrSlow", func(t *testing.T) {
		c, _, _ := newClient(t, ps, func(cfg *prolific.ClientConfig) { cfg.Timeout = 50 * time.Millisecond; cfg.Retries = 1 })
		ps.Delay = 300 * time.Millisecond
		defer func() { ps.Delay = 0 }()
		_, err := c.Me(ctx)
		var ue *prolific.UnreachableError
		if !errors.As(err, &ue) || !prolific.IsUnreachable(err) {
			t.Fatalf("slow answer: %v", err)
		}
	})

	t.Run("ErrCarriesProlificsMessage", func(t *testing.T) {
		c, _, _ := newClient(t, ps, nil)
		_, err := c.CreateStudy(ctx, prolific.StudyDraft{Name: "x", ExternalStudyURL: "https://x", EstimatedCompletionTime: 1,
			TotalAvailablePlaces: 1, CompletionCodes: []prolific.CompletionCode{{Code: "A"}}})
		if !strings.Contains(prolific.Message(err), "external_study_url: Must contain {{%PROLIFIC_PID%}}") {
			t.Fatalf("message %q", prolific.Message(err))
		}
	})

	t.Run("ErrBadToken", func(t *testing.T) {
		c, err := prolific.NewClient(prolific.ClientConfig{Token: "wrong", BaseURL: ps.URL})
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.Me(ctx)
		var ae *prolific.APIError
		if !errors.As(err, &ae) || ae.Status != 401 || !strings.Contains(prolific.Message(err), "PROLIFIC_TOKEN") {
			t.Fatalf("bad token: %v", err)
		}
		if _, err := prolific.NewClient(prolific.ClientConfig{}); err == nil {
			t.Fatal("a client without a token")
		}
	})

	t.Run("ErrRejectNeedsReasonAndCategory", func(t *testing.T) {
		c, calls, _ := newClient(t, ps, nil)
		if err := c.Reject(ctx, "x", "too short", "LOW_EFFORT"); err == nil || len(*calls) != 0 {
			t.Fatalf("short reason: %v", err)
		}
		if err := c.Reject(ctx, "x", strings.Repeat("a", 100), "RUDE"); err == nil || len(*calls) != 0 {
			t.Fatalf("bad category: %v", err)
		}
	})
}

func TestSignature(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	body := []byte(`{"resource_id":"a","event_type":"submission.status.change","status":"RETURNED"}`)
	ts := "1800000000"
	sig := prolific.Sign("s3cret", ts, body)
	if !prolific.VerifySignature("s3cret", ts, sig, body, now, 5*time.Minute) {
		t.Fatal("own signature refused")
	}
	for name, ok := range map[string]bool{
		"wrong secret": prolific.VerifySignature("other", ts, sig, body, now, 5*time.Minute),
		"changed body": prolific.VerifySignature("s3cret", ts, sig, append(body, ' '), now, 5*time.Minute),
		"old":          prolific.VerifySignature("s3cret", ts, sig, body, now.Add(time.Hour), 5*time.Minute),
		"no secret":    prolific.VerifySignature("", ts, prolific.Sign("", ts, body), body, now, 5*time.Minute),
		"bad stamp":    prolific.VerifySignature("s3cret", "x", sig, body, now, 5*time.Minute),
	} {
		if ok {
			t.Errorf("%s: accepted", name)
		}
	}
}

// study.FromProlific spells Prolific's statuses itself: they must be these.
func TestStatusesKnownToStudy(t *testing.T) {
	for status, want := range map[string]study.ParticipantStatus{prolific.StatusReturned: study.Returned,
		prolific.StatusTimedOut: study.TimedOut, prolific.StatusRejected: study.Rejected} {
		if got, moved := study.FromProlific(study.Started, status); !moved || got != want {
			t.Errorf("FromProlific(started, %s) = %s, %v", status, got, moved)
		}
	}
	if got, moved := study.FromProlific(study.Completed, prolific.StatusApproved); !moved || got != study.Approved {
		t.Errorf("FromProlific(completed, APPROVED) = %s, %v", got, moved)
	}
}
