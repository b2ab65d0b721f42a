// Package aco holds the domain of the tool: runs, the LLM calls recorded in
// them, the edges between calls, and the interfaces the rest of the code
// implements (the store, the run service the CLI and the web UI talk to).
// Adapters live below core/ (store/sqlite, server, protocol, ...); everything
// is wired together only in cmd/ and cli/.
package aco

import (
	"context"
	"encoding/json"
	"time"
)

// RunStatus is the life-cycle state of a run.
type RunStatus string

const (
	RunRunning  RunStatus = "running"
	RunFinished RunStatus = "finished"
	RunCrashed  RunStatus = "crashed"
)

// Run is one execution of a user's program (or a subrun inside one, made with
// `aco.launch("name")`). A rerun executes the same run again: it keeps the id
// and increments Execution.
type Run struct {
	ID          string            `json:"id"`
	ParentID    string            `json:"parent"` // "" for a top-level run
	Name        string            `json:"name"`
	Cwd         string            `json:"cwd"`
	Argv        []string          `json:"argv"`        // as the user typed it after aco-launch
	Interpreter string            `json:"interpreter"` // absolute path of the Python used
	Env         map[string]string `json:"env,omitempty"`
	Status      RunStatus         `json:"status"`
	ExitCode    *int              `json:"exit_code,omitempty"`
	Result      string            `json:"result"` // "", "satisfactory" or "failed"
	Notes       string            `json:"notes"`
	Execution   int               `json:"execution"` // 1 on the first execution
	CreatedAt   time.Time         `json:"created_at"`
	UpdatedAt   time.Time         `json:"updated_at"`
	Calls       int               `json:"calls"` // calls of the current execution; filled by listings
}

// CallOrigin says where a call's output came from in the current execution.
type CallOrigin string

const (
	OriginNew    CallOrigin = "new"    // the SDK was really called
	OriginCache  CallOrigin = "cache"  // served from the recorded output
	OriginEdited CallOrigin = "edited" // an input or output overwrite took effect
)

// Call is one recorded LLM (or tool) call: a node of the dataflow graph.
// Input and Output are JSON: the SDK request's keyword arguments and the
// response's JSON dump (plus the type to rebuild it), never pickle.
type Call struct {
	RunID           string          `json:"run_id"`
	NodeID          string          `json:"id"`
	Seq             int             `json:"seq"`  // order within the run's execution
	API             string          `json:"api"`  // stable api id, e.g. openai.responses.create
	Kind            string          `json:"kind"` // "llm" or "tool"
	Model           string          `json:"model"`
	Input           json.RawMessage `json:"input"`
	InputHash       string          `json:"input_hash"`
	Occurrence      int             `json:"occurrence"` // nth call with this hash in the execution, from 0
	InputOverwrite  json.RawMessage `json:"input_overwrite,omitempty"`
	Output          json.RawMessage `json:"output"`
	OutputOverwrite json.RawMessage `json:"output_overwrite,omitempty"`
	PrevOutput      json.RawMessage `json:"prev_output,omitempty"` // output of the previous execution, when it differed
	InputText       string          `json:"input_text"`            // display text, used for content matching
	OutputText      string          `json:"output_text"`
	Location        string          `json:"location"` // file:line of the user's call
	StartedAt       time.Time       `json:"started_at"`
	DurationMS      float64         `json:"duration_ms"`
	Stream          bool            `json:"stream"`
	Execution       int             `json:"execution"` // the run execution that last touched this node
	Origin          CallOrigin      `json:"origin"`
}

// EdgeVia says how an edge was found.
type EdgeVia string

const (
	ViaTaint   EdgeVia = "taint"   // the input carried the source's taint
	ViaContent EdgeVia = "content" // the input contained the source's output text
)

// Edge says the output of call Source flowed into the input of call Target.
// Source may belong to another run of the same family (parent or sibling subrun).
type Edge struct {
	RunID  string  `json:"run_id"` // the target's run
	Source string  `json:"source"`
	Target string  `json:"target"`
	Via    EdgeVia `json:"via"`
}

// CallRecord is a call with the edges into it, as the server records them.
type CallRecord struct {
	Call  *Call
	Edges []Edge
}

