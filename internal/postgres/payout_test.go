package postgres_test

import (
	"context"
	"encoding/csv"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/google/uuid"

	"github.com/cubelab/cubelab/internal/postgres"
	"github.com/cubelab/cubelab/internal/postgres/pgtest"
	"github.com/cubelab/cubelab/internal/problem"
	"github.com/cubelab/cubelab/internal/study"
)

// Exports running at once never put one participant in two batches, and a
// later export holds only participants approved since.
func TestBonusBatches(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	_, pool := pgtest.New(t)
	store := postgres.NewStore(pool)
	st := poolStudy(t, store, 40, 4, 1)
	ps := joinAll(t, store, st, 0, 10)
	for _, p := range ps {
		answerN(t, store, p, p.NTrials)
	}
	approve := func(ps []study.Participant) {
		for _, p := range ps {
			if err := store.ActOnParticipant(ctx, st.ID, p.ID, postgres.Approve, ""); err != nil {
				t.Fatal(err)
			}
		}
	}
	if _, err := store.CreateBonusBatch(ctx, st.ID); problem.Code(err) != problem.ECONFLICT {
		t.Errorf("export with nobody approved: %v, want ECONFLICT", err)
	}
	approve(ps[:6])

	var wg sync.WaitGroup
	numbers := make(chan int, 8)
	for range 8 {
		wg.Go(func() {
			n, err := store.CreateBonusBatch(ctx, st.ID)
			if err == nil {
				numbers <- n
			} else if problem.Code(err) != problem.ECONFLICT {
				t.Errorf("concurrent export: %v", err)
			}
		})
	}
	wg.Wait()
	close(numbers)
	var made []int
	for n := range numbers {
		made = append(made, n)
	}
	if len(made) != 1 || made[0] != 1 {
		t.Fatalf("8 concurrent exports made batches %v, want exactly [1]", made)
	}
	lines, err := store.BonusLines(ctx, st.ID, 1)
	if err != nil || len(lines) != 6 {
		t.Fatalf("batch 1: %d lines, %v; want 6", len(lines), err)
	}
	for _, l := range lines {
		if l.AmountMinor != 20 { // 4 correct x 5
			t.Errorf("line %+v, want 20", l)
		}
	}

	approve(ps[6:8])
	n, err := store.CreateBonusBatch(ctx, st.ID)
	if err != nil || n != 2 {
		t.Fatalf("second export: %d, %v", n, err)
	}
	lines2, _ := store.BonusLines(ctx, st.ID, 2)
	if len(lines2) != 2 || lines2[0].PID == lines[0].PID {
		t.Errorf("batch 2: %+v, want the two newly approved only", lines2)
	}
	if err := store.MarkBatchPaid(ctx, st.ID, 2); err != nil {
		t.Fatal(err)
	}
	bs, _ := store.BonusBatches(ctx, st.ID)
	if len(bs) != 2 || bs[0].Number != 2 || bs[0].PaidAt == nil || bs[1].PaidAt != nil || bs[0].People != 2 || bs[0].AmountMinor != 40 {
		t.Errorf("batches: %+v", bs)
	}
	if err := store.MarkBatchPaid(ctx, st.ID, 9); problem.Code(err) != problem.ENOTFOUND {
		t.Errorf("mark a missing batch: %v", err)
	}

	var people strings.Builder
	if err := store.WriteParticipantsCSV(ctx, []uuid.UUID{st.ID}, nil, &people); err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(strings.NewReader(people.String())).ReadAll()
	if err != nil || len(recs) != 11 || !slices.Equal(recs[0], postgres.ParticipantsHeader()) {
		t.Fatalf("participants CSV (%v):\n%s", err, people.String())
	}
	col := map[string]int{}
	for i, h := range recs[0] {
		col[h] = i
	}
	paid := 0
	for _, r := range recs[1:] {
		if r[col["status"]] == "approved" && r[col["bonus_batch"]] == "2" {
			paid++
			got := []string{r[col["currency"]], r[col["base_pay"]], r[col["bonus"]], r[col["total"]], r[col["bonus_paid"]],
				r[col["n_counted"]], r[col["n_correct"]], r[col["accuracy"]], r[col["excluded"]], r[col["exclusion_rule"]]}
			if want := []string{"GBP", "1.00", "0.20", "1.20", "true", "4", "4", "1.000000", "false", "none"}; !slices.Equal(got, want) {
				t.Errorf("paid approved row %v, want %v", got, want)
			}
		}
	}
	if paid != 2 {
		t.Errorf("participants CSV has %d paid rows of batch 2, want 2:\n%s", paid, people.String())
	}

	var answers strings.Builder
	if err := store.WriteAnswersCSV(ctx, st.ID, &answers); err != nil {
		t.Fatal(err)
	}
	got := strings.Split(strings.TrimSpace(answers.String()), "\n")
	if len(got) != 1+40 {
		t.Errorf("answers CSV has %d lines, want a header and 40 answers", len(got))
	}
	if got[0] != strings.Join(postgres.AnswersHeader(), ",") ||
		strings.Count(answers.String(), ",tower,") != 40 || strings.Count(answers.String(), ",true,,") != 40 {
		t.Errorf("answers CSV:\n%s", strings.Join(got[:3], "\n"))
	}
}
