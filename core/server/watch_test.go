package server_test

import (
	"encoding/json"
	"net"
	"path/filepath"
	"testing"

	"github.com/aco-dev/aco/core/server"
	"github.com/aco-dev/aco/core/store/sqlite"
	"github.com/aco-dev/aco/core/watcher"
)

// A runner's hello announces its project root; the server has it watched
// and reports it in /api/status.
func TestHelloAnnouncesTheProjectRoot(t *testing.T) {
	db, err := sqlite.Open(filepath.Join(t.TempDir(), "aco.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	w := watcher.New(watcher.Options{ShimDir: t.TempDir()})
	defer w.Close()
	s := server.New(server.Options{Store: db, Token: testToken, Watcher: w})
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ts := &testServer{Server: s, store: db}

	root := t.TempDir()
	conn, err := net.Dial("tcp", s.RunnerAddr())
	if err != nil {
		t.Fatal(err)
	}
	r := &runner{t: t, conn: conn, rd: newReader(conn)}
	b, _ := json.Marshal(map[string]any{"type": "hello", "protocol": 1, "name": "a.py", "project_root": root, "interpreter": "/usr/bin/python3"})
	r.sendRaw(string(b) + "\n")
	run := r.recv()["run_id"].(string)
	r.deregister(run, 0)
	r.done()

	code, body := ts.do(t, "GET", "/api/status", "", nil)
	var st server.Status
	if code != 200 || json.Unmarshal([]byte(body), &st) != nil || st.Watcher == nil {
		t.Fatalf("status: %d %s", code, body)
	}
	if len(st.Watcher.Roots) != 1 || st.Watcher.Roots[0].Path != root || st.Watcher.Roots[0].Interpreters[0] != "/usr/bin/python3" {
		t.Errorf("watched roots = %+v, want %s", st.Watcher.Roots, root)
	}
}
