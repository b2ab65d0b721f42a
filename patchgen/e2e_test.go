package patchgen_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aco-dev/aco/core/server"
	"github.com/aco-dev/aco/core/store/sqlite"
	"github.com/aco-dev/aco/patchgen"
)

// openai's legacy completions.create is declared nowhere and the mock LLM
// does not serve it: patchgen verifies the model's declaration against a
// recorded response, writes it, and the written declaration then records a
// real call of a program run by the runner, into a real server and store.
func TestUndeclaredMethodEndToEnd(t *testing.T) {
	root := checkout(t)
	model := newScriptedModel(t, answer(t, "completions_right.txt"))
	recorded := []byte(answer(t, "completion_response.json"))
	opts := options(t, root, "openai.completions.create", model.drafter(t), io.Discard)
	opts.Response = recorded
	res, err := patchgen.Run(context.Background(), opts)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if !res.Passed || res.Rounds != 1 {
		t.Fatalf("passed=%v in %d rounds", res.Passed, res.Rounds)
	}
	yml := read(t, filepath.Join(root, "patches", "openai.yaml"))
	if !strings.HasPrefix(yml, read(t, "testdata/checkout/patches/openai.yaml")) || !strings.Contains(yml, "  - api: openai.completions.create\n    kind: llm\n") {
		t.Fatalf("openai.yaml was not appended to:\n%s", yml)
	}

	// The LLM the program talks to: the recorded response over real HTTP.
	llm := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("content-type", "application/json")
		w.Write(recorded)
	}))
	defer llm.Close()
	db, err := sqlite.Open(filepath.Join(t.TempDir(), "aco.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	srv := server.New(server.Options{Store: db, Logger: slog.New(slog.DiscardHandler), Token: "t", Home: t.TempDir()})
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	defer srv.Close()

	script := filepath.Join(t.TempDir(), "agent.py")
	write(t, script, []byte(`import openai
client = openai.OpenAI(base_url="`+llm.URL+`/v1", api_key="k")
r = client.completions.create(model="gpt-3.5-turbo-instruct", prompt="Output the number 42", max_tokens=5)
print(r.choices[0].text)
`))
	cmd := exec.Command(testPython(t), "-m", "aco.runner", script)
	cmd.Env = append(os.Environ(), "PYTHONPATH="+filepath.Join(root, "pyshim"), "ACO_RUNNER_ADDR="+srv.RunnerAddr(), "ACO_HOME="+t.TempDir())
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("the program failed: %v\n%s", err, out.String())
	}
	if strings.TrimSpace(out.String()) != "42" {
		t.Fatalf("the program printed %q", out.String())
	}
	ctx := context.Background()
	runs, err := db.ListRuns(ctx)
	if err != nil || len(runs) != 1 {
		t.Fatalf("runs: %v %v", runs, err)
	}
	calls, err := db.Calls(ctx, runs[0].ID)
	if err != nil || len(calls) != 1 {
		t.Fatalf("calls: %v %v", calls, err)
	}
	c := calls[0]
	if c.API != "openai.completions.create" || c.Model != "gpt-3.5-turbo-instruct" || c.InputText != "Output the number 42" || c.OutputText != "42" {
		t.Errorf("recorded call: api %q model %q input %q output %q", c.API, c.Model, c.InputText, c.OutputText)
	}
}

// Without a recorded response, an API the mock does not serve cannot be
// verified: that is said plainly, and nothing is written.
func TestUnservedAPIWithoutRecordedResponse(t *testing.T) {
	root := checkout(t)
	before := snapshot(t, root)
	model := newScriptedModel(t, answer(t, "completions_right.txt"))
	_, err := patchgen.Run(context.Background(), options(t, root, "openai.completions.create", model.drafter(t), io.Discard))
	if err == nil || !strings.Contains(err.Error(), "does not serve this API") || !strings.Contains(err.Error(), "--response") {
		t.Fatalf("err = %v", err)
	}
	after := snapshot(t, root)
	for p, s := range before {
		if after[p] != s {
			t.Errorf("%s changed", p)
		}
	}
}
