package launchcmd

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/aco-dev/aco/core/config"
	"github.com/aco-dev/aco/core/launcher"
	"github.com/aco-dev/aco/pyshim"
)

// With ACO_LAUNCHCMD_TEST_EXEC=1 the test binary is aco-launch itself, so
// a test can watch it really become python.
func TestMain(m *testing.M) {
	if os.Getenv("ACO_LAUNCHCMD_TEST_EXEC") == "1" {
		os.Unsetenv("ACO_LAUNCHCMD_TEST_EXEC")
		os.Exit(Run(context.Background(), System(os.Stdout, os.Stderr), os.Args[1:]))
	}
	os.Exit(m.Run())
}

type launch struct {
	opts    *Options
	out     bytes.Buffer
	errOut  bytes.Buffer
	plan    *launcher.ExecPlan
	started int
}

// newLaunch sets up aco-launch with a real shim unpacked into a temp
// ACO_HOME, a fake interpreter, and env on top of that.
func newLaunch(t *testing.T, env map[string]string, startErr error) *launch {
	t.Helper()
	dir := t.TempDir()
	python := filepath.Join(dir, "python3")
	if err := os.WriteFile(python, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	full := map[string]string{"ACO_HOME": filepath.Join(dir, "home"), "ACO_PYTHON": python, "PATH": "/usr/bin"}
	for k, v := range env {
		full[k] = v
	}
	l := &launch{}
	l.opts = &Options{
		Out:    &l.out,
		ErrOut: &l.errOut,
		Getenv: func(k string) string { return full[k] },
		Environ: func() []string {
			var kv []string
			for k, v := range full {
				kv = append(kv, k+"="+v)
			}
			return kv
		},
		LookPath: exec.LookPath,
		Unpack:   pyshim.Unpack,
		StartServer: func(ctx context.Context, cfg config.Config) error {
			l.started++
			return startErr
		},
		Exec: func(p launcher.ExecPlan) error { l.plan = &p; return nil },
	}
	return l
}

func (l *launch) run(args ...string) int { return LaunchRun(context.Background(), l.opts, args) }

func (l *launch) env(key string) (string, bool) {
	for _, kv := range l.plan.Env {
		if v, ok := strings.CutPrefix(kv, key+"="); ok {
			return v, true
		}
	}
	return "", false
}

func listening(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	return ln.Addr().(*net.TCPAddr).Port
}

func closedPort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func TestLaunch(t *testing.T) {
	up, down := strconv.Itoa(listening(t)), strconv.Itoa(closedPort(t))
	tests := []struct {
		name        string
		env         map[string]string
		startErr    error
		args        []string
		wantCode    int
		wantRecord  bool   // exec'd through the runner
		wantStarted int    // StartServer calls
		wantErrOut  string // the whole of stderr
	}{
		{"running server records", map[string]string{"ACO_PORT": up}, nil, []string{"agent.py", "x"}, 0, true, 0, ""},
		{"absent server is started", map[string]string{"ACO_PORT": down}, nil, []string{"agent.py"}, 0, true, 1, ""},
		{"unstartable server runs plainly", map[string]string{"ACO_PORT": down}, errors.New("spawn failed\nlog tail"), []string{"agent.py"}, 0, false, 1,
			"aco: server not reachable at 127.0.0.1:" + down + " (spawn failed); running plainly — see `aco server logs`\n"},
		{"ACO_DISABLE runs plainly", map[string]string{"ACO_PORT": down, "ACO_DISABLE": "1"}, nil, []string{"agent.py"}, 0, false, 0,
			launcher.DisabledWarning + "\n"},
		{"bad ACO_PORT runs plainly", map[string]string{"ACO_PORT": "many"}, nil, []string{"agent.py"}, 0, false, 0,
			"aco: ACO_PORT=\"many\" is not a port number: set it to 1-65535 or unset it; running plainly\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := newLaunch(t, tt.env, tt.startErr)
			if code := l.run(tt.args...); code != tt.wantCode {
				t.Fatalf("exit code %d, want %d; stderr %q", code, tt.wantCode, l.errOut.String())
			}
			if l.errOut.String() != tt.wantErrOut {
				t.Errorf("stderr = %q, want %q", l.errOut.String(), tt.wantErrOut)
			}
			if l.started != tt.wantStarted {
				t.Errorf("server started %d times, want %d", l.started, tt.wantStarted)
			}
			if l.plan == nil {
				t.Fatal("nothing was executed")
			}
			records := len(l.plan.Argv) > 1 && strings.HasSuffix(l.plan.Argv[1], filepath.Join("aco", "runner", "__main__.py"))
			if records != tt.wantRecord {
				t.Errorf("argv %q: through the runner = %v, want %v", l.plan.Argv, records, tt.wantRecord)
			}
			_, disabled := l.env("ACO_DISABLE")
			if disabled == tt.wantRecord {
				t.Errorf("ACO_DISABLE set = %v in a run that records = %v", disabled, tt.wantRecord)
			}
			shim, _ := l.env("PYTHONPATH")
			if _, err := os.Stat(filepath.Join(shim, "aco")); err != nil {
				t.Errorf("PYTHONPATH=%q does not hold the unpacked shim: %v", shim, err)
			}
		})
	}
}

