// Package cli is the aco command line. Main builds the real object graph
// once; every subcommand lives in its own package below cli/.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/aco-dev/aco"
	"github.com/aco-dev/aco/cli/apiwatchcmd"
	"github.com/aco-dev/aco/cli/cmdutil"
	"github.com/aco-dev/aco/cli/editcmd"
	"github.com/aco-dev/aco/cli/launchcmd"
	"github.com/aco-dev/aco/cli/mockllmcmd"
	"github.com/aco-dev/aco/cli/patchescmd"
	"github.com/aco-dev/aco/cli/patchgencmd"
	"github.com/aco-dev/aco/cli/pluginscmd"
	"github.com/aco-dev/aco/cli/reruncmd"
	"github.com/aco-dev/aco/cli/runscmd"
	"github.com/aco-dev/aco/cli/servercmd"
	"github.com/aco-dev/aco/cli/showcmd"
	"github.com/aco-dev/aco/core/config"
	"github.com/aco-dev/aco/core/daemon"
	"github.com/aco-dev/aco/core/server"
	"github.com/aco-dev/aco/core/store/sqlite"
	"github.com/aco-dev/aco/core/watcher"
	"github.com/aco-dev/aco/core/webui"
	"github.com/aco-dev/aco/pyshim"
)

// serveDaemonEnv marks the process `daemon.Start` spawned as the server.
const serveDaemonEnv = "ACO_SERVE_DAEMON"

// Main runs the aco command with args (without the program name) and returns
// the exit code.
func Main(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	f := cmdutil.System(stdin, stdout, stderr)
	if os.Getenv(serveDaemonEnv) == "1" {
		// Children of the server (reruns) must not think they are servers.
		os.Unsetenv(serveDaemonEnv)
		cfg, err := f.Config()
		if err == nil {
			err = Serve(ctx, f, cfg)
		}
		return report(f, err)
	}
	root := NewRootCmd(f)
	root.SetArgs(args)
	return report(f, root.ExecuteContext(ctx))
}

// NewRootCmd returns the aco command with every subcommand.
func NewRootCmd(f *cmdutil.Factory) *cobra.Command {
	root := &cobra.Command{
		Use:   "aco",
		Short: "Record, inspect and rerun the LLM calls of Python agents",
		Long: `aco records every LLM call a Python program makes and draws how their
outputs flow into each other's inputs. Run a program with
  aco-launch agent.py args…
instead of python, then look at it with aco runs / aco show last, or in the
browser at the address aco server start prints.`,
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       daemon.Version(),
	}
	root.SetIn(f.In)
	root.SetOut(f.Out)
	root.SetErr(f.ErrOut)
	root.AddCommand(
		servercmd.NewCmd(f, func(ctx context.Context, cfg config.Config) error { return Serve(ctx, f, cfg) }),
		runscmd.NewCmd(f, nil),
		showcmd.NewCmd(f, nil),
		editcmd.NewCmd(f, nil),
		reruncmd.NewCmd(f, nil),
		mockllmcmd.NewCmd(f, nil),
		patchescmd.NewCmd(f),
		patchgencmd.NewCmd(f, nil),
		pluginscmd.NewCmd(f, nil),
		apiwatchcmd.NewCmd(f, nil),
		newLaunchCmd(f),
	)
	return root
}

func newLaunchCmd(f *cmdutil.Factory) *cobra.Command {
	return &cobra.Command{
		Use:                "launch [flags] script.py args… | -m module args…",
		Short:              "Run a Python program with its LLM calls recorded (same as aco-launch)",
		DisableFlagParsing: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			// The aco binary serves when started with daemon.EnvServe set,
			// so it starts the server with itself.
			p := launchcmd.Process{Out: f.Out, ErrOut: f.ErrOut, Getenv: f.Getenv, Environ: f.Environ, Server: f.Executable}
			if code := launchcmd.Run(cmd.Context(), p, args); code != 0 {
				return &cmdutil.ExitError{Code: code}
			}
			return nil
		},
	}
}

// Serve runs the aco server in the foreground until ctx is cancelled or the
// process gets SIGINT or SIGTERM.
func Serve(ctx context.Context, f *cmdutil.Factory, cfg config.Config) error {
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := os.MkdirAll(cfg.Home, 0o700); err != nil {
		return err
	}
	logger := slog.New(slog.NewTextHandler(f.ErrOut, nil))
	release, err := daemon.Acquire(cfg)
	if err != nil {
		return err
	}
	defer release()
	db, err := sqlite.Open(cfg.DBPath())
	if err != nil {
		return err
	}
	defer db.Close()
	token, err := server.LoadOrCreateToken(cfg.TokenPath())
	if err != nil {
		return err
	}
	// Reruns started from the web UI run under the shim of this version.
	shimDir, err := pyshim.Unpack(cfg.ShimDir(pyshim.Version()))
	if err != nil {
		logger.Warn("cannot unpack the Python shim; reruns from the web UI are off", "err", err)
	}
	// The watcher keeps the rewritten bytecode of announced projects fresh;
	// without a shim it has no worker to run.
	var wt server.Watcher
	if shimDir != "" {
		w := watcher.New(watcher.Options{ShimDir: shimDir, Logger: logger})
		defer w.Close()
		wt = w
	}
	srv := server.New(server.Options{
		Store:    db,
		Logger:   logger,
		Port:     cfg.Port,
		HTTPPort: cfg.HTTPPort,
		Token:    token,
		Environ:  f.Environ,
		Home:     cfg.Home,
		ShimDir:  shimDir,
		UI:       webui.Handler(),
		Watcher:  wt,
	})
	if err := srv.Start(); err != nil {
		return err
	}
	<-ctx.Done()
	logger.Info("server stopping")
	return srv.Close()
}

// report prints err for the user and returns the exit code.
func report(f *cmdutil.Factory, err error) int {
	if err == nil {
		return 0
	}
	var exit *cmdutil.ExitError
	if errors.As(err, &exit) {
		return exit.Code
	}
	var ae *aco.Error
	if errors.As(err, &ae) {
		fmt.Fprintf(f.ErrOut, "aco: %s\n", ae.Message)
	} else {
		fmt.Fprintf(f.ErrOut, "aco: %v\n", err)
	}
	return 1
}
