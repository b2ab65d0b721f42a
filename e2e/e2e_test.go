// Package e2e runs the real binaries end to end: aco-launch running Python
// programs with the real openai SDK against the mock LLM server, recorded by
// a real aco server daemon.
package e2e_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aco-dev/aco"
	"github.com/aco-dev/aco/core/mockllm"
)

var (
	repoRoot string
	binDir   string
	python   string
)

func TestMain(m *testing.M) {
	_, file, _, _ := runtime.Caller(0)
	repoRoot = filepath.Dir(filepath.Dir(file))
	python = os.Getenv("ACO_TEST_PYTHON")
	if python == "" {
		python = filepath.Join(repoRoot, ".venv", "bin", "python")
	}
	if err := exec.Command(python, "-c", "import openai").Run(); err != nil {
		fmt.Fprintf(os.Stderr, "e2e: %s cannot import openai (%v): run scripts/setup or set ACO_TEST_PYTHON\n", python, err)
		os.Exit(1)
	}
	dir, err := os.MkdirTemp("", "aco-e2e-bin")
	if err != nil {
		panic(err)
	}
	build := exec.Command("go", "build", "-o", dir, "./cmd/aco", "./cmd/aco-launch")
	build.Dir = repoRoot
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintf(os.Stderr, "e2e: building the binaries: %v\n", err)
		os.Exit(1)
	}
	binDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// world is one isolated aco installation: its own home, ports and mock LLM.
type world struct {
	t          *testing.T
	home       string
	port       int
	httpPort   int
	mockURL    string
	stopMock   context.CancelFunc
	mockClosed chan struct{}
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func newWorld(t *testing.T) *world {
	t.Helper()
	w := &world{t: t, home: t.TempDir(), port: freePort(t), httpPort: freePort(t)}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	w.mockURL = "http://" + ln.Addr().String() + "/v1"
	ctx, cancel := context.WithCancel(context.Background())
	w.stopMock = cancel
	w.mockClosed = make(chan struct{})
	go func() {
		defer close(w.mockClosed)
		mockllm.New(mockllm.Options{}).Serve(ctx, ln)
	}()
	t.Cleanup(func() {
		w.aco("server", "stop")
		w.killMock()
	})
	return w
}

func (w *world) killMock() {
	w.stopMock()
	<-w.mockClosed
}

func (w *world) env() []string {
	env := []string{
		"ACO_HOME=" + w.home,
		fmt.Sprintf("ACO_PORT=%d", w.port),
		fmt.Sprintf("ACO_HTTP_PORT=%d", w.httpPort),
		"ACO_PYTHON=" + python,
		"OPENAI_BASE_URL=" + w.mockURL,
		"OPENAI_API_KEY=sk-test-secret",
		"OPENAI_MAX_RETRIES=0",
		"PATH=" + binDir + ":" + os.Getenv("PATH"),
		"HOME=" + os.Getenv("HOME"),
		// The race runtime would keep a daemon built with -race alive for a
		// second after exit; these binaries are not, but keep it harmless.
		"GORACE=atexit_sleep_ms=0",
		"PYTHONDONTWRITEBYTECODE=1",
	}
	return env
}

type result struct {
	stdout, stderr string
	code           int
}

func (w *world) run(dir string, stdin string, name string, args ...string) result {
	w.t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Env = w.env()
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			code = -int(ws.Signal())
		}
	} else if err != nil {
		w.t.Fatalf("%s %v: %v", name, args, err)
	}
	return result{out.String(), errb.String(), code}
}

func (w *world) aco(args ...string) result {
	w.t.Helper()
	return w.run(repoRoot, "", filepath.Join(binDir, "aco"), args...)
}

func (w *world) launch(dir string, args ...string) result {
	w.t.Helper()
	return w.run(dir, "", filepath.Join(binDir, "aco-launch"), args...)
}

func (w *world) graph(ref string) aco.Graph {
	w.t.Helper()
	r := w.aco("show", ref, "--format", "json")
	if r.code != 0 {
		w.t.Fatalf("aco show %s: %d %s", ref, r.code, r.stderr)
	}
	var g aco.Graph
	if err := json.Unmarshal([]byte(r.stdout), &g); err != nil {
		w.t.Fatalf("aco show json: %v\n%s", err, r.stdout)
	}
	return g
}

