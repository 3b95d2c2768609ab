package modelout

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cubelab/cubelab/internal/task"
)

func tinyPNG(t testing.TB, shade uint8) []byte {
	img := image.NewGray(image.Rect(0, 0, 2, 2))
	img.Set(0, 0, color.Gray{Y: shade})
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// chatRequest is the request body as a server decodes it.
type chatRequest struct {
	Model    string `json:"model"`
	Messages []struct {
		Role    string `json:"role"`
		Content []struct {
			Type     string `json:"type"`
			Text     string `json:"text"`
			ImageURL *struct {
				URL string `json:"url"`
			} `json:"image_url"`
		} `json:"content"`
	} `json:"messages"`
	MaxTokens   *int     `json:"max_tokens"`
	Temperature *float64 `json:"temperature"`
	Logprobs    *bool    `json:"logprobs"`
	TopLogprobs *int     `json:"top_logprobs"`
}

func checkRequestBody(t *testing.T, body []byte, model string, d task.Domain, img []byte) {
	t.Helper()
	var req chatRequest
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		t.Fatalf("request body: %v", err)
	}
	if req.Model != model || len(req.Messages) != 1 || req.Messages[0].Role != "user" || len(req.Messages[0].Content) != 2 {
		t.Fatalf("request: %+v", req)
	}
	c := req.Messages[0].Content
	if c[0].Type != "image_url" || c[0].ImageURL == nil || c[1].Type != "text" || c[1].Text != d.Prompt() {
		t.Errorf("content: %+v", c)
	}
	data, ok := strings.CutPrefix(c[0].ImageURL.URL, "data:image/png;base64,")
	raw, err := base64.StdEncoding.DecodeString(data)
	if !ok || err != nil || !bytes.Equal(raw, img) {
		t.Errorf("image data URL does not round-trip (%v)", err)
	}
	if *req.MaxTokens != 1 || *req.Temperature != 0 || !*req.Logprobs || *req.TopLogprobs != 20 {
		t.Errorf("sampling: %d %v %v %d", *req.MaxTokens, *req.Temperature, *req.Logprobs, *req.TopLogprobs)
	}
}

