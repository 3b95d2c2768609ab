package postgres_test

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/cubelab/cubelab/internal/export"
	"github.com/cubelab/cubelab/internal/postgres"
	"github.com/cubelab/cubelab/internal/postgres/pgtest"
	"github.com/cubelab/cubelab/internal/problem"
	"github.com/cubelab/cubelab/internal/prolific"
	"github.com/cubelab/cubelab/internal/study"
	"github.com/cubelab/cubelab/internal/task"
)

// exportItem is a stimulus of the export fixture as the test itself knows it.
type exportItem struct {
	id    uuid.UUID
	ext   string // t01 ... t07
	index int    // 0-based position in pgtest.TowerSet
	size  int
	truth string
}

// exportAnswer is one answer the fixture gave, with who gave it.
type exportAnswer struct {
	item     exportItem
	pid      string
	study    string
	answer   string
	rejected bool
}

// exportFixture is a set of 7 towers (t07 the attention check), study "ea" with
// four participants of which the last is rejected, and study "eb" with one.
type exportFixture struct {
	store   *postgres.Store
	items   map[uuid.UUID]exportItem
	answers []exportAnswer
}

// fixtureAnswer is participant k's answer to item i: wrong when (i+k)%3 == 0.
func fixtureAnswer(it exportItem, k int) string {
	if (it.index+k)%3 == 0 {
		return flip(it.truth)
	}
	return it.truth
}

func newExportFixture(t *testing.T) *exportFixture {
	t.Helper()
	ctx := context.Background()
	_, pool := pgtest.New(t)
	store := postgres.NewStore(pool)
	setID, _, err := store.ImportSet(ctx, pgtest.TowerSet("export-set", 7))
	if err != nil {
		t.Fatal(err)
	}
	f := &exportFixture{store: store, items: map[uuid.UUID]exportItem{}}
	rows, _ := pool.Query(ctx, `SELECT id, ext_id, size, answer FROM stimuli WHERE set_id = $1`, setID)
	for rows.Next() {
		var it exportItem
		if err := rows.Scan(&it.id, &it.ext, &it.size, &it.truth); err != nil {
			t.Fatal(err)
		}
		fmt.Sscanf(it.ext, "t%d", &it.index)
		it.index--
		f.items[it.id] = it
	}
	if err := rows.Err(); err != nil || len(f.items) != 7 {
		t.Fatalf("fixture stimuli: %d, %v", len(f.items), err)
	}
	var check uuid.UUID
	for id, it := range f.items {
		if it.ext == "t07" {
			check = id
		}
	}
	// t07 is in the set but, as the attention check, only ever shown as one.
	if _, err := pool.Exec(ctx, `UPDATE stimuli SET split = 'checks' WHERE id = $1`, check); err != nil {
		t.Fatal(err)
	}

	k := 0
	for _, sc := range []struct {
		slug         string
		participants int
	}{{"ea", 4}, {"eb", 1}} {
		st := study.Study{
			Slug: sc.slug, Title: "Export " + sc.slug, Domain: task.Tower, SetID: setID, Design: study.Fixed,
			Split: "test", ResponsesPerItem: 1, Places: 10, TimeLimitMinutes: 30, AttentionCheckIDs: []uuid.UUID{check},
			ConsentText: "c", InstructionsText: "i",
			Pay:            study.Pay{BaseMinor: 100, PerCorrectMinor: 1, MaxBonusMinor: 10, Currency: "GBP"},
			CompletionCode: "CODE", Status: study.Published,
		}
		if err := store.CreateStudy(ctx, &st); err != nil {
			t.Fatal(err)
		}
		for j := range sc.participants {
			rejected := sc.slug == "ea" && j == sc.participants-1
			f.answers = append(f.answers, f.takePart(t, st, k, rejected)...)
			k++
		}
	}
	return f
}

