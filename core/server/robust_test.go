package server_test

import (
	"bytes"
	"io"
	"strings"
	"testing"
)

func TestBadLinesGetErrorsAndTheConnectionGoesOn(t *testing.T) {
	s := newTestServer(t)
	r := dial(t, s)
	tests := []struct {
		line string
		want string // substring of the error message
	}{
		{"this is not json\n", "not a JSON object"},
		{"[1,2]\n", "not a JSON object"},
		{`{"type":"teleport","id":7}` + "\n", `unknown message type "teleport"`},
		{`{"id":3}` + "\n", `missing field "type"`},
		{`{"type":"cache_get","id":9}` + "\n", `missing field`},
		{`{"type":"cache_get","id":10,"run_id":"x","api":"a","input_hash":"h"}` + "\n", "before hello"},
		{`{"type":"hello","protocol":99}` + "\n", "protocol 99"},
	}
	for _, tt := range tests {
		r.sendRaw(tt.line)
		ans := r.recv()
		if ans["type"] != "error" || !strings.Contains(ans["message"].(string), tt.want) {
			t.Errorf("%q answered %v, want an error containing %q", tt.line, ans, tt.want)
		}
	}
	// Ids are echoed where they could be read.
	r.sendRaw(`{"type":"teleport","id":42}` + "\n")
	if ans := r.recv(); ans["id"] != float64(42) {
		t.Errorf("error answer id = %v, want 42", ans["id"])
	}
	// The same connection still works.
	run, _ := r.hello("")
	if _, hit := r.call(run, "h", "Output the number 1", "1"); hit {
		t.Error("fresh run hit the cache")
	}
}

func TestHugeLineIsDroppedAndBothConnectionsGoOn(t *testing.T) {
	s := newTestServer(t)
	r := dial(t, s)
	other := dial(t, s)
	run, _ := r.hello("")

	// 100 MB without a newline, then a newline: the server must drop it
	// without holding it in memory and answer with an error.
	const size = 100 << 20
	errc := make(chan error, 1)
	go func() {
		chunk := bytes.Repeat([]byte("x"), 1<<20)
		w := io.Writer(r.conn)
		for i := 0; i < size/len(chunk); i++ {
			if _, err := w.Write(chunk); err != nil {
				errc <- err
				return
			}
		}
		_, err := w.Write([]byte("\n"))
		errc <- err
	}()
	ans := r.recv()
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	if ans["type"] != "error" || !strings.Contains(ans["message"].(string), "longer than") {
		t.Fatalf("huge line answered %v", ans)
	}
	if _, hit := r.call(run, "h", "Output the number 1", "1"); hit {
		t.Error("unexpected hit")
	}
	orun, _ := other.hello("")
	if orun == run {
		t.Error("two connections share a run")
	}
}

func TestDisconnectMidLine(t *testing.T) {
	s := newTestServer(t)
	r := dial(t, s)
	run, _ := r.hello("")
	r.sendRaw(`{"type":"add_node","run_id":"` + run + `","node_id":"n1","api":"openai.respo`)
	r.conn.Close()
	// Another client is served, and the half line left no node behind.
	other := dial(t, s)
	orun, _ := other.hello("")
	other.deregister(orun, 0)
	other.done()
	if _, err := s.store.GetCall(t.Context(), "n1"); err == nil {
		t.Error("a half line was recorded as a node")
	}
}