func TestLaunchWithoutRunning(t *testing.T) {
	tests := []struct {
		name       string
		env        map[string]string
		args       []string
		wantCode   int
		wantOut    string
		wantErrOut string
	}{
		{"help", nil, []string{"--help"}, 0, "usage: aco-launch", ""},
		{"version", nil, []string{"--version"}, 0, "aco-launch ", ""},
		{"no script", nil, nil, 2, "", "aco-launch: no script given"},
		{"unknown option", nil, []string{"--nope", "x.py"}, 2, "", "unknown option --nope"},
		{"no interpreter", map[string]string{"ACO_PYTHON": "/nonexistent/python"}, []string{"x.py"}, 127, "", "ACO_PYTHON=/nonexistent/python"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := newLaunch(t, tt.env, nil)
			code := l.run(tt.args...)
			if code != tt.wantCode {
				t.Errorf("exit code %d, want %d", code, tt.wantCode)
			}
			if !strings.Contains(l.out.String(), tt.wantOut) || (tt.wantOut == "" && l.out.Len() > 0) {
				t.Errorf("stdout = %q, want it to contain %q", l.out.String(), tt.wantOut)
			}
			if !strings.Contains(l.errOut.String(), tt.wantErrOut) || (tt.wantErrOut == "" && l.errOut.Len() > 0) {
				t.Errorf("stderr = %q, want it to contain %q", l.errOut.String(), tt.wantErrOut)
			}
			if l.plan != nil {
				t.Errorf("executed %q, want nothing run", l.plan.Argv)
			}
		})
	}
}

// TestLaunchBecomesPython runs aco-launch (the test binary) for real with
// recording disabled and checks the program sees what python would give it.
func TestLaunchBecomesPython(t *testing.T) {
	python, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("no python3 on PATH")
	}
	dir := t.TempDir()
	script := filepath.Join(dir, "prog.py")
	src := `import importlib.util, json, os, sys
spec = importlib.util.find_spec("aco")
print(json.dumps({"argv": sys.argv, "pid": os.getpid(), "name": __name__, "cwd": os.getcwd(),
    "aco": list(spec.submodule_search_locations)[0] if spec else None,
    "disable": os.environ.get("ACO_DISABLE"), "nobytecode": sys.flags.dont_write_bytecode}))
sys.exit(7)
`
	if err := os.WriteFile(script, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	home := filepath.Join(dir, "home")
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, "-B", script, "--help", "-m", "x")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "ACO_LAUNCHCMD_TEST_EXEC=1", "ACO_DISABLE=1", "ACO_HOME="+home, "ACO_PYTHON="+python)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err = cmd.Run()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 7 {
		t.Fatalf("aco-launch exited with %v, want the program's exit code 7; stderr:\n%s", err, stderr.String())
	}
	if stderr.String() != launcher.DisabledWarning+"\n" {
		t.Errorf("stderr = %q, want only the one warning line", stderr.String())
	}
	var got struct {
		Argv       []string
		PID        int
		Name       string
		Cwd        string
		Aco        string
		Disable    string
		NoBytecode int
	}
	if err := json.Unmarshal(stdout.Bytes(), &got); err != nil {
		t.Fatalf("program output %q: %v", stdout.String(), err)
	}
	want := []string{script, "--help", "-m", "x"}
	if strings.Join(got.Argv, " ") != strings.Join(want, " ") {
		t.Errorf("sys.argv = %q, want %q", got.Argv, want)
	}
	if got.PID != cmd.Process.Pid {
		t.Errorf("python ran as pid %d, aco-launch was %d: want the same process", got.PID, cmd.Process.Pid)
	}
	if got.Name != "__main__" || got.Cwd != dir || got.Disable != "1" || got.NoBytecode != 1 {
		t.Errorf("program saw %+v, want __main__ in %s with ACO_DISABLE=1 and -B", got, dir)
	}
	if wantAco := filepath.Join(home, "shim", pyshim.Version(), "aco"); got.Aco != wantAco {
		t.Errorf("import aco would load %q, want the unpacked shim %q", got.Aco, wantAco)
	}
}

func TestServerBinaryIsTheAcoBinaryOnPath(t *testing.T) {
	// The test binary has no aco beside it, so PATH decides.
	dir := t.TempDir()
	aco := filepath.Join(dir, "aco")
	if err := os.WriteFile(aco, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", dir)
	if got, err := ServerBinary(); err != nil || got != aco {
		t.Fatalf("ServerBinary() = %q, %v; want %q", got, err, aco)
	}
	t.Setenv("PATH", t.TempDir())
	_, err := ServerBinary()
	if err == nil || !strings.Contains(err.Error(), "no aco binary beside aco-launch or on PATH") {
		t.Fatalf("ServerBinary() without aco: %v", err)
	}
}
