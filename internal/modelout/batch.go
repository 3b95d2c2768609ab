package modelout

import (
	"encoding/json"
	"math"
	"strconv"
	"strings"
	"unicode"
)

// batchLine is one line of the OpenAI batch output, reduced to what is read.
type batchLine struct {
	CustomID *string `json:"custom_id"`
	Response *struct {
		StatusCode int `json:"status_code"`
		Body       *struct {
			Model   string `json:"model"`
			Choices []struct {
				Logprobs *struct {
					Content []struct {
						Token       string     `json:"token"`
						TopLogprobs []topToken `json:"top_logprobs"`
					} `json:"content"`
				} `json:"logprobs"`
			} `json:"choices"`
		} `json:"body"`
	} `json:"response"`
	Error json.RawMessage `json:"error"`
}

type topToken struct {
	Token   string   `json:"token"`
	Logprob *float64 `json:"logprob"`
	// Bytes is a JSON array of ints (the token's UTF-8 bytes), not base64;
	// decoding it checks the shape, the token string is what is matched.
	Bytes []int `json:"bytes"`
}

// batchLine reads one OpenAI batch output line: custom_id is the stimulus id;
// the first generated token's top_logprobs are summed per label (every token
// that normalises to "yes" or "no", e.g. " Yes", "yes", "No."). A line whose
// error is not null, or whose status is not 200, is an error: the request
// failed and must be run again, not counted as an answer.
func (p *parser) batchLine(line []byte, n int) {
	var b batchLine
	if err := json.Unmarshal(line, &b); err != nil {
		p.fail(n, jsonField(err), "%v", jsonMsg(err))
		return
	}
	if b.CustomID == nil || *b.CustomID == "" {
		p.fail(n, "custom_id", "missing")
		return
	}
	if e := strings.TrimSpace(string(b.Error)); e != "" && e != "null" {
		p.fail(n, "error", "the request for %q failed: %s", *b.CustomID, truncate(e, 200))
		return
	}
	if b.Response == nil || b.Response.Body == nil {
		p.fail(n, "response.body", "missing")
		return
	}
	if sc := b.Response.StatusCode; sc != 200 && sc != 0 {
		p.fail(n, "response.status_code", "%d for %q", sc, *b.CustomID)
		return
	}
	body := b.Response.Body
	if len(body.Choices) == 0 {
		p.fail(n, "response.body.choices", "empty")
		return
	}
	lp := body.Choices[0].Logprobs
	if lp == nil || len(lp.Content) == 0 {
		p.fail(n, "response.body.choices[0].logprobs.content", "missing (was the request sent with logprobs: true?)")
		return
	}
	top := lp.Content[0].TopLogprobs
	if len(top) == 0 {
		p.fail(n, "response.body.choices[0].logprobs.content[0].top_logprobs", "missing (was the request sent with top_logprobs?)")
		return
	}
	var py, pn float64
	pmin := math.Inf(1) // the smallest listed probability
	for i, t := range top {
		if t.Logprob == nil || math.IsNaN(*t.Logprob) || *t.Logprob > 1e-6 {
			p.fail(n, "response.body.choices[0].logprobs.content[0].top_logprobs["+strconv.Itoa(i)+"].logprob", "missing or not a log-probability")
			return
		}
		pmin = min(pmin, math.Exp(*t.Logprob))
		switch normalise(t.Token) {
		case "yes":
			py += math.Exp(*t.Logprob)
		case "no":
			pn += math.Exp(*t.Logprob)
		}
	}
	r := Row{Line: n, StimulusID: *b.CustomID, Model: p.opt.Model, Condition: p.opt.Condition}
	if r.Model == "" {
		r.Model = body.Model
	}
	if p.opt.Seed != nil {
		r.Seed = *p.opt.Seed
	}
	if py+pn > maxCoverage {
		p.fail(n, "response.body.choices[0].logprobs.content[0].top_logprobs", "Yes and No tokens have probability %.6g, more than 1", py+pn)
		return
	}
	r.fromLogprobs(logOrNil(py), logOrNil(pn), p.opt.MinCoverage)
	r.boundMissing(py, pn, pmin)
	if !p.fillIdentity(&r, p.opt.Seed != nil) {
		return
	}
	p.add(r)
}

// boundMissing replaces a P(Yes) of 1 or 0 that comes from one label missing
// among the top tokens by the bound the list implies: the missing token was
// not listed, so its probability was at most pmin, the smallest listed one.
func (r *Row) boundMissing(py, pn, pmin float64) {
	switch {
	case py > 0 && pn == 0:
		r.PYes = py / (py + pmin)
	case pn > 0 && py == 0:
		r.PYes = pmin / (pmin + pn)
	default:
		return
	}
	r.Flag |= FlagBound
}

func logOrNil(p float64) *float64 {
	if p == 0 {
		return nil
	}
	l := math.Log(min(p, 1)) // summed rounding can exceed 1 by an ulp
	return &l
}

// normalise trims, lower-cases and strips punctuation: " Yes", "YES", "No." and
// "yes!" become "yes" and "no"; "Yesterday" stays itself.
func normalise(tok string) string {
	// Byte-level BPE vocabularies (GPT-2 style) write a leading space as 'Ġ';
	// a server that returns raw vocabulary entries gives "ĠYes".
	tok = strings.TrimLeft(tok, "Ġ")
	return strings.Map(func(r rune) rune {
		// Symbols go too: SentencePiece marks a leading space with '▁'.
		if unicode.IsPunct(r) || unicode.IsSpace(r) || unicode.IsSymbol(r) {
			return -1
		}
		return unicode.ToLower(r)
	}, tok)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
