package server_test

import (
	"bufio"
	"encoding/json"
	"io"
	"net"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/aco-dev/aco"
	"github.com/aco-dev/aco/core/server"
	"github.com/aco-dev/aco/core/store/sqlite"
)

const testToken = "0123456789abcdef0123456789abcdef0123456789abcdef"

type testServer struct {
	*server.Server
	store aco.Store
}

func newTestServer(t *testing.T) *testServer {
	t.Helper()
	base := runtime.NumGoroutine()
	db, err := sqlite.Open(filepath.Join(t.TempDir(), "aco.db"))
	if err != nil {
		t.Fatal(err)
	}
	s := server.New(server.Options{Store: db, Token: testToken, MaxLine: 1 << 20})
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
		db.Close()
		checkNoLeaks(t, base)
	})
	return &testServer{Server: s, store: db}
}

// checkNoLeaks fails when goroutines the server started outlive Close.
// Close waits for its goroutines, so only the runtime's own stragglers
// (finished HTTP client connections) may need a moment.
func checkNoLeaks(t *testing.T, base int) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Second)
	for runtime.NumGoroutine() > base {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<16)
			n := runtime.Stack(buf, true)
			t.Errorf("goroutines leaked: %d > %d\n%s", runtime.NumGoroutine(), base, buf[:n])
			return
		}
		runtime.Gosched()
	}
}

// runner is a test client speaking the protocol over a real TCP connection.
type runner struct {
	t    *testing.T
	conn net.Conn
	rd   *bufio.Reader
	id   int64
}

func dial(t *testing.T, s *testServer) *runner {
	t.Helper()
	c, err := net.Dial("tcp", s.RunnerAddr())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &runner{t: t, conn: c, rd: newReader(c)}
}

func newReader(c net.Conn) *bufio.Reader { return bufio.NewReaderSize(c, 1<<16) }

func (r *runner) send(msg map[string]any) {
	r.t.Helper()
	b, err := json.Marshal(msg)
	if err != nil {
		r.t.Fatal(err)
	}
	r.sendRaw(string(b) + "\n")
}

func (r *runner) sendRaw(s string) {
	r.t.Helper()
	if _, err := r.conn.Write([]byte(s)); err != nil {
		r.t.Fatal(err)
	}
}

func (r *runner) recv() map[string]any {
	r.t.Helper()
	r.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	line, err := r.rd.ReadBytes('\n')
	if err != nil {
		r.t.Fatalf("reading answer: %v", err)
	}
	var m map[string]any
	if err := json.Unmarshal(line, &m); err != nil {
		r.t.Fatalf("answer %q: %v", line, err)
	}
	return m
}

func (r *runner) request(msg map[string]any) map[string]any {
	r.t.Helper()
	r.id++
	msg["id"] = r.id
	r.send(msg)
	ans := r.recv()
	if got := int64(ans["id"].(float64)); got != r.id {
		r.t.Fatalf("answer id %d, want %d: %v", got, r.id, ans)
	}
	return ans
}

func (r *runner) hello(runID string) (string, int) {
	r.t.Helper()
	msg := map[string]any{"type": "hello", "protocol": 1, "name": "agent.py", "cwd": "/tmp",
		"argv": []string{"agent.py"}, "interpreter": "/usr/bin/python3",
		"env": map[string]string{"OPENAI_API_KEY": "sk-secret", "HOME": "/root"}}
	if runID != "" {
		msg["run_id"] = runID
	}
	r.send(msg)
	ans := r.recv()
	if ans["type"] != "session" {
		r.t.Fatalf("hello answered %v", ans)
	}
	return ans["run_id"].(string), int(ans["execution"].(float64))
}

