// Package reruncmd implements `aco rerun RUN`: execute a recorded run's
// program again, in its directory and environment, with unchanged calls
// served from the cache and edits taking effect.
package reruncmd

import (
	"context"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/aco-dev/aco"
	"github.com/aco-dev/aco/cli/cmdutil"
	"github.com/aco-dev/aco/cli/launchcmd"
	"github.com/aco-dev/aco/core/rerun"
)

// Options are the arguments of `aco rerun`.
type Options struct {
	Run     string
	Factory *cmdutil.Factory
}

// NewCmd returns `aco rerun`.
func NewCmd(f *cmdutil.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	opts := &Options{Factory: f}
	return &cobra.Command{
		Use:   "rerun RUN",
		Short: "Run a recorded program again; unchanged calls come from the cache",
		Long: `Run a recorded program again, in the directory and environment it ran in,
with the same interpreter and arguments. Calls whose input is unchanged are
answered from the recording, without reaching the model; edited calls (aco
edit) take their new input or output, and what depends on them is called
anew. Secrets are never recorded: they are taken from your environment.

RUN is an id, a unique prefix of one, or last. A subrun reruns its program.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Run = args[0]
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return Run(cmd.Context(), opts)
		},
	}
}

// Run replaces the process with the rerun program (like aco-launch); it
// returns only if the program could not be started.
func Run(ctx context.Context, opts *Options) error {
	f := opts.Factory
	cfg, err := f.Config()
	if err != nil {
		return err
	}
	svc, err := f.RunService()
	if err != nil {
		return err
	}
	g, err := svc.Graph(ctx, opts.Run)
	if err != nil {
		return err
	}
	run := g.Run
	for run.ParentID != "" {
		pg, err := svc.Graph(ctx, run.ParentID)
		if err != nil {
			return err
		}
		run = pg.Run
	}
	if len(run.Argv) == 0 {
		return aco.Errorf(aco.EINVALID, "run %s has no recorded command line to rerun", run.ID)
	}
	env := rerun.Environment(run, cfg, f.Environ())
	if err := os.Chdir(run.Cwd); err != nil {
		return aco.Errorf(aco.EINVALID, "cannot rerun in %s: %v", run.Cwd, err)
	}
	p := launchcmd.Process{
		Out:     f.Out,
		ErrOut:  f.ErrOut,
		Environ: func() []string { return env },
		Getenv: func(k string) string {
			for _, kv := range env {
				if strings.HasPrefix(kv, k+"=") {
					return kv[len(k)+1:]
				}
			}
			return ""
		},
		Server: f.Executable,
	}
	if code := launchcmd.Run(ctx, p, run.Argv); code != 0 {
		return &cmdutil.ExitError{Code: code}
	}
	return nil
}
