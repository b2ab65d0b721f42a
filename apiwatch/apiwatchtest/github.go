package apiwatchtest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// Issue is one issue the fake GitHub holds.
type Issue struct {
	Number int
	Title  string
	Body   string
	Labels []string
	State  string
}

// Failure is an answer the fake gives instead of the real one, to the next
// request whose method matches (any when "") and whose path contains Path.
type Failure struct {
	Method  string
	Path    string
	Status  int
	Header  map[string]string
	Message string
	DocURL  string // documentation_url; go-github tells secondary limits by it
}

// GitHub is a fake of GitHub's REST API for one repository's issues, at
// the Enterprise-style base URL go-github's WithEnterpriseURLs builds
// (URL()/api/v3/). It insists on a token, pages its lists PageSize at a
// time, and records every request.
type GitHub struct {
	srv         *httptest.Server
	owner, repo string
	Token       string
	PageSize    int

	mu       sync.Mutex
	issues   []*Issue
	failures []Failure
	requests []string
}

// NewGitHub serves owner/repo's issues until the test ends; requests must
// carry "Bearer " + token.
func NewGitHub(t testing.TB, owner, repo, token string) *GitHub {
	g := &GitHub{owner: owner, repo: repo, Token: token, PageSize: 2}
	g.srv = httptest.NewServer(http.HandlerFunc(g.serve))
	t.Cleanup(g.srv.Close)
	return g
}

// URL is the server's root, what go-github's WithEnterpriseURLs takes.
func (g *GitHub) URL() string { return g.srv.URL }

// Add puts an issue in the repository (one someone else filed).
func (g *GitHub) Add(is Issue) int {
	g.mu.Lock()
	defer g.mu.Unlock()
	is.Number = len(g.issues) + 1
	if is.State == "" {
		is.State = "open"
	}
	g.issues = append(g.issues, &is)
	return is.Number
}

// Fail queues failures, answered in order.
func (g *GitHub) Fail(fs ...Failure) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.failures = append(g.failures, fs...)
}

// Issues returns a copy of every issue.
func (g *GitHub) Issues() []Issue {
	g.mu.Lock()
	defer g.mu.Unlock()
	out := make([]Issue, len(g.issues))
	for i, is := range g.issues {
		out[i] = *is
		out[i].Labels = append([]string(nil), is.Labels...)
	}
	return out
}

// Requests lists "METHOD path" of every request so far.
func (g *GitHub) Requests() []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]string(nil), g.requests...)
}

func (g *GitHub) issueJSON(is *Issue) map[string]any {
	labels := []any{}
	for _, l := range is.Labels {
		labels = append(labels, map[string]any{"name": l})
	}
	return map[string]any{
		"number": is.Number, "title": is.Title, "body": is.Body, "state": is.State, "labels": labels,
		"html_url": fmt.Sprintf("https://github.com/%s/%s/issues/%d", g.owner, g.repo, is.Number),
	}
}

func (g *GitHub) serve(w http.ResponseWriter, r *http.Request) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.requests = append(g.requests, r.Method+" "+r.URL.Path)
	reply := func(status int, v any) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		json.NewEncoder(w).Encode(v)
	}
	for i, f := range g.failures {
		if (f.Method == "" || f.Method == r.Method) && strings.Contains(r.URL.Path, f.Path) {
			g.failures = append(g.failures[:i], g.failures[i+1:]...)
			for k, v := range f.Header {
				w.Header().Set(k, v)
			}
			doc := f.DocURL
			if doc == "" {
				doc = "https://docs.github.com/rest"
			}
			reply(f.Status, map[string]any{"message": f.Message, "documentation_url": doc})
			return
		}
	}
	if r.Header.Get("Authorization") != "Bearer "+g.Token {
		reply(http.StatusUnauthorized, map[string]any{"message": "Bad credentials"})
		return
	}
	base := fmt.Sprintf("/api/v3/repos/%s/%s/issues", g.owner, g.repo)
	switch {
	case r.Method == http.MethodGet && r.URL.Path == base:
		g.list(w, r, reply)
	case r.Method == http.MethodPost && r.URL.Path == base:
		var req struct {
			Title  *string   `json:"title"`
			Body   *string   `json:"body"`
			Labels *[]string `json:"labels"`
		}
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil || req.Title == nil || *req.Title == "" {
			reply(http.StatusUnprocessableEntity, map[string]any{"message": "Validation Failed", "errors": []any{map[string]any{"resource": "Issue", "field": "title", "code": "missing_field"}}})
			return
		}
		is := &Issue{Number: len(g.issues) + 1, Title: *req.Title, State: "open"}
		if req.Body != nil {
			is.Body = *req.Body
		}
		if req.Labels != nil {
			is.Labels = *req.Labels
		}
		g.issues = append(g.issues, is)
		reply(http.StatusCreated, g.issueJSON(is))
	case r.Method == http.MethodPatch && strings.HasPrefix(r.URL.Path, base+"/"):
		n, err := strconv.Atoi(strings.TrimPrefix(r.URL.Path, base+"/"))
		if err != nil || n < 1 || n > len(g.issues) {
			reply(http.StatusNotFound, map[string]any{"message": "Not Found"})
			return
		}
		var req struct {
			Title  *string   `json:"title"`
			Body   *string   `json:"body"`
			Labels *[]string `json:"labels"`
			State  *string   `json:"state"`
		}
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			reply(http.StatusBadRequest, map[string]any{"message": "Problems parsing JSON"})
			return
		}
		is := g.issues[n-1]
		if req.Title != nil {
			is.Title = *req.Title
		}
		if req.Body != nil {
			is.Body = *req.Body
		}
		if req.Labels != nil {
			is.Labels = *req.Labels
		}
		if req.State != nil {
			is.State = *req.State
		}
		reply(http.StatusOK, g.issueJSON(is))
	default:
		reply(http.StatusNotFound, map[string]any{"message": "Not Found"})
	}
}

// list answers GET issues with labels and state filters, PageSize a page,
// and a Link header to the next page as GitHub sends.
func (g *GitHub) list(w http.ResponseWriter, r *http.Request, reply func(int, any)) {
	q := r.URL.Query()
	state := q.Get("state")
	if state == "" {
		state = "open"
	}
	var want []string
	if l := q.Get("labels"); l != "" {
		want = strings.Split(l, ",")
	}
	var match []*Issue
	for _, is := range g.issues {
		if state != "all" && is.State != state {
			continue
		}
		ok := true
		for _, l := range want {
			ok = ok && contains(is.Labels, l)
		}
		if ok {
			match = append(match, is)
		}
	}
	page, _ := strconv.Atoi(q.Get("page"))
	if page < 1 {
		page = 1
	}
	size := g.PageSize
	if pp, _ := strconv.Atoi(q.Get("per_page")); pp > 0 && pp < size {
		size = pp
	}
	from := (page - 1) * size
	to := from + size
	if from > len(match) {
		from = len(match)
	}
	if to > len(match) {
		to = len(match)
	}
	if to < len(match) {
		next := *r.URL
		nq := next.Query()
		nq.Set("page", strconv.Itoa(page+1))
		next.RawQuery = nq.Encode()
		w.Header().Set("Link", fmt.Sprintf(`<%s%s>; rel="next"`, g.srv.URL, next.String()))
	}
	out := []any{}
	for _, is := range match[from:to] {
		out = append(out, g.issueJSON(is))
	}
	reply(http.StatusOK, out)
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