func (w *world) runs() []aco.Run {
	w.t.Helper()
	r := w.aco("runs", "--format", "json")
	if r.code != 0 {
		w.t.Fatalf("aco runs: %d %s", r.code, r.stderr)
	}
	var runs []aco.Run
	if err := json.Unmarshal([]byte(r.stdout), &runs); err != nil {
		w.t.Fatal(err)
	}
	return runs
}

// edges returns a graph's edges as "source-text>target-text:via", which
// reads better in failures than node ids.
func edges(g aco.Graph) map[string]bool {
	text := map[string]string{}
	for _, n := range g.Nodes {
		text[n.NodeID] = n.InputText
	}
	out := map[string]bool{}
	for _, e := range g.Edges {
		out[text[e.Source]+" > "+text[e.Target]+" : "+string(e.Via)] = true
	}
	return out
}

func TestDemoAgentRecordsFourNodesAndFourEdges(t *testing.T) {
	w := newWorld(t)
	r := w.launch(repoRoot, "examples/demo/agent.py")
	if r.code != 0 || r.stdout != "42 + 1 = 43, 42 + 2 = 44, sum = 87\n" {
		t.Fatalf("demo: exit %d\nstdout %q\nstderr %s", r.code, r.stdout, r.stderr)
	}
	if r.stderr != "" {
		t.Errorf("aco wrote to stderr when all was well: %q", r.stderr)
	}
	g := w.graph("last")
	if len(g.Nodes) != 4 {
		t.Fatalf("nodes = %d, want 4", len(g.Nodes))
	}
	if got, want := edges(g), demoEdges("taint"); !sameSet(got, want) {
		t.Errorf("edges = %v\nwant %v", got, want)
	}
	apis := map[string]int{}
	for _, n := range g.Nodes {
		apis[n.API]++
		if n.Model != "gpt-4o-mini" || !strings.HasPrefix(n.Location, filepath.Join(repoRoot, "examples/demo/agent.py")+":") {
			t.Errorf("node %s: model %q location %q", n.NodeID, n.Model, n.Location)
		}
	}
	if apis["openai.responses.create"] != 3 || apis["openai.chat.completions.create"] != 1 {
		t.Errorf("apis = %v", apis)
	}
	if g.Run.Env["OPENAI_API_KEY"] == "sk-test-secret" {
		t.Error("the API key was stored in the run's environment")
	}
	db, err := os.ReadFile(filepath.Join(w.home, "aco.db"))
	if err == nil && bytes.Contains(db, []byte("sk-test-secret")) {
		t.Error("the API key is in the database file")
	}
}

// demoEdges is the demo's graph: one answer feeds two calls whose answers
// feed a fourth.
func demoEdges(via string) map[string]bool {
	return map[string]bool{
		"Output the number 42 > Add 1 to 42 : " + via: true,
		"Output the number 42 > Add 2 to 42 : " + via: true,
		"Add 1 to 42 > Add 43 to 44 : " + via:         true,
		"Add 2 to 42 > Add 43 to 44 : " + via:         true,
	}
}

// Without rewriting, taint stops at the program's own string operations and
// content matching finds the same edges.
func TestDemoEdgesByContentWithoutRewriting(t *testing.T) {
	w := newWorld(t)
	cmd := exec.Command(filepath.Join(binDir, "aco-launch"), "examples/demo/agent.py")
	cmd.Dir = repoRoot
	cmd.Env = append(w.env(), "ACO_REWRITE=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("demo: %v\n%s", err, out)
	}
	if got, want := edges(w.graph("last")), demoEdges("content"); !sameSet(got, want) {
		t.Errorf("edges = %v\nwant %v", got, want)
	}
}

