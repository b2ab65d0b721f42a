package apiwatchcmd

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aco-dev/aco/apiwatch"
	"github.com/aco-dev/aco/apiwatch/apiwatchtest"
	"github.com/aco-dev/aco/cli/cmdutil"
	"github.com/aco-dev/aco/plugins/pluginstest"
)

type env map[string]string

func (e env) get(k string) string { return e[k] }

// run executes `aco apiwatch args…` and returns its exit code and output.
func run(t *testing.T, e env, runF func(context.Context, *Options) error, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	f := &cmdutil.Factory{Out: &out, ErrOut: &errOut, Getenv: e.get}
	cmd := NewCmd(f, runF)
	cmd.SetArgs(args)
	cmd.SetOut(&out)
	cmd.SetErr(&errOut)
	cmd.SilenceUsage, cmd.SilenceErrors = true, true
	err := cmd.ExecuteContext(context.Background())
	var exit *cmdutil.ExitError
	switch {
	case err == nil:
		return 0, out.String(), errOut.String()
	case errors.As(err, &exit):
		return exit.Code, out.String(), errOut.String()
	}
	return -1, out.String(), err.Error()
}

func TestFlags(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		want func(*Options) bool
		err  string
	}{
		{"defaults", nil, func(o *Options) bool {
			return o.Index == "https://pypi.org/pypi" && o.Format == "text" && !o.DryRun && !o.NoFail && len(o.SDKs) == 0
		}, ""},
		{"everything", []string{"--sdk", "openai", "--sdk", "anthropic", "--index", "http://mirror/pypi", "--repo", "o/r", "--dry-run", "--format", "json", "--no-fail", "--python", "/py"},
			func(o *Options) bool {
				return strings.Join(o.SDKs, ",") == "openai,anthropic" && o.Index == "http://mirror/pypi" && o.Repo == "o/r" &&
					o.DryRun && o.Format == "json" && o.NoFail && o.Python == "/py"
			}, ""},
		{"bad format", []string{"--format", "yaml"}, nil, `--format "yaml": expected text, json or markdown`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got *Options
			code, _, stderr := run(t, env{}, func(_ context.Context, o *Options) error { got = o; return nil }, tc.args...)
			if tc.err != "" {
				if code != -1 || !strings.Contains(stderr, tc.err) {
					t.Fatalf("code %d, %q; want error %q", code, stderr, tc.err)
				}
				return
			}
			if code != 0 || got == nil || !tc.want(got) {
				t.Fatalf("code %d, options %+v", code, got)
			}
		})
	}
}

// checkout makes a directory that looks like an aco checkout declaring the
// fixture SDK of apiwatch/testdata.
func checkout(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module example.com/x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	yaml, err := os.ReadFile("../../apiwatch/testdata/patches/acme.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "patches"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "patches", "acme.yaml"), yaml, 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func python(t *testing.T) string {
	if p := os.Getenv("ACO_TEST_PYTHON"); p != "" {
		return p
	}
	p, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("no python3 on PATH (set ACO_TEST_PYTHON)")
	}
	return p
}

func fixtureIndex(t *testing.T, withV2 bool) *apiwatchtest.Index {
	dists := []apiwatchtest.Dist{{Version: "1.0.0", Src: "../../apiwatch/testdata/sdk/v1", Wheel: true, Sdist: true}}
	if withV2 {
		dists = append(dists, apiwatchtest.Dist{Version: "2.0.0", Src: "../../apiwatch/testdata/sdk/v2", Wheel: true, Sdist: true})
	}
	return apiwatchtest.NewIndex(t, "acme-llm", "acme_llm", dists)
}

