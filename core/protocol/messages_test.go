package protocol

import (
	"encoding/json"
	"errors"
	"os"
	"reflect"
	"strings"
	"testing"
)

type vector struct {
	Name  string `json:"name"`
	Line  string `json:"line"`
	Valid bool   `json:"valid"`
	Type  string `json:"type"`
	Error string `json:"error"`
	ID    int64  `json:"id"`
}

func loadVectors(t *testing.T) []vector {
	t.Helper()
	b, err := os.ReadFile("testdata/vectors.json")
	if err != nil {
		t.Fatal(err)
	}
	var vs []vector
	if err := json.Unmarshal(b, &vs); err != nil {
		t.Fatalf("testdata/vectors.json: %v", err)
	}
	return vs
}

// allMessages is one zero value of every message type.
var allMessages = []Message{
	&Hello{}, &Session{}, &SubrunStart{}, &Subrun{}, &SubrunEnd{}, &CacheGet{},
	&CacheResult{}, &AddNode{}, &Log{}, &Deregister{}, &Restart{}, &Shutdown{}, &Error{},
	&FileTaint{}, &FileTaintGet{}, &FileTaintResult{},
}

func TestDecodeVectors(t *testing.T) {
	for _, v := range loadVectors(t) {
		t.Run(v.Name, func(t *testing.T) {
			m, err := Decode([]byte(v.Line))
			if !v.Valid {
				var de *DecodeError
				if !errors.As(err, &de) {
					t.Fatalf("Decode(%s) = %#v, %v; want a *DecodeError containing %q", v.Line, m, err, v.Error)
				}
				if !strings.Contains(de.Msg, v.Error) {
					t.Errorf("error %q does not contain %q", de.Msg, v.Error)
				}
				if de.ID != v.ID {
					t.Errorf("error id = %d, want %d", de.ID, v.ID)
				}
				return
			}
			if err != nil {
				t.Fatalf("Decode(%s): %v", v.Line, err)
			}
			if m.MessageType() != v.Type {
				t.Fatalf("decoded a %q, want %q", m.MessageType(), v.Type)
			}
			// Encoding what was decoded must decode to the same message.
			enc, err := Encode(m)
			if err != nil {
				t.Fatal(err)
			}
			m2, err := Decode(enc)
			if err != nil {
				t.Fatalf("Decode(Encode(m)) = %v for %s", err, enc)
			}
			enc2, _ := Encode(m2)
			if string(enc) != string(enc2) {
				t.Errorf("re-encoding changed the message:\n%s\n%s", enc, enc2)
			}
		})
	}
}

// TestVectorsCoverEveryField keeps the vectors complete as messages grow:
// each type needs a full and a minimal valid line, a line without each
// required field, and a line with each typed field of the wrong type. The
// Python twin reads the same file, so this is also what keeps it in step.
func TestVectorsCoverEveryField(t *testing.T) {
	names := map[string]bool{}
	for _, v := range loadVectors(t) {
		if names[v.Name] {
			t.Errorf("vector name %q is used twice", v.Name)
		}
		names[v.Name] = true
	}
	need := func(name string) {
		if !names[name] {
			t.Errorf("no vector named %q", name)
		}
	}
	for _, m := range allMessages {
		typ := m.MessageType()
		need(typ + " full")
		need(typ + " minimal")
		for _, f := range missingFields(m) {
			need(typ + " missing " + strings.Trim(f, `"`))
		}
		st := reflect.TypeOf(m).Elem()
		for i := range st.NumField() {
			sf := st.Field(i)
			name, _, _ := strings.Cut(sf.Tag.Get("json"), ",")
			if name == "type" || sf.Type == reflect.TypeOf(json.RawMessage(nil)) {
				continue
			}
			if fieldKind(m, name) == "of another type" {
				t.Errorf("%s.%s: fieldKind has no word for %s", typ, name, sf.Type)
			}
			need(typ + " " + name + " wrong type")
		}
	}
}

func TestEncodeRoundTrip(t *testing.T) {
	yes := true
	msgs := []Message{
		&Hello{Protocol: Version, RunID: "r", Name: "agent.py", Cwd: "/w", Argv: []string{"agent.py", "-x"},
			Interpreter: "/usr/bin/python3", Env: map[string]string{"A": "1"}, ProjectRoot: "/w", PID: 7},
		&Session{RunID: "r", Execution: 3},
		&SubrunStart{ID: 1, Parent: "r", Name: "sample 3 #2"},
		&Subrun{ID: 1, RunID: "r2"},
		&SubrunEnd{RunID: "r2", Status: "crashed"},
		&CacheGet{ID: 2, RunID: "r", API: "openai.responses.create", InputHash: "abc"},
		&CacheResult{ID: 2, NodeID: "n", Hit: true, Output: json.RawMessage(`{"a":[1,"é"]}`), InputOverwrite: json.RawMessage(`"x"`)},
		&AddNode{RunID: "r", NodeID: "n", API: "a", Kind: "llm", Model: "m", Input: json.RawMessage(`{"q":"<&>"}`),
			InputHash: "h", Output: json.RawMessage(`null`), InputText: "Zoë\n😀", OutputText: "42", Location: "a.py:3",
			StartedAt: 1.5, DurationMS: 2.25, Stream: true, Cached: true, Edited: true, Origins: []string{"n0"}},
		&Log{RunID: "r", Entry: "ok", Success: &yes},
		&Deregister{RunID: "r", Status: "finished", ExitCode: 2},
		&Restart{},
		&Shutdown{Reason: "bye"},
		&Error{ID: 9, Code: "invalid", Message: `hello: missing field "protocol"`},
		&FileTaint{RunID: "r", Path: "/w/notes.txt", SHA256: "abc", Origins: []string{"n0", "n1"}},
		&FileTaintGet{ID: 3, RunID: "r", Path: "/w/notes.txt", SHA256: "abc"},
		&FileTaintResult{ID: 3, Origins: []string{"n0"}},
	}
	if len(msgs) != len(allMessages) {
		t.Fatalf("round trip covers %d types, want %d", len(msgs), len(allMessages))
	}
	for _, m := range msgs {
		t.Run(m.MessageType(), func(t *testing.T) {
			b, err := Encode(m)
			if err != nil {
				t.Fatal(err)
			}
			if strings.ContainsRune(string(b), '\n') {
				t.Fatalf("encoded message contains a newline: %s", b)
			}
			got, err := Decode(b)
			if err != nil {
				t.Fatalf("Decode(%s): %v", b, err)
			}
			if !reflect.DeepEqual(got, m) {
				t.Errorf("round trip:\n got %#v\nwant %#v", got, m)
			}
		})
	}
}

func TestEncodeSetsType(t *testing.T) {
	b, err := Encode(&Session{Type: "wrong", RunID: "r"})
	if err != nil {
		t.Fatal(err)
	}
	if m, err := Decode(b); err != nil || m.MessageType() != TSession {
		t.Errorf("Encode kept a wrong type: %s", b)
	}
	if _, err := Encode(Session{RunID: "r"}); err == nil {
		t.Error("Encode accepted a non-pointer message")
	}
}
