// Package pluginstest holds what every implementation of the plugin
// interfaces is tested with: one suite per interface, run against the
// in-process implementation and against the same code as a plugin process,
// and a helper that builds the shipped plugins for a test.
package pluginstest

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aco-dev/aco/plugins"
)

// SampleReport is a report with every field set, as apiwatch would send it.
func SampleReport() plugins.Report {
	return plugins.Report{
		Title:       "openai 3.52.0: 2 breaking changes for our patches",
		Markdown:    "| finding | declaration | severity |\n| --- | --- | --- |\n| parameter `input` renamed to `inputs` | openai.responses.create | breaking |\n| method `create_and_poll` removed | openai.beta.threads.runs.create_and_poll | breaking |\n| new optional parameter `stream_options` | openai.chat.completions.create | informational |\n",
		JSON:        []byte(`{"sdk":"openai","from":"3.51.0","to":"3.52.0","findings":[{"severity":"breaking","api":"openai.responses.create"}]}`),
		SDK:         "openai",
		FromVersion: "3.51.0",
		ToVersion:   "3.52.0",
		Breaking:    2,
		Review:      0,
		Info:        1,
		Links: []plugins.Link{
			{Label: "release notes", URL: "https://github.com/openai/openai-python/releases/tag/v3.52.0"},
			{Label: "compare", URL: "https://github.com/openai/openai-python/compare/v3.51.0...v3.52.0"},
			{Label: "changelog", URL: "https://github.com/openai/openai-python/blob/main/CHANGELOG.md#3520"},
		},
	}
}

// NotifierSuite checks a Notifier delivers SampleReport: received returns
// what the far end got (a request body, a mail, a file) as text, and it must
// carry the title, the findings and every link; the delivery must say where
// it went; and a cancelled context must fail rather than deliver.
func NotifierSuite(t *testing.T, n plugins.Notifier, received func(t *testing.T) string) {
	t.Helper()
	r := SampleReport()
	t.Run("delivers the findings and links", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		d, err := n.Notify(ctx, r)
		if err != nil {
			t.Fatalf("Notify: %v", err)
		}
		if d.Target == "" {
			t.Errorf("delivery %+v does not say where the report went", d)
		}
		got := received(t)
		want := []string{r.Title, "parameter `input` renamed to `inputs`", "openai.beta.threads.runs.create_and_poll"}
		for _, l := range r.Links {
			want = append(want, l.URL)
		}
		for _, w := range want {
			if !strings.Contains(got, w) {
				t.Errorf("what arrived lacks %q:\n%s", w, got)
			}
		}
	})
	t.Run("cancelled context", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if _, err := n.Notify(ctx, r); err == nil {
			t.Fatal("Notify with a cancelled context succeeded")
		}
	})
}

// DrafterSuite checks a Drafter against the mock LLM server (core/mockllm),
// which answers "Output the number 42" with 42 in every provider's format.
func DrafterSuite(t *testing.T, d plugins.Drafter, model string) {
	t.Helper()
	t.Run("answers the prompt", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		got, err := d.Draft(ctx, plugins.Prompt{
			Model:  model,
			System: "You write YAML patch declarations.",
			Messages: []plugins.Message{
				{Role: "user", Content: "Hello"},
				{Role: "assistant", Content: "Hello"},
				{Role: "user", Content: "Output the number 42"},
			},
			MaxTokens: 256,
		})
		if err != nil {
			t.Fatalf("Draft: %v", err)
		}
		if strings.TrimSpace(got.Text) != "42" {
			t.Errorf("draft text = %q, want 42", got.Text)
		}
		if got.Model == "" {
			t.Errorf("draft %+v does not say which model answered", got)
		}
	})
	t.Run("cancelled context", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if _, err := d.Draft(ctx, plugins.Prompt{Model: model, Messages: []plugins.Message{{Role: "user", Content: "hi"}}}); err == nil {
			t.Fatal("Draft with a cancelled context succeeded")
		}
	})
}

var (
	buildOnce sync.Once
	buildDir  string
	buildErr  error
)

// Build builds every shipped plugin (plugins/cmd/...) once per test binary
// and returns a fresh directory holding only the named ones, to be the
// search path of a Host.
func Build(t *testing.T, names ...string) string {
	t.Helper()
	buildOnce.Do(func() {
		root, err := moduleRoot()
		if err != nil {
			buildErr = err
			return
		}
		buildDir, buildErr = os.MkdirTemp("", "aco-plugins-build-")
		if buildErr != nil {
			return
		}
		cmd := exec.Command("go", "build", "-o", buildDir+string(filepath.Separator), "./plugins/cmd/...")
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = &buildError{out: string(out), err: err}
		}
	})
	if buildErr != nil {
		t.Fatalf("building the shipped plugins: %v", buildErr)
	}
	dir := t.TempDir()
	for _, n := range names {
		if err := os.Link(filepath.Join(buildDir, n), filepath.Join(dir, n)); err != nil {
			t.Fatalf("the build has no %s: %v", n, err)
		}
	}
	return dir
}

// Cleanup removes what Build made; call it from TestMain after m.Run.
func Cleanup() {
	if buildDir != "" {
		os.RemoveAll(buildDir)
	}
}

type buildError struct {
	out string
	err error
}

func (e *buildError) Error() string { return e.err.Error() + "\n" + e.out }

func moduleRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", err
	}
	return filepath.Dir(strings.TrimSpace(string(out))), nil
}
