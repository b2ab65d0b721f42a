package patchgencmd

import (
	"bytes"
	"context"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/aco-dev/aco"
	"github.com/aco-dev/aco/cli/cmdutil"
	"github.com/aco-dev/aco/core/config"
	"github.com/aco-dev/aco/core/mockllm"
	"github.com/aco-dev/aco/patchgen"
	"github.com/aco-dev/aco/plugins/pluginstest"
)

func TestFlags(t *testing.T) {
	tests := []struct {
		args    []string
		want    Options
		wantErr string
	}{
		{args: []string{"openai.completions.create"}, want: Options{API: "openai.completions.create", Model: "gpt-4o", MaxRounds: 4}},
		{
			args: []string{"anthropic.messages.create", "--sdk-version", "2.14.0", "--model", "m", "--write", "--max-rounds", "2", "--allow-hooks", "--response", "r.json", "--dir", "/x"},
			want: Options{API: "anthropic.messages.create", SDKVersion: "2.14.0", Model: "m", Write: true, MaxRounds: 2, AllowHooks: true, ResponseFile: "r.json", Dir: "/x"},
		},
		{args: nil, wantErr: "accepts 1 arg"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			var got *Options
			f := &cmdutil.Factory{Out: &bytes.Buffer{}, ErrOut: &bytes.Buffer{}, Getenv: func(string) string { return "" }}
			cmd := NewCmd(f, func(_ context.Context, o *Options) error { got = o; return nil })
			cmd.SetArgs(tt.args)
			cmd.SetOut(&bytes.Buffer{})
			cmd.SetErr(&bytes.Buffer{})
			err := cmd.Execute()
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			g := *got
			g.Getenv, g.Getwd, g.Out, g.ErrOut = nil, nil, nil, nil
			if !reflect.DeepEqual(g, tt.want) {
				t.Errorf("options %+v, want %+v", g, tt.want)
			}
		})
	}
}

// What is wrong before any model is asked is said plainly.
func TestRunRefusesBadSetup(t *testing.T) {
	root := t.TempDir()
	os.MkdirAll(filepath.Join(root, "patches"), 0o755)
	os.WriteFile(filepath.Join(root, "go.mod"), []byte("module x\n"), 0o644)
	os.WriteFile(filepath.Join(root, "bad.json"), []byte("{not json"), 0o644)
	env := map[string]string{"ACO_PYTHON": "/bin/sh", "ACO_HOME": t.TempDir()}
	tests := []struct {
		name string
		opts Options
		want string
	}{
		{"no model configured", Options{Dir: root, MaxRounds: 1}, "set OPENAI_API_KEY"},
		{"bad recorded response", Options{Dir: root, MaxRounds: 1, ResponseFile: filepath.Join(root, "bad.json")}, "is not JSON"},
		{"no checkout", Options{Dir: t.TempDir(), MaxRounds: 1}, "no aco checkout"},
		{"no rounds", Options{Dir: root, MaxRounds: 0}, "--max-rounds must be at least 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := tt.opts
			o.API = "openai.completions.create"
			o.Getenv = func(k string) string { return env[k] }
			o.Getwd = os.Getwd
			o.Out, o.ErrOut = &bytes.Buffer{}, &bytes.Buffer{}
			err := Run(context.Background(), &o)
			if err == nil || !strings.Contains(aco.ErrorMessage(err), tt.want) {
				t.Errorf("err = %v, want %q", err, tt.want)
			}
		})
	}
}

// --drafter picks a drafter plugin: the shipped Anthropic one, built and run
// as a subprocess, drafting against the mock LLM's Messages API.
func TestChooseDrafterPlugin(t *testing.T) {
	mock := httptest.NewServer(mockllm.New(mockllm.Options{}).Handler())
	defer mock.Close()
	home := t.TempDir()
	dir := pluginstest.Build(t, "aco-plugin-drafter-anthropic")
	conf := "plugins:\n  dir: " + dir + "\n  drafters:\n    anthropic: {base_url: " + mock.URL + ", model: claude-test}\n"
	if err := os.WriteFile(filepath.Join(home, "config.yaml"), []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("ANTHROPIC_API_KEY", "test-key")
	cfg := config.Config{Home: home}
	d, stop, err := chooseDrafter(cfg, "anthropic", func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	got, err := d.Draft(t.Context(), patchgen.Prompt{Model: "claude-test", Messages: []patchgen.Message{{Role: "user", Content: "Add 1 to 41"}}, MaxTokens: 100})
	if err != nil || strings.TrimSpace(got) != "42" {
		t.Errorf("draft = %q, %v; want the mock's 42", got, err)
	}
	if _, _, err := chooseDrafter(cfg, "nosuch", func(string) string { return "" }); err == nil || !strings.Contains(err.Error(), "nosuch") {
		t.Errorf("unknown drafter: %v", err)
	}
}