// takePart joins participant k and answers every trial through the store, as
// the participant pages do; the attention check is answered and recorded too.
func (f *exportFixture) takePart(t *testing.T, st study.Study, k int, rejected bool) []exportAnswer {
	t.Helper()
	ctx := context.Background()
	p, err := f.store.Join(ctx, st, prolific.Params{PID: pid(k)}, int64(k), hashOf(fmt.Sprint("tok", k)))
	if err != nil {
		t.Fatal(err)
	}
	if p.NTrials != 7 {
		t.Fatalf("participant %d has %d trials, want 6 items and the check", k, p.NTrials)
	}
	var out []exportAnswer
	for pos := 1; pos <= p.NTrials; pos++ {
		if _, err := f.store.ShowTrial(ctx, p, pos); err != nil {
			t.Fatal(err)
		}
		var id uuid.UUID
		if err := f.store.Pool().QueryRow(ctx, `SELECT stimulus_id FROM trials WHERE participant_id = $1 AND position = $2`,
			p.ID, pos).Scan(&id); err != nil {
			t.Fatal(err)
		}
		it := f.items[id]
		a := fixtureAnswer(it, k)
		if _, err := f.store.Answer(ctx, p.ID, pos, a, nil); err != nil {
			t.Fatal(err)
		}
		if it.ext != "t07" {
			out = append(out, exportAnswer{item: it, pid: p.PID, study: st.Slug, answer: a, rejected: rejected})
		}
	}
	if rejected {
		// Rejecting is the admin pages' business; the state is what matters here.
		pgtest.SetParticipantStatus(t, f.store.Pool(), study.Rejected, p.ID)
	}
	return out
}

// want is the fixture's answers that an export of these studies must carry,
// in the order the query promises: stimulus UUID, then study, then participant.
func (f *exportFixture) want(studies ...string) []exportAnswer {
	var out []exportAnswer
	for _, a := range f.answers {
		if !a.rejected && slices.Contains(studies, a.study) {
			out = append(out, a)
		}
	}
	slices.SortFunc(out, func(a, b exportAnswer) int {
		return cmpAll(strings.Compare(a.item.id.String(), b.item.id.String()),
			strings.Compare(a.study, b.study), strings.Compare(a.pid, b.pid))
	})
	return out
}

func cmpAll(c ...int) int {
	for _, x := range c {
		if x != 0 {
			return x
		}
	}
	return 0
}

// exportZip runs the whole path: rows from the store into export.Write.
func exportZip(t *testing.T, store *postgres.Store, sel postgres.ExportSelection, opts export.Options) (map[string][]byte, export.Summary) {
	t.Helper()
	ctx := context.Background()
	x, err := store.OpenExport(ctx, sel)
	if err != nil {
		t.Fatalf("OpenExport: %v", err)
	}
	defer x.Close()
	opts.TempDir = t.TempDir()
	var buf bytes.Buffer
	sum, err := export.Write(ctx, &buf, x.Rows(), x.Image, opts)
	if err != nil {
		t.Fatalf("Write: %v", err)
	}
	zr, err := zip.NewReader(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err != nil {
		t.Fatalf("open zip: %v", err)
	}
	files := map[string][]byte{}
	for _, zf := range zr.File {
		rc, err := zf.Open()
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatalf("read %s: %v", zf.Name, err)
		}
		files[zf.Name] = b
	}
	return files, sum
}

