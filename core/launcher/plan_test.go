package launcher

import (
	"context"
	"errors"
	"net"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/aco-dev/aco/core/config"
)

func TestPlan(t *testing.T) {
	cfg := config.Config{Home: "/home/u/.cache/aco", Port: 5959, HTTPPort: 5960}
	const shim = "/home/u/.cache/aco/shim/v1"
	base := []string{"PATH=/usr/bin", "PYTHONPATH=/proj/src", "ACO_RUN_ID=r-7", "ACO_RUNNER_ADDR=127.0.0.1:1", "ACO_DISABLE=0", "ACO_HOME=/old"}
	tests := []struct {
		name     string
		in       Input
		wantArgv []string
		wantEnv  []string
		warning  string
	}{
		{
			name: "records a script",
			in: Input{
				Args:        Args{PyOpts: []string{"-u"}, Script: "agent.py", ProgArgs: []string{"--flag", "-m"}, RunName: "try 2"},
				Argv:        []string{"--run-name", "try 2", "-u", "agent.py", "--flag", "-m"},
				Interpreter: "/venv/bin/python", ShimDir: shim, Config: cfg, Environ: base,
			},
			wantArgv: []string{"/venv/bin/python", "-u", RunnerScript(shim), "agent.py", "--flag", "-m"},
			wantEnv: []string{"PATH=/usr/bin", "ACO_RUN_ID=r-7",
				"PYTHONPATH=" + shim + ":/proj/src", "ACO_HOME=" + cfg.Home,
				"ACO_RUNNER_ADDR=127.0.0.1:5959", "ACO_RUNNER_ORIG_PYTHONPATH=/proj/src",
				`ACO_RUNNER_ARGV=["--run-name","try 2","-u","agent.py","--flag","-m"]`, "ACO_RUN_NAME=try 2"},
		},
		{
			name: "records a module, no PYTHONPATH before",
			in: Input{
				Args: Args{Module: "pkg.main"}, Interpreter: "/usr/bin/python3", ShimDir: shim, Config: cfg,
				Environ: []string{"PATH=/usr/bin", "ACO_RUN_NAME=from-env"},
			},
			wantArgv: []string{"/usr/bin/python3", RunnerScript(shim), "-m", "pkg.main"},
			wantEnv: []string{"PATH=/usr/bin", "ACO_RUN_NAME=from-env", "PYTHONPATH=" + shim, "ACO_HOME=" + cfg.Home,
				"ACO_RUNNER_ADDR=127.0.0.1:5959", "ACO_RUNNER_ORIG_PYTHONPATH=", "ACO_RUNNER_ARGV=[]"},
		},
		{
			name: "nested launch does not stack the shim",
			in: Input{
				Args: Args{Script: "s.py"}, Interpreter: "/py", ShimDir: shim, Config: cfg,
				Environ: []string{"PYTHONPATH=" + shim + ":/x"},
			},
			wantArgv: []string{"/py", RunnerScript(shim), "s.py"},
			wantEnv: []string{"PYTHONPATH=" + shim + ":/x", "ACO_HOME=" + cfg.Home,
				"ACO_RUNNER_ADDR=127.0.0.1:5959", "ACO_RUNNER_ORIG_PYTHONPATH=/x", "ACO_RUNNER_ARGV=[]"},
		},
		{
			name: "plain run keeps the shim importable as no-ops",
			in: Input{
				Args:        Args{PyOpts: []string{"-X", "dev"}, Script: "agent.py", ProgArgs: []string{"a"}, RunName: "ignored"},
				Interpreter: "/venv/bin/python", ShimDir: shim, Config: cfg, Environ: base, Plain: DisabledWarning,
			},
			wantArgv: []string{"/venv/bin/python", "-X", "dev", "agent.py", "a"},
			wantEnv: []string{"PATH=/usr/bin", "ACO_RUN_ID=r-7",
				"PYTHONPATH=" + shim + ":/proj/src", "ACO_HOME=" + cfg.Home, "ACO_DISABLE=1"},
			warning: DisabledWarning,
		},
		{
			name: "plain run without a shim leaves PYTHONPATH alone",
			in: Input{
				Args: Args{Module: "m"}, Interpreter: "/py", Config: cfg, Environ: base, Plain: "aco: boom; running plainly",
			},
			wantArgv: []string{"/py", "-m", "m"},
			wantEnv:  []string{"PATH=/usr/bin", "ACO_RUN_ID=r-7", "PYTHONPATH=/proj/src", "ACO_HOME=" + cfg.Home, "ACO_DISABLE=1"},
			warning:  "aco: boom; running plainly",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := Plan(tt.in)
			if p.Path != tt.in.Interpreter {
				t.Errorf("Path = %q, want %q", p.Path, tt.in.Interpreter)
			}
			if !reflect.DeepEqual(p.Argv, tt.wantArgv) {
				t.Errorf("Argv = %q\nwant   %q", p.Argv, tt.wantArgv)
			}
			if !reflect.DeepEqual(p.Env, tt.wantEnv) {
				t.Errorf("Env = %q\nwant  %q", p.Env, tt.wantEnv)
			}
			if p.Warning != tt.warning {
				t.Errorf("Warning = %q, want %q", p.Warning, tt.warning)
			}
		})
	}
}

