package modelout

import (
	"bufio"
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

// BatchWriter writes the OpenAI batch input JSONL, one request per stimulus,
// with custom_id = stimulus id, so the batch output imports unchanged.
type BatchWriter struct {
	w     *bufio.Writer
	model string
	seen  map[string]bool
}

// NewBatchWriter writes requests for model to w; call Flush at the end.
func NewBatchWriter(w io.Writer, model string) *BatchWriter {
	return &BatchWriter{w: bufio.NewWriterSize(w, 64<<10), model: model, seen: map[string]bool{}}
}

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
	id, _ := json.Marshal(stimulusID)
	if _, err := fmt.Fprintf(b.w, `{"custom_id":%s,"method":"POST","url":%q,"body":`, id, chatPath); err != nil {
		return fmt.Errorf("modelout: batch input: %w", err)
	}
	if err := writeChatBody(b.w, b.model, d, image); err != nil {
		return fmt.Errorf("modelout: batch input %q: %w", stimulusID, err)
	}
	if _, err := b.w.WriteString("}\n"); err != nil {
		return fmt.Errorf("modelout: batch input: %w", err)
	}
	return nil
}

// Flush writes out what is buffered.
func (b *BatchWriter) Flush() error {
	if err := b.w.Flush(); err != nil {
		return fmt.Errorf("modelout: batch input: %w", err)
	}
	return nil
}
