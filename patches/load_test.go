package patches

import (
	"strings"
	"testing"
	"testing/fstest"
)

const validSDK = `schema: 1
sdk:
  distribution: openai
  import: openai
  versions: ">=1.66,<4"
  verified: "3.57.0"
  changelog: https://example.com/c
  releases: https://example.com/r
methods:
`

const validMethod = `  - api: openai.chat.completions.create
    kind: llm
    target: openai.resources.chat.completions.Completions.create
    response_type: openai.types.chat.ChatCompletion
    model: request.model
    input_text: request.messages[*].content
    output_text: response.choices[0].message.content
    set_input: request.messages[-1].content
    set_output: response.choices[0].message.content
`

func TestParseValid(t *testing.T) {
	f, err := Parse("patches/openai.yaml", []byte(validSDK+validMethod))
	if err != nil {
		t.Fatal(err)
	}
	if f.Name != "openai" || f.SDK.Verified != "3.57.0" || len(f.Methods) != 1 {
		t.Fatalf("got %+v", f)
	}
	m := f.Methods[0]
	if m.Kind != KindLLM || m.SetInput[0].Text != "request.messages[-1].content" || m.AsyncTarget != "" {
		t.Fatalf("got %+v", m)
	}
}

// TestParseErrors checks that each mistake is reported with the file, the
// line, the field and what was expected.
func TestParseErrors(t *testing.T) {
	method := func(old, new string) string {
		return validSDK + strings.Replace(validMethod, old, new, 1)
	}
	tests := []struct {
		name, yaml string
		want       []string
	}{
		{"unknown root", method("output_text: response.choices[0].message.content", "output_text: resp.choices"),
			[]string{`patches/openai.yaml:16: methods[0].output_text: unknown root "resp" (expected request, response or chunk)`}},
		{"wrong root", method("set_output: response.choices[0].message.content", "set_output: request.x"),
			[]string{`patches/openai.yaml:18: methods[0].set_output: selector "request.x" must start with response (set_output edits the response)`}},
		{"bad step", method("model: request.model", "model: request.messages[x]"),
			[]string{`:14: methods[0].model: selector "request.messages[x]": expected [*], [integer] or ["key"], found [x] at offset 16`}},
		{"selector list item", method("input_text: request.messages[*].content", "input_text: [request.a, request..b]"),
			[]string{`:15: methods[0].input_text[1]: selector "request..b": expected a field name after "." at offset 7`}},
		{"unknown kind", method("kind: llm", "kind: agent"),
			[]string{`:11: methods[0].kind: unknown kind "agent" (expected llm, tool or taint)`}},
		{"unknown field", method("model: request.model", "modle: request.model"),
			[]string{`:14: methods[0].modle: unknown field (expected one of api, kind, target,`, `:10: methods[0].model: missing (required for kind llm)`}},
		{"target outside sdk", method("target: openai.resources", "target: requests.resources"),
			[]string{`:12: methods[0].target: "requests.resources.chat.completions.Completions.create" is outside the SDK (expected a path starting with openai.)`}},
		{"not a dotted path", method("response_type: openai.types.chat.ChatCompletion", "response_type: openai"),
			[]string{`:13: methods[0].response_type: "openai" is not a dotted import path`}},
		{"bad api id", method("api: openai.chat.completions.create", "api: OpenAI Chat"),
			[]string{`:10: methods[0].api: "OpenAI Chat" is not an api id`}},
		{"taint takes no selectors", validSDK + "  - api: openai.x\n    kind: taint\n    target: openai.X.y\n    model: request.model\n",
			[]string{`:13: methods[0].model: not used by kind taint (remove it)`}},
		{"duplicate api", validSDK + validMethod + validMethod,
			[]string{`:19: methods[1].api: "openai.chat.completions.create" is declared twice`}},
		{"schema version", strings.Replace(validSDK, "schema: 1", "schema: 2", 1) + validMethod,
			[]string{`patches/openai.yaml:1: schema: unsupported schema version "2" (expected 1)`}},
		{"version range", strings.Replace(validSDK, `">=1.66,<4"`, `"~1.66"`, 1) + validMethod,
			[]string{`:5: sdk.versions: "~1.66" is not a version range`}},
		{"verified outside range", strings.Replace(validSDK, `"3.57.0"`, `"4.0"`, 1) + validMethod,
			[]string{`:6: sdk.verified: 4.0 is outside sdk.versions ">=1.66,<4" (widen the range or verify again)`}},
		{"url", strings.Replace(validSDK, "https://example.com/c", "example.com/c", 1) + validMethod,
			[]string{`:7: sdk.changelog: "example.com/c" is not an http(s) URL`}},
		{"missing sdk fields", "schema: 1\nsdk:\n  import: openai\nmethods:\n" + validMethod,
			[]string{`:3: sdk.distribution: missing (required)`, `:3: sdk.releases: missing (required)`}},
		{"no methods", validSDK + "  []\n", []string{`methods: expected a non-empty list of methods`}},
		{"stream without text", method("set_output: response.choices[0].message.content", "set_output: response.choices[0].message.content\n    stream:\n      when: request.stream"),
			[]string{`:20: methods[0].stream.text: missing (required)`}},
		{"stream without when", method("set_output: response.choices[0].message.content", "set_output: response.choices[0].message.content\n    stream:\n      text: chunk.x"),
			[]string{`:20: methods[0].stream.when: missing (say when the call streams, or always: true`}},
		{"stream when and always", method("set_output: response.choices[0].message.content", "set_output: response.choices[0].message.content\n    stream:\n      when: request.stream\n      always: true\n      text: chunk.x"),
			[]string{`:21: methods[0].stream.always: give when or always: true, not both`}},
		{"stream text root", method("set_output: response.choices[0].message.content", "set_output: response.choices[0].message.content\n    stream:\n      always: true\n      text: response.x"),
			[]string{`:21: methods[0].stream.text: selector "response.x" must start with chunk (text reads a chunk)`}},
		{"manager without attr", method("set_output: response.choices[0].message.content", "set_output: response.choices[0].message.content\n    stream:\n      always: true\n      shape: manager\n      text: chunk.x"),
			[]string{`:20: methods[0].stream.manager_attr: missing (required for shape manager`}},
		{"unknown shape", method("set_output: response.choices[0].message.content", "set_output: response.choices[0].message.content\n    stream:\n      always: true\n      shape: river\n      text: chunk.x"),
			[]string{`:21: methods[0].stream.shape: unknown shape "river" (expected iterator or manager)`}},
		{"raw without parse", method("set_output: response.choices[0].message.content", "set_output: response.choices[0].message.content\n    raw_response:\n      when: request.raw"),
			[]string{`:20: methods[0].raw_response.parse: missing (required)`}},
		{"bad hook", method("model: request.model", "model: request.model\n    hook: aco.patches.hooks.openai.x"),
			[]string{`:15: methods[0].hook: "aco.patches.hooks.openai.x" is not a hook "module:attribute"`}},
		{"bad filter", method("model: request.model", `model: request.x[?type=response]`),
			[]string{`:14: methods[0].model: selector "request.x[?type=response]": expected [?key=="value"]: "==" and a quoted value after the field at offset 9`}},
		{"set_output without output_text", method("    output_text: response.choices[0].message.content\n", ""),
			[]string{`:17: methods[0].output_text: missing (set_output needs output_text to read the edit back)`}},
		{"not yaml", "schema: [1\n", []string{`patches/openai.yaml: line 1: did not find expected`}},
		{"empty", "", []string{`patches/openai.yaml: empty file (expected schema, sdk and methods)`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("patches/openai.yaml", []byte(tt.yaml))
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error\n%s\ndoes not contain\n%s", err, w)
				}
			}
		})
	}
}

