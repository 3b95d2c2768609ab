package server_test

import (
	"archive/zip"
	"bytes"
	"context"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/go-chi/chi/v5"
	"github.com/google/uuid"
)

// hostileRoute is what the hostile-input test sends one route: the query
// (GET) or form (POST) fields the route reads, each given every hostile
// value, besides every path parameter. Every route of the table must be
// here: a route added without an entry fails TestHostileInput.
type hostileRoute struct {
	fields []string
	// upload: a multipart form whose file is built from the hostile value.
	upload func(t *testing.T, v string) (name string, file []byte)
}

var hostileRoutes = map[string]hostileRoute{
	"GET /healthz":                                       {},
	"ANY /static/*":                                      {}, // every method: a file server
	"GET /s/{slug}/":                                     {fields: []string{"PROLIFIC_PID", "STUDY_ID", "SESSION_ID"}},
	"GET /s/{slug}/example":                              {},
	"GET /s/{slug}/consent":                              {},
	"POST /s/{slug}/consent":                             {fields: []string{"consent"}},
	"GET /s/{slug}/instructions":                         {},
	"GET /s/{slug}/about-you":                            {},
	"POST /s/{slug}/about-you":                           {fields: []string{"age", "gender", "skip"}},
	"GET /s/{slug}/trial":                                {},
	"POST /s/{slug}/trial":                               {fields: []string{"position", "answer", "rt", "timing", "hidden", "px", "sw", "sh", "vw", "vh", "dpr", "ptr"}},
	"GET /s/{slug}/image/{position}":                     {fields: []string{"v"}},
	"GET /s/{slug}/done":                                 {},
	"GET /s/{slug}/time-up":                              {},
	"GET /s/{slug}/break":                                {},
	"GET /s/{slug}/practice":                             {},
	"POST /s/{slug}/practice":                            {fields: []string{"position", "answer", "rt", "timing", "hidden", "px"}},
	"GET /s/{slug}/practice/feedback/{position}":         {},
	"GET /s/{slug}/practice/image/{position}":            {fields: []string{"v"}},
	"GET /s/{slug}/preview":                              {},
	"GET /s/{slug}/preview/instructions":                 {fields: []string{"consent"}},
	"GET /s/{slug}/preview/trial/{position}":             {},
	"GET /s/{slug}/preview/answer":                       {fields: []string{"position", "answer"}},
	"GET /s/{slug}/preview/image/{position}":             {fields: []string{"v"}},
	"GET /s/{slug}/preview/done":                         {},
	"GET /s/{slug}/preview/break/{done}":                 {},
	"GET /s/{slug}/preview/practice/{position}":          {},
	"GET /s/{slug}/preview/practice/answer":              {fields: []string{"position", "answer"}},
	"GET /s/{slug}/preview/practice/feedback/{position}": {fields: []string{"answer"}},
	"GET /s/{slug}/preview/practice/image/{position}":    {fields: []string{"v"}},

	"GET /admin/login":                                             {fields: []string{"next"}},
	"POST /admin/login":                                            {fields: []string{"email", "password", "next", "csrf"}},
	"POST /admin/logout":                                           {},
	"GET /admin/":                                                  {},
	"GET /admin/studies/new":                                       {},
	"POST /admin/studies":                                          {fields: studyFormFields},
	"GET /admin/export":                                            {fields: exportFields},
	"GET /admin/export/download":                                   {fields: exportFields},
	"GET /admin/models":                                            {},
	"POST /admin/models":                                           {fields: []string{"set", "format", "model", "condition", "seed", "replace"}, upload: hostileModelFile},
	"GET /admin/models/batch-input":                                {fields: []string{"set", "model", "split"}},
	"GET /admin/sets":                                              {},
	"POST /admin/sets":                                             {fields: []string{"name", "replace"}, upload: hostileSetZip},
	"GET /admin/sets/{set}/report":                                 {fields: reportFields},
	"GET /admin/sets/{set}/":                                       {fields: []string{"domain", "size", "answer", "study", "page", "saved", "pick"}},
	"GET /admin/sets/{set}/thumbs/{stimulus}":                      {},
	"POST /admin/studies/{id}/checks":                              {fields: []string{"shown", "check", "back"}},
	"POST /admin/studies/{id}/practice-items":                      {fields: []string{"shown", "check", "back"}},
	"GET /admin/sets/{set}/report.csv":                             {fields: reportFields},
	"GET /admin/sets/{set}/report/{task}/{figure}":                 {fields: reportFields},
	"GET /admin/studies/{id}/":                                     {fields: monitorFields},
	"GET /admin/studies/{id}/edit":                                 {},
	"POST /admin/studies/{id}/":                                    {fields: studyFormFields},
	"POST /admin/studies/{id}/status":                              {fields: []string{"status"}},
	"POST /admin/studies/{id}/duplicate":                           {fields: []string{"version"}},
	"POST /admin/studies/{id}/delete":                              {},
	"POST /admin/studies/{id}/archive":                             {fields: []string{"archive"}},
	"POST /admin/studies/{id}/members":                             {fields: []string{"email"}},
	"POST /admin/studies/{id}/members/{account}/remove":            {},
	"GET /admin/accounts":                                          {fields: []string{"done"}},
	"GET /admin/studies/{id}/live":                                 {},
	"POST /admin/studies/{id}/stop-rule":                           {fields: []string{"stop_measure", "stop_width"}},
	"POST /admin/accounts":                                         {fields: []string{"email", "role"}},
	"GET /admin/password":                                          {},
	"POST /admin/password":                                         {fields: []string{"current", "new", "repeat"}},
	"POST /admin/accounts/{account}/role":                          {fields: []string{"role"}},
	"POST /admin/accounts/{account}/disable":                       {fields: []string{"disable"}},
	"GET /admin/studies/{id}/monitor":                              {fields: monitorFields},
	"POST /admin/studies/{id}/participants/{participant}/{action}": {fields: []string{"reason", "category", "q", "confirm"}},
	"GET /admin/prolific":                                          {},
	"GET /admin/plan":                                              {fields: planFields},
	"GET /admin/studies/{id}/soft":                                 {},
	"GET /admin/studies/{id}/soft.csv":                             {},
	"GET /admin/studies/{id}/disagreements":                        {fields: []string{"fdr"}},
	"GET /admin/studies/{id}/disagreements.csv":                    {fields: []string{"fdr"}},
	"GET /admin/studies/{id}/items/{stimulus}/image":               {},
	"POST /prolific/webhook":                                       {fields: []string{"event_type", "resource_id", "status"}},
	"POST /admin/studies/{id}/participants/approve":                {fields: []string{"q", "with_flagged", "n", "set", "confirm"}},
	"POST /admin/studies/{id}/undo/{review}":                       {fields: []string{"back"}},
	"POST /admin/studies/{id}/payouts/{number}/pay":                {},
	"POST /admin/studies/{id}/prolific/create":                     {fields: []string{"name", "description", "reward", "completed_action"}},
	"POST /admin/studies/{id}/prolific/link":                       {fields: []string{"prolific_study_id"}},
	"POST /admin/studies/{id}/prolific/places":                     {fields: []string{"places"}},
	"POST /admin/studies/{id}/prolific/publish":                    {},
	"POST /admin/studies/{id}/prolific/settings":                   {fields: []string{"on_unreachable"}},
	"POST /admin/studies/{id}/prolific/sync":                       {},
	"GET /admin/studies/{id}/payouts":                              {fields: []string{"new", "undone"}},
	"POST /admin/studies/{id}/payouts":                             {},
	"GET /admin/studies/{id}/payouts/{number}/bonuses.csv":         {},
	"POST /admin/studies/{id}/payouts/{number}/paid":               {},
	"GET /admin/studies/{id}/answers.csv":                          {},
	"GET /admin/studies/{id}/participants.csv":                     {},
	"GET /admin/studies/{id}/items.csv":                            {},
	"GET /admin/studies/{id}/report":                               {fields: reportFields},
	"GET /admin/studies/{id}/report.csv":                           {fields: reportFields},
	"GET /admin/studies/{id}/report/{task}/{figure}":               {fields: reportFields},
}

