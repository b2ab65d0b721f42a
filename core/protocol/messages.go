// Package protocol defines the messages the Python runner and the server
// exchange: one JSON object per line, each with a "type". Framing (reading and
// writing lines) lives in core/protocol/jsonl and knows nothing of these types;
// these types know nothing of sockets. The Python twin is pyshim/aco/protocol.py;
// both suites read the vectors in testdata/vectors.json.
//
// A connection starts with hello, answered by session. Requests that need an
// answer carry an "id" chosen by the runner; the answer (or an error) echoes it.
//
//	runner → server                       server → runner
//	hello{protocol,run_id?,...}           session{run_id,execution}
//	subrun_start{id,parent,name}          subrun{id,run_id,execution}
//	cache_get{id,run_id,api,input_hash}   cache_result{id,node_id,hit,output?,input_overwrite?}
//	add_node{run_id,node_id,...}          (no answer; it is the cache put)
//	subrun_end{run_id,status}             (no answer)
//	log{run_id,entry,success?}            (no answer)
//	file_taint{run_id,path,sha256,origins} (no answer)
//	file_taint_get{id,run_id,path,sha256} file_taint_result{id,origins?}
//	deregister{run_id,status,exit_code}   (no answer)
//	                                      restart{} / shutdown{reason}: unprompted
//	                                      error{id?,code,message}: answer to a bad line
package protocol

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
)

// Version is the protocol version carried by hello. The server refuses other
// versions with an error that names both.
const Version = 1

// Message types.
const (
	THello       = "hello"
	TSession     = "session"
	TSubrunStart = "subrun_start"
	TSubrun      = "subrun"
	TSubrunEnd   = "subrun_end"
	TCacheGet    = "cache_get"
	TCacheResult = "cache_result"
	TAddNode     = "add_node"
	TLog         = "log"
	TDeregister  = "deregister"
	TRestart     = "restart"
	TShutdown    = "shutdown"
	TError       = "error"

	TFileTaint       = "file_taint"
	TFileTaintGet    = "file_taint_get"
	TFileTaintResult = "file_taint_result"
)

// Message is implemented by every message type.
type Message interface{ MessageType() string }

// Hello opens a runner's connection. RunID is set when the runner executes an
// existing run again (a rerun); the server then continues that run.
type Hello struct {
	Type        string            `json:"type"`
	Protocol    int               `json:"protocol"`
	RunID       string            `json:"run_id,omitempty"`
	Name        string            `json:"name"`
	Cwd         string            `json:"cwd"`
	Argv        []string          `json:"argv"`
	Interpreter string            `json:"interpreter"`
	Env         map[string]string `json:"env,omitempty"`
	ProjectRoot string            `json:"project_root,omitempty"`
	PID         int               `json:"pid"`
}

// Session answers Hello.
type Session struct {
	Type      string `json:"type"`
	RunID     string `json:"run_id"`
	Execution int    `json:"execution"`
}

// SubrunStart asks for a subrun of Parent named Name. Names are unique within
// a parent: a repeated name in one execution gets a " #2", " #3" … suffix, so
// a rerun maps each subrun to the same id.
type SubrunStart struct {
	Type   string `json:"type"`
	ID     int64  `json:"id"`
	Parent string `json:"parent"`
	Name   string `json:"name"`
}

// Subrun answers SubrunStart. Execution is 1 for a subrun that did not
// exist before, which tells the runner no call of it can be in the cache.
type Subrun struct {
	Type      string `json:"type"`
	ID        int64  `json:"id"`
	RunID     string `json:"run_id"`
	Execution int    `json:"execution"`
}

// SubrunEnd closes a subrun. Status is "finished" or "crashed".
type SubrunEnd struct {
	Type   string `json:"type"`
	RunID  string `json:"run_id"`
	Status string `json:"status"`
}

