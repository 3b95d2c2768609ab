package modelout

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/cubelab/cubelab/internal/problem"
	"github.com/cubelab/cubelab/internal/task"
	"golang.org/x/sync/errgroup"
)

// Stimulus is what the client asks a model about; the image is loaded only
// when its request is sent, so memory stays flat for large sets.
type Stimulus struct {
	ID     string
	Domain task.Domain
}

// ImageFunc loads the image bytes of a stimulus.
type ImageFunc func(ctx context.Context, id string) ([]byte, error)

// Client sends the batch input's requests to an OpenAI-compatible
// /v1/chat/completions endpoint (vLLM, Ollama) and writes each answer as a
// batch output line, so Parse imports the result unchanged.
type Client struct {
	// Endpoint is the server's base URL ("http://host:8000" or ".../v1") or the
	// full chat completions URL.
	Endpoint string
	Model    string
	APIKey   string       // sent as a bearer token when set
	HTTP     *http.Client // http.DefaultClient when nil
	// Concurrency bounds the requests in flight (4 when 0).
	Concurrency int
	// Retries after the first attempt on 429, 5xx and network errors (5 when 0).
	Retries int
	// Backoff is the first retry's delay, doubled each time up to MaxBackoff
	// (1 s and 60 s when 0); a Retry-After header in seconds takes precedence.
	Backoff, MaxBackoff time.Duration
	// Timeout bounds each attempt, so a server that hangs is retried (2 min when 0).
	Timeout time.Duration
	// Progress, when set, is called after each stimulus with the counts so far.
	Progress func(done, total int)
}

// Summary counts what a Run did.
type Summary struct {
	Skipped  int     // already in the output
	Answered int     // written now
	Failed   []error // not written; running again retries them
}

// url resolves Endpoint to the chat completions URL.
func (c *Client) url() string {
	u := strings.TrimRight(c.Endpoint, "/")
	switch {
	case strings.HasSuffix(u, "/chat/completions"):
		return u
	case strings.HasSuffix(u, "/v1"):
		return u + "/chat/completions"
	}
	return u + chatPath
}

// Run asks about every stimulus not in done and appends one batch output line
// per answer to out. Failed stimuli are not written (a failed line would make
// the import fail); they are returned in Summary.Failed and a later Run with
// the same output retries them. Lines are written whole, under a lock.
func (c *Client) Run(ctx context.Context, stimuli []Stimulus, image ImageFunc, out io.Writer, done map[string]bool) (Summary, error) {
	if c.Model == "" || c.Endpoint == "" {
		return Summary{}, errors.New("modelout: query: endpoint and model are required")
	}
	workers := c.Concurrency
	if workers <= 0 {
		workers = 4
	}
	var (
		mu       sync.Mutex
		sum      Summary
		finished int
		writeErr error
	)
	report := func() {
		finished++
		if c.Progress != nil {
			c.Progress(finished, len(stimuli))
		}
	}
	// One goroutine a stimulus, at most workers at a time; a failed request
	// is counted, not returned, so that one bad image does not stop a run.
	var g errgroup.Group
	g.SetLimit(workers)
	seen := map[string]bool{}
	for _, s := range stimuli {
		if done[s.ID] || seen[s.ID] {
			mu.Lock()
			sum.Skipped++
			report()
			mu.Unlock()
			continue
		}
		seen[s.ID] = true
		if ctx.Err() != nil {
			break
		}
		g.Go(func() error {
			if ctx.Err() != nil {
				return nil // handed over while waiting for a slot as ctx ended
			}
			line, err := c.ask(ctx, s, image)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err != nil:
				sum.Failed = append(sum.Failed, fmt.Errorf("%s: %w", s.ID, err))
			case writeErr == nil:
				if _, werr := out.Write(line); werr != nil {
					writeErr = werr
				} else {
					sum.Answered++
				}
			}
			report()
			return nil
		})
	}
	_ = g.Wait() // the goroutines return no error: failures are in sum
	if writeErr != nil {
		return sum, fmt.Errorf("modelout: query: writing output: %w", writeErr)
	}
	if err := ctx.Err(); err != nil {
		return sum, fmt.Errorf("modelout: query: %w", err)
	}
	return sum, nil
}

