package modelout

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"

	"github.com/cubelab/cubelab/internal/task"
)

// The request every model gets: one token, greedy, with the top 20
// alternatives, so that P(Yes) and P(No) can be read off the first token.
const (
	chatPath    = "/v1/chat/completions"
	maxTokens   = 1
	topLogprobs = 20
)

// writeChatBody streams the chat completion request for one stimulus: the image
// as a data URL, then the task's verbatim prompt. The image is base64-encoded
// straight into w, so a large image is never held twice.
// The domain and image must have passed checkRequest.
func writeChatBody(w io.Writer, model string, d task.Domain, image []byte) error {
	prompt := d.Prompt()
	mime := http.DetectContentType(image)
	m, _ := json.Marshal(model)
	p, _ := json.Marshal(prompt)
	if _, err := fmt.Fprintf(w, `{"model":%s,"messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"data:%s;base64,`, m, mime); err != nil {
		return err
	}
	enc := base64.NewEncoder(base64.StdEncoding, w)
	if _, err := enc.Write(image); err != nil {
		return err
	}
	if err := enc.Close(); err != nil {
		return err
	}
	_, err := fmt.Fprintf(w, `"}},{"type":"text","text":%s}]}],"max_tokens":%d,"temperature":0,"logprobs":true,"top_logprobs":%d}`, p, maxTokens, topLogprobs)
	return err
}

// checkRequest refuses what would make a broken request, before anything is written.
func checkRequest(d task.Domain, image []byte) error {
	if _, err := task.ParseDomain(string(d)); err != nil {
		return err
	}
	switch mime := http.DetectContentType(image); mime {
	case "image/png", "image/jpeg", "image/webp", "image/gif":
		return nil
	default:
		return fmt.Errorf("image is %s, not PNG, JPEG, WebP or GIF", mime)
	}
}

// OpenAI's batch API takes at most 50,000 requests and 200 MB per input file;
// a split writer starts a new part before either is reached (190 MB leaves
// room for the difference between MB and MiB and a file system's rounding).
const (
	DefaultMaxRequests       = 50000
	DefaultMaxBytes    int64 = 190 << 20
)

// BatchWriter writes the OpenAI batch input JSONL, one request per stimulus,
// with custom_id = stimulus id, so the batch output imports unchanged. A
// split writer (NewSplitBatchWriter) spreads the requests over parts under
// the batch API's limits; custom_id stays the stimulus id in every part, so
// the outputs of all parts import as one run.
type BatchWriter struct {
	w     *bufio.Writer
	model string
	seen  map[string]bool

	next     func(part int) (io.Writer, error) // nil: one part, no limits
	part, n  int                               // current part (1-based) and its requests
	size     int64                             // its bytes
	maxReq   int
	maxBytes int64
	line     bytes.Buffer
}

// NewBatchWriter writes requests for model to w, in one part whatever its
// size; call Flush at the end.
func NewBatchWriter(w io.Writer, model string) *BatchWriter {
	return &BatchWriter{w: bufio.NewWriterSize(w, 64<<10), model: model, seen: map[string]bool{}, part: 1}
}

// NewSplitBatchWriter writes requests for model into parts that next opens
// (part 1, 2, ...), starting a new part before one would hold more than
// maxRequests requests or maxBytes bytes (DefaultMaxRequests and
// DefaultMaxBytes when 0). Call Flush at the end; Parts says how many there were.
func NewSplitBatchWriter(next func(part int) (io.Writer, error), model string, maxRequests int, maxBytes int64) *BatchWriter {
	if maxRequests <= 0 {
		maxRequests = DefaultMaxRequests
	}
	if maxBytes <= 0 {
		maxBytes = DefaultMaxBytes
	}
	return &BatchWriter{model: model, seen: map[string]bool{}, next: next, maxReq: maxRequests, maxBytes: maxBytes}
}

// Parts is the number of parts written so far.
func (b *BatchWriter) Parts() int { return b.part }

// Write adds the request for one stimulus.
func (b *BatchWriter) Write(stimulusID string, d task.Domain, image []byte) error {
	if stimulusID == "" {
		return fmt.Errorf("modelout: batch input: empty stimulus id")
	}
	if b.seen[stimulusID] {
		// The batch API refuses duplicate custom_ids.
		return fmt.Errorf("modelout: batch input: stimulus %q twice", stimulusID)
	}
	if err := checkRequest(d, image); err != nil {
		return fmt.Errorf("modelout: batch input %q: %w", stimulusID, err)
	}
	b.seen[stimulusID] = true
	// A split writer renders the line first, to know whether it still fits.
	var w io.Writer = b.w
	if b.next != nil {
		b.line.Reset()
		w = &b.line
	}
	id, _ := json.Marshal(stimulusID)
	if _, err := fmt.Fprintf(w, `{"custom_id":%s,"method":"POST","url":%q,"body":`, id, chatPath); err != nil {
		return fmt.Errorf("modelout: batch input: %w", err)
	}
	if err := writeChatBody(w, b.model, d, image); err != nil {
		return fmt.Errorf("modelout: batch input %q: %w", stimulusID, err)
	}
	if _, err := io.WriteString(w, "}\n"); err != nil {
		return fmt.Errorf("modelout: batch input: %w", err)
	}
	if b.next == nil {
		return nil
	}
	size := int64(b.line.Len())
	if size > b.maxBytes {
		return fmt.Errorf("modelout: batch input %q: one request is %d bytes, over the %d-byte limit of a part", stimulusID, size, b.maxBytes)
	}
	if b.w == nil || b.n == b.maxReq || b.size+size > b.maxBytes {
		if err := b.newPart(); err != nil {
			return err
		}
	}
	if _, err := b.w.Write(b.line.Bytes()); err != nil {
		return fmt.Errorf("modelout: batch input: %w", err)
	}
	b.n++
	b.size += size
	return nil
}

func (b *BatchWriter) newPart() error {
	if b.w != nil {
		if err := b.w.Flush(); err != nil {
			return fmt.Errorf("modelout: batch input: %w", err)
		}
	}
	w, err := b.next(b.part + 1)
	if err != nil {
		return fmt.Errorf("modelout: batch input part %d: %w", b.part+1, err)
	}
	b.part++
	b.w, b.n, b.size = bufio.NewWriterSize(w, 64<<10), 0, 0
	return nil
}

// Flush writes out what is buffered.
func (b *BatchWriter) Flush() error {
	if b.w == nil {
		return nil
	}
	if err := b.w.Flush(); err != nil {
		return fmt.Errorf("modelout: batch input: %w", err)
	}
	return nil
}