func TestExportRows(t *testing.T) {
	t.Parallel()
	f := newExportFixture(t)
	ctx := context.Background()

	t.Run("EveryAnswerCSV", func(t *testing.T) {
		t.Parallel()
		files, sum := exportZip(t, f.store, postgres.ExportSelection{Studies: []string{"ea", "eb"}},
			export.Options{Source: export.EveryAnswer, Format: export.CSV, ValidationFraction: 0.3, Seed: 5})
		recs, err := csv.NewReader(bytes.NewReader(files["data.csv"])).ReadAll()
		if err != nil {
			t.Fatalf("data.csv: %v", err)
		}
		want := f.want("ea", "eb")
		if len(want) != 6*4 {
			t.Fatalf("fixture: %d answers, want 24 (3 kept participants of ea, 1 of eb)", len(want))
		}
		if len(recs) != 1+len(want) {
			t.Fatalf("data.csv has %d rows, want %d answers (no check, no rejected participant)", len(recs)-1, len(want))
		}
		col := map[string]int{}
		for i, h := range recs[0] {
			col[h] = i
		}
		for i, w := range want {
			r := recs[i+1]
			got := []string{r[col["stimulus_id"]], r[col["stimulus_uuid"]], r[col["set"]], r[col["response"]], r[col["participant_id"]], r[col["study"]],
				r[col["ground_truth"]], r[col["size"]], r[col["domain"]], r[col["set_split"]], r[col["image"]]}
			exp := []string{w.item.ext, w.item.id.String(), "export-set", w.answer, w.pid, w.study, w.item.truth, fmt.Sprint(w.item.size),
				"tower", "test", "images/" + w.item.id.String() + ".png"}
			if !slices.Equal(got, exp) {
				t.Errorf("row %d: got %v, want %v", i+1, got, exp)
			}
		}
		// Every image is the stored bytea, byte for byte.
		for id, it := range f.items {
			b, ok := files["images/"+id.String()+".png"]
			if it.ext == "t07" {
				if ok {
					t.Errorf("the attention check's image is in the ZIP")
				}
				continue
			}
			if !bytes.Equal(b, pgtest.PNG(it.index)) {
				t.Errorf("image of %s: %d bytes, differs from the imported PNG", it.ext, len(b))
			}
		}
		if sum.Images != 6 || sum.Responses != 24 || sum.Annotators != 4 || !slices.Equal(sum.Studies, []string{"ea", "eb"}) {
			t.Errorf("summary: %d images, %d responses, %d annotators, studies %v", sum.Images, sum.Responses, sum.Annotators, sum.Studies)
		}
		equal := 0
		for _, w := range want {
			if w.answer == w.item.truth {
				equal++
			}
		}
		card := string(files["README.md"])
		for _, s := range []string{
			"24 human answers to the exported images from 4 distinct annotators; studies: ea, eb.",
			fmt.Sprintf("| every human answer | 24 | %.1f%% (%d of 24) |", 100*float64(equal)/24, equal),
		} {
			if !strings.Contains(card, s) {
				t.Errorf("card lacks %q:\n%s", s, card)
			}
		}
	})

	t.Run("MajorityMessages", func(t *testing.T) {
		t.Parallel()
		files, sum := exportZip(t, f.store, postgres.ExportSelection{Studies: []string{"ea"}},
			export.Options{Source: export.Majority, Ties: export.DropTies, Format: export.Messages})
		// Hand count: in ea the kept participants are k = 0, 1, 2, and k answers
		// item i wrongly when (i+k)%3 == 0, so each item has exactly one wrong
		// answer of three: the majority is always the truth and there is no tie.
		var lines []string
		for _, name := range []string{"train.jsonl", "validation.jsonl"} {
			if b := files[name]; len(b) > 0 {
				lines = append(lines, strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")...)
			}
		}
		if len(lines) != 6 || sum.Examples != 6 || sum.TiesDropped != 0 {
			t.Fatalf("%d lines, %d examples, %d ties dropped; want 6, 6, 0", len(lines), sum.Examples, sum.TiesDropped)
		}
		for _, line := range lines {
			var ex struct {
				Messages []struct {
					Content []map[string]string `json:"content"`
				} `json:"messages"`
			}
			if err := json.Unmarshal([]byte(line), &ex); err != nil {
				t.Fatal(err)
			}
			img := ex.Messages[0].Content[0]["image"]
			id, err := uuid.Parse(strings.TrimSuffix(strings.TrimPrefix(img, "images/"), ".png"))
			if err != nil {
				t.Fatalf("image path %q: %v", img, err)
			}
			if _, ok := files[img]; !ok {
				t.Errorf("%s is referenced but not in the ZIP", img)
			}
			if got, want := ex.Messages[1].Content[0]["text"], f.items[id].truth; got != want {
				t.Errorf("%s: label %s, want the majority %s", f.items[id].ext, got, want)
			}
			if ex.Messages[0].Content[1]["text"] != task.Tower.Prompt() {
				t.Errorf("%s: the prompt is not the tower task's", f.items[id].ext)
			}
		}
		if s := "| exported labels | 6 | 100.0% (6 of 6) | 1.000 |"; !strings.Contains(string(files["README.md"]), s) {
			t.Errorf("card lacks %q", s)
		}
	})

	t.Run("GroundTruthOfSet", func(t *testing.T) {
		t.Parallel()
		// No study is involved: every item of the set, the check included,
		// filtered here to towers of 2 blocks (t01, t04, t07).
		files, sum := exportZip(t, f.store, postgres.ExportSelection{Set: "export-set", Filter: export.Filter{Sizes: []int{2}}},
			export.Options{Source: export.GroundTruth, Format: export.ImageFolder})
		if sum.Images != 3 || sum.Responses != 0 || sum.Annotators != 0 {
			t.Errorf("summary: %d images, %d responses, %d annotators; want 3, 0, 0", sum.Images, sum.Responses, sum.Annotators)
		}
		var got []string
		for _, line := range strings.Split(strings.TrimSpace(string(files["train/metadata.jsonl"])), "\n") {
			var row struct {
				FileName     string `json:"file_name"`
				StimulusID   string `json:"stimulus_id"`
				StimulusUUID string `json:"stimulus_uuid"`
				Set          string `json:"set"`
				Answer       string `json:"answer"`
				GroundTruth  string `json:"ground_truth"`
			}
			if err := json.Unmarshal([]byte(line), &row); err != nil {
				t.Fatal(err)
			}
			it := f.items[uuid.MustParse(row.StimulusUUID)]
			if row.StimulusID != it.ext || row.Set != "export-set" {
				t.Errorf("%s: stimulus_id %q, set %q; want the manifest id and the set", it.ext, row.StimulusID, row.Set)
			}
			if row.Answer != it.truth || row.GroundTruth != it.truth {
				t.Errorf("%s: answer %s, ground truth %s, want %s", it.ext, row.Answer, row.GroundTruth, it.truth)
			}
			if _, ok := files["train/"+row.FileName]; !ok {
				t.Errorf("%s: file_name %s does not resolve", it.ext, row.FileName)
			}
			got = append(got, it.ext)
		}
		slices.Sort(got)
		if !slices.Equal(got, []string{"t01", "t04", "t07"}) {
			t.Errorf("items %v, want t01, t04, t07", got)
		}
	})

	t.Run("Filters", func(t *testing.T) {
		t.Parallel()
		for _, c := range []struct {
			name   string
			filter export.Filter
			want   int
		}{
			{"Sizes", export.Filter{Sizes: []int{3, 4}}, 4 * 4},
			{"Domain", export.Filter{Domains: []task.Domain{task.Pyramid}}, 0},
			{"Split", export.Filter{SetSplits: []string{"test"}}, 6 * 4},
			{"OtherSplit", export.Filter{SetSplits: []string{"train"}}, 0},
		} {
			x, err := f.store.OpenExport(ctx, postgres.ExportSelection{Studies: []string{"ea", "eb"}, Filter: c.filter})
			if err != nil {
				t.Fatal(err)
			}
			n := 0
			for a, err := range x.Rows() {
				if err != nil {
					t.Fatal(err)
				}
				if len(c.filter.Sizes) > 0 && !slices.Contains(c.filter.Sizes, a.Size) {
					t.Errorf("%s: row of size %d", c.name, a.Size)
				}
				n++
			}
			x.Close()
			if n != c.want {
				t.Errorf("%s: %d rows, want %d", c.name, n, c.want)
			}
		}
	})

	t.Run("StopEarly", func(t *testing.T) {
		t.Parallel()
		x, err := f.store.OpenExport(ctx, postgres.ExportSelection{Studies: []string{"ea"}})
		if err != nil {
			t.Fatal(err)
		}
		defer x.Close()
		rows := x.Rows()
		for range 3 {
			for _, err := range rows {
				if err != nil {
					t.Fatal(err)
				}
				break
			}
		}
		// The connections went back to the pool in a usable state.
		if err := f.store.Ping(ctx); err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, err := range rows {
			if err != nil {
				t.Fatal(err)
			}
			n++
		}
		if n != 18 {
			t.Errorf("after stopping early, a full pass gives %d rows, want 18", n)
		}
	})

	t.Run("CheckOnePerImage", func(t *testing.T) {
		t.Parallel()
		for _, c := range []struct {
			sel  postgres.ExportSelection
			fail bool
		}{
			{postgres.ExportSelection{Studies: []string{"ea"}}, true}, // three kept answers per item
			{postgres.ExportSelection{Studies: []string{"eb"}}, false},
			{postgres.ExportSelection{Studies: []string{"ea"}, Filter: export.Filter{Domains: []task.Domain{task.Pyramid}}}, false},
			{postgres.ExportSelection{Set: "export-set"}, false},
		} {
			x, err := f.store.OpenExport(ctx, c.sel)
			if err != nil {
				t.Fatal(err)
			}
			err = x.CheckOnePerImage(ctx)
			x.Close()
			if c.fail != (problem.Code(err) == problem.EINVALID) || !c.fail && err != nil {
				t.Errorf("%+v: %v", c.sel, err)
			}
			if c.fail && !strings.Contains(problem.Message(err), "has 3 answers") {
				t.Errorf("%+v: message %q", c.sel, problem.Message(err))
			}
		}
	})

	t.Run("Choices", func(t *testing.T) {
		t.Parallel()
		c, err := f.store.ExportChoices(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(c.Sizes, []int{2, 3, 4}) || !slices.Equal(c.Splits, []string{"checks", "test"}) {
			t.Errorf("choices %+v, want sizes 2-4 and splits checks, test", c)
		}
	})

	t.Run("Errors", func(t *testing.T) {
		t.Parallel()
		for _, c := range []struct {
			name string
			sel  postgres.ExportSelection
			code string
			in   string
		}{
			{"UnknownStudy", postgres.ExportSelection{Studies: []string{"ea", "nope", "gone"}}, problem.ENOTFOUND, `"nope", "gone"`},
			{"UnknownSet", postgres.ExportSelection{Set: "nope"}, problem.ENOTFOUND, "nope"},
			{"Both", postgres.ExportSelection{Studies: []string{"ea"}, Set: "export-set"}, problem.EINVALID, "not both"},
			{"Neither", postgres.ExportSelection{}, problem.EINVALID, "at least one"},
			{"BadDomain", postgres.ExportSelection{Studies: []string{"ea"}, Filter: export.Filter{Domains: []task.Domain{"cube"}}}, problem.EINVALID, "cube"},
		} {
			_, err := f.store.OpenExport(ctx, c.sel)
			if problem.Code(err) != c.code || !strings.Contains(problem.Message(err), c.in) {
				t.Errorf("%s: got %v, want code %s mentioning %s", c.name, err, c.code, c.in)
			}
		}
	})
}

// TestExportImage asks for images in the export's order with gaps (as when
// images are left out), then out of order and unknown ones, which the stream
// cannot serve and a query of their own must.
func TestExportImage(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	_, pool := pgtest.New(t)
	store := postgres.NewStore(pool)
	if _, _, err := store.ImportSet(ctx, pgtest.TowerSet("images", 9)); err != nil {
		t.Fatal(err)
	}
	byID := map[string]int{}
	var ids []string
	rows, _ := pool.Query(ctx, `SELECT id::text, ext_id FROM stimuli ORDER BY id`)
	for rows.Next() {
		var id, ext string
		if err := rows.Scan(&id, &ext); err != nil {
			t.Fatal(err)
		}
		var i int
		fmt.Sscanf(ext, "t%d", &i)
		byID[id] = i - 1
		ids = append(ids, id)
	}
	x, err := store.OpenExport(ctx, postgres.ExportSelection{Set: "images"})
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	check := func(id string) {
		t.Helper()
		rc, err := x.Image(ctx, id, "")
		if err != nil {
			t.Fatalf("image %s: %v", id, err)
		}
		b, _ := io.ReadAll(rc)
		rc.Close()
		if !bytes.Equal(b, pgtest.PNG(byID[id])) {
			t.Errorf("image %s: %d bytes, not the stored PNG of t%02d", id, len(b), byID[id]+1)
		}
	}
	// An image still open when the next is asked for keeps its bytes.
	held, err := x.Image(ctx, ids[0], "")
	if err != nil {
		t.Fatal(err)
	}
	check(ids[1])
	if b, _ := io.ReadAll(held); !bytes.Equal(b, pgtest.PNG(byID[ids[0]])) {
		t.Errorf("an unclosed image changed under its reader")
	}
	held.Close()
	for i := 3; i < len(ids); i += 2 {
		check(ids[i])
	}
	check(ids[0])          // behind the stream
	check(ids[len(ids)-1]) // after the stream ended
	if _, err := x.Image(ctx, uuid.NewString(), "x.png"); err == nil || !strings.Contains(err.Error(), "no stimulus") {
		t.Errorf("missing stimulus: %v", err)
	}
	if _, err := x.Image(ctx, "t01", "x.png"); err == nil {
		t.Errorf("an id that is not a UUID opened")
	}
}

// Only finished participants' answers are exported, as analyses count them:
// a participant still at work and one who returned midway leave no row.
func TestExportOnlyFinished(t *testing.T) {
	t.Parallel()
	f := newExportFixture(t)
	ctx := context.Background()
	st, err := f.store.StudyBySlug(ctx, "eb")
	if err != nil {
		t.Fatal(err)
	}
	for k, n := range map[int]int{20: 2, 21: 3} {
		p, err := f.store.Join(ctx, st, prolific.Params{PID: pid(k)}, int64(k), hashOf(fmt.Sprint("tok", k)))
		if err != nil {
			t.Fatal(err)
		}
		for pos := 1; pos <= n; pos++ {
			if _, err := f.store.ShowTrial(ctx, p, pos); err != nil {
				t.Fatal(err)
			}
			if _, err := f.store.Answer(ctx, p.ID, pos, task.Yes, nil); err != nil {
				t.Fatal(err)
			}
		}
		if k == 21 {
			if err := f.store.ActOnParticipant(ctx, st.ID, p.ID, postgres.MarkReturned, ""); err != nil {
				t.Fatal(err)
			}
		}
	}
	files, _ := exportZip(t, f.store, postgres.ExportSelection{Studies: []string{"eb"}},
		export.Options{Source: export.EveryAnswer, Format: export.CSV, ValidationFraction: 0.3, Seed: 5})
	recs, err := csv.NewReader(bytes.NewReader(files["data.csv"])).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if want := f.want("eb"); len(recs) != 1+len(want) {
		t.Fatalf("data.csv has %d rows, want the %d answers of eb's one finisher", len(recs)-1, len(want))
	}
	for _, r := range recs[1:] {
		if slices.Contains(r, pid(20)) || slices.Contains(r, pid(21)) {
			t.Errorf("an unfinished participant's answer was exported: %v", r)
		}
	}
}

// The answers CSV, the participants CSV and the export's data.csv share one id
// vocabulary: joined on (participant_id, stimulus_id) no exported row is lost,
// every counted answer of the studies is exported, and the times agree.
func TestDownloadsJoin(t *testing.T) {
	t.Parallel()
	f := newExportFixture(t)
	ctx := context.Background()
	table := func(text string) (header map[string]int, rows [][]string) {
		t.Helper()
		recs, err := csv.NewReader(strings.NewReader(text)).ReadAll()
		if err != nil || len(recs) == 0 {
			t.Fatalf("csv (%v):\n%s", err, text)
		}
		header = map[string]int{}
		for i, h := range recs[0] {
			header[h] = i
		}
		return header, recs[1:]
	}
	files, _ := exportZip(t, f.store, postgres.ExportSelection{Studies: []string{"ea", "eb"}},
		export.Options{Source: export.EveryAnswer, Format: export.CSV, Seed: 1})
	xh, xrows := table(string(files["data.csv"]))

	type key struct{ pid, stim string }
	answers := map[key][]string{}
	var ah map[string]int
	people := map[string][]string{}
	var ph map[string]int
	for _, slug := range []string{"ea", "eb"} {
		st, err := f.store.StudyBySlug(ctx, slug)
		if err != nil {
			t.Fatal(err)
		}
		var a, p strings.Builder
		if err := f.store.WriteAnswersCSV(ctx, st.ID, &a); err != nil {
			t.Fatal(err)
		}
		if err := f.store.WriteParticipantsCSV(ctx, []uuid.UUID{st.ID}, nil, &p); err != nil {
			t.Fatal(err)
		}
		var rows [][]string
		ah, rows = table(a.String())
		for _, r := range rows {
			k := key{r[ah["participant_id"]], r[ah["stimulus_id"]]}
			if answers[k] != nil {
				t.Fatalf("answers CSV: %v twice", k)
			}
			answers[k] = r
		}
		ph, rows = table(p.String())
		for _, r := range rows {
			people[r[ph["participant_id"]]] = r
		}
	}
	if len(xrows) != 24 {
		t.Fatalf("data.csv: %d rows, want 24", len(xrows))
	}
	joined := 0
	for _, x := range xrows {
		k := key{x[xh["participant_id"]], x[xh["stimulus_id"]]}
		a, ok := answers[k]
		if !ok {
			t.Errorf("export row %v has no answer", k)
			continue
		}
		p, ok := people[k.pid]
		if !ok {
			t.Errorf("export row %v has no participant", k)
			continue
		}
		joined++
		for _, c := range []string{"study", "set", "stimulus_uuid", "browser_rt_ms", "server_rt_ms", "shown_at", "answered_at"} {
			if x[xh[c]] != a[ah[c]] {
				t.Errorf("%v: %s is %q in the export and %q in the answers CSV", k, c, x[xh[c]], a[ah[c]])
			}
		}
		if x[xh["response"]] != a[ah["answer"]] || x[xh["ground_truth"]] != a[ah["correct_answer"]] {
			t.Errorf("%v: export %s/%s, answers %s/%s", k, x[xh["response"]], x[xh["ground_truth"]], a[ah["answer"]], a[ah["correct_answer"]])
		}
		if p[ph["study"]] != x[xh["study"]] || p[ph["excluded"]] != "false" {
			t.Errorf("%v: participant row %v", k, p)
		}
		if x[xh["answered_at"]] == "" || x[xh["server_rt_ms"]] == "" {
			t.Errorf("%v: export row without times: %v", k, x)
		}
	}
	// The other way round: every answer of a counted participant to a counted
	// item is in the export.
	counted := 0
	for _, a := range answers {
		p := people[a[ah["participant_id"]]]
		if a[ah["attention_check"]] == "false" && (p[ph["status"]] == "completed" || p[ph["status"]] == "approved") {
			counted++
		}
	}
	if joined != 24 || counted != 24 {
		t.Errorf("joined %d of 24 export rows; %d counted answers in the answers CSVs, want 24", joined, counted)
	}
}

// An export applies the exclusion rule (the override here; each study's own
// otherwise) and puts it and the people it left out on the card; the
// participants CSV gives the same verdict.
func TestExportExclusion(t *testing.T) {
	t.Parallel()
	f := newExportFixture(t)
	ctx := context.Background()
	// Participant 0 of "ea" answers the check t07 wrongly: (6+0)%3 == 0.
	rule, err := study.ParseExclusion("checks>=1")
	if err != nil {
		t.Fatal(err)
	}
	x, err := f.store.OpenExport(ctx, postgres.ExportSelection{Studies: []string{"ea", "eb"}, Exclude: &rule})
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	text, excluded := x.Exclusion()
	if len(excluded) != 1 || excluded[0].ParticipantID != pid(0) || excluded[0].Study != "ea" || !strings.Contains(text, "checks>=1") {
		t.Fatalf("excluded %+v, rule %q", excluded, text)
	}
	files, sum := exportZip(t, f.store, postgres.ExportSelection{Studies: []string{"ea", "eb"}, Exclude: &rule},
		export.Options{Source: export.EveryAnswer, Format: export.CSV, Exclusion: text, Excluded: excluded})
	if sum.Responses != 18 || strings.Contains(string(files["data.csv"]), pid(0)) {
		t.Errorf("%d responses, want 24 less participant 0's 6", sum.Responses)
	}
	if card := string(files["README.md"]); !strings.Contains(card, "| "+pid(0)+" | ea | failed 1 attention check(s)") {
		t.Errorf("card:\n%s", card)
	}
	st, _ := f.store.StudyBySlug(ctx, "ea")
	var p strings.Builder
	if err := f.store.WriteParticipantsCSV(ctx, []uuid.UUID{st.ID}, &rule, &p); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(p.String(), pid(0)+",ea,") || strings.Count(p.String(), ",true,failed 1 attention check(s)") != 1 {
		t.Errorf("participants CSV:\n%s", p.String())
	}
	// The study's own rule applies when the export gives none.
	if _, err := f.store.Pool().Exec(ctx, `UPDATE studies SET exclusion = 'checks>=1' WHERE slug = 'ea'`); err != nil {
		t.Fatal(err)
	}
	x2, err := f.store.OpenExport(ctx, postgres.ExportSelection{Studies: []string{"ea"}})
	if err != nil {
		t.Fatal(err)
	}
	defer x2.Close()
	if _, ex := x2.Exclusion(); len(ex) != 1 {
		t.Errorf("study rule: excluded %+v, want participant 0", ex)
	}
}

// TestParticipantsDeviceAndFlags: the participants table carries each
// participant's flagged answers (in all and per flag) and the device they
// answered on, and the rule's device clause excludes by it.
func TestParticipantsDeviceAndFlags(t *testing.T) {
	t.Parallel()
	f := newExportFixture(t)
	ctx := context.Background()
	st, _ := f.store.StudyBySlug(ctx, "ea")
	var id uuid.UUID
	if err := f.store.Pool().QueryRow(ctx, `SELECT id FROM participants WHERE study_id = $1 AND prolific_pid = $2`, st.ID, pid(1)).Scan(&id); err != nil {
		t.Fatal(err)
	}
	// What issue 10's trial page records: a phone, and two answers flagged
	// too fast (the fixture's answers, given without a picture served, are
	// all flagged no_image: five of them are left so).
	if _, err := f.store.Pool().Exec(ctx, `
		INSERT INTO participant_devices (participant_id, user_agent, screen_w, screen_h, viewport_w, viewport_h, dpr, pointer, kind, scripted)
		VALUES ($1, 'phone browser', 390, 844, 390, 700, 3, 'touch', 'phone', true)`, id); err != nil {
		t.Fatal(err)
	}
	if _, err := f.store.Pool().Exec(ctx, `
		UPDATE responses SET flags = CASE position WHEN 1 THEN ARRAY['too_fast', 'hidden'] ELSE ARRAY['too_fast'] END
		WHERE participant_id = $1 AND position IN (1, 2)`, id); err != nil {
		t.Fatal(err)
	}
	rule, err := study.ParseExclusion("device=phone")
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	if err := f.store.WriteParticipantsCSV(ctx, []uuid.UUID{st.ID}, &rule, &out); err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(strings.NewReader(out.String())).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	col := map[string]int{}
	for i, h := range recs[0] {
		col[h] = i
	}
	found := false
	for _, r := range recs[1:] {
		if r[col["participant_id"]] != pid(1) {
			if r[col["device"]] != "" || r[col["n_flagged"]] != r[col["flagged_no_image"]] || r[col["excluded"]] != "false" ||
				(r[col["yes_side"]] != "left" && r[col["yes_side"]] != "right") {
				t.Errorf("participant %s without device or flags: %v", r[0], r)
			}
			continue
		}
		found = true
		want := map[string]string{"n_flagged": "7", "flagged_too_fast": "2", "flagged_hidden": "1", "flagged_no_image": "5",
			"flagged_reloaded": "0", "device": "phone", "pointer": "touch", "screen": "390x844", "viewport": "390x700", "excluded": "true"}
		for k, v := range want {
			if r[col[k]] != v {
				t.Errorf("%s = %q, want %q", k, r[col[k]], v)
			}
		}
	}
	if !found {
		t.Fatalf("participant %s missing:\n%s", pid(1), out.String())
	}
}
