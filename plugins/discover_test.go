package plugins_test

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/aco-dev/aco/plugins"
)

func TestDiscover(t *testing.T) {
	first, second := t.TempDir(), t.TempDir()
	files := map[string]os.FileMode{
		filepath.Join(first, "aco-plugin-notifier-webhook"):  0o755,
		filepath.Join(first, "aco-plugin-drafter-local"):     0o755,
		filepath.Join(first, "aco-plugin-notifier-readme"):   0o644,
		filepath.Join(first, "aco-plugin-printer-x"):         0o755,
		filepath.Join(first, "aco-plugin-drafter-"):          0o755,
		filepath.Join(first, "aco"):                          0o755,
		filepath.Join(second, "aco-plugin-notifier-webhook"): 0o755,
		filepath.Join(second, "aco-plugin-notifier-email"):   0o755,
	}
	for path, mode := range files {
		if err := os.WriteFile(path, []byte("#!/bin/sh\n"), mode); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(filepath.Join(second, "aco-plugin-notifier-dir"), 0o755); err != nil {
		t.Fatal(err)
	}
	got, err := plugins.Discover([]string{first, filepath.Join(first, "missing"), second})
	if err != nil {
		t.Fatal(err)
	}
	type row struct{ kind, name, dir, problem string }
	var rows []row
	for _, c := range got {
		dir := "first"
		if filepath.Dir(c.Path) == second {
			dir = "second"
		}
		problem := c.Problem
		if i := strings.IndexAny(problem, "(:"); i > 0 {
			problem = strings.TrimSpace(problem[:i])
		}
		rows = append(rows, row{string(c.Kind), c.Name, dir, problem})
	}
	want := []row{
		{"drafter", "", "first", "no name"},
		{"drafter", "local", "first", ""},
		{"notifier", "readme", "first", "not executable"},
		{"notifier", "webhook", "first", ""},
		{"printer", "x", "first", "unknown kind \"printer\""},
		{"notifier", "dir", "second", "not executable"},
		{"notifier", "email", "second", ""},
		{"notifier", "webhook", "second", "shadowed by " + filepath.Join(first, "aco-plugin-notifier-webhook")},
	}
	if !reflect.DeepEqual(rows, want) {
		t.Errorf("Discover =\n%v\nwant\n%v", rows, want)
	}
}

func TestLoadConfig(t *testing.T) {
	home, err := os.UserHomeDir()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, yaml string
		want       plugins.Config
		wantErr    string
	}{
		{name: "missing file"},
		{
			name: "everything",
			yaml: "plugins:\n  dir: extra\n  notifier: [webhook, email]\n  drafter: anthropic\n  notifiers:\n    webhook: {url: 'https://h.example/x', secret: s}\n  drafters:\n    anthropic: {model: m}\nother: ignored\n",
			want: plugins.Config{
				Dir: "CONFIGDIR/extra", Notifier: plugins.Names{"webhook", "email"}, Drafter: "anthropic",
				Notifiers: map[string]map[string]any{"webhook": {"url": "https://h.example/x", "secret": "s"}},
				Drafters:  map[string]map[string]any{"anthropic": {"model": "m"}},
			},
		},
		{name: "one notifier", yaml: "plugins:\n  notifier: webhook\n  dir: /opt/aco\n", want: plugins.Config{Notifier: plugins.Names{"webhook"}, Dir: "/opt/aco"}},
		{name: "home dir", yaml: "plugins:\n  dir: ~/p\n", want: plugins.Config{Dir: filepath.Join(home, "p")}},
		{name: "bad yaml", yaml: "plugins: [\n", wantErr: "config.yaml"},
		{name: "bad type", yaml: "plugins:\n  notifiers: 3\n", wantErr: "cannot unmarshal"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := plugins.ConfigPath(dir)
			if tc.yaml != "" {
				if err := os.WriteFile(path, []byte(tc.yaml), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			got, err := plugins.LoadConfig(path)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tc.want.Dir = strings.Replace(tc.want.Dir, "CONFIGDIR", dir, 1)
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("LoadConfig =\n%#v\nwant\n%#v", got, tc.want)
			}
		})
	}
}

func TestSearchPath(t *testing.T) {
	got := plugins.SearchPath("/h", plugins.Config{Dir: "/p"}, "/bin/aco-dir")
	want := []string{"/p", "/h/plugins", "/bin/aco-dir"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("SearchPath = %v, want %v", got, want)
	}
	if got := plugins.SearchPath("/h", plugins.Config{Dir: "/h/plugins/"}, ""); !reflect.DeepEqual(got, []string{"/h/plugins/"}) {
		t.Errorf("SearchPath with duplicates = %v", got)
	}
}

func TestDecodeConfig(t *testing.T) {
	var c struct {
		URL string `json:"url"`
	}
	if err := plugins.DecodeConfig([]byte(`{"url":"u"}`), &c); err != nil || c.URL != "u" {
		t.Errorf("DecodeConfig = %+v, %v", c, err)
	}
	if err := plugins.DecodeConfig([]byte(`{"ulr":"u"}`), &c); err == nil || !strings.Contains(err.Error(), `"ulr"`) {
		t.Errorf("a misspelt key: %v", err)
	}
}