// call makes one recorded call: a cache look-up and, on a miss, the node
// with output out. It returns the node id and whether the cache answered.
func (r *runner) call(runID, hash, in, out string) (string, bool) {
	r.t.Helper()
	ans := r.request(map[string]any{"type": "cache_get", "run_id": runID, "api": "openai.responses.create", "input_hash": hash})
	if ans["type"] != "cache_result" {
		r.t.Fatalf("cache_get answered %v", ans)
	}
	node := ans["node_id"].(string)
	hit := ans["hit"] == true
	output := map[string]any{"type": "openai.types.responses.Response", "data": map[string]any{"output_text": out}}
	if hit {
		var rec map[string]any
		b, _ := json.Marshal(ans["output"])
		json.Unmarshal(b, &rec)
		out = rec["data"].(map[string]any)["output_text"].(string)
		if t, ok := rec["text"].(string); ok {
			out = t
		}
	}
	r.send(map[string]any{"type": "add_node", "run_id": runID, "node_id": node, "api": "openai.responses.create",
		"model": "gpt-4o-mini", "input": map[string]any{"input": in}, "input_hash": hash, "output": output,
		"input_text": in, "output_text": out, "location": "agent.py:3", "cached": hit})
	return node, hit
}

func (r *runner) deregister(runID string, code int) {
	r.send(map[string]any{"type": "deregister", "run_id": runID, "status": "finished", "exit_code": code})
}

// done ends the connection and waits until the server closes its side, which
// it does only after storing everything the runner sent.
func (r *runner) done() {
	r.t.Helper()
	r.conn.(*net.TCPConn).CloseWrite()
	r.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.Copy(io.Discard, r.rd); err != nil {
		r.t.Fatalf("waiting for the server to close: %v", err)
	}
}

func edgeSet(edges []aco.Edge) map[string]bool {
	m := map[string]bool{}
	for _, e := range edges {
		m[e.Source+">"+e.Target+":"+string(e.Via)] = true
	}
	return m
}

// The demo's shape: one output feeds two calls whose outputs feed a fourth.
func TestContentEdgesDemoShape(t *testing.T) {
	s := newTestServer(t)
	r := dial(t, s)
	run, exec := r.hello("")
	if exec != 1 {
		t.Fatalf("first execution = %d", exec)
	}
	a, _ := r.call(run, "h1", "Output the number 42", "42")
	b, _ := r.call(run, "h2", "Add 1 to 42", "43")
	c, _ := r.call(run, "h3", "Add 2 to 42", "44")
	d, _ := r.call(run, "h4", "Add 43 to 44", "87")
	r.deregister(run, 0)
	r.done()

	g, err := s.Service().Graph(t.Context(), run)
	if err != nil {
		t.Fatal(err)
	}
	if len(g.Nodes) != 4 {
		t.Fatalf("nodes = %d, want 4", len(g.Nodes))
	}
	want := map[string]bool{a + ">" + b + ":content": true, a + ">" + c + ":content": true,
		b + ">" + d + ":content": true, c + ">" + d + ":content": true}
	if got := edgeSet(g.Edges); len(got) != 4 || !equalSets(got, want) {
		t.Errorf("edges = %v, want %v", got, want)
	}
	if g.Run.Status != aco.RunFinished || g.Run.ExitCode == nil || *g.Run.ExitCode != 0 {
		t.Errorf("run status = %s exit %v, want finished 0", g.Run.Status, g.Run.ExitCode)
	}
	if g.Run.Env["OPENAI_API_KEY"] == "sk-secret" {
		t.Error("the API key was stored")
	}
	if g.Run.Env["HOME"] != "/root" {
		t.Errorf("HOME = %q, the environment was not recorded", g.Run.Env["HOME"])
	}
}

func equalSets(a, b map[string]bool) bool {
	if len(a) != len(b) {
		return false
	}
	for k := range a {
		if !b[k] {
			return false
		}
	}
	return true
}

