package anthropic_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/aco-dev/aco/core/mockllm"
	"github.com/aco-dev/aco/plugins"
	"github.com/aco-dev/aco/plugins/drafter/anthropic"
	"github.com/aco-dev/aco/plugins/pluginstest"
)

func TestMain(m *testing.M) {
	code := m.Run()
	pluginstest.Cleanup()
	os.Exit(code)
}

func env(vars map[string]string) func(string) string {
	return func(k string) string { return vars[k] }
}

// Against the mock LLM's real Anthropic Messages endpoint, in process and as
// a plugin started with ANTHROPIC_BASE_URL in its environment.
func TestAnthropic(t *testing.T) {
	mock := httptest.NewServer(mockllm.New(mockllm.Options{}).Handler())
	defer mock.Close()
	t.Run("in process", func(t *testing.T) {
		d, err := anthropic.New(anthropic.Config{}, env(map[string]string{"ANTHROPIC_API_KEY": "k", "ANTHROPIC_BASE_URL": mock.URL}), nil)
		if err != nil {
			t.Fatal(err)
		}
		pluginstest.DrafterSuite(t, d, "claude-test")
	})
	t.Run("plugin", func(t *testing.T) {
		h := plugins.NewHost(plugins.HostOptions{
			Dirs:    []string{pluginstest.Build(t, "aco-plugin-drafter-anthropic")},
			Environ: func() []string { return append(os.Environ(), "ANTHROPIC_API_KEY=k", "ANTHROPIC_BASE_URL="+mock.URL) },
		})
		defer h.Close()
		d, err := h.Drafter("anthropic")
		if err != nil {
			t.Fatal(err)
		}
		pluginstest.DrafterSuite(t, d, "claude-test")
	})
}

// What goes on the wire: headers, defaults from the config, the
// conversation; and the API's errors named.
func TestWire(t *testing.T) {
	var got struct {
		header http.Header
		body   map[string]any
	}
	status, answer := http.StatusOK, `{"model":"claude-x","content":[{"type":"text","text":"kind: llm"},{"type":"text","text":"\napi: a.b"}],"stop_reason":"end_turn"}`
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/messages" {
			http.NotFound(w, r)
			return
		}
		got.header = r.Header
		b, _ := io.ReadAll(r.Body)
		json.Unmarshal(b, &got.body)
		w.WriteHeader(status)
		io.WriteString(w, answer)
	}))
	defer srv.Close()
	d, err := anthropic.New(anthropic.Config{BaseURL: srv.URL + "/", Model: "claude-cfg", MaxTokens: 99}, env(map[string]string{"ANTHROPIC_API_KEY": "sk-test"}), srv.Client())
	if err != nil {
		t.Fatal(err)
	}
	draft, err := d.Draft(t.Context(), plugins.Prompt{System: "be brief", Messages: []plugins.Message{{Role: "user", Content: "draft it"}}})
	if err != nil {
		t.Fatal(err)
	}
	if draft.Text != "kind: llm\napi: a.b" || draft.Model != "claude-x" {
		t.Errorf("draft = %+v", draft)
	}
	if got.header.Get("x-api-key") != "sk-test" || got.header.Get("anthropic-version") != "2023-06-01" {
		t.Errorf("headers = %v", got.header)
	}
	wantBody := `{"max_tokens":99,"messages":[{"content":"draft it","role":"user"}],"model":"claude-cfg","system":"be brief"}`
	if b, _ := json.Marshal(got.body); string(b) != wantBody {
		t.Errorf("body = %s\nwant   %s", b, wantBody)
	}

	for _, tc := range []struct {
		status int
		answer string
		want   string
	}{
		{http.StatusUnauthorized, `{"type":"error","error":{"type":"authentication_error","message":"invalid x-api-key"}}`, "Anthropic API 401 Unauthorized: authentication_error: invalid x-api-key"},
		{http.StatusBadGateway, `<html>bad gateway</html>`, "Anthropic API 502 Bad Gateway: <html>bad gateway</html>"},
		{http.StatusOK, `not json`, "not a message"},
		{http.StatusOK, `{"model":"m","content":[{"type":"tool_use"}],"stop_reason":"tool_use"}`, "answered no text"},
	} {
		status, answer = tc.status, tc.answer
		if _, err := d.Draft(t.Context(), plugins.Prompt{Messages: []plugins.Message{{Role: "user", Content: "x"}}}); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("answer %d %s: err = %v, want %q", tc.status, tc.answer, err, tc.want)
		}
	}
}

func TestConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		env  map[string]string
		cfg  anthropic.Config
		want string
	}{
		{map[string]string{}, anthropic.Config{}, "ANTHROPIC_API_KEY is not set"},
		{map[string]string{"ANTHROPIC_API_KEY": "k", "ANTHROPIC_BASE_URL": "localhost:1"}, anthropic.Config{}, "not an http(s) URL"},
	} {
		if _, err := anthropic.New(tc.cfg, env(tc.env), nil); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("New(%v) = %v, want %q", tc.env, err, tc.want)
		}
	}
	d, _ := anthropic.New(anthropic.Config{}, env(map[string]string{"ANTHROPIC_API_KEY": "k"}), nil)
	if _, err := d.Draft(t.Context(), plugins.Prompt{Messages: []plugins.Message{{Role: "system", Content: "x"}}}); err == nil || !strings.Contains(err.Error(), "Prompt.System") {
		t.Errorf("a system turn: %v", err)
	}
}