func TestWarnings(t *testing.T) {
	got := UnreachableWarning("127.0.0.1:5959", errors.New("cannot start the aco server: exited\nlog line 1\nlog line 2"))
	want := "aco: server not reachable at 127.0.0.1:5959 (cannot start the aco server: exited); running plainly — see `aco server logs`"
	if got != want {
		t.Errorf("UnreachableWarning = %q, want the one line %q", got, want)
	}
	for v, want := range map[string]bool{"": false, "0": false, "false": false, "1": true, "yes": true, "TRUE": true} {
		if got := Disabled(func(string) string { return v }); got != want {
			t.Errorf("Disabled with ACO_DISABLE=%q = %v, want %v", v, got, want)
		}
	}
}

func TestEnsureServer(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	up := config.Config{Port: l.Addr().(*net.TCPAddr).Port}

	free, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	down := config.Config{Port: free.Addr().(*net.TCPAddr).Port}
	free.Close()

	errStart := errors.New("could not start")
	tests := []struct {
		name        string
		cfg         config.Config
		startErr    error
		wantStarted bool
		wantErr     error
	}{
		{"answering server is used", up, nil, false, nil},
		{"absent server is started", down, nil, true, nil},
		{"start failure is reported", down, errStart, true, errStart},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			started := false
			err := EnsureServer(context.Background(), tt.cfg, func(ctx context.Context, cfg config.Config) error {
				started = true
				if dl, ok := ctx.Deadline(); !ok || time.Until(dl) > StartTimeout {
					t.Errorf("start got no deadline within %v", StartTimeout)
				}
				if cfg != tt.cfg {
					t.Errorf("start got config %+v, want %+v", cfg, tt.cfg)
				}
				return tt.startErr
			})
			if started != tt.wantStarted || !errors.Is(err, tt.wantErr) {
				t.Errorf("started = %v, err = %v; want %v, %v", started, err, tt.wantStarted, tt.wantErr)
			}
		})
	}
}

func TestPlanArgvIsJSON(t *testing.T) {
	p := Plan(Input{Args: Args{Script: "s.py"}, Argv: []string{"s.py", `quo"te`, "ünï"}, Interpreter: "/py", Config: config.Config{Port: 1}})
	for _, kv := range p.Env {
		if v, ok := strings.CutPrefix(kv, EnvRunnerArgv+"="); ok {
			if v != `["s.py","quo\"te","ünï"]` {
				t.Errorf("%s = %s", EnvRunnerArgv, v)
			}
			return
		}
	}
	t.Errorf("no %s in %q", EnvRunnerArgv, p.Env)
}
