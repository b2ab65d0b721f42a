package rerun

import (
	"slices"
	"strings"
	"testing"

	"github.com/aco-dev/aco"
	"github.com/aco-dev/aco/core/config"
)

func TestEnvironment(t *testing.T) {
	cfg := config.Config{Home: "/home/ada/.cache/aco", Port: 7000, HTTPPort: 7001}
	run := aco.Run{
		ID:          "r1",
		Interpreter: "/venv/bin/python",
		Env: map[string]string{
			"HOME":              "/home/ada",
			"OPENAI_API_KEY":    "[redacted]",
			"ANTHROPIC_API_KEY": "[redacted]",
			"DATABASE_URL":      "postgres://u:[redacted]@db/x",
			"PYTHONPATH":        "/home/ada/.cache/aco/shim/abc:/src",
			"ACO_RUNNER_ADDR":   "127.0.0.1:5959",
			"ACO_PORT":          "5959",
			"MODE":              "recorded",
		},
	}
	current := []string{
		"OPENAI_API_KEY=sk-live", "DATABASE_URL=postgres://u:pw@db/x", "MODE=mine",
		"ACO_PORT=7000", "ACO_RUN_ID=other", "ACO_DISABLE=1",
	}
	got := Environment(run, cfg, current)
	want := []string{
		"ACO_HOME=/home/ada/.cache/aco",
		"ACO_PORT=7000",               // where the rerunner's server is
		"ACO_PYTHON=/venv/bin/python", // the recorded interpreter
		"ACO_RUN_ID=r1",               // continue this run, whatever the shell says
		"DATABASE_URL=postgres://u:pw@db/x",
		"HOME=/home/ada",
		"MODE=recorded", // the recorded environment wins over the rerunner's
		"OPENAI_API_KEY=sk-live",
		"PYTHONPATH=/src", // the old shim is dropped; the launcher adds the current one
	}
	if !slices.Equal(got, want) {
		t.Errorf("Environment =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	for _, kv := range got {
		if strings.Contains(kv, "[redacted]") {
			t.Errorf("a redacted placeholder reached the rerun: %s", kv)
		}
	}
}

func TestPlan(t *testing.T) {
	cfg := config.Config{Home: "/h", Port: 7000, HTTPPort: 7001}
	run := aco.Run{ID: "r1", Interpreter: "/venv/bin/python", Argv: []string{"-u", "agent.py", "--n", "3"}, Cwd: "/src"}
	p, err := Plan(run, cfg, nil, "/h/shim/v1")
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"/venv/bin/python", "-u", "/h/shim/v1/aco/runner/__main__.py", "agent.py", "--n", "3"}; !slices.Equal(p.Argv, want) {
		t.Errorf("argv = %q, want %q", p.Argv, want)
	}
	if !slices.Contains(p.Env, "ACO_RUN_ID=r1") || !slices.Contains(p.Env, "PYTHONPATH=/h/shim/v1") {
		t.Errorf("env = %q", p.Env)
	}
	for _, bad := range []aco.Run{
		{ID: "s", ParentID: "r1", Interpreter: "/p", Argv: []string{"a.py"}},
		{ID: "x", Interpreter: "/p"},
		{ID: "y", Argv: []string{"a.py"}},
	} {
		if _, err := Plan(bad, cfg, nil, ""); aco.ErrorCode(err) != aco.EINVALID {
			t.Errorf("Plan(%+v) = %v, want an EINVALID error", bad, err)
		}
	}
}