func TestRerunServesFromCacheInOrder(t *testing.T) {
	s := newTestServer(t)
	r := dial(t, s)
	run, _ := r.hello("")
	// The same request twice (sampling): two recorded answers.
	n1, hit1 := r.call(run, "same", "Tell a joke", "joke one")
	n2, hit2 := r.call(run, "same", "Tell a joke", "joke two")
	if hit1 || hit2 || n1 == n2 {
		t.Fatalf("first execution: hits %v %v, nodes %s %s", hit1, hit2, n1, n2)
	}
	r.deregister(run, 0)
	r.done()

	r2 := dial(t, s)
	run2, exec := r2.hello(run)
	if run2 != run || exec != 2 {
		t.Fatalf("rerun got run %s execution %d, want %s 2", run2, exec, run)
	}
	m1, h1 := r2.call(run, "same", "Tell a joke", "")
	m2, h2 := r2.call(run, "same", "Tell a joke", "")
	m3, h3 := r2.call(run, "same", "Tell a joke", "joke three")
	if !h1 || !h2 || h3 {
		t.Errorf("rerun hits = %v %v %v, want true true false", h1, h2, h3)
	}
	if m1 != n1 || m2 != n2 || m3 == n1 || m3 == n2 {
		t.Errorf("rerun nodes %s %s %s, want %s %s and a new one", m1, m2, m3, n1, n2)
	}
	r2.done()
	g, err := s.Service().Graph(t.Context(), run)
	if err != nil {
		t.Fatal(err)
	}
	var texts []string
	for _, n := range g.Nodes {
		texts = append(texts, n.OutputText+"/"+string(n.Origin))
	}
	if got := strings.Join(texts, ","); got != "joke one/cache,joke two/cache,joke three/new" {
		t.Errorf("nodes of execution 2: %s", got)
	}
}

func TestOutputOverwriteIsServedWithTheRecording(t *testing.T) {
	s := newTestServer(t)
	r := dial(t, s)
	run, _ := r.hello("")
	a, _ := r.call(run, "h1", "Output the number 42", "42")
	r.call(run, "h2", "Add 1 to 42", "43")
	r.deregister(run, 0)
	r.done()

	if err := s.Service().EditCall(t.Context(), a, aco.CallEdit{Output: json.RawMessage(`{"text":"100"}`)}); err != nil {
		t.Fatal(err)
	}
	r2 := dial(t, s)
	r2.hello(run)
	r2.id = 100
	ans := r2.request(map[string]any{"type": "cache_get", "run_id": run, "api": "openai.responses.create", "input_hash": "h1"})
	if ans["hit"] != true || ans["node_id"] != a {
		t.Fatalf("edited node: %v", ans)
	}
	out := ans["output"].(map[string]any)
	if out["text"] != "100" || out["data"].(map[string]any)["output_text"] != "42" {
		t.Errorf("output = %v, want the recording with text 100", out)
	}
}

func TestInputOverwriteMissesWithTheNewInput(t *testing.T) {
	s := newTestServer(t)
	r := dial(t, s)
	run, _ := r.hello("")
	a, _ := r.call(run, "h1", "Output the number 42", "42")
	r.deregister(run, 0)
	r.done()
	if err := s.Service().EditCall(t.Context(), a, aco.CallEdit{Input: json.RawMessage(`{"text":"Output the number 7"}`)}); err != nil {
		t.Fatal(err)
	}
	r2 := dial(t, s)
	r2.hello(run)
	ans := r2.request(map[string]any{"type": "cache_get", "run_id": run, "api": "x", "input_hash": "h1"})
	if ans["hit"] == true || ans["node_id"] != a {
		t.Fatalf("edited input must miss on the same node: %v", ans)
	}
	if ow := ans["input_overwrite"].(map[string]any); ow["text"] != "Output the number 7" {
		t.Errorf("input_overwrite = %v", ow)
	}
}

func TestSubrunsKeepTheirIdsOnRerun(t *testing.T) {
	s := newTestServer(t)
	r := dial(t, s)
	run, _ := r.hello("")
	start := func(r *runner, name string) string {
		ans := r.request(map[string]any{"type": "subrun_start", "parent": run, "name": name})
		if ans["type"] != "subrun" {
			t.Fatalf("subrun_start answered %v", ans)
		}
		return ans["run_id"].(string)
	}
	s1 := start(r, "sample")
	s2 := start(r, "sample")
	s3 := start(r, "other")
	r.call(s1, "h", "Output the number 1", "1")
	r.send(map[string]any{"type": "subrun_end", "run_id": s1, "status": "finished"})
	r.send(map[string]any{"type": "subrun_end", "run_id": s2, "status": "crashed"})
	r.deregister(run, 0)
	r.done()

	runs, err := s.Service().ListRuns(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]aco.Run{}
	for _, x := range runs {
		names[x.Name] = x
	}
	if names["sample"].ID != s1 || names["sample #2"].ID != s2 || names["other"].ID != s3 {
		t.Fatalf("subruns: %+v", names)
	}
	if names["sample"].ParentID != run || names["sample"].Status != aco.RunFinished || names["sample #2"].Status != aco.RunCrashed {
		t.Errorf("subrun records: %+v", names)
	}
	if names["sample"].Calls != 1 {
		t.Errorf("subrun calls = %d, want 1", names["sample"].Calls)
	}

	r2 := dial(t, s)
	r2.hello(run)
	r = r2
	if a, b := start(r2, "sample"), start(r2, "sample"); a != s1 || b != s2 {
		t.Errorf("rerun subruns %s %s, want %s %s", a, b, s1, s2)
	}
	if _, hit := r2.call(s1, "h", "Output the number 1", ""); !hit {
		t.Error("a subrun's call was not served from the cache on rerun")
	}
}

