package launcher

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/aco-dev/aco/core/config"
)

// Environment variables aco-launch hands to the runner (pyshim/aco/runner).
const (
	EnvRunnerAddr   = "ACO_RUNNER_ADDR"            // host:port of the server's runner protocol
	EnvOrigPath     = "ACO_RUNNER_ORIG_PYTHONPATH" // PYTHONPATH before the shim was prepended ("" when unset)
	EnvRunnerArgv   = "ACO_RUNNER_ARGV"            // JSON list: aco-launch's arguments as typed
	EnvRunName      = "ACO_RUN_NAME"               // --run-name
	EnvRunID        = "ACO_RUN_ID"                 // set by the server's rerun; passed through
	EnvDisable      = "ACO_DISABLE"
	EnvHome         = "ACO_HOME"
	DisabledWarning = "aco: recording disabled (ACO_DISABLE=1); running plainly"
)

// UnreachableWarning is the one line printed when the server is not there
// and the program runs unrecorded.
func UnreachableWarning(addr string, err error) string {
	reason, _, _ := strings.Cut(err.Error(), "\n")
	return fmt.Sprintf("aco: server not reachable at %s (%s); running plainly — see `aco server logs`", addr, reason)
}

// Disabled reports whether the environment asks aco to record nothing.
func Disabled(getenv func(string) string) bool {
	switch strings.ToLower(getenv(EnvDisable)) {
	case "", "0", "false", "no":
		return false
	}
	return true
}

// RunnerScript is the runner (pyshim/aco/runner) in the shim unpacked at
// shimDir. Python runs it as a script: "python -m aco.runner" would work
// too, but -m makes python import runpy, importlib.util, contextlib and the
// rest of their chain, milliseconds of start-up a plain run of the program
// does not have.
func RunnerScript(shimDir string) string {
	return filepath.Join(shimDir, "aco", "runner", "__main__.py")
}

// Input is what a plan is made from.
type Input struct {
	Args        Args
	Argv        []string // aco-launch's arguments as typed
	Interpreter string
	// ShimDir holds the unpacked shim; "" when it could not be unpacked
	// (the program then runs without it).
	ShimDir string
	Config  config.Config
	Environ []string
	// Plain, when not "", is the warning line of a run that records
	// nothing: the program runs under python directly, with ACO_DISABLE=1
	// so that `import aco` still works, as no-ops.
	Plain string
}

// ExecPlan is the process aco-launch becomes.
type ExecPlan struct {
	Path    string   // the interpreter
	Argv    []string // Argv[0] is Path
	Env     []string
	Warning string // printed to stderr before exec when not ""
}

// Plan builds the interpreter's command line and environment.
func Plan(in Input) ExecPlan {
	p := ExecPlan{Path: in.Interpreter, Warning: in.Plain}
	p.Argv = append([]string{in.Interpreter}, in.Args.PyOpts...)
	if in.Plain == "" {
		p.Argv = append(p.Argv, RunnerScript(in.ShimDir))
	}
	if in.Args.Module != "" {
		p.Argv = append(p.Argv, "-m", in.Args.Module)
	} else {
		p.Argv = append(p.Argv, in.Args.Script)
	}
	p.Argv = append(p.Argv, in.Args.ProgArgs...)

	orig, hadPath := lookup(in.Environ, "PYTHONPATH")
	orig = withoutEntry(orig, in.ShimDir)
	set := map[string]string{}
	drop := map[string]bool{"PYTHONPATH": true, EnvDisable: true, EnvRunnerAddr: true, EnvOrigPath: true, EnvRunnerArgv: true}
	if in.ShimDir != "" {
		set["PYTHONPATH"] = joinPath(in.ShimDir, orig)
	} else if hadPath {
		set["PYTHONPATH"] = orig
	}
	if in.Config.Home != "" {
		set[EnvHome] = in.Config.Home
	}
	if in.Plain != "" {
		set[EnvDisable] = "1"
	} else {
		argv, _ := json.Marshal(nonNil(in.Argv))
		set[EnvRunnerAddr] = in.Config.RunnerAddr()
		set[EnvOrigPath] = orig
		set[EnvRunnerArgv] = string(argv)
		if in.Args.RunName != "" {
			set[EnvRunName] = in.Args.RunName
		}
	}
	for _, kv := range in.Environ {
		k, _, _ := strings.Cut(kv, "=")
		if _, ok := set[k]; ok || drop[k] {
			continue
		}
		p.Env = append(p.Env, kv)
	}
	// Appended in a fixed order so plans compare equal in tests.
	for _, k := range []string{"PYTHONPATH", EnvHome, EnvDisable, EnvRunnerAddr, EnvOrigPath, EnvRunnerArgv, EnvRunName} {
		if v, ok := set[k]; ok {
			p.Env = append(p.Env, k+"="+v)
		}
	}
	return p
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func lookup(env []string, key string) (string, bool) {
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, key+"="); ok {
			return v, true
		}
	}
	return "", false
}

// withoutEntry drops dir from a PYTHONPATH, so that aco-launch run by a
// program aco-launch started does not stack the shim twice.
func withoutEntry(path, dir string) string {
	if dir == "" || path == "" {
		return path
	}
	var keep []string
	for _, e := range strings.Split(path, string(os.PathListSeparator)) {
		if e != dir {
			keep = append(keep, e)
		}
	}
	return strings.Join(keep, string(os.PathListSeparator))
}

// joinPath prepends dir; an empty rest adds no separator, since python reads
// an empty PYTHONPATH entry as the working directory.
func joinPath(dir, rest string) string {
	if rest == "" {
		return dir
	}
	return dir + string(os.PathListSeparator) + rest
}

// Exec replaces the process with the plan's interpreter: from here on the
// PID, terminal, signals and exit code are Python's. It returns only on
// failure.
func Exec(p ExecPlan) error {
	return syscall.Exec(p.Path, p.Argv, p.Env)
}

// Probe and start bounds: the probe runs on every launch, so it must be
// quick when the server is down; a start may take a few seconds.
const (
	probeTimeout = 100 * time.Millisecond
	StartTimeout = 3 * time.Second
)

// Starter starts the server for cfg and returns when it answers, or fails.
type Starter func(ctx context.Context, cfg config.Config) error

// EnsureServer returns nil when cfg's runner port answers, starting the
// server with start (within StartTimeout) when it does not.
func EnsureServer(ctx context.Context, cfg config.Config, start Starter) error {
	c, err := net.DialTimeout("tcp", cfg.RunnerAddr(), probeTimeout)
	if err == nil {
		c.Close()
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, StartTimeout)
	defer cancel()
	return start(ctx, cfg)
}