// CacheGet looks up a call before it is made. InputHash is the SHA-256 of the
// canonical JSON of the api id and the whole request. The server counts
// occurrences of a hash within an execution, so the nth identical call gets
// the nth recorded answer.
type CacheGet struct {
	Type      string `json:"type"`
	ID        int64  `json:"id"`
	RunID     string `json:"run_id"`
	API       string `json:"api"`
	InputHash string `json:"input_hash"`
}

// CacheResult answers CacheGet. NodeID names the call's node, new or
// recorded. Hit means Output (with any output overwrite applied) is to be
// returned without calling the SDK. InputOverwrite, when set on a miss, is the
// request to send instead of the program's.
type CacheResult struct {
	Type           string          `json:"type"`
	ID             int64           `json:"id"`
	NodeID         string          `json:"node_id"`
	Hit            bool            `json:"hit"`
	Output         json.RawMessage `json:"output,omitempty"`
	InputOverwrite json.RawMessage `json:"input_overwrite,omitempty"`
}

// AddNode records a call once its output is known (or served from the
// cache); it is the cache put. In a run's first execution nothing can be in
// the cache, so the runner skips CacheGet and names the node itself. Origins are node ids whose taint reached the
// input (the taint issue fills them); content matching needs only InputText.
type AddNode struct {
	Type       string          `json:"type"`
	RunID      string          `json:"run_id"`
	NodeID     string          `json:"node_id"`
	API        string          `json:"api"`
	Kind       string          `json:"kind"` // "llm" or "tool"
	Model      string          `json:"model"`
	Input      json.RawMessage `json:"input"`
	InputHash  string          `json:"input_hash"`
	Output     json.RawMessage `json:"output"`
	InputText  string          `json:"input_text"`
	OutputText string          `json:"output_text"`
	Location   string          `json:"location"`
	StartedAt  float64         `json:"started_at"` // Unix seconds
	DurationMS float64         `json:"duration_ms"`
	Stream     bool            `json:"stream"`
	Cached     bool            `json:"cached"` // served from the cache
	Edited     bool            `json:"edited"` // an overwrite took effect
	Origins    []string        `json:"origins,omitempty"`
}

// Log is an aco.log(...) entry.
type Log struct {
	Type    string `json:"type"`
	RunID   string `json:"run_id"`
	Entry   string `json:"entry"`
	Success *bool  `json:"success,omitempty"`
}

// Deregister ends the connection's top-level run.
type Deregister struct {
	Type     string `json:"type"`
	RunID    string `json:"run_id"`
	Status   string `json:"status"` // "finished" or "crashed"
	ExitCode int    `json:"exit_code"`
}

// Restart tells a live runner its run is being rerun: it should stop.
type Restart struct {
	Type string `json:"type"`
}

// Shutdown tells a runner the server is going away: it stops recording
// (the program itself goes on).
type Shutdown struct {
	Type   string `json:"type"`
	Reason string `json:"reason"`
}

// Error answers a line the server could not act on. ID echoes the request's
// id when it could be read.
type Error struct {
	Type    string `json:"type"`
	ID      int64  `json:"id,omitempty"`
	Code    string `json:"code"`
	Message string `json:"message"`
}

// FileTaint says the file at Path (absolute, symlinks resolved), whose
// bytes hash to SHA256 (hex), holds text derived from the calls Origins: the
// program wrote tainted text into it. A later read of the same bytes, in
// this run or another, gets those origins back (FileTaintGet).
type FileTaint struct {
	Type    string   `json:"type"`
	RunID   string   `json:"run_id"`
	Path    string   `json:"path"`
	SHA256  string   `json:"sha256"`
	Origins []string `json:"origins"`
}

// FileTaintGet asks for the origins recorded for a file's bytes, before the
// program reads them.
type FileTaintGet struct {
	Type   string `json:"type"`
	ID     int64  `json:"id"`
	RunID  string `json:"run_id"`
	Path   string `json:"path"`
	SHA256 string `json:"sha256"`
}

// FileTaintResult answers FileTaintGet; no origins when nothing tainted
// was written with those bytes.
type FileTaintResult struct {
	Type    string   `json:"type"`
	ID      int64    `json:"id"`
	Origins []string `json:"origins,omitempty"`
}