func TestApiwatchFilesOneIssuePerRelease(t *testing.T) {
	dir := checkout(t)
	ix := fixtureIndex(t, true)
	gh := apiwatchtest.NewGitHub(t, "aco-dev", "aco", "s3cret")
	e := env{"ACO_HOME": t.TempDir(), "ACO_PYTHON": python(t), "GITHUB_TOKEN": "s3cret", "GITHUB_REPOSITORY": "aco-dev/aco", "GITHUB_API_URL": gh.URL()}
	args := []string{"--dir", dir, "--index", ix.URL()}

	code, out, stderr := run(t, e, nil, args...)
	if code != ExitBreaking {
		t.Fatalf("exit %d, want %d (breaking)\n%s\n%s", code, ExitBreaking, out, stderr)
	}
	issues := gh.Issues()
	if len(issues) != 1 {
		t.Fatalf("%d issues, want 1", len(issues))
	}
	is := issues[0]
	if is.Title != "acme-llm 2.0.0: 2 breaking changes for our patches" || strings.Join(is.Labels, ",") != "apiwatch,sdk:acme,breaking" {
		t.Errorf("issue title %q labels %v", is.Title, is.Labels)
	}
	for _, want := range []string{
		"<!-- aco-apiwatch sdk=acme version=2.0.0 -->",
		"| breaking | `acme.completions.create` | `acme_llm.resources.Completions.create`<br>`acme_llm.resources.AsyncCompletions.create` | parameter `messages` renamed to `conversation`",
		"| breaking | `acme.completions.legacy_complete` | `acme_llm.resources.Completions.legacy_complete` | the target was removed |",
		"| informational | `acme.completions.create` |",
		"- `acme.completions.legacy_complete` (patches/acme.yaml)",
		"- Release notes: https://github.com/acme/acme-llm/releases/tag/v2.0.0",
		"https://github.com/acme/acme-llm/compare/v1.0.0...v2.0.0",
		"- Changelog entry: https://github.com/acme/acme-llm/blob/main/CHANGELOG.md",
	} {
		if !strings.Contains(is.Body, want) {
			t.Errorf("issue body lacks %q:\n%s", want, is.Body)
		}
	}
	if !strings.Contains(out, "issue created: https://github.com/aco-dev/aco/issues/1") {
		t.Errorf("output does not link the issue:\n%s", out)
	}

	// The next day: the same release, found by its marker and not filed again.
	code, out, _ = run(t, e, nil, append(args, "--no-fail")...)
	if code != 0 || len(gh.Issues()) != 1 || !strings.Contains(out, "issue unchanged: https://github.com/aco-dev/aco/issues/1") {
		t.Fatalf("rerun: exit %d, %d issues, output:\n%s", code, len(gh.Issues()), out)
	}
}

