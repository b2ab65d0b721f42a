// Package patches turns the YAML declarations of which SDK methods aco
// records (patches/*.yaml) into the Python data the shim's patch runtime
// reads (pyshim/aco/patches/_generated/). Load parses and validates; Render
// is a pure function from declarations to files; Check, Diff and Write
// compare or write the rendered files in a checkout.
package patches

// SchemaVersion is the only schema version this package reads. A file
// declares it in its top-level "schema" field.
const SchemaVersion = 1

// Kind is what a patched method is to aco.
type Kind string

const (
	KindLLM   Kind = "llm"   // an LLM call: recorded as a node, cached, editable
	KindTool  Kind = "tool"  // a tool call: recorded as a node and cached
	KindTaint Kind = "taint" // passes taint from its inputs to its output
)

// File is one SDK's declarations.
type File struct {
	Path    string // as loaded, e.g. patches/openai.yaml
	Name    string // the file's stem; names the generated module
	Schema  int
	SDK     SDK
	Methods []Method
}

// SDK names the Python distribution the declarations are for.
type SDK struct {
	Distribution string // the name pip installs, e.g. openai
	Import       string // the top-level import name, e.g. openai
	Versions     string // version range the declarations hold for, e.g. >=1.66,<4
	Verified     string // the version they were last verified against
	Changelog    string // URL
	Releases     string // URL
}

// Method is one patched method.
type Method struct {
	API          string // stable api id, e.g. openai.responses.create
	Kind         Kind
	Target       string // dotted path of the method on its class
	AsyncTarget  string // the async twin, "" when there is none
	ResponseType string // dotted path of the pydantic type that rebuilds a recorded response
	// Passthrough: when any of these finds a truthy value in the request,
	// the call goes to the SDK unrecorded.
	Passthrough []Selector
	Model       []Selector // the first string found is the model
	InputText   []Selector // every string found, joined by newlines
	OutputText  []Selector
	SetInput    []Selector // the first selector that finds a place takes an input text edit
	SetOutput   []Selector // the same for an output text edit
}
