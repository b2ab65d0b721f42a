package apiwatch_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aco-dev/aco/apiwatch"
	"github.com/aco-dev/aco/apiwatch/apiwatchtest"
	"github.com/aco-dev/aco/apiwatch/pypi"
	"github.com/aco-dev/aco/patches"
)

// python is the interpreter the surface reader runs: the project's venv in
// scripts/test, any python3 otherwise.
func python(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("ACO_TEST_PYTHON"); p != "" {
		return p
	}
	p, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("no python3 on PATH to read API surfaces with (set ACO_TEST_PYTHON)")
	}
	return p
}

func reader(t *testing.T) *apiwatch.PythonReader {
	script, err := filepath.Abs("../pyshim/aco/apisurface.py")
	if err != nil {
		t.Fatal(err)
	}
	return &apiwatch.PythonReader{Python: python(t), Script: script}
}

func acmeFiles(t *testing.T) []*patches.File {
	t.Helper()
	files, err := patches.Load(os.DirFS("testdata"), "patches")
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// acmeDists is the fixture SDK's history: 1.0.0 is what the declarations
// were verified with, 2.0.0 renames a parameter, adds an optional one and
// removes a method; the older and pre-release versions must be ignored.
func acmeDists(wheel, sdist bool) []apiwatchtest.Dist {
	return []apiwatchtest.Dist{
		{Version: "0.9.0", Src: "testdata/sdk/v1", Wheel: wheel, Sdist: sdist},
		{Version: "1.0.0", Src: "testdata/sdk/v1", Wheel: wheel, Sdist: sdist},
		{Version: "2.0.0", Src: "testdata/sdk/v2", Wheel: wheel, Sdist: sdist},
		{Version: "2.1.0rc1", Src: "testdata/sdk/v2", Wheel: wheel, Sdist: sdist},
	}
}

type want struct {
	severity apiwatch.Severity
	code     string
	apis     string
	targets  string
	message  string
}

func TestRunFindsWhatV2Changes(t *testing.T) {
	findings := []want{
		{apiwatch.Breaking, "param-renamed", "acme.completions.create",
			"acme_llm.resources.Completions.create,acme_llm.resources.AsyncCompletions.create",
			"parameter `messages` renamed to `conversation` (read by `request.messages[*].content`, `request.messages[-1].content`)"},
		{apiwatch.Breaking, "target-removed", "acme.completions.legacy_complete",
			"acme_llm.resources.Completions.legacy_complete", "the target was removed"},
		{apiwatch.Info, "param-added", "acme.completions.create",
			"acme_llm.resources.Completions.create,acme_llm.resources.AsyncCompletions.create",
			"new optional parameter `stream_options` (default `NOT_GIVEN`)"},
		{apiwatch.Info, "method-added", "acme.completions.create",
			"acme_llm.resources.Completions.create,acme_llm.resources.AsyncCompletions.create",
			"new public method `batch` beside the patched one"},
	}
	for _, tc := range []struct {
		name         string
		wheel, sdist bool
		mirror       bool
		downloads    []string
	}{
		{"wheels preferred", true, true, false, []string{"acme_llm-1.0.0-py3-none-any.whl", "acme_llm-2.0.0-py3-none-any.whl"}},
		{"sdist fallback", false, true, false, []string{"acme_llm-1.0.0.tar.gz", "acme_llm-2.0.0.tar.gz"}},
		{"mirror without per-version JSON", true, true, true, []string{"acme_llm-1.0.0-py3-none-any.whl", "acme_llm-2.0.0-py3-none-any.whl"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ix := apiwatchtest.NewIndex(t, "acme-llm", "acme_llm", acmeDists(tc.wheel, tc.sdist))
			if tc.mirror {
				ix.MirrorStyle()
			}
			var progress strings.Builder
			w := &apiwatch.Watcher{
				Index:    &pypi.Client{BaseURL: ix.URL()},
				Surface:  reader(t),
				Progress: &apiwatch.Progress{W: &progress},
				WorkDir:  t.TempDir(),
			}
			rep, err := w.Run(context.Background(), acmeFiles(t))
			if err != nil {
				t.Fatal(err)
			}
			if len(rep.SDKs) != 1 || rep.SDKs[0].Error != "" || strings.Join(rep.SDKs[0].Newer, ",") != "2.0.0" || rep.SDKs[0].Latest != "2.0.0" {
				t.Fatalf("sdk status = %+v, want newer [2.0.0] and no error", rep.SDKs)
			}
			if got := ix.Downloads(); strings.Join(got, ",") != strings.Join(tc.downloads, ",") {
				t.Errorf("downloads = %v, want %v", got, tc.downloads)
			}
			for _, d := range tc.downloads {
				if !strings.Contains(progress.String(), "downloaded "+d) {
					t.Errorf("progress %q does not mention %s", progress.String(), d)
				}
			}
			if len(rep.Releases) != 1 {
				t.Fatalf("releases = %+v, want one", rep.Releases)
			}
			rel := rep.Releases[0]
			checkFindings(t, rel.Findings, findings)
			if got, w := rel.Title(), "acme-llm 2.0.0: 2 breaking changes for our patches"; got != w {
				t.Errorf("title = %q, want %q", got, w)
			}
			if rel.Links.Compare != "https://github.com/acme/acme-llm/compare/v1.0.0...v2.0.0" ||
				rel.Links.ReleaseNotes != "https://github.com/acme/acme-llm/releases/tag/v2.0.0" {
				t.Errorf("links = %+v", rel.Links)
			}
			if rep.Breaking() != 2 {
				t.Errorf("Breaking() = %d, want 2", rep.Breaking())
			}
		})
	}
}

func checkFindings(t *testing.T, got []apiwatch.Finding, want []want) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("got %d findings, want %d:", len(got), len(want))
		for _, f := range got {
			t.Errorf("  %s %s %v %s", f.Severity, f.Code, f.Targets, f.Message)
		}
		return
	}
	for i, w := range want {
		f := got[i]
		if f.Severity != w.severity || f.Code != w.code || strings.Join(f.APIs, ",") != w.apis ||
			strings.Join(f.Targets, ",") != w.targets || f.Message != w.message {
			t.Errorf("finding %d = %s %s %v %v %q\nwant %s %s %s %s %q", i, f.Severity, f.Code, f.APIs, f.Targets, f.Message,
				w.severity, w.code, w.apis, w.targets, w.message)
		}
	}
}

