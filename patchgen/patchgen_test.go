package patchgen_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/aco-dev/aco"
	"github.com/aco-dev/aco/patches"
	"github.com/aco-dev/aco/patchgen"
)

// testPython is the user's interpreter in these tests: it must have openai.
func testPython(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("ACO_TEST_PYTHON"); p != "" {
		return p
	}
	p, err := filepath.Abs("../.venv/bin/python")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("no interpreter for the tests at %s (run scripts/setup, or set ACO_TEST_PYTHON): %v", p, err)
	}
	return p
}

// checkout makes a checkout in a temp dir: the frozen declarations of
// testdata/checkout, the repository's schema documentation and shim, and
// the generated files rendered from those declarations.
func checkout(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	copyDir(t, "testdata/checkout", root)
	copyDir(t, "../pyshim/aco", filepath.Join(root, "pyshim", "aco"))
	readme, err := os.ReadFile("../patches/README.md")
	if err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(root, "patches", "README.md"), readme)
	write(t, filepath.Join(root, "go.mod"), []byte("module scratch\n"))
	if _, err := patches.Write(root); err != nil {
		t.Fatal(err)
	}
	return root
}

func copyDir(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		if d.IsDir() {
			if d.Name() == "__pycache__" {
				return filepath.SkipDir
			}
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), data, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

func write(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func read(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// snapshot is every file of the checkout's declarations and shim, to show
// that a failed run wrote nothing.
func snapshot(t *testing.T, root string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, dir := range []string{"patches", "pyshim"} {
		filepath.WalkDir(filepath.Join(root, dir), func(path string, d os.DirEntry, err error) error {
			if err == nil && !d.IsDir() && !strings.Contains(path, "__pycache__") {
				out[path] = read(t, path)
			}
			return nil
		})
	}
	return out
}

// scriptedModel is an OpenAI-compatible chat completions endpoint that gives
// its answers in order and keeps the conversations it was sent. The test
// fails if an answer is left unused or one too many is asked for.
type scriptedModel struct {
	t       *testing.T
	mu      sync.Mutex
	answers []string
	got     [][]map[string]string
	srv     *httptest.Server
}

func newScriptedModel(t *testing.T, answers ...string) *scriptedModel {
	m := &scriptedModel{t: t, answers: answers}
	m.srv = httptest.NewServer(http.HandlerFunc(m.serve))
	t.Cleanup(func() {
		m.srv.Close()
		if len(m.answers) > 0 {
			t.Errorf("%d scripted answer(s) were never asked for", len(m.answers))
		}
	})
	return m
}

func (m *scriptedModel) serve(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/v1/chat/completions" {
		http.NotFound(w, r)
		return
	}
	var req struct {
		Model    string              `json:"model"`
		Messages []map[string]string `json:"messages"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		http.Error(w, err.Error(), 400)
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.got = append(m.got, req.Messages)
	if len(m.answers) == 0 {
		m.t.Errorf("the model was asked once more than scripted")
		http.Error(w, `{"error":{"message":"no more answers"}}`, 500)
		return
	}
	answer := m.answers[0]
	m.answers = m.answers[1:]
	json.NewEncoder(w).Encode(map[string]any{
		"id": "chatcmpl-scripted", "object": "chat.completion", "created": 1, "model": req.Model,
		"choices": []any{map[string]any{"index": 0, "finish_reason": "stop", "message": map[string]string{"role": "assistant", "content": answer}}},
	})
}

func (m *scriptedModel) drafter(t *testing.T) patchgen.Drafter {
	d, err := patchgen.NewOpenAIDrafter(func(k string) string {
		return map[string]string{"OPENAI_API_KEY": "test", "OPENAI_BASE_URL": m.srv.URL + "/v1"}[k]
	})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func answer(t *testing.T, name string) string { return read(t, filepath.Join("testdata", name)) }

func options(t *testing.T, root, api string, d patchgen.Drafter, progress io.Writer) patchgen.Options {
	return patchgen.Options{
		API: api, Root: root, Python: testPython(t), Home: t.TempDir(), Model: "scripted",
		MaxRounds: 3, Write: true, Drafter: d, Progress: progress,
	}
}

// The first draft reads the output from the legacy completions' place; the
// verifier finds no output text, the model gets the exact failure, and its
// second draft is written as it is, appended to the file byte for byte.
func TestRepairsABadSelectorAndWritesTheDeclaration(t *testing.T) {
	root := checkout(t)
	model := newScriptedModel(t, answer(t, "chat_wrong.txt"), answer(t, "chat_right.txt"))
	var progress bytes.Buffer
	opts := options(t, root, "openai.chat.completions.create", model.drafter(t), &progress)
	res, err := patchgen.Run(context.Background(), opts)
	if err != nil {
		t.Fatalf("Run: %v\nprogress:\n%s", err, progress.String())
	}
	if !res.Passed || res.Rounds != 2 {
		t.Fatalf("passed=%v rounds=%d, want passed in round 2", res.Passed, res.Rounds)
	}
	if got, want := read(t, filepath.Join(root, "patches", "openai.yaml")), answer(t, "openai_chat_want.yaml"); got != want {
		t.Errorf("patches/openai.yaml:\n%s\nwant:\n%s", got, want)
	}
	if err := patches.Check(root); err != nil {
		t.Errorf("generated files are not rendered from the new declaration: %v", err)
	}
	gen := read(t, filepath.Join(root, patches.GeneratedDir, "openai.py"))
	if !strings.Contains(gen, `"api": "openai.chat.completions.create"`) {
		t.Errorf("the generated module lacks the new method")
	}

	// The second request carried the first draft and what was wrong with it.
	if len(model.got) != 2 {
		t.Fatalf("the model was asked %d times, want 2", len(model.got))
	}
	second := model.got[1]
	last := second[len(second)-1]["content"]
	for _, want := range []string{"output_text", "set_output", `"input_text":"Output the number 42"`} {
		if !strings.Contains(last, want) {
			t.Errorf("the feedback lacks %q:\n%s", want, last)
		}
	}
	if second[len(second)-2]["role"] != "assistant" || !strings.Contains(second[len(second)-2]["content"], "response.choices[*].text") {
		t.Errorf("the first draft is not in the conversation: %v", second[len(second)-2])
	}
	first := model.got[0]
	if !strings.Contains(first[0]["content"], "You write patch declarations") || !strings.Contains(first[1]["content"], "openai.resources.chat.completions") || !strings.Contains(first[1]["content"], "## Selectors") {
		t.Errorf("the first prompt lacks the system text, the introspection or the schema")
	}

	var tr struct {
		Passed bool `json:"passed"`
		Rounds []struct {
			Problems []string `json:"problems"`
		} `json:"rounds"`
	}
	if err := json.Unmarshal([]byte(read(t, res.Transcript)), &tr); err != nil {
		t.Fatal(err)
	}
	if !tr.Passed || len(tr.Rounds) != 2 || len(tr.Rounds[0].Problems) == 0 || len(tr.Rounds[1].Problems) != 0 {
		t.Errorf("transcript: %+v", tr)
	}
	if !strings.HasPrefix(res.Transcript, filepath.Join(opts.Home, "patchgen")+string(filepath.Separator)) {
		t.Errorf("transcript saved at %s, not under $ACO_HOME/patchgen", res.Transcript)
	}
	for _, want := range []string{"round 1/3", "round 1: ", "output_text", "round 2: verified", "wrote patches/openai.yaml"} {
		if !strings.Contains(progress.String(), want) {
			t.Errorf("progress lacks %q:\n%s", want, progress.String())
		}
	}
}

// Bad input ends with a clear error and leaves the checkout as it was.
func TestBadInputWritesNothing(t *testing.T) {
	closed := func() string {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		ln.Close()
		return addr
	}()
	garbage := []string{"I cannot help with that.", "```yaml\nmethod: [unclosed\n```", "method:\n  api: openai.chat.completions.create\n"}
	tests := []struct {
		name    string
		api     string
		answers []string // nil: the model is unreachable
		code    string
		want    []string
	}{
		{"unknown api path", "openai.chatz.completions.create", []string{}, aco.ENOTFOUND, []string{"unknown api openai.chatz.completions.create", "chatz"}},
		{"sdk not installed", "nosuchsdk_aco.things.create", []string{}, aco.ENOTFOUND, []string{"cannot import nosuchsdk_aco", "install the SDK"}},
		{"model unreachable", "openai.chat.completions.create", nil, aco.EUNAVAIL, []string{"unreachable", closed}},
		{"garbage every round", "openai.chat.completions.create", garbage, aco.EINVALID, []string{"no draft of openai.chat.completions.create passed verification in 3 round(s); nothing written", "the answer is not a YAML mapping"}},
		{"already declared", "openai.responses.create", []string{}, aco.ECONFLICT, []string{"already declared in patches/openai.yaml"}},
		{"not an api id", "OpenAI.Chat", []string{}, aco.EINVALID, []string{"not an api id"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := checkout(t)
			before := snapshot(t, root)
			var d patchgen.Drafter
			if tt.answers == nil {
				var err error
				d, err = patchgen.NewOpenAIDrafter(func(k string) string {
					return map[string]string{"OPENAI_API_KEY": "k", "OPENAI_BASE_URL": "http://" + closed + "/v1"}[k]
				})
				if err != nil {
					t.Fatal(err)
				}
			} else {
				d = newScriptedModel(t, tt.answers...).drafter(t)
			}
			opts := options(t, root, tt.api, d, io.Discard)
			_, err := patchgen.Run(context.Background(), opts)
			if err == nil {
				t.Fatal("Run succeeded")
			}
			if got := aco.ErrorCode(err); got != tt.code {
				t.Errorf("code %q, want %q (%v)", got, tt.code, err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q:\n%v", w, err)
				}
			}
			after := snapshot(t, root)
			if len(after) != len(before) {
				t.Errorf("files in the checkout: %d before, %d after", len(before), len(after))
			}
			for p, s := range before {
				if after[p] != s {
					t.Errorf("%s changed", p)
				}
			}
		})
	}
}

// A hook the model proposes is Python: it is saved for review, never run,
// and left out of what is verified and written unless hooks are allowed.
func TestProposedHookIsSavedForReviewNotRun(t *testing.T) {
	root := checkout(t)
	marker := filepath.Join(t.TempDir(), "hook-ran")
	draft := strings.Replace(answer(t, "chat_right.txt"), "  set_output: response.choices[0].message.content\n",
		"  set_output: response.choices[0].message.content\n  hook: drafted:rebuilder\n", 1)
	draft = strings.Replace(draft, "```\n", "hook_source: |\n  open("+strconvQuote(marker)+", \"w\").write(\"ran\")\n  rebuilder = None\n```\n", 1)
	model := newScriptedModel(t, draft)
	var progress bytes.Buffer
	opts := options(t, root, "openai.chat.completions.create", model.drafter(t), &progress)
	res, err := patchgen.Run(context.Background(), opts)
	if err != nil {
		t.Fatalf("Run: %v\n%s", err, progress.String())
	}
	if _, err := os.Stat(marker); err == nil {
		t.Fatal("the proposed hook was executed")
	}
	if got, want := read(t, filepath.Join(root, "patches", "openai.yaml")), answer(t, "openai_chat_want.yaml"); got != want {
		t.Errorf("the written declaration is not the draft without its hook:\n%s", got)
	}
	if _, err := os.Stat(filepath.Join(root, patches.HooksDir, "drafted.py")); err == nil {
		t.Error("the hook module was written into the checkout")
	}
	reviews, _ := filepath.Glob(filepath.Join(opts.Home, "patchgen", "*-hook-drafted.py"))
	if len(reviews) != 1 || !strings.Contains(read(t, reviews[0]), "rebuilder = None") {
		t.Errorf("hook saved for review: %v", reviews)
	}
	if !strings.Contains(progress.String(), "not enabled (pass --allow-hooks)") || !res.Passed {
		t.Errorf("progress:\n%s", progress.String())
	}
}

func strconvQuote(s string) string { b, _ := json.Marshal(s); return string(b) }

// An SDK with no declarations yet gets its own file, its sdk header taken
// from the installed distribution.
func TestNewSDKGetsItsOwnFile(t *testing.T) {
	root := checkout(t)
	model := newScriptedModel(t, answer(t, "anthropic_right.txt"))
	res, err := patchgen.Run(context.Background(), options(t, root, "anthropic.messages.create", model.drafter(t), io.Discard))
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if res.File != "patches/anthropic.yaml" {
		t.Errorf("file %s", res.File)
	}
	files, err := patches.LoadRoot(root)
	if err != nil {
		t.Fatal(err)
	}
	var sdk *patches.File
	for _, f := range files {
		if f.SDK.Import == "anthropic" {
			sdk = f
		}
	}
	if sdk == nil || sdk.SDK.Distribution != "anthropic" || sdk.SDK.Verified == "" || len(sdk.Methods) != 1 || sdk.Methods[0].API != "anthropic.messages.create" {
		t.Fatalf("patches/anthropic.yaml: %+v", sdk)
	}
	if !strings.Contains(read(t, filepath.Join(root, patches.GeneratedDir, "__init__.py")), `"anthropic": "aco.patches._generated.anthropic"`) {
		t.Error("the index does not name the new module")
	}
}