// ask sends one request, retrying what may pass later, and returns the output line.
func (c *Client) ask(ctx context.Context, s Stimulus, image ImageFunc) ([]byte, error) {
	img, err := image(ctx, s.ID)
	if err != nil {
		return nil, fmt.Errorf("loading image: %w", err)
	}
	if err := checkRequest(s.Domain, img); err != nil {
		return nil, err
	}
	var body bytes.Buffer
	if err := writeChatBody(&body, c.Model, s.Domain, img); err != nil {
		return nil, err
	}
	retries := c.Retries
	if retries == 0 {
		retries = 5
	}
	for attempt := 0; ; attempt++ {
		resp, reqID, retryAfter, err := c.post(ctx, body.Bytes())
		if err == nil {
			return c.outputLine(s.ID, reqID, resp)
		}
		var perm *permanentError
		if errors.As(err, &perm) || attempt >= retries || ctx.Err() != nil {
			return nil, err
		}
		delay := c.delay(attempt, retryAfter)
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, ctx.Err()
		case <-t.C:
		}
	}
}

// permanentError is an answer that retrying will not change (a 4xx other than 429).
type permanentError struct{ msg string }

func (e *permanentError) Error() string { return e.msg }

func (c *Client) post(ctx context.Context, body []byte) (resp []byte, requestID string, retryAfter time.Duration, err error) {
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = 2 * time.Minute
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url(), bytes.NewReader(body))
	if err != nil {
		return nil, "", 0, &permanentError{err.Error()}
	}
	req.Header.Set("Content-Type", "application/json")
	if c.APIKey != "" {
		req.Header.Set("Authorization", "Bearer "+c.APIKey)
	}
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	r, err := hc.Do(req)
	if err != nil {
		return nil, "", 0, err // network errors are retried
	}
	defer r.Body.Close()
	data, err := io.ReadAll(io.LimitReader(r.Body, DefaultMaxLineBytes))
	if err != nil {
		return nil, "", 0, err
	}
	if r.StatusCode == http.StatusOK {
		return data, r.Header.Get("X-Request-Id"), 0, nil
	}
	msg := fmt.Sprintf("status %d: %s", r.StatusCode, truncate(strings.TrimSpace(string(data)), 200))
	if r.StatusCode == http.StatusTooManyRequests || r.StatusCode >= 500 {
		secs, _ := strconv.Atoi(r.Header.Get("Retry-After"))
		return nil, "", time.Duration(secs) * time.Second, errors.New(msg)
	}
	return nil, "", 0, &permanentError{msg}
}

func (c *Client) delay(attempt int, retryAfter time.Duration) time.Duration {
	base, ceiling := c.Backoff, c.MaxBackoff
	if base <= 0 {
		base = time.Second
	}
	if ceiling <= 0 {
		ceiling = time.Minute
	}
	d := base << min(attempt, 30)
	if retryAfter > 0 {
		d = retryAfter
	}
	return min(d, ceiling)
}

// outputLine wraps a chat completion in a batch output line and checks that it
// imports: a server that ignores logprobs fails here, not at import time.
func (c *Client) outputLine(id, requestID string, resp []byte) ([]byte, error) {
	var compact bytes.Buffer
	if err := json.Compact(&compact, resp); err != nil {
		return nil, &permanentError{"response is not JSON: " + err.Error()}
	}
	idj, _ := json.Marshal(id)
	rid, _ := json.Marshal(requestID)
	line := fmt.Appendf(nil, `{"id":%s,"custom_id":%s,"response":{"status_code":200,"request_id":%s,"body":%s},"error":null}`+"\n",
		idj, idj, rid, compact.Bytes())
	opt := Options{Name: "response", Model: c.Model}
	opt.defaults()
	p := &parser{opt: opt, errs: &problem.Lines{}, seen: map[rowKey]int{}}
	p.batchLine(bytes.TrimSuffix(line, []byte("\n")), 1)
	if len(p.errs.List) > 0 {
		return nil, &permanentError{"response does not import: " + p.errs.List[0].String()}
	}
	return line, nil
}

// ReadDone reads an existing output file for resuming: the custom_ids already
// answered, and the length of its sound prefix. A run killed mid-write leaves a
// partial last line; truncate the file to valid before appending to it.
func ReadDone(r io.Reader) (done map[string]bool, valid int64, err error) {
	done = map[string]bool{}
	br := bufio.NewReaderSize(r, 64<<10)
	for {
		line, err := br.ReadBytes('\n')
		if len(line) > 0 && line[len(line)-1] == '\n' {
			var b struct {
				CustomID string          `json:"custom_id"`
				Error    json.RawMessage `json:"error"`
			}
			if json.Unmarshal(line, &b) != nil || b.CustomID == "" {
				return nil, 0, fmt.Errorf("modelout: resume: byte %d: not a batch output line", valid)
			}
			if e := strings.TrimSpace(string(b.Error)); e == "" || e == "null" {
				done[b.CustomID] = true
			}
			valid += int64(len(line))
		}
		if err == io.EOF {
			return done, valid, nil
		}
		if err != nil {
			return nil, 0, fmt.Errorf("modelout: resume: %w", err)
		}
	}
}
