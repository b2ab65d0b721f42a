package server_test

import (
	"reflect"
	"testing"
)

// One run writes tainted text into a file; another reads the same bytes
// and gets the writer's origins back, whatever order they were sent in.
func TestFileTaintRestoredForAnotherRun(t *testing.T) {
	s := newTestServer(t)
	const path, sha = "/home/ada/project/notes.txt", "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"

	w := dial(t, s)
	writer, _ := w.hello("")
	node, _ := w.call(writer, "h1", "Output the number 42", "42")
	w.send(map[string]any{"type": "file_taint", "run_id": writer, "path": path, "sha256": sha, "origins": []string{node, node}})
	w.deregister(writer, 0)
	w.done()

	r := dial(t, s)
	reader, _ := r.hello("")
	tests := []struct {
		name, path, sha string
		want            []string
	}{
		{"same bytes", path, sha, []string{node}},
		{"other bytes", path, "60303ae22b998861bce3b28f33eec1be758a213c86c93c076dbe9f558c11c752", nil},
		{"other file", "/home/ada/project/other.txt", sha, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ans := r.request(map[string]any{"type": "file_taint_get", "run_id": reader, "path": tt.path, "sha256": tt.sha})
			if ans["type"] != "file_taint_result" {
				t.Fatalf("file_taint_get answered %v", ans)
			}
			var got []string
			if o, ok := ans["origins"].([]any); ok {
				for _, x := range o {
					got = append(got, x.(string))
				}
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("origins = %q, want %q", got, tt.want)
			}
		})
	}

	// A run not started on the connection is refused, with the request's id.
	ans := r.request(map[string]any{"type": "file_taint_get", "run_id": "nope", "path": path, "sha256": sha})
	if ans["type"] != "error" || ans["code"] != "invalid" {
		t.Errorf("file_taint_get for another connection's run answered %v", ans)
	}
	r.deregister(reader, 0)
	r.done()
}
