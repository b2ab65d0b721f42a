package server_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/aco-dev/aco"
)

// client keeps no idle connections, whose goroutines would look leaked.
var client = &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}

func (s *testServer) url(path string) string { return "http://" + s.HTTPAddr() + path }

// do sends an API request with the token unless noToken, and returns the
// status and body.
func (s *testServer) do(t *testing.T, method, path, body string, header http.Header) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, s.url(path), strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+testToken)
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// recordDemo records a finished run of two calls and returns its id and nodes.
func recordDemo(t *testing.T, s *testServer) (string, []string) {
	t.Helper()
	r := dial(t, s)
	run, _ := r.hello("")
	a, _ := r.call(run, "h1", "Output the number 42", "42")
	b, _ := r.call(run, "h2", "Add 1 to 42", "43")
	r.send(map[string]any{"type": "log", "run_id": run, "entry": "checked", "success": true})
	r.deregister(run, 0)
	r.done()
	return run, []string{a, b}
}

func TestAPIEndpoints(t *testing.T) {
	s := newTestServer(t)
	run, nodes := recordDemo(t, s)

	code, body := s.do(t, "GET", "/api/runs", "", nil)
	var runs []aco.Run
	if code != 200 || json.Unmarshal([]byte(body), &runs) != nil || len(runs) != 1 || runs[0].ID != run || runs[0].Calls != 2 {
		t.Fatalf("GET /api/runs: %d %s", code, body)
	}

	code, body = s.do(t, "GET", "/api/runs/"+run[:6], "", nil)
	var g aco.Graph
	if code != 200 || json.Unmarshal([]byte(body), &g) != nil || len(g.Nodes) != 2 || len(g.Edges) != 1 || len(g.Logs) != 1 {
		t.Fatalf("GET /api/runs/{prefix}: %d %s", code, body)
	}
	if code, _ := s.do(t, "GET", "/api/runs/last", "", nil); code != 200 {
		t.Errorf("GET /api/runs/last: %d", code)
	}

	code, body = s.do(t, "GET", "/api/nodes/"+nodes[1], "", nil)
	var c aco.Call
	if code != 200 || json.Unmarshal([]byte(body), &c) != nil || c.InputText != "Add 1 to 42" || !strings.Contains(string(c.Output), "43") {
		t.Fatalf("GET /api/nodes/{id}: %d %s", code, body)
	}

	if code, body := s.do(t, "PATCH", "/api/runs/"+run, `{"name":"renamed","result":"satisfactory","notes":"looks right"}`, nil); code != 204 {
		t.Fatalf("PATCH: %d %s", code, body)
	}
	got, _ := s.store.GetRun(t.Context(), run)
	if got.Name != "renamed" || got.Result != "satisfactory" || got.Notes != "looks right" {
		t.Errorf("after PATCH: %+v", got)
	}
	if code, body := s.do(t, "PATCH", "/api/runs/"+run, `{"result":"great"}`, nil); code != 400 || !strings.Contains(body, "satisfactory") {
		t.Errorf("PATCH with a bad result: %d %s", code, body)
	}

	if code, body := s.do(t, "POST", "/api/nodes/"+nodes[0]+"/edit", `{"output":{"text":"50"}}`, nil); code != 204 {
		t.Fatalf("edit: %d %s", code, body)
	}
	if c, _ := s.store.GetCall(t.Context(), nodes[0]); string(c.OutputOverwrite) != `{"text":"50"}` {
		t.Errorf("output overwrite = %s", c.OutputOverwrite)
	}
	if code, _ := s.do(t, "POST", "/api/nodes/"+nodes[0]+"/edit", `{"output":null}`, nil); code != 204 {
		t.Errorf("revert: %d", code)
	}
	if c, _ := s.store.GetCall(t.Context(), nodes[0]); len(c.OutputOverwrite) != 0 && string(c.OutputOverwrite) != "null" {
		t.Errorf("after revert the overwrite is %s", c.OutputOverwrite)
	}
	for _, bad := range []string{`{"output":{"colour":"x"}}`, `{"output":"50"}`, `{}`, `{"input":{"text":5}}`, `not json`, `{"output":null} {}`} {
		if code, body := s.do(t, "POST", "/api/nodes/"+nodes[0]+"/edit", bad, nil); code != 400 {
			t.Errorf("edit %s: %d %s, want 400", bad, code, body)
		}
	}

	if code, body := s.do(t, "GET", "/api/runs/"+run[:2], "", nil); code != 400 || !strings.Contains(body, "at least 4") {
		t.Errorf("a 2-character prefix: %d %s", code, body)
	}
	for path, want := range map[string]int{
		"/api/runs/nosuchrun":    404,
		"/api/nodes/nosuchnode":  404,
		"/api/teleport":          404,
		"/api/runs/" + run + "x": 404,
	} {
		if code, body := s.do(t, "GET", path, "", nil); code != want {
			t.Errorf("GET %s: %d %s, want %d", path, code, body, want)
		}
	}

	if code, _ := s.do(t, "DELETE", "/api/runs/"+run, "", nil); code != 204 {
		t.Errorf("DELETE: %d", code)
	}
	if code, _ := s.do(t, "GET", "/api/runs/"+run, "", nil); code != 404 {
		t.Errorf("GET after DELETE: %d", code)
	}
	recordDemo(t, s)
	if code, _ := s.do(t, "POST", "/api/clear", "", nil); code != 204 {
		t.Errorf("clear: %d", code)
	}
	if _, body := s.do(t, "GET", "/api/runs", "", nil); strings.TrimSpace(body) != "[]" {
		t.Errorf("runs after clear: %s", body)
	}
}

