package patchgen_test

import (
	"net/http/httptest"
	"testing"

	"github.com/aco-dev/aco/core/mockllm"
	"github.com/aco-dev/aco/patchgen"
	"github.com/aco-dev/aco/plugins/pluginstest"
)

// The built-in go-openai drafter passes the suite every drafter plugin
// passes, against the mock LLM's chat completions; and wrapped back as a
// patchgen drafter it still answers.
func TestOpenAIDrafterAsPlugin(t *testing.T) {
	mock := httptest.NewServer(mockllm.New(mockllm.Options{}).Handler())
	defer mock.Close()
	d, err := patchgen.NewOpenAIDrafter(func(k string) string {
		return map[string]string{"OPENAI_BASE_URL": mock.URL + "/v1"}[k]
	})
	if err != nil {
		t.Fatal(err)
	}
	pd := patchgen.AsPluginDrafter(d)
	pluginstest.DrafterSuite(t, pd, "gpt-test")

	back := patchgen.FromPluginDrafter(pd)
	text, err := back.Draft(t.Context(), patchgen.Prompt{Model: "gpt-test", Messages: []patchgen.Message{{Role: "user", Content: "Add 1 to 42"}}})
	if err != nil || text != "43" {
		t.Errorf("round trip = %q, %v", text, err)
	}
}
