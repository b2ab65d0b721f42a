// Package launchcmd is aco-launch: it runs a Python program as python would,
// with the aco server recording its LLM calls. Used by cmd/aco-launch and by
// `aco launch`.
package launchcmd

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"

	"github.com/aco-dev/aco"
	"github.com/aco-dev/aco/core/config"
	"github.com/aco-dev/aco/core/daemon"
	"github.com/aco-dev/aco/core/launcher"
	"github.com/aco-dev/aco/pyshim"
)

// Exit codes when the program cannot even be started, as a shell would give.
const (
	exitUsage     = 2
	exitCannotRun = 126
	exitNoPython  = 127
)

// Options are aco-launch's dependencies; Run fills them from the process.
type Options struct {
	Out, ErrOut io.Writer
	Getenv      func(string) string
	Environ     func() []string
	LookPath    func(string) (string, error)
	Unpack      func(dir string) (string, error)
	StartServer launcher.Starter
	// Exec becomes the interpreter and returns only on failure; a nil
	// return (a stand-in in tests) ends the launch with exit code 0.
	Exec func(launcher.ExecPlan) error
}

// Process is what Run takes from the running process.
type Process struct {
	Out, ErrOut io.Writer
	Getenv      func(string) string
	Environ     func() []string
	// Server gives the path of the binary to start the server with: one
	// that serves when started with daemon.EnvServe set (the aco binary).
	Server func() (string, error)
}

// System is the running process, its server the aco binary found by
// ServerBinary.
func System(stdout, stderr io.Writer) Process {
	return Process{Out: stdout, ErrOut: stderr, Getenv: os.Getenv, Environ: os.Environ, Server: ServerBinary}
}

// ServerBinary finds the aco binary for aco-launch to start the server
// with: the one beside aco-launch (they are built and installed together),
// else the first on PATH. aco-launch does not serve itself, so that it
// links none of the server and starts in a few milliseconds.
func ServerBinary() (string, error) {
	if exe, err := os.Executable(); err == nil {
		beside := filepath.Join(filepath.Dir(exe), "aco")
		if fi, err := os.Stat(beside); err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0 {
			return beside, nil
		}
	}
	if p, err := exec.LookPath("aco"); err == nil {
		return p, nil
	}
	return "", aco.Errorf(aco.ENOTFOUND, "cannot start the aco server: no aco binary beside aco-launch or on PATH (install both: go install github.com/aco-dev/aco/cmd/...)")
}

// Run is aco-launch with args (without the program name). It returns only
// when the program could not be started; otherwise the process has become
// the interpreter.
func Run(ctx context.Context, p Process, args []string) int {
	return LaunchRun(ctx, &Options{
		Out:      p.Out,
		ErrOut:   p.ErrOut,
		Getenv:   p.Getenv,
		Environ:  p.Environ,
		LookPath: exec.LookPath,
		Unpack:   pyshim.Unpack,
		StartServer: func(ctx context.Context, cfg config.Config) error {
			exe, err := p.Server()
			if err != nil {
				return err
			}
			_, err = daemon.Start(ctx, cfg, exe, p.Environ())
			return err
		},
		Exec: launcher.Exec,
	}, args)
}

// LaunchRun is Run with its dependencies given.
func LaunchRun(ctx context.Context, o *Options, args []string) int {
	a, err := launcher.ParseArgs(args)
	if err != nil {
		fmt.Fprintf(o.ErrOut, "aco-launch: %s\nTry 'aco-launch --help' for more information.\n", aco.ErrorMessage(err))
		return exitUsage
	}
	if a.Help {
		fmt.Fprint(o.Out, launcher.Usage)
		return 0
	}
	if a.Version {
		fmt.Fprintf(o.Out, "aco-launch %s\n", daemon.Version())
		return 0
	}
	python, err := launcher.FindInterpreter(o.Getenv, o.LookPath)
	if err != nil {
		fmt.Fprintf(o.ErrOut, "aco-launch: %s\n", aco.ErrorMessage(err))
		return exitNoPython
	}

	// From here on every failure of aco's own runs the program plainly:
	// tracing must never stop the program it traces.
	in := launcher.Input{Args: a, Argv: args, Interpreter: python, Environ: o.Environ()}
	cfg, cfgErr := config.FromEnv(o.Getenv)
	in.Config = cfg
	var shimErr error
	if cfg.Home != "" {
		in.ShimDir, shimErr = o.Unpack(cfg.ShimDir(pyshim.Version()))
	}
	switch {
	case cfgErr != nil:
		in.Plain = fmt.Sprintf("aco: %v; running plainly", cfgErr)
	case shimErr != nil:
		in.Plain = fmt.Sprintf("aco: cannot unpack the Python shim (%v); running plainly", shimErr)
	case launcher.Disabled(o.Getenv):
		in.Plain = launcher.DisabledWarning
	default:
		if err := launcher.EnsureServer(ctx, cfg, o.StartServer); err != nil {
			in.Plain = launcher.UnreachableWarning(cfg.RunnerAddr(), err)
		}
	}
	p := launcher.Plan(in)
	if p.Warning != "" {
		fmt.Fprintln(o.ErrOut, p.Warning)
	}
	if err := o.Exec(p); err != nil {
		fmt.Fprintf(o.ErrOut, "aco-launch: cannot run %s: %v\n", python, err)
		return exitCannotRun
	}
	return 0
}