// No request from elsewhere may read runs or change anything.
func TestAPIRefusesWithoutTokenOrFromOtherOrigins(t *testing.T) {
	s := newTestServer(t)
	run, _ := recordDemo(t, s)
	tests := []struct {
		name   string
		method string
		path   string
		header http.Header
		want   int
	}{
		{"no token", "GET", "/api/runs", http.Header{"Authorization": {""}}, 401},
		{"wrong token", "GET", "/api/runs", http.Header{"Authorization": {"Bearer nope"}}, 401},
		{"token of another length", "GET", "/api/runs", http.Header{"Authorization": {"Bearer " + testToken + "0"}}, 401},
		{"no token, write", "POST", "/api/clear", http.Header{"Authorization": {""}}, 401},
		{"foreign origin", "GET", "/api/runs", http.Header{"Origin": {"http://evil.example"}}, 403},
		{"foreign origin, write", "POST", "/api/clear", http.Header{"Origin": {"http://evil.example"}}, 403},
		{"same host other port", "GET", "/api/runs", http.Header{"Origin": {"http://127.0.0.1:1"}}, 403},
		{"null origin", "DELETE", "/api/runs/" + run, http.Header{"Origin": {"null"}}, 403},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if code, body := s.do(t, tt.method, tt.path, "", tt.header); code != tt.want {
				t.Errorf("%d %s, want %d", code, body, tt.want)
			}
		})
	}
	// A rebinding attack reaches the server under another host name.
	req, _ := http.NewRequest("GET", s.url("/api/runs"), nil)
	req.Host = "attacker.example:80"
	req.Header.Set("Authorization", "Bearer "+testToken)
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 403 {
		t.Errorf("foreign Host: %d, want 403", resp.StatusCode)
	}
	// The query token works (the page's first load), and the run survived.
	resp, err = client.Get(s.url("/api/runs?token=" + url.QueryEscape(testToken)))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("query token: %d", resp.StatusCode)
	}
	if _, err := s.store.GetRun(t.Context(), run); err != nil {
		t.Errorf("a refused request changed the store: %v", err)
	}
	// The event stream checks the same.
	if _, _, err := websocket.Dial(t.Context(), "ws://"+s.HTTPAddr()+"/api/events", &websocket.DialOptions{HTTPClient: client}); err == nil {
		t.Error("events without a token were accepted")
	}
	_, _, err = websocket.Dial(t.Context(), "ws://"+s.HTTPAddr()+"/api/events?token="+testToken,
		&websocket.DialOptions{HTTPClient: client, HTTPHeader: http.Header{"Origin": {"http://evil.example"}}})
	if err == nil {
		t.Error("events from a foreign origin were accepted")
	}
}

func TestEventsStreamRunsNodesAndEdges(t *testing.T) {
	s := newTestServer(t)
	ws, _, err := websocket.Dial(t.Context(), "ws://"+s.HTTPAddr()+"/api/events?token="+testToken,
		&websocket.DialOptions{HTTPHeader: http.Header{"Origin": {"http://" + s.HTTPAddr()}}})
	if err != nil {
		t.Fatal(err)
	}
	defer ws.CloseNow()
	run, nodes := recordDemo(t, s)
	var got []string
	deadline := time.Now().Add(10 * time.Second)
	for len(got) < 6 && time.Now().Before(deadline) {
		ctx, cancel := context.WithDeadline(t.Context(), deadline)
		_, b, err := ws.Read(ctx)
		cancel()
		if err != nil {
			t.Fatalf("after events %v: %v", got, err)
		}
		var ev struct {
			Type string
			Run  *aco.Run
			Node *aco.Call
			Edge *aco.Edge
			Log  *aco.LogEntry
		}
		json.Unmarshal(b, &ev)
		switch ev.Type {
		case "run":
			got = append(got, "run:"+string(ev.Run.Status))
		case "node":
			got = append(got, "node:"+ev.Node.NodeID)
		case "edge":
			got = append(got, "edge:"+ev.Edge.Source+">"+ev.Edge.Target)
		case "log":
			got = append(got, "log:"+ev.Log.Entry)
		}
	}
	want := []string{"run:running", "node:" + nodes[0], "node:" + nodes[1], "edge:" + nodes[0] + ">" + nodes[1], "log:checked", "run:finished"}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("events:\n got %v\nwant %v", got, want)
	}
	if code, _ := s.do(t, "DELETE", "/api/runs/"+run, "", nil); code != 204 {
		t.Fatal("delete failed")
	}
	_, b, err := ws.Read(t.Context())
	if err != nil || !strings.Contains(string(b), `"removed"`) {
		t.Errorf("after delete: %s %v", b, err)
	}
}
