package daemon

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aco-dev/aco"
	"github.com/aco-dev/aco/core/config"
)

// The test binary doubles as the daemon: Start re-executes it with
// ACO_SERVE_DAEMON=1, and TestMain then plays a tiny server instead of
// running the tests. ACO_TEST_DAEMON says how it behaves.
func TestMain(m *testing.M) {
	if os.Getenv(EnvServe) == "1" {
		os.Exit(fakeServer())
	}
	os.Exit(m.Run())
}

func fakeServer() int {
	mode := os.Getenv("ACO_TEST_DAEMON")
	if mode == "crash" {
		fmt.Fprintln(os.Stderr, "boom: the fake server refuses to start")
		return 3
	}
	term := make(chan os.Signal, 1)
	if mode == "ignore-term" {
		signal.Ignore(syscall.SIGTERM)
	} else {
		signal.Notify(term, syscall.SIGTERM)
	}
	cfg, err := config.FromEnv(os.Getenv)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	release, err := Acquire(cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer release()
	for _, addr := range []string{cfg.RunnerAddr(), cfg.HTTPAddr()} {
		l, err := net.Listen("tcp", addr)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		go func() {
			for {
				c, err := l.Accept()
				if err != nil {
					return
				}
				c.Close()
			}
		}()
	}
	fmt.Fprintln(os.Stderr, "fake server serving")
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

func testConfig(t *testing.T) config.Config {
	t.Helper()
	return config.Config{Home: t.TempDir(), Port: freePort(t), HTTPPort: freePort(t)}
}

// startFake starts the test binary as cfg's daemon and stops it at cleanup.
func startFake(t *testing.T, cfg config.Config, mode string) (int, error) {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stop(context.Background(), cfg, 100*time.Millisecond) })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	// The race runtime sleeps a second at exit, holding the ports; Stop
	// would wait that out.
	return Start(ctx, cfg, exe, append(os.Environ(), "ACO_TEST_DAEMON="+mode, "GORACE=atexit_sleep_ms=0"))
}

func TestStartStatusStop(t *testing.T) {
	cfg := testConfig(t)
	pid, err := startFake(t, cfg, "")
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	st, err := Status(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if !st.Running || !st.RunnerUp || !st.HTTPUp || st.PID != pid {
		t.Fatalf("Status after Start = %+v, want running pid %d with both ports up", st, pid)
	}
	if st.Port != cfg.Port || st.HTTPPort != cfg.HTTPPort || st.StartedAt.IsZero() || st.Version == "" {
		t.Errorf("pidfile info = %+v, want ports %d/%d, a start time and a version", st.Info, cfg.Port, cfg.HTTPPort)
	}
	var raw map[string]any
	b, err := os.ReadFile(cfg.PIDPath())
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"pid", "port", "http_port", "started_at", "version"} {
		if _, ok := raw[k]; !ok {
			t.Errorf("pidfile %s lacks %q", b, k)
		}
	}
	if again, err := startFake(t, cfg, ""); err != nil || again != pid {
		t.Errorf("second Start = %d, %v; want the running server %d", again, err, pid)
	}

	info, err := Stop(context.Background(), cfg)
	if err != nil || info.PID != pid {
		t.Fatalf("Stop = %+v, %v; want pid %d", info, err, pid)
	}
	st, err = Status(cfg)
	if err != nil || st.Running {
		t.Fatalf("Status after Stop = %+v, %v; want not running", st, err)
	}
	if _, err := os.Stat(cfg.PIDPath()); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("pidfile after a clean stop: %v, want it removed", err)
	}
	if answers(cfg.Port) {
		t.Errorf("runner port still answers after Stop")
	}
}

func TestStartMovesABigLogAside(t *testing.T) {
	cfg := testConfig(t)
	old := bytes.Repeat([]byte("an old line of the server log\n"), LogLimit/30+1)
	if err := os.WriteFile(cfg.LogPath(), old, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := startFake(t, cfg, ""); err != nil {
		t.Fatalf("Start: %v", err)
	}
	moved, err := os.ReadFile(cfg.LogPath() + ".1")
	if err != nil || !bytes.Equal(moved, old) {
		t.Fatalf("server.log.1: %d bytes, %v; want the old log's %d", len(moved), err, len(old))
	}
	fresh, err := os.ReadFile(cfg.LogPath())
	if err != nil || len(fresh) >= len(old) || !bytes.Contains(fresh, []byte("started server process")) {
		t.Fatalf("server.log after the start: %d bytes, %v; want a new log", len(fresh), err)
	}
}

func TestConcurrentStartsMakeOneServer(t *testing.T) {
	cfg := testConfig(t)
	const n = 5
	pids := make([]int, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { pids[i], errs[i] = startFake(t, cfg, "") })
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("Start %d: %v", i, errs[i])
		}
		if pids[i] != pids[0] || pids[i] == 0 {
			t.Errorf("Start %d returned pid %d, Start 0 returned %d; want one server", i, pids[i], pids[0])
		}
	}
	log, err := os.ReadFile(cfg.LogPath())
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Count(string(log), "started server process"); got != 1 {
		t.Errorf("%d server processes were spawned, want 1; log:\n%s", got, log)
	}
}

