// Package rerun turns a recorded run back into the command that executes it
// again: its interpreter, arguments, directory and environment, continuing
// the same run so unchanged calls come from the cache. `aco rerun` becomes
// that command; the server starts it as a child for the web UI.
package rerun

import (
	"path/filepath"
	"sort"
	"strings"

	"github.com/aco-dev/aco"
	"github.com/aco-dev/aco/core/config"
	"github.com/aco-dev/aco/core/launcher"
	"github.com/aco-dev/aco/core/redact"
)

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
		if strings.HasPrefix(k, "ACO_") && k != "ACO_RUN_ID" && k != "ACO_DISABLE" && k != "ACO_SERVE_DAEMON" {
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

// withoutShim drops aco's unpacked shims from a PYTHONPATH; the launcher
// puts the current one back.
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

// Plan is the interpreter process of a rerun of run: what aco-launch would
// exec in run's directory with Environment(run, cfg, current).
func Plan(run aco.Run, cfg config.Config, current []string, shimDir string) (launcher.ExecPlan, error) {
	if run.ParentID != "" {
		return launcher.ExecPlan{}, aco.Errorf(aco.EINVALID, "run %s is a subrun: rerun its top-level run %s", run.ID, run.ParentID)
	}
	args, err := launcher.ParseArgs(run.Argv)
	if err != nil || (args.Script == "" && args.Module == "") {
		return launcher.ExecPlan{}, aco.Errorf(aco.EINVALID, "run %s has no command line to rerun (recorded argv %q)", run.ID, run.Argv)
	}
	if run.Interpreter == "" {
		return launcher.ExecPlan{}, aco.Errorf(aco.EINVALID, "run %s has no recorded interpreter", run.ID)
	}
	return launcher.Plan(launcher.Input{
		Args:        args,
		Argv:        run.Argv,
		Interpreter: run.Interpreter,
		ShimDir:     shimDir,
		Config:      cfg,
		Environ:     Environment(run, cfg, current),
	}), nil
}
