package servercmd

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aco-dev/aco/cli/cmdutil"
	"github.com/aco-dev/aco/core/config"
	"github.com/aco-dev/aco/core/daemon"
)

const testToken = "tok-123"

// The test binary doubles as the aco binary: started with ACO_SERVE_DAEMON=1
// it plays a server with the real lock and pidfile and a POST /api/clear.
func TestMain(m *testing.M) {
	if os.Getenv(daemon.EnvServe) == "1" {
		os.Exit(fakeServer())
	}
	os.Exit(m.Run())
}

func fakeServer() int {
	fail := func(err error) int { fmt.Fprintln(os.Stderr, err); return 1 }
	term := make(chan os.Signal, 1)
	signal.Notify(term, syscall.SIGTERM)
	cfg, err := config.FromEnv(os.Getenv)
	if err != nil {
		return fail(err)
	}
	release, err := daemon.Acquire(cfg)
	if err != nil {
		return fail(err)
	}
	defer release()
	if err := os.WriteFile(cfg.TokenPath(), []byte(testToken+"\n"), 0o600); err != nil {
		return fail(err)
	}
	rl, err := net.Listen("tcp", cfg.RunnerAddr())
	if err != nil {
		return fail(err)
	}
	defer rl.Close()
	go func() {
		for {
			c, err := rl.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	hl, err := net.Listen("tcp", cfg.HTTPAddr())
	if err != nil {
		return fail(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/clear", func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer "+testToken {
			w.WriteHeader(http.StatusUnauthorized)
			fmt.Fprint(w, `{"error":{"code":"unauthorized","message":"wrong token"}}`)
			return
		}
		os.WriteFile(filepath.Join(cfg.Home, "cleared"), nil, 0o600)
		w.WriteHeader(http.StatusNoContent)
	})
	srv := &http.Server{Handler: mux}
	go srv.Serve(hl)
	defer srv.Close()
	<-term
	return 0
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

type harness struct {
	t     *testing.T
	env   map[string]string
	home  string
	in    string
	serve ServeFunc
}

func newHarness(t *testing.T) *harness {
	home := t.TempDir()
	h := &harness{t: t, home: home, env: map[string]string{
		"ACO_HOME":      home,
		"ACO_PORT":      strconv.Itoa(freePort(t)),
		"ACO_HTTP_PORT": strconv.Itoa(freePort(t)),
	}}
	t.Cleanup(func() {
		cfg, _ := config.FromEnv(h.getenv)
		daemon.Stop(context.Background(), cfg)
	})
	return h
}

func (h *harness) getenv(k string) string { return h.env[k] }

// run executes `aco server args…` and returns its exit code, stdout and stderr.
func (h *harness) run(args ...string) (int, string, string) {
	h.t.Helper()
	var out, errOut bytes.Buffer
	f := &cmdutil.Factory{
		In: strings.NewReader(h.in), Out: &out, ErrOut: &errOut,
		Getenv: h.getenv,
		// The race runtime's second-long sleep at exit would hold the
		// ports past Stop.
		Environ:    func() []string { return append(os.Environ(), "GORACE=atexit_sleep_ms=0") },
		Executable: os.Executable,
	}
	serve := h.serve
	if serve == nil {
		serve = func(context.Context, config.Config) error { return errors.New("no serve in this test") }
	}
	cmd := NewCmd(f, serve)
	cmd.SilenceErrors, cmd.SilenceUsage = true, true
	cmd.SetArgs(args)
	err := cmd.ExecuteContext(context.Background())
	var exit *cmdutil.ExitError
	switch {
	case err == nil:
		return 0, out.String(), errOut.String()
	case errors.As(err, &exit):
		return exit.Code, out.String(), errOut.String()
	default:
		return 1, out.String(), errOut.String() + err.Error()
	}
}

func TestServerLifecycle(t *testing.T) {
	h := newHarness(t)
	httpPort := h.env["ACO_HTTP_PORT"]

	code, out, errOut := h.run("start")
	if code != 0 {
		t.Fatalf("start: exit %d, %s%s", code, out, errOut)
	}
	m := regexp.MustCompile(`aco server started \(pid (\d+)\)\nhttp://127\.0\.0\.1:` + httpPort + `/\?token=` + testToken + "\n").FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("start printed %q, want the pid and the UI address with the token", out)
	}
	pid := m[1]

	if code, out, _ := h.run("start"); code != 0 || !strings.Contains(out, "already running (pid "+pid+")") {
		t.Errorf("second start: exit %d, %q; want already running", code, out)
	}

	code, out, _ = h.run("status")
	for _, want := range []string{"running (pid " + pid, "answering", "token=" + testToken, "uptime:", filepath.Join(h.home, "aco.db"), filepath.Join(h.home, "server.log")} {
		if !strings.Contains(out, want) {
			t.Errorf("status output %q lacks %q", out, want)
		}
	}
	if code != 0 || strings.Contains(out, "NOT answering") {
		t.Errorf("status of a healthy server: exit %d, %q", code, out)
	}

	if code, out, errOut := h.run("clear", "--yes"); code != 0 || !strings.Contains(out, "deleted") {
		t.Errorf("clear --yes: exit %d, %q %q", code, out, errOut)
	}
	if _, err := os.Stat(filepath.Join(h.home, "cleared")); err != nil {
		t.Errorf("clear did not reach the server's POST /api/clear with the token: %v", err)
	}

	if code, out, _ := h.run("restart"); code != 0 || !strings.Contains(out, "stopped (pid "+pid+")") || !strings.Contains(out, "started (pid ") {
		t.Errorf("restart: exit %d, %q", code, out)
	}
	if code, out, _ := h.run("stop"); code != 0 || !strings.Contains(out, "stopped (pid ") {
		t.Errorf("stop: exit %d, %q", code, out)
	}
	if code, out, _ := h.run("status"); code != exitNotRunning || !strings.Contains(out, "not running") {
		t.Errorf("status after stop: exit %d, %q; want %d", code, out, exitNotRunning)
	}
	if code, out, _ := h.run("stop"); code != 0 || out != "aco server is not running\n" {
		t.Errorf("stop when stopped: exit %d, %q", code, out)
	}
	log, _ := os.ReadFile(filepath.Join(h.home, "server.log"))
	if code, out, _ := h.run("logs"); code != 0 || out != string(log) || out == "" {
		t.Errorf("logs: exit %d, %q; want the log %q", code, out, log)
	}
}

func TestFlagsOverrideEnvironment(t *testing.T) {
	tests := []struct {
		args []string
		want func(env config.Config) config.Config
	}{
		{[]string{"run"}, func(c config.Config) config.Config { return c }},
		{[]string{"run", "--port", "7001"}, func(c config.Config) config.Config { c.Port = 7001; return c }},
		{[]string{"--http-port=7002", "run", "--home", "/elsewhere"}, func(c config.Config) config.Config {
			c.HTTPPort, c.Home = 7002, "/elsewhere"
			return c
		}},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			h := newHarness(t)
			var got config.Config
			h.serve = func(_ context.Context, cfg config.Config) error { got = cfg; return nil }
			if code, _, errOut := h.run(tt.args...); code != 0 {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			env, _ := config.FromEnv(h.getenv)
			if want := tt.want(env); got != want {
				t.Errorf("serve got %+v, want %+v", got, want)
			}
		})
	}
	h := newHarness(t)
	h.env["ACO_PORT"] = "nope"
	if code, _, errOut := h.run("status"); code != 1 || !strings.Contains(errOut, "ACO_PORT") {
		t.Errorf("bad ACO_PORT: exit %d, %q", code, errOut)
	}
}

func TestClearWithoutServer(t *testing.T) {
	tests := []struct {
		in      string
		args    []string
		code    int
		removed bool
	}{
		{"y\n", []string{"clear"}, 0, true},
		{"YES\n", []string{"clear"}, 0, true},
		{"n\n", []string{"clear"}, 1, false},
		{"", []string{"clear"}, 1, false},
		{"", []string{"clear", "--yes"}, 0, true},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%q %v", tt.in, tt.args), func(t *testing.T) {
			h := newHarness(t)
			h.in = tt.in
			for _, f := range []string{"aco.db", "aco.db-wal", "aco.db-shm"} {
				if err := os.WriteFile(filepath.Join(h.home, f), []byte("x"), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			code, _, errOut := h.run(tt.args...)
			if code != tt.code {
				t.Errorf("exit %d, want %d (%s)", code, tt.code, errOut)
			}
			for _, f := range []string{"aco.db", "aco.db-wal", "aco.db-shm"} {
				_, err := os.Stat(filepath.Join(h.home, f))
				if gone := errors.Is(err, os.ErrNotExist); gone != tt.removed {
					t.Errorf("%s removed = %v, want %v", f, gone, tt.removed)
				}
			}
		})
	}
}

func TestLastLines(t *testing.T) {
	tests := []struct {
		in   string
		n    int
		want string
	}{
		{"a\nb\nc\n", 0, "a\nb\nc\n"},
		{"a\nb\nc\n", 2, "b\nc\n"},
		{"a\nb\nc", 2, "b\nc"},
		{"a\nb\nc\n", 5, "a\nb\nc\n"},
		{"", 3, ""},
	}
	for _, tt := range tests {
		if got := string(lastLines([]byte(tt.in), tt.n)); got != tt.want {
			t.Errorf("lastLines(%q, %d) = %q, want %q", tt.in, tt.n, got, tt.want)
		}
	}
}

// signalWriter collects output and signals each write.
type signalWriter struct {
	mu    sync.Mutex
	buf   bytes.Buffer
	wrote chan struct{}
}

func (w *signalWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	select {
	case w.wrote <- struct{}{}:
	default:
	}
	return len(p), nil
}

func (w *signalWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

func TestLogsFollow(t *testing.T) {
	home := t.TempDir()
	cfg := config.Config{Home: home}
	if err := os.WriteFile(cfg.LogPath(), []byte("one\ntwo\nthree\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	out := &signalWriter{wrote: make(chan struct{}, 1)}
	o := &Options{Out: out, Config: cfg, FollowEvery: time.Millisecond}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- LogsRun(ctx, o, 2, true) }()

	waitFor := func(want string) {
		t.Helper()
		deadline := time.After(5 * time.Second)
		for !strings.Contains(out.String(), want) {
			select {
			case <-out.wrote:
			case <-deadline:
				t.Fatalf("output %q never contained %q", out.String(), want)
			}
		}
	}
	waitFor("two\nthree\n")
	if strings.Contains(out.String(), "one") {
		t.Errorf("-n 2 printed %q", out.String())
	}
	f, err := os.OpenFile(cfg.LogPath(), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintln(f, "four")
	f.Close()
	waitFor("three\nfour\n")
	// A log replaced by a shorter one is read from its start.
	if err := os.WriteFile(cfg.LogPath(), []byte("new\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	waitFor("four\nnew\n")
	cancel()
	if err := <-done; err != nil {
		t.Errorf("LogsRun: %v", err)
	}
}

func TestLogsMissing(t *testing.T) {
	h := newHarness(t)
	if code, _, errOut := h.run("logs"); code != 1 || !strings.Contains(errOut, "no server log") {
		t.Errorf("logs without a log: exit %d, %q", code, errOut)
	}
}