func TestBatchWriter(t *testing.T) {
	var out bytes.Buffer
	w := NewBatchWriter(&out, "gpt-4o")
	imgs := [][]byte{tinyPNG(t, 10), tinyPNG(t, 200)}
	if err := w.Write("tower-1", task.Tower, imgs[0]); err != nil {
		t.Fatal(err)
	}
	if err := w.Write("pyr-1", task.Pyramid, imgs[1]); err != nil {
		t.Fatal(err)
	}
	if err := w.Write("tower-1", task.Tower, imgs[0]); err == nil {
		t.Error("duplicate id accepted")
	}
	if err := w.Write("x", task.Tower, []byte("not an image")); err == nil {
		t.Error("text accepted as image")
	}
	if err := w.Write("y", "cube", imgs[0]); err == nil {
		t.Error("unknown domain accepted")
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if len(lines) != 2 {
		t.Fatalf("%d lines: a refused request must leave nothing behind\n%s", len(lines), out.String())
	}
	for i, l := range lines {
		var line struct {
			CustomID string          `json:"custom_id"`
			Method   string          `json:"method"`
			URL      string          `json:"url"`
			Body     json.RawMessage `json:"body"`
		}
		if err := json.Unmarshal([]byte(l), &line); err != nil {
			t.Fatal(err)
		}
		if line.CustomID != []string{"tower-1", "pyr-1"}[i] || line.Method != "POST" || line.URL != "/v1/chat/completions" {
			t.Errorf("line %d: %+v", i, line)
		}
		checkRequestBody(t, line.Body, "gpt-4o", []task.Domain{task.Tower, task.Pyramid}[i], imgs[i])
	}
}

// fakeServer answers like the OpenAI chat completions API: Yes for towers, No
// for pyramids, judging by the prompt; the ids listed in fail get one 500 first.
type fakeServer struct {
	t     *testing.T
	mu    sync.Mutex
	calls map[string]int // by prompt+image
	fail  map[string]bool
	total atomic.Int32
}

func (f *fakeServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.total.Add(1)
	if r.URL.Path != "/v1/chat/completions" || r.Method != http.MethodPost {
		http.Error(w, "not found", http.StatusNotFound)
		return
	}
	var req chatRequest
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	img := req.Messages[0].Content[0].ImageURL.URL
	f.mu.Lock()
	f.calls[img]++
	n := f.calls[img]
	f.mu.Unlock()
	if f.fail[img] && n == 1 {
		http.Error(w, `{"error":{"message":"overloaded"}}`, http.StatusInternalServerError)
		return
	}
	yes, no := -0.1, -2.5
	if strings.Contains(req.Messages[0].Content[1].Text, "red block") {
		yes, no = no, yes
	}
	w.Header().Set("X-Request-Id", "req_"+fmt.Sprint(f.total.Load()))
	fmt.Fprintf(w, `{"id":"chatcmpl-1","object":"chat.completion","created":1738745600,"model":%q,
  "choices":[{"index":0,"message":{"role":"assistant","content":"Yes"},
    "logprobs":{"content":[{"token":"Yes","logprob":%v,"bytes":[89,101,115],"top_logprobs":[
      {"token":"Yes","logprob":%v,"bytes":[89,101,115]},{"token":" No","logprob":%v,"bytes":[32,78,111]}]}]},
    "finish_reason":"length"}],
  "usage":{"prompt_tokens":900,"completion_tokens":1,"total_tokens":901}}`, req.Model+"-served", yes, yes, no)
}

func TestClientRetryAndResume(t *testing.T) {
	imgs := map[string][]byte{"t1": tinyPNG(t, 1), "t2": tinyPNG(t, 2), "p1": tinyPNG(t, 3), "p2": tinyPNG(t, 4)}
	dataURL := func(id string) string { return "data:image/png;base64," + base64.StdEncoding.EncodeToString(imgs[id]) }
	fs := &fakeServer{t: t, calls: map[string]int{}, fail: map[string]bool{dataURL("t2"): true}}
	srv := httptest.NewServer(fs)
	defer srv.Close()
	load := func(_ context.Context, id string) ([]byte, error) { return imgs[id], nil }
	stimuli := []Stimulus{{"t1", task.Tower}, {"t2", task.Tower}, {"p1", task.Pyramid}, {"p2", task.Pyramid}}
	var progress []int
	c := &Client{Endpoint: srv.URL + "/v1", Model: "llava", Concurrency: 2, Backoff: time.Millisecond,
		Progress: func(done, total int) { progress = append(progress, done*10+total) }}

	// First run: stop after the first two stimuli, as if interrupted.
	var out bytes.Buffer
	sum, err := c.Run(context.Background(), stimuli[:2], load, &out, nil)
	if err != nil || sum.Answered != 2 || len(sum.Failed) != 0 {
		t.Fatalf("first run: %+v %v", sum, err)
	}
	if got := fs.calls[dataURL("t2")]; got != 2 {
		t.Errorf("t2 asked %d times, want 2 (500 then success)", got)
	}
	// Resume: a partial last line as a crash leaves it, then the whole set.
	out.WriteString(`{"id":"x","custom_id":"p1","resp`)
	done, valid, err := ReadDone(bytes.NewReader(out.Bytes()))
	if err != nil || len(done) != 2 || !done["t1"] || !done["t2"] {
		t.Fatalf("ReadDone: %v %d %v", done, valid, err)
	}
	out.Truncate(int(valid))
	before := fs.total.Load()
	sum, err = c.Run(context.Background(), stimuli, load, &out, done)
	if err != nil || sum.Skipped != 2 || sum.Answered != 2 {
		t.Fatalf("resumed run: %+v %v", sum, err)
	}
	if asked := fs.total.Load() - before; asked != 2 {
		t.Errorf("resume sent %d requests, want 2", asked)
	}
	if progress[len(progress)-1] != 44 {
		t.Errorf("progress %v", progress)
	}
	// The output imports unchanged; the model is named as the server named it.
	rows, err := Parse(bytes.NewReader(out.Bytes()), Options{Name: "query.jsonl"})
	if err != nil || len(rows) != 4 {
		t.Fatalf("import: %v %d", err, len(rows))
	}
	for _, r := range rows {
		want := task.Yes
		if strings.HasPrefix(r.StimulusID, "p") {
			want = task.No
		}
		if r.Answer() != want || r.Model != "llava-served" || r.Flag != 0 {
			t.Errorf("%s: %+v", r.StimulusID, r)
		}
	}
}

func TestClientGivesUp(t *testing.T) {
	var n429, n400 atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req chatRequest
		json.NewDecoder(r.Body).Decode(&req)
		if req.Messages[0].Content[1].Text == task.Tower.Prompt() {
			n429.Add(1)
			w.Header().Set("Retry-After", "0")
			w.WriteHeader(http.StatusTooManyRequests)
			return
		}
		n400.Add(1)
		http.Error(w, `{"error":"bad image"}`, http.StatusBadRequest)
	}))
	defer srv.Close()
	c := &Client{Endpoint: srv.URL, Model: "m", Retries: 3, Backoff: time.Millisecond}
	img := tinyPNG(t, 9)
	var out bytes.Buffer
	sum, err := c.Run(context.Background(), []Stimulus{{"t", task.Tower}, {"p", task.Pyramid}},
		func(context.Context, string) ([]byte, error) { return img, nil }, &out, nil)
	if err != nil || len(sum.Failed) != 2 || out.Len() != 0 {
		t.Fatalf("%+v %v %q", sum, err, out.String())
	}
	if n429.Load() != 4 || n400.Load() != 1 {
		t.Errorf("429 tried %d times (want 1 + 3 retries), 400 tried %d (want 1)", n429.Load(), n400.Load())
	}
}