func sameSet(a, b map[string]bool) bool {
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

func TestRerunIsServedFromTheCacheWithTheModelGone(t *testing.T) {
	w := newWorld(t)
	first := w.launch(repoRoot, "examples/demo/agent.py")
	if first.code != 0 {
		t.Fatalf("first run: %d %s", first.code, first.stderr)
	}
	before := w.graph("last")
	w.killMock()

	again := w.aco("rerun", "last")
	if again.code != 0 || again.stdout != first.stdout {
		t.Fatalf("rerun with the mock stopped: exit %d\nstdout %q\nstderr %s", again.code, again.stdout, again.stderr)
	}
	after := w.graph("last")
	if after.Run.ID != before.Run.ID || after.Run.Execution != 2 {
		t.Errorf("rerun made run %s execution %d, want %s execution 2", after.Run.ID, after.Run.Execution, before.Run.ID)
	}
	for i, n := range after.Nodes {
		if n.Origin != aco.OriginCache || n.NodeID != before.Nodes[i].NodeID {
			t.Errorf("node %d: origin %s id %s, want cache %s", i, n.Origin, n.NodeID, before.Nodes[i].NodeID)
		}
	}
	if !sameSet(edges(after), edges(before)) {
		t.Errorf("edges changed on a cached rerun: %v vs %v", edges(after), edges(before))
	}
}

// The web UI's rerun: the server starts the program itself.
func TestRerunThroughTheAPI(t *testing.T) {
	w := newWorld(t)
	if r := w.launch(repoRoot, "examples/demo/agent.py"); r.code != 0 {
		t.Fatalf("run: %d %s", r.code, r.stderr)
	}
	tok, err := os.ReadFile(filepath.Join(w.home, "token"))
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest("POST", fmt.Sprintf("http://127.0.0.1:%d/api/runs/last/rerun", w.httpPort), nil)
	req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(string(tok)))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var started struct {
		RunID string `json:"run_id"`
		Log   string `json:"log"`
	}
	json.NewDecoder(resp.Body).Decode(&started)
	resp.Body.Close()
	if resp.StatusCode != 202 || started.RunID == "" {
		t.Fatalf("rerun: %d %+v", resp.StatusCode, started)
	}
	waitFor(t, func() bool {
		g := w.graph(started.RunID)
		return g.Run.Execution == 2 && g.Run.Status == aco.RunFinished
	})
	g := w.graph(started.RunID)
	for _, n := range g.Nodes {
		if n.Origin != aco.OriginCache {
			t.Errorf("node %q: origin %s, want cache", n.InputText, n.Origin)
		}
	}
	if out, _ := os.ReadFile(started.Log); string(out) != "42 + 1 = 43, 42 + 2 = 44, sum = 87\n" {
		t.Errorf("the rerun's output (%s) = %q", started.Log, out)
	}
}

func TestEditedOutputChangesTheDownstreamCalls(t *testing.T) {
	w := newWorld(t)
	if r := w.launch(repoRoot, "examples/demo/agent.py"); r.code != 0 {
		t.Fatalf("run: %d %s", r.code, r.stderr)
	}
	first := w.graph("last").Nodes[0]
	if r := w.aco("edit", "last", first.NodeID, "--output", "50"); r.code != 0 {
		t.Fatalf("edit: %d %s", r.code, r.stderr)
	}
	r := w.aco("rerun", "last")
	if r.code != 0 || r.stdout != "50 + 1 = 51, 50 + 2 = 52, sum = 103\n" {
		t.Fatalf("rerun after edit: exit %d stdout %q stderr %s", r.code, r.stdout, r.stderr)
	}
	g := w.graph("last")
	origins := []string{}
	for _, n := range g.Nodes {
		origins = append(origins, string(n.Origin)+":"+n.InputText)
	}
	want := "edited:Output the number 42,new:Add 1 to 50,new:Add 2 to 50,new:Add 51 to 52"
	if got := strings.Join(origins, ","); got != want {
		t.Errorf("nodes after the rerun:\n got %s\nwant %s", got, want)
	}
	if len(g.Edges) != 4 {
		t.Errorf("edges = %d, want 4", len(g.Edges))
	}
	// The calls downstream of the edit are new nodes, yet each keeps what
	// the same step answered before, for the page's side-by-side diff.
	if prev := string(g.Nodes[1].PrevOutput); !strings.Contains(prev, `"43`) {
		t.Errorf("node 2's previous output = %s, want the first execution's 43", prev)
	}
}

