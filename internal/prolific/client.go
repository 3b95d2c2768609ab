package prolific

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
)

// DefaultBaseURL is Prolific's researcher API.
const DefaultBaseURL = "https://api.prolific.com"

// ClientConfig is what a Client needs. Only Token is required; the zero
// values of the rest are sensible defaults.
type ClientConfig struct {
	// Token is the API token (from PROLIFIC_TOKEN). It is sent in the
	// Authorization header and nowhere else: never logged, never stored.
	Token string
	// BaseURL is the API's scheme and host, without /api/v1 (tests and
	// proxies); "" means DefaultBaseURL.
	BaseURL string
	// Timeout bounds one attempt; 0 means 20 s.
	Timeout time.Duration
	// Retries is how many times a request that may be repeated is tried
	// again after a 429, a 5xx or a network error; 0 means 3, -1 none.
	Retries int
	// MinBackoff and MaxBackoff bound the wait between attempts when
	// Prolific gives no Retry-After; 0 means 500 ms and 10 s. A Retry-After
	// longer than MaxRetryAfter (0: 60 s) is not waited for: the call fails.
	MinBackoff, MaxBackoff, MaxRetryAfter time.Duration
	// Log receives every attempt (method, path, status, duration, error);
	// nil logs nothing. The token is not in it.
	Log func(Call)
	// HTTP is the transport; nil means a new http.Client.
	HTTP *http.Client
	// Sleep waits between attempts; nil means a timer that ends with ctx.
	Sleep func(ctx context.Context, d time.Duration) error
}

// Call is one attempt at one API request, as logged.
type Call struct {
	Method   string
	Path     string // the URL path without query, e.g. /api/v1/studies/abc/
	Status   int    // 0 when no answer came
	Duration time.Duration
	Attempt  int // 1 for the first
	Err      error
}

// Client is a Prolific researcher API client: pure HTTP, no state but its
// configuration, safe for concurrent use.
type Client struct {
	cfg  ClientConfig
	base *url.URL
	http *http.Client
}