func TestClientRefusesResponseWithoutLogprobs(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `{"model":"m","choices":[{"message":{"content":"Yes"}}]}`)
	}))
	defer srv.Close()
	img := tinyPNG(t, 9)
	var out bytes.Buffer
	sum, _ := (&Client{Endpoint: srv.URL + "/v1/chat/completions", Model: "m"}).Run(context.Background(),
		[]Stimulus{{"t", task.Tower}}, func(context.Context, string) ([]byte, error) { return img, nil }, &out, nil)
	if len(sum.Failed) != 1 || !strings.Contains(sum.Failed[0].Error(), "logprobs") || out.Len() != 0 {
		t.Errorf("%+v", sum)
	}
}

func TestClientRetriesAfterTimeout(t *testing.T) {
	var calls atomic.Int32
	fs := &fakeServer{t: t, calls: map[string]int{}, fail: map[string]bool{}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			select { // hang until the client gives up on this attempt
			case <-r.Context().Done():
			case <-time.After(time.Second):
			}
			return
		}
		fs.ServeHTTP(w, r)
	}))
	defer srv.Close()
	img := tinyPNG(t, 5)
	var out bytes.Buffer
	c := &Client{Endpoint: srv.URL, Model: "m", Timeout: 100 * time.Millisecond, Backoff: time.Millisecond}
	sum, err := c.Run(context.Background(), []Stimulus{{"t", task.Tower}}, func(context.Context, string) ([]byte, error) { return img, nil }, &out, nil)
	if err != nil || sum.Answered != 1 || calls.Load() != 2 {
		t.Fatalf("%+v %v, %d calls", sum, err, calls.Load())
	}
}