func TestSubrunsSequentialThreadsAndAsyncio(t *testing.T) {
	w := newWorld(t)
	r := w.launch(filepath.Join(repoRoot, "e2e/testdata/scripts"), "subruns.py")
	if r.code != 0 || r.stdout != "done\n" || r.stderr != "" {
		t.Fatalf("subruns.py: exit %d stdout %q stderr %s", r.code, r.stdout, r.stderr)
	}
	runs := w.runs()
	var top aco.Run
	for _, x := range runs {
		if x.ParentID == "" {
			top = x
		}
	}
	subs := map[string]aco.Run{}
	for _, x := range runs {
		if x.ParentID != "" {
			if x.ParentID != top.ID {
				t.Errorf("subrun %q has parent %s, want %s", x.Name, x.ParentID, top.ID)
			}
			subs[x.Name] = x
		}
	}
	if len(subs) != 3+8+4 {
		t.Fatalf("subruns = %d (%v), want 15", len(subs), keys(subs))
	}
	for name, s := range subs {
		if s.Status != aco.RunFinished || s.Calls != 2 {
			t.Errorf("subrun %q: status %s calls %d, want finished 2", name, s.Status, s.Calls)
		}
		g := w.graph(s.ID)
		if len(g.Edges) != 1 || g.Nodes[0].NodeID != g.Edges[0].Source || g.Nodes[1].NodeID != g.Edges[0].Target {
			t.Errorf("subrun %q: edges %v, want its first call feeding its second", name, g.Edges)
		}
	}
	tg := w.graph(top.ID)
	if len(tg.Logs) != 1 || tg.Logs[0].Entry != "all samples done" || tg.Logs[0].Success == nil || !*tg.Logs[0].Success {
		t.Errorf("logs = %+v", tg.Logs)
	}

	// A rerun maps every subrun to the same id and serves it from the cache.
	w.killMock()
	if r := w.aco("rerun", top.ID); r.code != 0 {
		t.Fatalf("rerun: %d %s", r.code, r.stderr)
	}
	after := w.runs()
	if len(after) != len(runs) {
		t.Fatalf("rerun changed the number of runs: %d → %d", len(runs), len(after))
	}
	for _, x := range after {
		if x.ParentID == "" {
			continue
		}
		if subs[x.Name].ID != x.ID {
			t.Errorf("subrun %q changed id on rerun", x.Name)
		}
		for _, n := range w.graph(x.ID).Nodes {
			if n.Origin != aco.OriginCache {
				t.Errorf("subrun %q node %s: origin %s, want cache", x.Name, n.InputText, n.Origin)
			}
		}
	}
}

func keys(m map[string]aco.Run) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// Programs must not be able to tell aco-launch from python.
func TestTransparency(t *testing.T) {
	w := newWorld(t)
	dir := filepath.Join(repoRoot, "e2e/testdata/transparency")
	tests := []struct {
		name  string
		args  []string
		stdin string
	}{
		{"argv", []string{"argv.py", "--flag", "-m", "x y"}, ""},
		{"argv from another directory", []string{"transparency/argv.py", "a"}, ""},
		{"module with relative imports", []string{"-m", "pkg", "there"}, ""},
		{"stdin piped", []string{"stdin_echo.py"}, "hello\nworld\n"},
		{"exit code", []string{"exit3.py"}, ""},
		{"exit message", []string{"exit_msg.py"}, ""},
		{"uncaught chained exception", []string{"crash.py"}, ""},
		{"reads __file__", []string{"reads_file.py"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := dir
			if strings.HasPrefix(tt.args[0], "transparency/") {
				d = filepath.Dir(dir)
			}
			plain := w.run(d, tt.stdin, python, tt.args...)
			traced := w.run(d, tt.stdin, filepath.Join(binDir, "aco-launch"), tt.args...)
			if plain != traced {
				t.Errorf("python and aco-launch differ\npython:     %+v\naco-launch: %+v", plain, traced)
			}
		})
	}
}

