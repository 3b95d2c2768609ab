package postgres_test

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/cubelab/cubelab/internal/export"
	"github.com/cubelab/cubelab/internal/postgres"
	"github.com/cubelab/cubelab/internal/postgres/pgtest"
	"github.com/cubelab/cubelab/internal/problem"
	"github.com/cubelab/cubelab/internal/study"
	"github.com/cubelab/cubelab/internal/task"
)

// The export benchmark's data: 10,000 towers answered 100 times each, by
// 10,000 participants of one study who saw 100 towers each.
const (
	benchSlug     = "bench-export"
	benchImages   = 10_000
	benchPerImage = 100
	benchImageKB  = 20
)

// seededUUID is a version-4 UUID drawn from r, so that the ids, and with them
// the order of the export, are the same on every load.
func seededUUID(r *rand.Rand) uuid.UUID {
	var u uuid.UUID
	binary.BigEndian.PutUint64(u[:8], r.Uint64())
	binary.BigEndian.PutUint64(u[8:], r.Uint64())
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	return u
}

// copyRows feeds CopyFrom from a generator, so that no table is ever held in
// memory: next fills row and reports false at the end.
func copyRows(ctx context.Context, pool *pgxpool.Pool, table string, cols []string, n int, next func(i int, row []any)) error {
	i := 0
	row := make([]any, len(cols))
	_, err := pool.CopyFrom(ctx, pgx.Identifier{table}, cols, pgx.CopyFromFunc(func() ([]any, error) {
		if i == n {
			return nil, nil
		}
		next(i, row)
		i++
		return row, nil
	}))
	if err != nil {
		return fmt.Errorf("copy %s: %w", table, err)
	}
	return nil
}

// loadExportBench bulk-loads the benchmark's set, study, participants, trials and
// answers with COPY. Images are benchImageKB of random bytes behind a PNG
// signature and the stimulus's index: distinct, incompressible, and quick to make.
func loadExportBench(ctx context.Context, store *postgres.Store) error {
	pool := store.Pool()
	r := rand.New(rand.NewPCG(6, 6))
	var setID uuid.UUID
	if err := pool.QueryRow(ctx, `INSERT INTO stimulus_sets (name, content_hash, has_scenes)
		VALUES ('bench-towers', repeat('0', 64), false) RETURNING id`).Scan(&setID); err != nil {
		return err
	}
	ids := make([]uuid.UUID, benchImages)
	truth := make([]string, benchImages)
	block := make([]byte, benchImageKB<<10)
	for i := range block {
		block[i] = byte(r.Uint32())
	}
	err := copyRows(ctx, pool, "stimuli", []string{"id", "set_id", "ext_id", "domain", "n_blocks", "n_rows", "size",
		"answer", "split", "file", "image"}, benchImages, func(i int, row []any) {
		ids[i] = seededUUID(r)
		truth[i] = []string{task.Yes, task.No}[i%2]
		img := append([]byte(fmt.Sprintf("\x89PNG\r\n\x1a\n%08d", i)), block...)
		ext := fmt.Sprintf("t%05d", i)
		copy(row, []any{ids[i], setID, ext, string(task.Tower), 2 + i%6, 0, 2 + i%6, truth[i], "pool", "images/" + ext + ".png", img})
	})
	if err != nil {
		return err
	}
	st := study.Study{
		Slug: benchSlug, Title: "Export benchmark", Domain: task.Tower, SetID: setID, Design: study.Fixed,
		ResponsesPerItem: 1, Places: benchImages, TimeLimitMinutes: 60, ConsentText: "c", InstructionsText: "i",
		Pay:            study.Pay{BaseMinor: 100, PerCorrectMinor: 1, MaxBonusMinor: 100, Currency: "GBP"},
		CompletionCode: "BENCH", Status: study.Published,
	}
	if err := store.CreateStudy(ctx, &st); err != nil {
		return err
	}
	// Participant k answers position j+1 with stimulus (k + 100 j) mod 10,000:
	// distinct for one participant, and every stimulus gets exactly 100 answers.
	const participants = benchImages
	pids := make([]uuid.UUID, participants)
	for k := range pids {
		pids[k] = seededUUID(r)
	}
	stim := func(k, j int) int { return (k + benchPerImage*j) % benchImages }
	answer := func(k, j int) string {
		a := truth[stim(k, j)]
		// About the paper's human accuracy: 63.5% of answers right.
		if rand.New(rand.NewPCG(uint64(k), uint64(j))).Float64() < 0.365 {
			a = []string{task.No, task.Yes}[stim(k, j)%2]
		}
		return a
	}
	now := time.Now()
	err = copyRows(ctx, pool, "participants", []string{"id", "study_id", "prolific_pid", "status", "seed", "n_trials",
		"n_answered", "n_correct", "completed_at", "bonus_minor"}, participants, func(k int, row []any) {
		correct := 0
		for j := range benchPerImage {
			if answer(k, j) == truth[stim(k, j)] {
				correct++
			}
		}
		copy(row, []any{pids[k], st.ID, fmt.Sprintf("%024x", k), "approved", int64(k), benchPerImage,
			benchPerImage, correct, now, int64(min(correct, 100))})
	})
	if err != nil {
		return err
	}
	n := participants * benchPerImage
	err = copyRows(ctx, pool, "trials", []string{"participant_id", "position", "stimulus_id", "shown_at"}, n,
		func(i int, row []any) {
			k, j := i/benchPerImage, i%benchPerImage
			copy(row, []any{pids[k], j + 1, ids[stim(k, j)], now})
		})
	if err != nil {
		return err
	}
	err = copyRows(ctx, pool, "responses", []string{"participant_id", "position", "answer", "correct", "server_rt_ms", "answered_at"}, n,
		func(i int, row []any) {
			k, j := i/benchPerImage, i%benchPerImage
			a := answer(k, j)
			copy(row, []any{pids[k], j + 1, a, a == truth[stim(k, j)], 900 + i%700, now})
		})
	if err != nil {
		return err
	}
	_, err = pool.Exec(ctx, `ANALYZE`)
	return err
}