func TestApiwatchJSONAndExitCodes(t *testing.T) {
	dir := checkout(t)
	base := env{"ACO_HOME": t.TempDir(), "ACO_PYTHON": python(t)}
	t.Run("nothing new", func(t *testing.T) {
		ix := fixtureIndex(t, false)
		code, out, stderr := run(t, base, nil, "--dir", dir, "--index", ix.URL(), "--dry-run", "--format", "json")
		if code != 0 {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		var rep apiwatch.Report
		if err := json.Unmarshal([]byte(out), &rep); err != nil {
			t.Fatalf("not JSON: %v\n%s", err, out)
		}
		if len(rep.SDKs) != 1 || rep.SDKs[0].Latest != "1.0.0" || len(rep.Releases) != 0 {
			t.Errorf("report = %+v", rep)
		}
	})
	t.Run("dry run prints the issue", func(t *testing.T) {
		ix := fixtureIndex(t, true)
		code, out, _ := run(t, base, nil, "--dir", dir, "--index", ix.URL(), "--dry-run", "--format", "json")
		if code != ExitBreaking {
			t.Fatalf("exit %d, want %d", code, ExitBreaking)
		}
		var rep apiwatch.Report
		if err := json.Unmarshal([]byte(out), &rep); err != nil {
			t.Fatalf("not JSON: %v\n%s", err, out)
		}
		r := rep.Releases[0]
		if r.Version != "2.0.0" || r.Breaking() != 2 || r.Issue == nil || r.Issue.Action != "dry-run" ||
			!strings.HasPrefix(r.Issue.Body, "<!-- aco-apiwatch sdk=acme version=2.0.0 -->") {
			t.Errorf("release = %+v", r)
		}
		code, out, _ = run(t, base, nil, "--dir", dir, "--index", ix.URL(), "--dry-run", "--no-fail")
		if code != 0 || !strings.Contains(out, "--- issue (dry run, not filed) ---\ntitle: acme-llm 2.0.0: 2 breaking changes for our patches\nlabels: apiwatch, sdk:acme, breaking") {
			t.Errorf("text dry run: exit %d\n%s", code, out)
		}
	})
	t.Run("markdown", func(t *testing.T) {
		ix := fixtureIndex(t, true)
		code, out, _ := run(t, base, nil, "--dir", dir, "--index", ix.URL(), "--dry-run", "--format", "markdown", "--no-fail")
		if code != 0 || !strings.Contains(out, "| acme | 1.0.0 | 2.0.0 | 2.0.0 |") || !strings.Contains(out, "## acme-llm 2.0.0: 2 breaking changes for our patches") {
			t.Errorf("exit %d\n%s", code, out)
		}
	})
	for _, tc := range []struct {
		name string
		env  env
		args []string
		want string
	}{
		{"no token", env{}, nil, "GITHUB_TOKEN is not set"},
		{"no repository", env{"GITHUB_TOKEN": "x"}, nil, "pass --repo OWNER/NAME or set GITHUB_REPOSITORY"},
		{"unknown sdk", env{}, []string{"--dry-run", "--sdk", "nope"}, `--sdk "nope" is not declared in patches/ (declared: acme)`},
		{"index down", env{}, []string{"--dry-run", "--index", "http://127.0.0.1:1/pypi"}, "acme: package index http://127.0.0.1:1/pypi is not reachable"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := env{"ACO_HOME": base["ACO_HOME"], "ACO_PYTHON": base["ACO_PYTHON"]}
			for k, v := range tc.env {
				e[k] = v
			}
			code, _, stderr := run(t, e, nil, append([]string{"--dir", dir}, tc.args...)...)
			if code != ExitError || !strings.Contains(stderr, tc.want) {
				t.Errorf("exit %d, stderr %q; want 1 and %q", code, stderr, tc.want)
			}
		})
	}
}

// --notifier sends the report through plugins too: here the shipped
// markdown-file plugin, built and run as a real subprocess, beside the
// built-in GitHub issue.
func TestApiwatchNotifiesThroughPlugins(t *testing.T) {
	dir := checkout(t)
	ix := fixtureIndex(t, true)
	gh := apiwatchtest.NewGitHub(t, "aco-dev", "aco", "s3cret")
	home := t.TempDir()
	pluginDir := pluginstest.Build(t, "aco-plugin-notifier-markdown")
	pages := t.TempDir()
	config := "plugins:\n  dir: " + pluginDir + "\n  notifiers:\n    markdown: {dir: " + pages + "}\n"
	if err := os.WriteFile(filepath.Join(home, "config.yaml"), []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	e := env{"ACO_HOME": home, "ACO_PYTHON": python(t), "GITHUB_TOKEN": "s3cret", "GITHUB_REPOSITORY": "aco-dev/aco", "GITHUB_API_URL": gh.URL()}
	code, out, stderr := run(t, e, nil, "--dir", dir, "--index", ix.URL(), "--notifier", "github", "--notifier", "markdown", "--no-fail")
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out, stderr)
	}
	if n := len(gh.Issues()); n != 1 {
		t.Errorf("%d GitHub issues, want 1 (the built-in notifier)", n)
	}
	page, err := os.ReadFile(filepath.Join(pages, "acme-2.0.0.md"))
	if err != nil {
		t.Fatalf("the markdown plugin wrote no page: %v\n%s", err, stderr)
	}
	if !strings.Contains(string(page), "2.0.0") || !strings.Contains(string(page), "legacy_complete") {
		t.Errorf("page lacks the findings:\n%s", page)
	}

	// A notifier that cannot be found fails the run, after the others got it.
	code, _, stderr = run(t, e, nil, "--dir", dir, "--index", ix.URL(), "--notifier", "markdown", "--notifier", "pager", "--no-fail")
	if code != ExitError || !strings.Contains(stderr, "pager") {
		t.Errorf("missing notifier: exit %d, stderr %s", code, stderr)
	}
}