var (
	studyFormFields = []string{"title", "slug", "domain", "set", "sizes", "split", "design", "k", "r", "places",
		"minutes", "checks", "consent", "instructions", "base", "per_correct", "max_bonus", "currency", "code", "prolific_id", "version", "exclusion", "instructed", "break_every", "practice", "practice_set", "practice_ids"}
	exportFields  = []string{"study", "set", "source", "format", "ties", "val", "seed", "domain", "size", "split"}
	monitorFields = []string{"status", "pid", "checks", "flags", "sort", "desc", "page", "q", "approved", "undone"}
	reportFields  = []string{"runs", "page", "run", "exclude", "width", "title"}
	planFields    = []string{"pilot", "model", "from_pilot", "human_accuracy", "model_accuracy", "human_human", "model_human",
		"items", "measure", "target", "budget", "participants", "currency", "base", "per_correct", "max_bonus", "seed"}
)

// hostileValues are what an attacker types: NUL, text that is not UTF-8,
// numbers past int64 and below zero, markup, paths and SQL.
var hostileValues = []string{
	"\x00", "a\x00b", "\xff\xfe", "%ff", "9223372036854775808", "9223372036854775807", "-9223372036854775808",
	"99999999999", "-1", "1e400", "NaN", "<script>alert(1)</script>", "../../../../etc/passwd",
	"' OR '1'='1", `"; DROP TABLE studies; --`, "",
}