func TestDroppedConnectionMarksRunCrashed(t *testing.T) {
	s := newTestServer(t)
	r := dial(t, s)
	run, _ := r.hello("")
	r.call(run, "h1", "Output the number 42", "42")
	r.done() // no deregister: the program vanished
	got, err := s.store.GetRun(t.Context(), run)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != aco.RunCrashed {
		t.Fatalf("status = %s after the runner vanished, want crashed", got.Status)
	}
	calls, err := s.store.Calls(t.Context(), run)
	if err != nil || len(calls) != 1 {
		t.Fatalf("recorded calls after the drop: %d, %v", len(calls), err)
	}
}

// A call made anew on a rerun (its input changed upstream, so it is a new
// node at the place of the old one) keeps the previous answer beside the
// new one only when the answer changed. Recordings from before the shim
// recorded only the fields the API set name every field, unset ones as
// null: the same answer recorded the other way is unchanged.
func TestRerunAnswerDiffersOnlyByNullFieldsIsNotChanged(t *testing.T) {
	for _, tc := range []struct {
		name, rerun string
		changed     bool
	}{
		{"same answer, unset fields left out", `{"output_text":"42","id":"r1","items":[null,1]}`, false},
		{"same answer, the same nulls", `{"output_text":"42","id":"r1","usage":null,"items":[null,1]}`, false},
		{"other text", `{"output_text":"43","id":"r1"}`, true},
		{"a field now null", `{"output_text":null,"id":"r1"}`, true},
		{"a null in a list dropped", `{"output_text":"42","id":"r1","items":[1]}`, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newTestServer(t)
			call := func(r *runner, run, hash, data string) string {
				ans := r.request(map[string]any{"type": "cache_get", "run_id": run, "api": "openai.responses.create", "input_hash": hash})
				if ans["hit"] == true {
					t.Fatalf("cache_get %s hit: %v", hash, ans)
				}
				node := ans["node_id"].(string)
				r.send(map[string]any{"type": "add_node", "run_id": run, "node_id": node, "api": "openai.responses.create",
					"input": map[string]any{"input": hash}, "input_hash": hash, "input_text": hash, "output_text": "42",
					"output": map[string]any{"type": "openai.types.responses.Response", "data": json.RawMessage(data)}})
				return node
			}
			r := dial(t, s)
			run, _ := r.hello("")
			old := call(r, run, "h1", `{"output_text":"42","id":"r1","usage":null,"items":[null,1]}`)
			r.deregister(run, 0)
			r.done()

			r2 := dial(t, s)
			r2.hello(run)
			node := call(r2, run, "h2", tc.rerun)
			r2.deregister(run, 0)
			r2.done()
			if node == old {
				t.Fatalf("a changed input got the old node %s", old)
			}
			g, err := s.Service().Graph(t.Context(), run)
			if err != nil {
				t.Fatal(err)
			}
			if len(g.Nodes) != 1 || g.Nodes[0].NodeID != node {
				t.Fatalf("nodes of execution 2: %+v", g.Nodes)
			}
			if got := len(g.Nodes[0].PrevOutput) > 0 && string(g.Nodes[0].PrevOutput) != "null"; got != tc.changed {
				t.Errorf("changed = %v (previous output %s), want %v", got, g.Nodes[0].PrevOutput, tc.changed)
			}
		})
	}
}