func (Hello) MessageType() string       { return THello }
func (Session) MessageType() string     { return TSession }
func (SubrunStart) MessageType() string { return TSubrunStart }
func (Subrun) MessageType() string      { return TSubrun }
func (SubrunEnd) MessageType() string   { return TSubrunEnd }
func (CacheGet) MessageType() string    { return TCacheGet }
func (CacheResult) MessageType() string { return TCacheResult }
func (AddNode) MessageType() string     { return TAddNode }
func (Log) MessageType() string         { return TLog }
func (Deregister) MessageType() string  { return TDeregister }
func (Restart) MessageType() string     { return TRestart }
func (Shutdown) MessageType() string    { return TShutdown }
func (Error) MessageType() string       { return TError }

func (FileTaint) MessageType() string       { return TFileTaint }
func (FileTaintGet) MessageType() string    { return TFileTaintGet }
func (FileTaintResult) MessageType() string { return TFileTaintResult }

// DecodeError says why a line is not a valid message. ID is the request id
// when the line had one, so the error answer can echo it.
type DecodeError struct {
	ID  int64
	Msg string
}

func (e *DecodeError) Error() string { return e.Msg }

// Decode parses one line into its message type and checks required fields.
// Its error wording is shared with the Python twin, so it names JSON fields
// and kinds, never Go types.
func Decode(line []byte) (Message, error) {
	var head struct {
		Type json.RawMessage `json:"type"`
		ID   json.RawMessage `json:"id"`
	}
	if err := json.Unmarshal(line, &head); err != nil {
		var syn *json.SyntaxError
		if errors.As(err, &syn) {
			return nil, &DecodeError{Msg: "not a JSON object: " + shortJSONError(err)}
		}
		return nil, &DecodeError{Msg: "not a JSON object"}
	}
	// null unmarshals into a struct without complaint.
	if trimmed := bytes.TrimLeft(line, " \t\r\n"); len(trimmed) == 0 || trimmed[0] != '{' {
		return nil, &DecodeError{Msg: "not a JSON object"}
	}
	// An id of the wrong type is reported by the message's own decoding;
	// here it only decides what the error echoes.
	var id int64
	_ = json.Unmarshal(head.ID, &id)
	if len(head.Type) == 0 || string(head.Type) == "null" {
		return nil, &DecodeError{ID: id, Msg: `missing field "type"`}
	}
	var typ string
	if err := json.Unmarshal(head.Type, &typ); err != nil {
		return nil, &DecodeError{ID: id, Msg: `field "type" must be a string`}
	}
	var m Message
	switch typ {
	case THello:
		m = &Hello{}
	case TSession:
		m = &Session{}
	case TSubrunStart:
		m = &SubrunStart{}
	case TSubrun:
		m = &Subrun{}
	case TSubrunEnd:
		m = &SubrunEnd{}
	case TCacheGet:
		m = &CacheGet{}
	case TCacheResult:
		m = &CacheResult{}
	case TAddNode:
		m = &AddNode{}
	case TLog:
		m = &Log{}
	case TDeregister:
		m = &Deregister{}
	case TRestart:
		m = &Restart{}
	case TShutdown:
		m = &Shutdown{}
	case TError:
		m = &Error{}
	case TFileTaint:
		m = &FileTaint{}
	case TFileTaintGet:
		m = &FileTaintGet{}
	case TFileTaintResult:
		m = &FileTaintResult{}
	default:
		return nil, &DecodeError{ID: id, Msg: fmt.Sprintf("unknown message type %q", typ)}
	}
	if err := json.Unmarshal(line, m); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			field, _, _ := strings.Cut(te.Field, ".")
			return nil, &DecodeError{ID: id, Msg: fmt.Sprintf("%s: field %q must be %s", typ, field, fieldKind(m, field))}
		}
		return nil, &DecodeError{ID: id, Msg: fmt.Sprintf("%s: %s", typ, shortJSONError(err))}
	}
	if missing := missingFields(m); len(missing) > 0 {
		return nil, &DecodeError{ID: id, Msg: fmt.Sprintf("%s: missing field %s", typ, strings.Join(missing, ", "))}
	}
	return m, nil
}

