package pluginscmd_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/go-plugin"

	"github.com/aco-dev/aco/cli/cmdutil"
	"github.com/aco-dev/aco/cli/pluginscmd"
	"github.com/aco-dev/aco/plugins"
	"github.com/aco-dev/aco/plugins/pluginstest"
)

// The test binary doubles as two plugins that cannot be used.
func TestMain(m *testing.M) {
	switch filepath.Base(os.Args[0]) {
	case "aco-plugin-drafter-future":
		hs := plugins.Handshake
		hs.ProtocolVersion = plugins.ProtocolVersion + 1
		plugin.Serve(&plugin.ServeConfig{HandshakeConfig: hs, Plugins: plugin.PluginSet{"drafter": &plugins.DrafterPlugin{}}})
		os.Exit(0)
	case "aco-plugin-notifier-crash":
		fmt.Fprintln(os.Stderr, "boom: no config")
		os.Exit(1)
	}
	code := m.Run()
	pluginstest.Cleanup()
	os.Exit(code)
}

// home makes an $ACO_HOME whose config points at a second directory; the
// shipped webhook plugin sits beside the "aco binary", a broken plugin in
// each other directory.
func home(t *testing.T) (homeDir, confDir, exeDir string) {
	homeDir, confDir = t.TempDir(), t.TempDir()
	exeDir = pluginstest.Build(t, "aco-plugin-notifier-webhook")
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	must(t, os.MkdirAll(filepath.Join(homeDir, "plugins"), 0o755))
	must(t, os.Symlink(self, filepath.Join(homeDir, "plugins", "aco-plugin-drafter-future")))
	must(t, os.Symlink(self, filepath.Join(confDir, "aco-plugin-notifier-crash")))
	must(t, os.WriteFile(filepath.Join(confDir, "aco-plugin-notifier-readme"), []byte("text"), 0o644))
	must(t, os.WriteFile(plugins.ConfigPath(homeDir), []byte("plugins:\n  dir: "+confDir+"\n"), 0o600))
	return homeDir, confDir, exeDir
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func run(t *testing.T, homeDir, exeDir string, args ...string) (string, error) {
	var out bytes.Buffer
	f := &cmdutil.Factory{
		Out: &out, ErrOut: &out,
		Getenv:     func(k string) string { return map[string]string{"ACO_HOME": homeDir}[k] },
		Environ:    os.Environ,
		Executable: func() (string, error) { return filepath.Join(exeDir, "aco"), nil },
	}
	cmd := pluginscmd.NewCmd(f, nil)
	cmd.SetArgs(args)
	cmd.SetOut(&out)
	cmd.SilenceErrors, cmd.SilenceUsage = true, true
	err := cmd.Execute()
	return out.String(), err
}

func TestList(t *testing.T) {
	homeDir, confDir, exeDir := home(t)
	out, err := run(t, homeDir, exeDir, "list", "--start-timeout", "20s")
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	want := []struct{ prefix, contains string }{
		{"searched: " + confDir + ", " + filepath.Join(homeDir, "plugins") + ", " + exeDir, ""},
		{"KIND", "PATH"},
		{"notifier  crash", "skipped: crashed on start: boom: no config"},
		{"notifier  readme", "skipped: not executable"},
		{"drafter   future  2", "skipped: speaks plugin protocol version 2, this aco speaks 1"},
		{"notifier  webhook  1", "ok"},
	}
	if len(lines) != len(want) {
		t.Fatalf("got %d lines, want %d:\n%s", len(lines), len(want), out)
	}
	for i, w := range want {
		l := strings.Join(strings.Fields(lines[i]), " ")
		if !strings.HasPrefix(l, strings.Join(strings.Fields(w.prefix), " ")) || !strings.Contains(l, w.contains) {
			t.Errorf("line %d = %q, want %q…%q", i, lines[i], w.prefix, w.contains)
		}
	}
}

func TestListJSON(t *testing.T) {
	homeDir, _, exeDir := home(t)
	out, err := run(t, homeDir, exeDir, "list", "--format", "json", "--start-timeout", "20s")
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	var got struct {
		Dirs    []string
		Plugins []pluginscmd.Entry
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	byName := map[string]pluginscmd.Entry{}
	for _, e := range got.Plugins {
		byName[e.Name] = e
	}
	if e := byName["webhook"]; !e.OK || e.Protocol != 1 || e.Kind != plugins.KindNotifier || e.Skipped != "" {
		t.Errorf("webhook = %+v", e)
	}
	if e := byName["future"]; e.OK || e.Protocol != 2 || !strings.Contains(e.Skipped, "protocol version 2") {
		t.Errorf("future = %+v", e)
	}
	if len(got.Dirs) != 3 || len(got.Plugins) != 4 {
		t.Errorf("listing = %+v", got)
	}
}

func TestListNothing(t *testing.T) {
	out, err := run(t, t.TempDir(), t.TempDir(), "list")
	if err != nil || !strings.Contains(out, "no plugins found (executables named aco-plugin-<kind>-<name>)") {
		t.Errorf("empty listing = %q, %v", out, err)
	}
}

func TestBadFormat(t *testing.T) {
	if _, err := run(t, t.TempDir(), t.TempDir(), "list", "--format", "yaml"); err == nil || !strings.Contains(err.Error(), "use text or json") {
		t.Errorf("err = %v", err)
	}
}