func TestLoadCrossFileErrors(t *testing.T) {
	fsys := fstest.MapFS{
		"p/a.yaml":     {Data: []byte(validSDK + validMethod)},
		"p/b.yaml":     {Data: []byte(validSDK + validMethod)},
		"p/c-d.yaml":   {Data: []byte(validSDK + validMethod)},
		"p/notes.txt":  {Data: []byte("not a declaration")},
		"other/x.yaml": {Data: []byte("ignored: [")},
	}
	_, err := Load(fsys, "p")
	if err == nil {
		t.Fatal("no error")
	}
	for _, w := range []string{
		`p/b.yaml: sdk.import: "openai" is already declared in p/a.yaml (one file per SDK)`,
		`p/b.yaml: methods[0].api: "openai.chat.completions.create" is already declared in p/a.yaml`,
		`p/c-d.yaml: file name "c-d" must be a Python module name`,
	} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error\n%s\ndoes not contain\n%s", err, w)
		}
	}
}

func TestParseSelector(t *testing.T) {
	tests := []struct {
		src  string
		want []Step
		err  string
	}{
		{src: "request", want: nil},
		{src: "response.output[*].content[*].text", want: []Step{{Kind: StepKey, Key: "output"}, {Kind: StepAll}, {Kind: StepKey, Key: "content"}, {Kind: StepAll}, {Kind: StepKey, Key: "text"}}},
		{src: "request.messages[-1]", want: []Step{{Kind: StepKey, Key: "messages"}, {Kind: StepIndex, Index: -1}}},
		{src: `request["a]b"]["q\"\\"]._x9`, want: []Step{{Kind: StepKey, Key: "a]b"}, {Kind: StepKey, Key: `q"\`}, {Kind: StepKey, Key: "_x9"}}},
		{src: "", err: "must start with request, response or chunk"},
		{src: "responses.x", err: `unknown root "responses"`},
		{src: "request.9a", err: `expected a field name after "." at offset 7`},
		{src: "request[+1]", err: "found [+1]"},
		{src: "request[1", err: `expected "]"`},
		{src: `request["a"`, err: `expected "]" after the quoted key`},
		{src: `request["a\n"]`, err: `expected \" or \\ after a backslash`},
		{src: "request x", err: `expected "." or "[" at offset 7`},
		{src: `chunk[?type=="a.b"].delta`, want: []Step{{Kind: StepFilter, Key: "type", Value: "a.b"}, {Kind: StepKey, Key: "delta"}}},
		{src: `request.h[?"X-Y"=="t\"q"]`, want: []Step{{Kind: StepKey, Key: "h"}, {Kind: StepFilter, Key: "X-Y", Value: `t"q`}}},
		{src: `chunk[?type==a]`, err: `"==" and a quoted value after the field`},
		{src: `chunk[?=="a"]`, err: `a field name after "[?"`},
		{src: `chunk[?type=="a"`, err: `"]" after the value`},
	}
	for _, tt := range tests {
		got, err := ParseSelector(tt.src)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("ParseSelector(%q) error = %v, want one containing %q", tt.src, err, tt.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParseSelector(%q): %v", tt.src, err)
			continue
		}
		if len(got.Steps) != len(tt.want) {
			t.Errorf("ParseSelector(%q) = %+v, want %+v", tt.src, got.Steps, tt.want)
			continue
		}
		for i := range got.Steps {
			if got.Steps[i] != tt.want[i] {
				t.Errorf("ParseSelector(%q) step %d = %+v, want %+v", tt.src, i, got.Steps[i], tt.want[i])
			}
		}
	}
}

func TestVersionRange(t *testing.T) {
	tests := []struct {
		v, spec string
		want    bool
	}{
		{"3.57.0", ">=1.66,<4", true},
		{"1.66", ">=1.66.0,<4", true},
		{"1.65.99", ">=1.66,<4", false},
		{"4", ">=1.66,<4", false},
		{"2.0.1", ">2, !=2.0.1", false},
		{"2.0.2", ">2, !=2.0.1", true},
		{"1.0", "==1", true},
		{"1.0", "<=0.9", false},
	}
	for _, tt := range tests {
		v, err := parseVersion(tt.v)
		if err != nil {
			t.Fatal(err)
		}
		spec, err := parseRange(tt.spec)
		if err != nil {
			t.Fatal(err)
		}
		if got := inRange(v, spec); got != tt.want {
			t.Errorf("%s in %q = %v, want %v", tt.v, tt.spec, got, tt.want)
		}
	}
}
