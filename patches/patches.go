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
	Attachments []Selector // every string found names a file, image or audio the input carries
	Tools       []Selector // every string found names a tool offered to the model
	Stream      *Stream    // how a streaming call streams; nil when the method never streams
	Raw         *Raw       // how a raw-response call wraps its response; nil when none does
	// Hook names "module:attribute" in pyshim/aco/patches/hooks/: hand-written
	// Python for what selectors cannot say (README.md lists its stages).
	Hook string
}

// StreamShape is what a streaming call returns.
type StreamShape string

const (
	// ShapeIterator: an iterable (sync or async) of chunks, possibly also a
	// context manager, as openai's Stream or a generator.
	ShapeIterator StreamShape = "iterator"
	// ShapeManager: a context manager that opens the stream on entry by
	// calling (or awaiting) one of its attributes, as anthropic's
	// messages.stream(); aco wraps that attribute so the SDK's own helper
	// classes consume the recorded or replayed chunks.
	ShapeManager StreamShape = "manager"
)

// Stream declares a method's streaming shape.
type Stream struct {
	When   []Selector // the call streams when any of these is truthy...
	Always bool       // ...or always (a .stream() helper)
	Shape  StreamShape
	// ManagerAttr is the manager's attribute holding the zero-argument
	// callable, or the awaitable, that opens the raw stream (shape manager).
	ManagerAttr string
	// Text: the text each chunk adds; the node's output text is their
	// concatenation. An output edit puts the whole new text into the first
	// place found and empties the later ones.
	Text []Selector
	// FullText: places in chunks that repeat the whole text so far (a final
	// event); an output edit sets each to the new text.
	FullText []Selector
}

// Raw declares calls that return a raw HTTP response wrapper (openai's
// with_raw_response) instead of the response itself.
type Raw struct {
	When  []Selector // the call is raw when any of these is truthy
	Parse string     // the wrapper's method returning the response
}