// benchStore is a freshly migrated database, or, when CUBELAB_EXPORT_BENCH_DB
// names one, that database, kept afterwards so that the server binary can be
// timed against it; the data is loaded once.
func benchStore(b *testing.B) *postgres.Store {
	ctx := context.Background()
	var pool *pgxpool.Pool
	if dsn := os.Getenv("CUBELAB_EXPORT_BENCH_DB"); dsn != "" {
		if _, err := postgres.Migrate(ctx, dsn); err != nil {
			b.Fatal(err)
		}
		var err error
		if pool, err = postgres.Open(ctx, dsn); err != nil {
			b.Fatal(err)
		}
		b.Cleanup(pool.Close)
	} else {
		_, pool = pgtest.New(b)
	}
	store := postgres.NewStore(pool)
	if _, err := store.StudyBySlug(ctx, benchSlug); problem.Code(err) == problem.ENOTFOUND {
		start := time.Now()
		if err := loadExportBench(ctx, store); err != nil {
			b.Fatalf("load: %v", err)
		}
		b.Logf("loaded %d answers over %d images in %v", benchImages*benchPerImage, benchImages, time.Since(start))
	} else if err != nil {
		b.Fatal(err)
	}
	return store
}

// peakGoSys samples the memory the Go runtime holds from the OS while an
// export runs; stop returns the peak in MB.
func peakGoSys() (stop func() float64) {
	var mu sync.Mutex
	var peak uint64
	done, finished := make(chan struct{}), make(chan struct{})
	sample := func() {
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		mu.Lock()
		peak = max(peak, m.Sys)
		mu.Unlock()
	}
	go func() {
		defer close(finished)
		t := time.NewTicker(50 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				sample()
			}
		}
	}()
	return func() float64 {
		close(done)
		<-finished
		sample()
		mu.Lock()
		defer mu.Unlock()
		return float64(peak) / (1 << 20)
	}
}

// BenchmarkExportFromPostgres exports 1,000,000 answers over 10,000 images from
// PostgreSQL to a ZIP file: the query, the image reads and the writing together.
func BenchmarkExportFromPostgres(b *testing.B) {
	store := benchStore(b)
	cases := []struct {
		format export.Format
		source export.Source
	}{{export.Messages, export.EveryAnswer}, {export.CSV, export.EveryAnswer}, {export.OpenAI, export.Majority}}
	for _, c := range cases {
		b.Run(fmt.Sprintf("%s-%s", c.format, c.source), func(b *testing.B) {
			dir := b.TempDir()
			var sum export.Summary
			var size int64
			stop := peakGoSys()
			for b.Loop() {
				x, err := store.OpenExport(context.Background(), postgres.ExportSelection{Studies: []string{benchSlug}})
				if err != nil {
					b.Fatal(err)
				}
				f, err := os.Create(filepath.Join(dir, "out.zip"))
				if err != nil {
					b.Fatal(err)
				}
				sum, err = export.Write(context.Background(), f, x.Rows(), x.Image, export.Options{
					Source: c.source, Ties: export.CoinTies, Format: c.format, ValidationFraction: 0.1, Seed: 1, TempDir: dir})
				if err != nil {
					b.Fatal(err)
				}
				x.Close()
				if size, err = f.Seek(0, io.SeekEnd); err != nil {
					b.Fatal(err)
				}
				f.Close()
			}
			sysMB := stop()
			if sum.Images != benchImages || sum.Responses != benchImages*benchPerImage {
				b.Fatalf("summary: %d images, %d responses", sum.Images, sum.Responses)
			}
			b.ReportMetric(float64(sum.Responses)*float64(b.N)/b.Elapsed().Seconds(), "answers/s")
			b.ReportMetric(float64(size)/(1<<20), "zipMB")
			b.ReportMetric(sysMB, "peakSysMB")
		})
	}
}