// hugeValue is sent once per route in its first field.
var hugeValue = strings.Repeat("A", 10<<20)

func hostileModelFile(t *testing.T, v string) (string, []byte) {
	return "hostile.csv", []byte("model,condition,seed,stimulus_id,p_yes\n" +
		csvQuote(v) + "," + csvQuote(v) + ",1,t01,0.5\n" + "m," + csvQuote(v) + "," + csvQuote(v) + "," + csvQuote(v) + "," + csvQuote(v) + "\n")
}

func hostileSetZip(t *testing.T, v string) (string, []byte) {
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	w, _ := zw.Create("hostile/manifest.csv")
	fmt.Fprintf(w, "id,domain,n_blocks,n_rows,red_row,answer,split,pair_id,file\n%s,tower,%s,0,0,Yes,%s,%s,t.png\n",
		csvQuote(v), csvQuote(v), csvQuote(v), csvQuote(v))
	w, _ = zw.Create("hostile/t.png")
	w.Write(pngOf(t))
	zw.Close()
	return "hostile.zip", b.Bytes()
}

func csvQuote(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

var routeParam = regexp.MustCompile(`\{[a-z]+\}|\*$`)

// TestHostileInput sends every route of the route table, as a logged-in
// experimenter (with the CSRF token) or a participant in the middle of a
// study, every hostile value in every path parameter and in every field it
// reads. No answer may be a 5xx, and nothing stored may change.
func TestHostileInput(t *testing.T) {
	t.Parallel()
	e := newAdminEnv(t)
	admin := noRedirects()
	_, token := e.login(t, admin, adminPassword)
	if token == "" {
		t.Fatal("login failed")
	}
	part := noRedirects()
	joinAdminEnv(t, e, part, 7)

	valid := map[string]string{
		"{slug}": "towers", "{position}": "1", "{id}": e.study.ID.String(), "{set}": "towers-set",
		"{participant}": uuid.NewString(), "{action}": "reject", "{number}": "1", "{task}": "tower",
		"{figure}": "accuracy.svg", "*": "trial.js", "{review}": "1", "{stimulus}": uuid.NewString(), "{account}": uuid.NewString(),
	}
	var routes []string
	err := chi.Walk(e.handler.(chi.Routes), func(method, route string, _ http.Handler, _ ...func(http.Handler) http.Handler) error {
		routes = append(routes, method+" "+route)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	covered := func(rt string) bool {
		_, pattern, _ := strings.Cut(rt, " ")
		_, ok := hostileRoutes[rt]
		_, any := hostileRoutes["ANY "+pattern]
		return ok || any
	}
	for _, rt := range routes {
		if !covered(rt) {
			t.Errorf("route %s has no hostile-input coverage: add it to hostileRoutes with the fields it reads", rt)
		}
	}
	for rt := range hostileRoutes {
		if !slices.Contains(routes, rt) && !slices.Contains(routes, "GET "+strings.TrimPrefix(rt, "ANY ")) {
			t.Errorf("hostileRoutes lists %s, which is not in the route table", rt)
		}
	}

	before := storedDigest(t, e)
	send := func(method, path string, fields []string, v string, h hostileRoute, huge bool) {
		t.Helper()
		c := admin
		if strings.HasPrefix(path, "/s/") {
			c = part
		}
		form := url.Values{}
		for i, f := range fields {
			if huge && i == 0 {
				form.Set(f, hugeValue)
			} else {
				form.Set(f, v)
			}
		}
		var req *http.Request
		switch {
		case method == "GET":
			req, _ = http.NewRequest(method, e.srv.URL+path+"?"+form.Encode(), nil)
		case h.upload != nil && !huge:
			var b bytes.Buffer
			mw := multipart.NewWriter(&b)
			mw.WriteField("csrf", token)
			for k := range form {
				mw.WriteField(k, form.Get(k))
			}
			name, file := h.upload(t, v)
			fw, _ := mw.CreateFormFile("file", name)
			fw.Write(file)
			mw.Close()
			req, _ = http.NewRequest(method, e.srv.URL+path, &b)
			req.Header.Set("Content-Type", mw.FormDataContentType())
		default:
			if !slices.Contains(fields, "csrf") {
				form.Set("csrf", token)
			}
			req, _ = http.NewRequest(method, e.srv.URL+path, strings.NewReader(form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		req.Header.Set("Origin", e.srv.URL)
		resp, err := c.Do(req)
		if err != nil {
			t.Errorf("%s %s: %v", method, path, err)
			return
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode >= 500 {
			t.Errorf("%s %s with %.30q: %d\n%.300s", method, path, v, resp.StatusCode, body)
		}
	}
	for _, rt := range routes {
		method, pattern, _ := strings.Cut(rt, " ")
		h, ok := hostileRoutes[rt]
		if !ok {
			h = hostileRoutes["ANY "+pattern]
		}
		if rt == "POST /admin/logout" {
			continue // below, last: it ends the session every other request uses
		}
		fill := func(param, v string) string {
			return routeParam.ReplaceAllStringFunc(pattern, func(p string) string {
				if p == param {
					return url.PathEscape(v)
				}
				return valid[p]
			})
		}
		for _, param := range routeParam.FindAllString(pattern, -1) {
			for _, v := range hostileValues {
				send(method, fill(param, v), nil, v, h, false)
			}
		}
		for _, v := range hostileValues {
			send(method, fill("", ""), h.fields, v, h, false)
		}
		if len(h.fields) > 0 {
			send(method, fill("", ""), h.fields, "", h, true)
		}
	}
	if after := storedDigest(t, e); after != before {
		t.Errorf("hostile requests changed what is stored:\n%s", diffLines(before, after))
	}
	for _, v := range hostileValues {
		send("POST", "/admin/logout", []string{"csrf"}, v, hostileRoutes["POST /admin/logout"], false)
	}
}

// joinAdminEnv walks participant i of e's study to the first trial.
func joinAdminEnv(t *testing.T, e *adminEnv, c *http.Client, i int) {
	t.Helper()
	steps := []struct {
		method, path string
		form         url.Values
	}{
		{"GET", "/s/towers?PROLIFIC_PID=" + pid(i) + "&STUDY_ID=s1&SESSION_ID=x1", nil},
		{"POST", "/s/towers/consent", url.Values{"consent": {"yes"}}},
		{"POST", "/s/towers/about-you", url.Values{"skip": {"yes"}}},
		{"GET", "/s/towers/trial", nil},
	}
	for _, s := range steps {
		var body io.Reader
		if s.form != nil {
			body = strings.NewReader(s.form.Encode())
		}
		req, _ := http.NewRequest(s.method, e.srv.URL+s.path, body)
		if s.form != nil {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode >= 400 {
			t.Fatalf("%s %s: %d", s.method, s.path, resp.StatusCode)
		}
	}
}

// storedDigest is one line per table of what is stored, leaving out what a
// request may rightly change without storing anything a person asked for:
// sessions, failed logins, and the evidence columns of trials and
// participants (a trial page shown, a reload).
func storedDigest(t *testing.T, e *adminEnv) string {
	t.Helper()
	ctx := context.Background()
	rows, err := e.store.Pool().Query(ctx, `SELECT table_name FROM information_schema.tables
		WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY table_name`)
	if err != nil {
		t.Fatal(err)
	}
	var tables []string
	for rows.Next() {
		var n string
		rows.Scan(&n)
		tables = append(tables, n)
	}
	rows.Close()
	// server_keys holds the key of the picture cookies, made at the first
	// picture served: key material, not anything a request stored.
	skip := []string{"admin_sessions", "login_failures", "participant_sessions", "schema_migrations", "server_keys"}
	var lines []string
	for _, tb := range tables {
		if slices.Contains(skip, tb) {
			continue
		}
		q := fmt.Sprintf(`SELECT count(*), COALESCE(md5(string_agg(t::text, '|' ORDER BY t::text)), '') FROM %q t`, tb)
		switch tb {
		case "participants":
			q = `SELECT count(*), COALESCE(md5(string_agg(concat_ws(',', id, status, n_answered, n_correct, consented_at IS NOT NULL), '|' ORDER BY id)), '') FROM participants`
		case "trials":
			q = `SELECT count(*), COALESCE(md5(string_agg(concat_ws(',', participant_id, position, stimulus_id), '|' ORDER BY participant_id, position)), '') FROM trials`
		}
		var n int
		var sum string
		if err := e.store.Pool().QueryRow(ctx, q).Scan(&n, &sum); err != nil {
			t.Fatalf("%s: %v", tb, err)
		}
		lines = append(lines, fmt.Sprintf("%s: %d rows %s", tb, n, sum))
	}
	return strings.Join(lines, "\n")
}

func diffLines(a, b string) string {
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	var out []string
	for i := range min(len(al), len(bl)) {
		if al[i] != bl[i] {
			out = append(out, "- "+al[i], "+ "+bl[i])
		}
	}
	return strings.Join(out, "\n")
}

// A wrong method is a 405 naming the right ones, not a 400.
func TestMethodNotAllowed(t *testing.T) {
	t.Parallel()
	e := newAdminEnv(t)
	admin := noRedirects()
	_, token := e.login(t, admin, adminPassword)
	for _, c := range []struct{ method, path, allow string }{
		{"PUT", "/admin/", "GET"},
		{"DELETE", "/s/towers/consent", "GET, POST"},
		{"PATCH", "/admin/studies/" + e.study.ID.String() + "/status", "POST"},
		{"POST", "/admin/studies/" + e.study.ID.String() + "/report", "GET"},
		{"GET", "/s/towers/trial/extra", ""},
	} {
		// With the token: a form without one is refused (403) before anything else.
		req, _ := http.NewRequest(c.method, e.srv.URL+c.path, strings.NewReader(url.Values{"csrf": {token}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", e.srv.URL)
		resp, err := admin.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		want := http.StatusMethodNotAllowed
		if c.allow == "" {
			want = http.StatusNotFound
		}
		if resp.StatusCode != want || resp.Header.Get("Allow") != c.allow {
			t.Errorf("%s %s: %d, Allow %q; want 405, %q", c.method, c.path, resp.StatusCode, resp.Header.Get("Allow"), c.allow)
		}
	}
}

// An admin form over 1 MB is a 413, not a 403 (the token seemed lost),
// and the set upload's address reads no url-encoded body past 1 MB.
func TestAdminBodyCap(t *testing.T) {
	t.Parallel()
	e := newAdminEnv(t)
	c := noRedirects()
	_, token := e.login(t, c, adminPassword)
	big := strings.Repeat("x", 1<<20)
	for _, path := range []string{"/admin/studies", "/admin/sets", "/admin/models", "/admin/studies/" + e.study.ID.String() + "/status"} {
		resp := e.post(t, c, path, url.Values{"csrf": {token}, "title": {big}}, e.srv.URL)
		if resp.StatusCode != http.StatusRequestEntityTooLarge {
			t.Errorf("%s with a form over 1 MB: %d, want 413", path, resp.StatusCode)
		}
	}
	// Just under the cap is read, and refused for what it says.
	resp := e.post(t, c, "/admin/studies/"+e.study.ID.String()+"/status", url.Values{"csrf": {token}, "status": {strings.Repeat("x", 900<<10)}}, e.srv.URL)
	if resp.StatusCode >= 500 || resp.StatusCode == http.StatusRequestEntityTooLarge || resp.StatusCode == http.StatusForbidden {
		t.Errorf("a 900 KB form: %d", resp.StatusCode)
	}
}
