package apiwatch_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aco-dev/aco/apiwatch"
	"github.com/aco-dev/aco/apiwatch/pypi"
	"github.com/aco-dev/aco/patches"
)

// twoVersions shows the watcher only two versions of the live index, so
// the test downloads two wheels however many releases there are.
type twoVersions struct {
	apiwatch.Index
	old, new string
}

func (v twoVersions) Versions(ctx context.Context, dist string) ([]string, error) {
	all, err := v.Index.Versions(ctx, dist)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, s := range all {
		if s == v.old || s == v.new {
			out = append(out, s)
		}
	}
	return out, nil
}

// Two published openai releases between which Responses.create changed.
// pypi.org here may be a mirror that serves only /pypi/<name>/json with
// relative file URLs (as pip's configured index does); the client handles
// both that and the full JSON API.
const liveOld, liveNew = "3.50.0", "3.57.0"

func TestLiveOpenAIResponsesCreate(t *testing.T) {
	if testing.Short() {
		t.Skip("talks to the live package index; skipped with -short")
	}
	base := pypi.DefaultBaseURL
	probe, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(probe, http.MethodGet, base+"/openai/json", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Skipf("the live package index %s is unreachable (%v): skipping the diff of real openai releases", base, err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Skipf("the live package index %s answered %s: skipping the diff of real openai releases", base, resp.Status)
	}

	file, err := patches.Parse("patches/openai.yaml", []byte(`schema: 1
sdk:
  distribution: openai
  import: openai
  versions: ">=1.92,<4"
  verified: "`+liveOld+`"
  changelog: https://github.com/openai/openai-python/blob/main/CHANGELOG.md
  releases: https://github.com/openai/openai-python/releases
methods:
  - api: openai.responses.create
    kind: llm
    target: openai.resources.responses.Responses.create
    async_target: openai.resources.responses.AsyncResponses.create
    response_type: openai.types.responses.Response
    model: request.model
    input_text:
      - request.instructions
      - request.input
      - request.input[*].content
    output_text: response.output[*].content[*].text
    set_input:
      - request.input[-1].content
      - request.input
    set_output: response.output[*].content[*].text
`))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	var progress strings.Builder
	w := &apiwatch.Watcher{
		Index:    twoVersions{Index: &pypi.Client{BaseURL: base}, old: liveOld, new: liveNew},
		Surface:  reader(t),
		Progress: &apiwatch.Progress{W: &progress},
		WorkDir:  t.TempDir(),
	}
	rep, err := w.Run(ctx, []*patches.File{file})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Failed() {
		t.Fatalf("check failed: %+v", rep.SDKs)
	}
	if len(rep.Releases) != 1 || rep.Releases[0].Version != liveNew {
		t.Fatalf("releases = %+v, want %s only", rep.Releases, liveNew)
	}
	// Between them Responses.create (sync and async) gained
	// background_options; nothing the declaration reads changed.
	checkFindings(t, rep.Releases[0].Findings, []want{
		{apiwatch.Info, "param-added", "openai.responses.create",
			"openai.resources.responses.Responses.create,openai.resources.responses.AsyncResponses.create",
			"new optional parameter `background_options` (default `omit`)"},
	})
	for _, f := range []string{"openai-" + liveOld + "-py3-none-any.whl", "openai-" + liveNew + "-py3-none-any.whl"} {
		if !strings.Contains(progress.String(), "downloaded "+f) {
			t.Errorf("progress %q does not show %s", progress.String(), f)
		}
	}
}
