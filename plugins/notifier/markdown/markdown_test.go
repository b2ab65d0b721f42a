package markdown_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aco-dev/aco/plugins"
	"github.com/aco-dev/aco/plugins/notifier/markdown"
	"github.com/aco-dev/aco/plugins/pluginstest"
)

func TestMain(m *testing.M) {
	code := m.Run()
	pluginstest.Cleanup()
	os.Exit(code)
}

func page(dir string) func(t *testing.T) string {
	return func(t *testing.T) string {
		t.Helper()
		entries, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		if len(entries) != 1 || entries[0].Name() != "openai-3.52.0.md" {
			t.Fatalf("the directory holds %v, want only openai-3.52.0.md", entries)
		}
		b, err := os.ReadFile(filepath.Join(dir, "openai-3.52.0.md"))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
}

func TestMarkdown(t *testing.T) {
	t.Run("in process", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "docs", "apiwatch")
		n, err := markdown.New(markdown.Config{Dir: dir})
		if err != nil {
			t.Fatal(err)
		}
		pluginstest.NotifierSuite(t, n, page(dir))
	})
	t.Run("plugin", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "docs")
		h := plugins.NewHost(plugins.HostOptions{
			Dirs:   []string{pluginstest.Build(t, "aco-plugin-notifier-markdown")},
			Config: plugins.Config{Notifiers: map[string]map[string]any{"markdown": {"dir": dir}}},
		})
		defer h.Close()
		n, err := h.Notifier("markdown")
		if err != nil {
			t.Fatal(err)
		}
		pluginstest.NotifierSuite(t, n, page(dir))
	})
}

func TestRender(t *testing.T) {
	got := markdown.Render(pluginstest.SampleReport())
	for _, want := range []string{
		"# openai 3.52.0: 2 breaking changes for our patches\n",
		"`openai` 3.51.0 → 3.52.0: 2 breaking, 0 to review, 1 informational.",
		"- [compare](https://github.com/openai/openai-python/compare/v3.51.0...v3.52.0)\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("page lacks %q:\n%s", want, got)
		}
	}
}

func TestFileName(t *testing.T) {
	for _, tc := range []struct{ sdk, version, want string }{
		{"openai", "3.52.0", "openai-3.52.0.md"},
		{"../../etc", "passwd", "etc-passwd.md"},
		{"google-genai", "1.0.0rc1/x", "google-genai-1.0.0rc1_x.md"},
		{"", "", "report.md"},
	} {
		if got := markdown.FileName(plugins.Report{SDK: tc.sdk, ToVersion: tc.version}); got != tc.want {
			t.Errorf("FileName(%q, %q) = %q, want %q", tc.sdk, tc.version, got, tc.want)
		}
	}
}

func TestNoDir(t *testing.T) {
	if _, err := markdown.Open([]byte(`{}`)); err == nil || !strings.Contains(err.Error(), "markdown.dir is not set") {
		t.Errorf("Open without dir: %v", err)
	}
}
