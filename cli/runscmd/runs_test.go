package runscmd

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/aco-dev/aco"
	"github.com/aco-dev/aco/cli/cmdutil"
	"github.com/aco-dev/aco/core/server/servertest"
)

var update = flag.Bool("update", false, "rewrite the golden files")

func init() { time.Local = time.UTC }

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("output differs from %s:\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

func TestRunsTableAndJSON(t *testing.T) {
	s := servertest.Start(t)
	at := func(m int) time.Time { return time.Date(2026, 11, 25, 12, m, 0, 0, time.UTC) }
	servertest.Seed(t, s.Store, aco.Run{ID: "aaaa1111bbbb2222", Name: "agent.py", CreatedAt: at(0)}, [2]string{"q", "a"})
	servertest.Seed(t, s.Store, aco.Run{ID: "cccc3333dddd4444", Name: "eval.py", CreatedAt: at(5), Status: aco.RunCrashed})
	servertest.Seed(t, s.Store, aco.Run{ID: "eeee5555ffff6666", ParentID: "cccc3333dddd4444", Name: "sample 1", CreatedAt: at(6)}, [2]string{"q", "a"}, [2]string{"a", "b"})
	servertest.Seed(t, s.Store, aco.Run{ID: "gggg7777hhhh8888", ParentID: "cccc3333dddd4444", Name: "sample 2", CreatedAt: at(7), Status: aco.RunRunning})
	svc := func() (aco.RunService, error) { return s.Client, nil }

	var out bytes.Buffer
	if err := Run(t.Context(), &Options{Format: "table", Service: svc, Out: &out}); err != nil {
		t.Fatal(err)
	}
	golden(t, "runs.txt", out.Bytes())

	out.Reset()
	if err := Run(t.Context(), &Options{Format: "json", Service: svc, Out: &out}); err != nil {
		t.Fatal(err)
	}
	var runs []map[string]any
	if err := json.Unmarshal(out.Bytes(), &runs); err != nil {
		t.Fatal(err)
	}
	if len(runs) != 4 || runs[0]["id"] != "gggg7777hhhh8888" || runs[0]["parent"] != "cccc3333dddd4444" || runs[0]["status"] != "running" || runs[0]["name"] != "sample 2" {
		t.Errorf("json[0] = %v", runs[0])
	}

	if err := Run(t.Context(), &Options{Format: "yaml", Service: svc, Out: &out}); aco.ErrorCode(err) != aco.EINVALID {
		t.Errorf("unknown format: %v", err)
	}
}

func TestRunsEmpty(t *testing.T) {
	s := servertest.Start(t)
	var out bytes.Buffer
	if err := Run(t.Context(), &Options{Format: "table", Service: func() (aco.RunService, error) { return s.Client, nil }, Out: &out}); err != nil {
		t.Fatal(err)
	}
	if got := out.String(); got != "No runs recorded yet: run a program with `aco-launch script.py`.\n" {
		t.Errorf("empty table = %q", got)
	}
	out.Reset()
	Run(t.Context(), &Options{Format: "json", Service: func() (aco.RunService, error) { return s.Client, nil }, Out: &out})
	if out.String() != "[]\n" {
		t.Errorf("empty json = %q", out.String())
	}
}

func TestRunsFlags(t *testing.T) {
	var got *Options
	cmd := NewCmd(&cmdutil.Factory{}, func(_ context.Context, o *Options) error { got = o; return nil })
	cmd.SetArgs([]string{"--format", "json"})
	if err := cmd.Execute(); err != nil || got.Format != "json" {
		t.Errorf("flags: %v %+v", err, got)
	}
	cmd = NewCmd(&cmdutil.Factory{}, func(context.Context, *Options) error { return nil })
	cmd.SetArgs([]string{"extra"})
	cmd.SetErr(&bytes.Buffer{})
	if err := cmd.Execute(); err == nil {
		t.Error("an argument was accepted")
	}
}
