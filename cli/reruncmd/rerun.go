// Package reruncmd implements `aco rerun RUN`: execute a recorded run's
// program again, in its directory and environment, with unchanged calls
// served from the cache and edits taking effect.
package reruncmd

import (
	"context"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"github.com/aco-dev/aco"
	"github.com/aco-dev/aco/cli/cmdutil"
	"github.com/aco-dev/aco/cli/launchcmd"
	"github.com/aco-dev/aco/core/config"
	"github.com/aco-dev/aco/core/redact"
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
	env := Environment(run, cfg, f.Environ())
	if err := os.Chdir(run.Cwd); err != nil {
		return aco.Errorf(aco.EINVALID, "cannot rerun in %s: %v", run.Cwd, err)
	}
	lf := *f
	lf.Environ = func() []string { return env }
	lf.Getenv = func(k string) string {
		for _, kv := range env {
			if strings.HasPrefix(kv, k+"=") {
				return kv[len(k)+1:]
			}
		}
		return ""
	}
	if code := launchcmd.Run(ctx, &lf, run.Argv); code != 0 {
		return &cmdutil.ExitError{Code: code}
	}
	return nil
}

// Environment is the environment a rerun of run gets: the recorded one,
// with redacted secrets taken from current (or dropped when current lacks
// them), aco's own settings taken from current so the rerun reaches the same
// server, and ACO_RUN_ID naming the run to continue.
func Environment(run aco.Run, cfg config.Config, current []string) []string {
	cur := map[string]string{}
	for _, kv := range current {
		if k, v, ok := strings.Cut(kv, "="); ok {
			cur[k] = v
		}
	}
	env := map[string]string{}
	for k, v := range run.Env {
		if strings.HasPrefix(k, "ACO_") {
			continue
		}
		if redact.IsRedacted(v) {
			cv, ok := cur[k]
			if !ok {
				continue
			}
			v = cv
		}
		env[k] = v
	}
	for k, v := range cur {
		if strings.HasPrefix(k, "ACO_") && k != "ACO_RUN_ID" && k != "ACO_DISABLE" {
			env[k] = v
		}
	}
	if pp, ok := env["PYTHONPATH"]; ok {
		env["PYTHONPATH"] = withoutShim(pp, cfg.Home)
	}
	env["ACO_HOME"] = cfg.Home
	env["ACO_RUN_ID"] = run.ID
	if run.Interpreter != "" {
		env["ACO_PYTHON"] = run.Interpreter
	}
	out := make([]string, 0, len(env))
	for k, v := range env {
		out = append(out, k+"="+v)
	}
	sort.Strings(out)
	return out
}

// withoutShim drops aco's unpacked shim from a PYTHONPATH; the launcher puts
// the current one back.
func withoutShim(pp, home string) string {
	shim := filepath.Join(home, "shim") + string(filepath.Separator)
	var keep []string
	for _, p := range filepath.SplitList(pp) {
		if !strings.HasPrefix(p+string(filepath.Separator), shim) {
			keep = append(keep, p)
		}
	}
	return strings.Join(keep, string(filepath.ListSeparator))
}