// LogEntry is what a program wrote with aco.log(...).
type LogEntry struct {
	RunID   string    `json:"run_id"`
	Entry   string    `json:"entry"`
	Success *bool     `json:"success,omitempty"`
	Time    time.Time `json:"time"`
}

// Graph is one run's dataflow graph in its current execution.
type Graph struct {
	Run   Run        `json:"run"`
	Nodes []Call     `json:"nodes"`
	Edges []Edge     `json:"edges"`
	Logs  []LogEntry `json:"logs"`
}

// RunUpdate holds the user-editable fields of a run; nil leaves a field alone.
type RunUpdate struct {
	Name   *string `json:"name,omitempty"`
	Result *string `json:"result,omitempty"`
	Notes  *string `json:"notes,omitempty"`
}

// CallEdit sets or clears a node's overwrites. A nil field is left alone; a
// JSON null clears the overwrite.
type CallEdit struct {
	Input  json.RawMessage `json:"input,omitempty"`
	Output json.RawMessage `json:"output,omitempty"`
}

// Store persists runs, calls, edges and logs. The server is its only user.
type Store interface {
	CreateRun(ctx context.Context, r *Run) error
	// StartExecution marks an existing run as running again with Execution+1,
	// drops its edges (they are found again) and returns the updated run.
	StartExecution(ctx context.Context, runID string) (*Run, error)
	GetRun(ctx context.Context, id string) (*Run, error)
	// ResolveRunID turns a full id, a unique prefix (4+ characters) or "last"
	// (the newest top-level run) into a run id.
	ResolveRunID(ctx context.Context, ref string) (string, error)
	// FindSubrun returns the subrun of parent with the given name, or ErrNotFound.
	FindSubrun(ctx context.Context, parentID, name string) (*Run, error)
	ListRuns(ctx context.Context) ([]Run, error) // newest first, with Calls counted
	UpdateRun(ctx context.Context, id string, u RunUpdate) error
	FinishRun(ctx context.Context, id string, status RunStatus, exitCode *int) error
	DeleteRun(ctx context.Context, id string) error // the run, its subruns, their calls, edges, logs
	Clear(ctx context.Context) error                // everything

	// FindCall returns the call of run recorded for (inputHash, occurrence), or ErrNotFound.
	FindCall(ctx context.Context, runID, inputHash string, occurrence int) (*Call, error)
	GetCall(ctx context.Context, nodeID string) (*Call, error)
	// PutCall inserts or replaces the call with c.NodeID.
	PutCall(ctx context.Context, c *Call) error
	// RecordCall does PutCall and AddEdges(edges) in one write.
	RecordCall(ctx context.Context, c *Call, edges []Edge) error
	// RecordCalls does RecordCall for many calls in one write; a record
	// that fails is left out, and its error returned, without the others.
	RecordCalls(ctx context.Context, records []CallRecord) error
	EditCall(ctx context.Context, nodeID string, e CallEdit) error
	// Calls lists the calls of a run's current execution, in Seq order.
	Calls(ctx context.Context, runID string) ([]Call, error)

	AddEdges(ctx context.Context, edges []Edge) error
	Edges(ctx context.Context, runID string) ([]Edge, error)

	AddLog(ctx context.Context, e LogEntry) error
	Logs(ctx context.Context, runID string) ([]LogEntry, error)

	Close() error
}

// RunService is what people do with recorded runs: the server implements it
// over the Store, and the CLI's HTTP client implements it over the server's
// API, so commands and the web UI see the same behaviour.
type RunService interface {
	ListRuns(ctx context.Context) ([]Run, error)
	// ResolveRun turns a full id, a unique prefix or "last" into a run id.
	ResolveRun(ctx context.Context, ref string) (string, error)
	Graph(ctx context.Context, runID string) (*Graph, error)
	GetCall(ctx context.Context, nodeID string) (*Call, error)
	UpdateRun(ctx context.Context, runID string, u RunUpdate) error
	EditCall(ctx context.Context, nodeID string, e CallEdit) error
	DeleteRun(ctx context.Context, runID string) error
	Clear(ctx context.Context) error
}