func TestRunRefusesAFileWhoseDigestDiffers(t *testing.T) {
	dists := acmeDists(true, false)
	dists[1].BadDigest = true
	ix := apiwatchtest.NewIndex(t, "acme-llm", "acme_llm", dists)
	w := &apiwatch.Watcher{Index: &pypi.Client{BaseURL: ix.URL()}, Surface: reader(t), WorkDir: t.TempDir()}
	rep, err := w.Run(context.Background(), acmeFiles(t))
	if err != nil {
		t.Fatal(err)
	}
	if e := rep.SDKs[0].Error; !strings.Contains(e, "acme_llm-1.0.0-py3-none-any.whl: sha256") || !strings.Contains(e, "does not match") {
		t.Errorf("error = %q, want the digest mismatch named", e)
	}
	if !rep.Failed() || len(rep.Releases) != 0 {
		t.Errorf("report = %+v, want failed with no releases", rep)
	}
}

func TestRunNothingNew(t *testing.T) {
	ix := apiwatchtest.NewIndex(t, "acme-llm", "acme_llm", acmeDists(true, true)[:2])
	w := &apiwatch.Watcher{Index: &pypi.Client{BaseURL: ix.URL()}, Surface: reader(t), WorkDir: t.TempDir()}
	rep, err := w.Run(context.Background(), acmeFiles(t))
	if err != nil {
		t.Fatal(err)
	}
	if rep.Failed() || len(rep.Releases) != 0 || len(rep.SDKs[0].Newer) != 0 || rep.SDKs[0].Latest != "1.0.0" {
		t.Errorf("report = %+v, want nothing new", rep)
	}
	if got := ix.Downloads(); len(got) != 0 {
		t.Errorf("downloaded %v with nothing to compare", got)
	}
}

func TestRunUnknownDistribution(t *testing.T) {
	ix := apiwatchtest.NewIndex(t, "other", "other", nil)
	w := &apiwatch.Watcher{Index: &pypi.Client{BaseURL: ix.URL()}, Surface: reader(t), WorkDir: t.TempDir()}
	rep, err := w.Run(context.Background(), acmeFiles(t))
	if err != nil {
		t.Fatal(err)
	}
	if e := rep.SDKs[0].Error; !strings.Contains(e, "/pypi/acme-llm/json: not found (404)") {
		t.Errorf("error = %q, want the 404 named", e)
	}
}