// NewClient returns a client, or an error when the base URL is not an
// absolute http(s) URL or the token is empty.
func NewClient(cfg ClientConfig) (*Client, error) {
	if strings.TrimSpace(cfg.Token) == "" {
		return nil, errors.New("prolific: no API token (set PROLIFIC_TOKEN)")
	}
	if cfg.BaseURL == "" {
		cfg.BaseURL = DefaultBaseURL
	}
	u, err := url.Parse(strings.TrimRight(cfg.BaseURL, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("prolific: base URL %q is not an http(s) URL", cfg.BaseURL)
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 20 * time.Second
	}
	switch {
	case cfg.Retries == 0:
		cfg.Retries = 3
	case cfg.Retries < 0:
		cfg.Retries = 0
	}
	if cfg.MinBackoff <= 0 {
		cfg.MinBackoff = 500 * time.Millisecond
	}
	if cfg.MaxBackoff <= 0 {
		cfg.MaxBackoff = 10 * time.Second
	}
	if cfg.MaxRetryAfter <= 0 {
		cfg.MaxRetryAfter = 60 * time.Second
	}
	if cfg.Sleep == nil {
		cfg.Sleep = sleep
	}
	hc := cfg.HTTP
	if hc == nil {
		hc = &http.Client{}
	}
	return &Client{cfg: cfg, base: u, http: hc}, nil
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// APIError is an answer of Prolific's other than 2xx, with the message
// Prolific gave, for people.
type APIError struct {
	Method  string
	Path    string
	Status  int
	Message string // Prolific's own words, or the status text
	// RetryAfter is what a 429 or 503 asked to wait, 0 when not said.
	RetryAfter time.Duration
}

// Error implements the error interface.
func (e *APIError) Error() string {
	return fmt.Sprintf("prolific: %s %s: %d: %s", e.Method, e.Path, e.Status, e.Message)
}

// Temporary reports whether trying again later may succeed (429, 5xx).
func (e *APIError) Temporary() bool { return e.Status == http.StatusTooManyRequests || e.Status >= 500 }

// UnreachableError is a request that got no answer from Prolific: a network
// error or a timeout. For a request that changes something, it is unknown
// whether Prolific acted on it.
type UnreachableError struct {
	Method string
	Path   string
	Err    error
}

// Error implements the error interface.
func (e *UnreachableError) Error() string {
	return fmt.Sprintf("prolific: %s %s: no answer: %v", e.Method, e.Path, e.Err)
}

// Unwrap returns the network error.
func (e *UnreachableError) Unwrap() error { return e.Err }

// IsNotFound reports whether err is Prolific saying 404.
func IsNotFound(err error) bool {
	var ae *APIError
	return errors.As(err, &ae) && ae.Status == http.StatusNotFound
}

// IsUnreachable reports whether Prolific could not be asked: no answer, or
// an answer saying it cannot answer now (429, 5xx).
func IsUnreachable(err error) bool {
	var ue *UnreachableError
	var ae *APIError
	return errors.As(err, &ue) || (errors.As(err, &ae) && ae.Temporary())
}

// Message is what to show an experimenter about err: Prolific's own message
// for an API error, a plain sentence for no answer.
func Message(err error) string {
	var ae *APIError
	var ue *UnreachableError
	switch {
	case err == nil:
		return ""
	case errors.As(err, &ae):
		switch ae.Status {
		case http.StatusUnauthorized, http.StatusForbidden:
			return "Prolific refused the API token (" + ae.Message + "). Check PROLIFIC_TOKEN."
		case http.StatusTooManyRequests:
			return "Prolific asks us to slow down (too many requests); it will be tried again."
		}
		if ae.Status >= 500 {
			return fmt.Sprintf("Prolific had a fault of its own (%d); it will be tried again.", ae.Status)
		}
		return "Prolific says: " + ae.Message
	case errors.As(err, &ue):
		return "Prolific did not answer (" + ue.Err.Error() + ")."
	}
	return err.Error()
}

// mayRepeat says which requests are retried after an answer that is not
// 429: reads, and writes that Prolific documents as idempotent. A write that
// is not (create, pay) is retried only after 429, which Prolific answers
// before acting, never after a 5xx or a lost answer.
type mayRepeat bool

const (
	idempotent mayRepeat = true
	once       mayRepeat = false
)

// do sends one request, retrying as mayRepeat allows, and decodes a 2xx
// JSON answer into out (nil: body ignored).
func (c *Client) do(ctx context.Context, method, path string, query url.Values, body, out any, repeat mayRepeat) error {
	var payload []byte
	if body != nil {
		var err error
		if payload, err = json.Marshal(body); err != nil {
			return fmt.Errorf("prolific: %s %s: %w", method, path, err)
		}
	}
	u := *c.base
	u.Path = c.base.Path + path
	u.RawQuery = query.Encode()
	for attempt := 1; ; attempt++ {
		err := c.once(ctx, method, &u, path, payload, out, attempt)
		if err == nil {
			return nil
		}
		if attempt > c.cfg.Retries || ctx.Err() != nil {
			return err
		}
		var ae *APIError
		var ue *UnreachableError
		wait := c.backoff(attempt)
		switch {
		case errors.As(err, &ae) && ae.Status == http.StatusTooManyRequests:
		case errors.As(err, &ae) && ae.Status >= 500 && repeat == idempotent:
		case errors.As(err, &ue) && repeat == idempotent:
		default:
			return err
		}
		if ae != nil && ae.RetryAfter > 0 {
			if ae.RetryAfter > c.cfg.MaxRetryAfter {
				return err
			}
			wait = ae.RetryAfter
		}
		if serr := c.cfg.Sleep(ctx, wait); serr != nil {
			return err
		}
	}
}

// backoff is the wait before attempt+1: exponential with jitter.
func (c *Client) backoff(attempt int) time.Duration {
	d := c.cfg.MinBackoff << (attempt - 1)
	if d > c.cfg.MaxBackoff || d <= 0 {
		d = c.cfg.MaxBackoff
	}
	return d/2 + rand.N(d/2+1)
}

func (c *Client) once(ctx context.Context, method string, u *url.URL, path string, payload []byte, out any, attempt int) (err error) {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	var rd io.Reader
	if payload != nil {
		rd = bytes.NewReader(payload)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), rd)
	if err != nil {
		return fmt.Errorf("prolific: %s %s: %w", method, path, err)
	}
	req.Header.Set("Authorization", "Token "+c.cfg.Token)
	req.Header.Set("Accept", "application/json")
	if payload != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	start := time.Now()
	status := 0
	defer func() {
		if c.cfg.Log != nil {
			c.cfg.Log(Call{Method: method, Path: path, Status: status, Duration: time.Since(start), Attempt: attempt, Err: err})
		}
	}()
	resp, err := c.http.Do(req)
	if err != nil {
		return &UnreachableError{Method: method, Path: path, Err: stripURL(err)}
	}
	defer resp.Body.Close()
	status = resp.StatusCode
	data, err := io.ReadAll(io.LimitReader(resp.Body, 32<<20))
	if err != nil {
		return &UnreachableError{Method: method, Path: path, Err: stripURL(err)}
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return &APIError{Method: method, Path: path, Status: resp.StatusCode, Message: errorMessage(resp.StatusCode, data),
			RetryAfter: retryAfter(resp.Header.Get("Retry-After"), time.Now())}
	}
	if out == nil || len(bytes.TrimSpace(data)) == 0 {
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("prolific: %s %s: unexpected answer: %w", method, path, err)
	}
	return nil
}

// stripURL keeps the error of a *url.Error without its URL (which carries no
// token, but may carry ids that belong in no log line twice).
func stripURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// retryAfter reads a Retry-After header: seconds or an HTTP date.
func retryAfter(h string, now time.Time) time.Duration {
	h = strings.TrimSpace(h)
	if h == "" {
		return 0
	}
	if n, err := strconv.Atoi(h); err == nil && n >= 0 {
		return time.Duration(n) * time.Second
	}
	if t, err := http.ParseTime(h); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

// errorMessage finds Prolific's words in an error body. Its errors look
// like {"error": {"status": 400, "error_code": .., "title": "..", "detail":
// ".." or {"field": [".."]}}}; anything else falls back to the body's text
// or the status text.
func errorMessage(status int, body []byte) string {
	var e struct {
		Error  json.RawMessage `json:"error"`
		Detail json.RawMessage `json:"detail"`
	}
	if json.Unmarshal(body, &e) == nil {
		var inner struct {
			Title  string          `json:"title"`
			Detail json.RawMessage `json:"detail"`
		}
		if len(e.Error) > 0 && json.Unmarshal(e.Error, &inner) == nil {
			if d := flatten(inner.Detail); d != "" {
				return d
			}
			if inner.Title != "" {
				return inner.Title
			}
		}
		if d := flatten(e.Error); d != "" {
			return d
		}
		if d := flatten(e.Detail); d != "" {
			return d
		}
	}
	if t := strings.TrimSpace(string(body)); t != "" && len(t) < 300 && !strings.HasPrefix(t, "<") {
		return t
	}
	return http.StatusText(status)
}

// flatten turns a detail (a string, a list, or a map of field -> messages)
// into one line.
func flatten(raw json.RawMessage) string {
	if len(raw) == 0 {
		return ""
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var list []json.RawMessage
	if json.Unmarshal(raw, &list) == nil {
		var parts []string
		for _, l := range list {
			if f := flatten(l); f != "" {
				parts = append(parts, f)
			}
		}
		return strings.Join(parts, "; ")
	}
	var m map[string]json.RawMessage
	if json.Unmarshal(raw, &m) == nil {
		var parts []string
		for k, v := range m {
			if f := flatten(v); f != "" {
				parts = append(parts, k+": "+f)
			}
		}
		sort.Strings(parts)
		return strings.Join(parts, "; ")
	}
	return ""
}