// fieldKind names what a message's JSON field holds, in the words the
// Python twin uses.
func fieldKind(m Message, field string) string {
	t := reflect.TypeOf(m).Elem()
	for i := range t.NumField() {
		f := t.Field(i)
		if name, _, _ := strings.Cut(f.Tag.Get("json"), ","); name != field {
			continue
		}
		switch f.Type.String() {
		case "string":
			return "a string"
		case "int", "int64":
			return "an integer"
		case "float64":
			return "a number"
		case "bool", "*bool":
			return "a boolean"
		case "[]string":
			return "a list of strings"
		case "map[string]string":
			return "an object of strings"
		}
	}
	return "of another type"
}

// missingFields lists required fields that are empty. Kept as one table so
// the Python twin can mirror it line for line.
func missingFields(m Message) []string {
	var out []string
	need := func(ok bool, name string) {
		if !ok {
			out = append(out, `"`+name+`"`)
		}
	}
	switch m := m.(type) {
	case *Hello:
		need(m.Protocol != 0, "protocol")
	case *Session:
		need(m.RunID != "", "run_id")
	case *SubrunStart:
		need(m.ID != 0, "id")
		need(m.Parent != "", "parent")
		need(m.Name != "", "name")
	case *Subrun:
		need(m.RunID != "", "run_id")
	case *SubrunEnd:
		need(m.RunID != "", "run_id")
		need(m.Status != "", "status")
	case *CacheGet:
		need(m.ID != 0, "id")
		need(m.RunID != "", "run_id")
		need(m.API != "", "api")
		need(m.InputHash != "", "input_hash")
	case *CacheResult:
		need(m.NodeID != "", "node_id")
	case *AddNode:
		need(m.RunID != "", "run_id")
		need(m.NodeID != "", "node_id")
		need(m.API != "", "api")
	case *Log:
		need(m.RunID != "", "run_id")
	case *Deregister:
		need(m.RunID != "", "run_id")
		need(m.Status != "", "status")
	case *Error:
		need(m.Code != "", "code")
	case *FileTaint:
		need(m.RunID != "", "run_id")
		need(m.Path != "", "path")
		need(m.SHA256 != "", "sha256")
	case *FileTaintGet:
		need(m.ID != 0, "id")
		need(m.RunID != "", "run_id")
		need(m.Path != "", "path")
		need(m.SHA256 != "", "sha256")
	}
	return out
}

func shortJSONError(err error) string {
	s := err.Error()
	return strings.TrimPrefix(s, "json: ")
}

// Encode marshals m with its type field set, without a trailing newline.
func Encode(m Message) ([]byte, error) {
	switch m := m.(type) {
	case *Hello:
		m.Type = THello
	case *Session:
		m.Type = TSession
	case *SubrunStart:
		m.Type = TSubrunStart
	case *Subrun:
		m.Type = TSubrun
	case *SubrunEnd:
		m.Type = TSubrunEnd
	case *CacheGet:
		m.Type = TCacheGet
	case *CacheResult:
		m.Type = TCacheResult
	case *AddNode:
		m.Type = TAddNode
	case *Log:
		m.Type = TLog
	case *Deregister:
		m.Type = TDeregister
	case *Restart:
		m.Type = TRestart
	case *Shutdown:
		m.Type = TShutdown
	case *Error:
		m.Type = TError
	case *FileTaint:
		m.Type = TFileTaint
	case *FileTaintGet:
		m.Type = TFileTaintGet
	case *FileTaintResult:
		m.Type = TFileTaintResult
	default:
		return nil, fmt.Errorf("protocol: encode %T: pass a pointer to a message", m)
	}
	// json.Marshal would rewrite <, > and & as \u escapes, also inside raw
	// request and response JSON; keep those bytes as the runner sent them.
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(m); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}