// With no server to be had, the program runs plainly after one warning.
func TestFailOpenWhenTheServerCannotStart(t *testing.T) {
	w := newWorld(t)
	// Another program holds the HTTP port, so the daemon cannot start.
	ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", w.httpPort))
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	dir := filepath.Join(repoRoot, "e2e/testdata/transparency")
	plain := w.run(dir, "", python, "exit3.py")
	traced := w.run(dir, "", filepath.Join(binDir, "aco-launch"), "exit3.py")
	if traced.stdout != plain.stdout || traced.code != plain.code {
		t.Errorf("fail-open run differs: %+v vs %+v", traced, plain)
	}
	lines := strings.Split(strings.TrimSuffix(traced.stderr, "\n"), "\n")
	if len(lines) != 1 || !strings.HasPrefix(lines[0], "aco: ") {
		t.Errorf("want exactly one aco warning line on stderr, got %q", traced.stderr)
	}

	disabled := exec.Command(filepath.Join(binDir, "aco-launch"), "exit3.py")
	disabled.Dir = dir
	disabled.Env = append(w.env(), "ACO_DISABLE=1")
	var out, errb bytes.Buffer
	disabled.Stdout, disabled.Stderr = &out, &errb
	err = disabled.Run()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 3 || out.String() != plain.stdout {
		t.Errorf("ACO_DISABLE=1: err %v stdout %q", err, out.String())
	}
	if n := strings.Count(errb.String(), "\n"); n != 1 || !strings.Contains(errb.String(), "ACO_DISABLE") {
		t.Errorf("ACO_DISABLE=1 stderr = %q, want one line naming it", errb.String())
	}
}

// The server dies (SIGKILL) in the middle of a run: the program finishes with
// the same output and exit code, and what was recorded before is kept.
func TestServerKilledMidRun(t *testing.T) {
	w := newWorld(t)
	if r := w.aco("server", "start"); r.code != 0 {
		t.Fatalf("server start: %d %s", r.code, r.stderr)
	}
	pidfile, err := os.ReadFile(filepath.Join(w.home, "server.pid"))
	if err != nil {
		t.Fatal(err)
	}
	var info struct {
		PID int `json:"pid"`
	}
	if err := json.Unmarshal(pidfile, &info); err != nil || info.PID == 0 {
		t.Fatalf("pidfile %q: %v", pidfile, err)
	}

	dir := filepath.Join(repoRoot, "e2e/testdata/scripts")
	cmd := exec.Command(filepath.Join(binDir, "aco-launch"), "killed_server.py")
	cmd.Dir = dir
	cmd.Env = w.env()
	stdin, _ := cmd.StdinPipe()
	stdoutPipe, _ := cmd.StdoutPipe()
	var errb bytes.Buffer
	cmd.Stderr = &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	out := bufio.NewReader(stdoutPipe)
	ready, err := out.ReadString('\n')
	if err != nil || ready != "ready 42\n" {
		t.Fatalf("first line %q: %v (stderr %s)", ready, err, errb.String())
	}
	// The shim sends a node without waiting for an answer; kill the server
	// only once it has stored that node, so the test knows what was recorded.
	waitFor(t, func() bool { return len(w.graph("last").Nodes) == 1 })
	if err := syscall.Kill(info.PID, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitGone(t, info.PID, w.port)
	stdin.Write([]byte("go\n"))
	stdin.Close()
	rest, _ := out.ReadString(0)
	err = cmd.Wait()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 3 {
		t.Fatalf("exit: %v, want 3 (stderr %s)", err, errb.String())
	}
	if rest != "after 43 45\n" {
		t.Errorf("output after the kill = %q", rest)
	}
	if n := strings.Count(errb.String(), "aco: "); n != 1 {
		log, _ := os.ReadFile(filepath.Join(w.home, "shim.log"))
		t.Errorf("want one aco warning after the kill, got %q\nshim.log:\n%s", errb.String(), log)
	}

	// A new server still has the call recorded before the kill.
	if r := w.aco("server", "start"); r.code != 0 {
		t.Fatalf("server restart: %d %s", r.code, r.stderr)
	}
	g := w.graph("last")
	if len(g.Nodes) != 1 || g.Nodes[0].OutputText != "42" {
		t.Errorf("recorded before the kill: %+v", g.Nodes)
	}
}

// waitFor polls cond, which reads state another process changes, until it
// holds.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 10s")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitGone waits for a killed server to be gone: its runner port refuses
// connections. The daemon is not our child, so there is no Wait, and a
// zombie leader in /proc does not mean its sockets are closed yet (the other
// threads of the process may still be exiting).
func waitGone(t *testing.T, pid, port int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), time.Second)
		if err != nil {
			return
		}
		c.Close()
		if time.Now().After(deadline) {
			t.Fatalf("server %d still accepts connections after SIGKILL", pid)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