func TestStartReportsCrashWithLog(t *testing.T) {
	cfg := testConfig(t)
	// An earlier, unrelated line must not be quoted as this start's cause.
	if err := os.WriteFile(cfg.LogPath(), []byte("old line from yesterday\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := startFake(t, cfg, "crash")
	if aco.ErrorCode(err) != aco.EUNAVAIL {
		t.Fatalf("Start of a crashing server: %v (code %q), want %s", err, aco.ErrorCode(err), aco.EUNAVAIL)
	}
	msg := err.Error()
	for _, want := range []string{"boom: the fake server refuses to start", "exit status 3", cfg.LogPath()} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q does not mention %q", msg, want)
		}
	}
	if strings.Contains(msg, "yesterday") {
		t.Errorf("error quotes log lines from before this start: %q", msg)
	}
}

func TestStopKillsAServerThatIgnoresTerm(t *testing.T) {
	cfg := testConfig(t)
	pid, err := startFake(t, cfg, "ignore-term")
	if err != nil {
		t.Fatal(err)
	}
	info, err := stop(context.Background(), cfg, 100*time.Millisecond)
	if err != nil || info.PID != pid {
		t.Fatalf("stop = %+v, %v; want pid %d", info, err, pid)
	}
	if st, _ := Status(cfg); st.Running {
		t.Errorf("server still running after SIGKILL: %+v", st)
	}
	if _, err := os.Stat(cfg.PIDPath()); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("killed server's pidfile left behind: %v", err)
	}
}

// deadPID returns the pid of a process that has exited and been reaped.
func deadPID(t *testing.T) int {
	t.Helper()
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	return cmd.Process.Pid
}

func writeStale(t *testing.T, cfg config.Config) int {
	t.Helper()
	pid := deadPID(t)
	if err := writePIDFile(cfg, Info{PID: pid, Port: cfg.Port, HTTPPort: cfg.HTTPPort}); err != nil {
		t.Fatal(err)
	}
	return pid
}

func TestStalePIDFile(t *testing.T) {
	t.Run("status ignores it", func(t *testing.T) {
		cfg := testConfig(t)
		writeStale(t, cfg)
		st, err := Status(cfg)
		if err != nil || st.Running {
			t.Errorf("Status with a stale pidfile = %+v, %v; want not running", st, err)
		}
	})
	t.Run("stop says not running and removes it", func(t *testing.T) {
		cfg := testConfig(t)
		writeStale(t, cfg)
		_, err := Stop(context.Background(), cfg)
		if err != ErrNotRunning {
			t.Errorf("Stop = %v, want ErrNotRunning", err)
		}
		if _, err := os.Stat(cfg.PIDPath()); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("stale pidfile not removed: %v", err)
		}
	})
	t.Run("acquire overwrites it", func(t *testing.T) {
		cfg := testConfig(t)
		writeStale(t, cfg)
		release, err := Acquire(cfg)
		if err != nil {
			t.Fatal(err)
		}
		info, err := readPIDFile(cfg)
		if err != nil || info.PID != os.Getpid() {
			t.Errorf("pidfile after Acquire = %+v, %v; want pid %d", info, err, os.Getpid())
		}
		release()
		if _, err := os.Stat(cfg.PIDPath()); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("pidfile after release: %v, want removed", err)
		}
	})
	t.Run("start starts a server", func(t *testing.T) {
		cfg := testConfig(t)
		stale := writeStale(t, cfg)
		pid, err := startFake(t, cfg, "")
		if err != nil || pid == stale || pid == 0 {
			t.Errorf("Start over a stale pidfile = %d, %v; want a new server", pid, err)
		}
	})
}

func TestAcquireRefusesASecondServer(t *testing.T) {
	cfg := testConfig(t)
	release, err := Acquire(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	_, err = Acquire(cfg)
	if aco.ErrorCode(err) != aco.ECONFLICT || !strings.Contains(err.Error(), fmt.Sprint(os.Getpid())) {
		t.Errorf("second Acquire = %v, want a conflict naming pid %d", err, os.Getpid())
	}
	st, err := Status(cfg)
	if err != nil || !st.Running || st.PID != os.Getpid() {
		t.Errorf("Status while acquired = %+v, %v", st, err)
	}
}

func TestDaemonEnv(t *testing.T) {
	cfg := config.Config{Home: "/h", Port: 1, HTTPPort: 2}
	got := daemonEnv(cfg, []string{"PATH=/bin", "ACO_HOME=/old", "ACO_RUN_ID=r1", "ACO_RUNNER_ADDR=x", "ACO_DISABLE=1", "ACO_SERVE_DAEMON=0", "ACO_PYTHON=/py"})
	want := []string{"PATH=/bin", "ACO_PYTHON=/py", "ACO_SERVE_DAEMON=1", "ACO_HOME=/h", "ACO_PORT=1", "ACO_HTTP_PORT=2"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("daemonEnv = %q, want %q", got, want)
	}
}
