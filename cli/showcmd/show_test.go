package showcmd

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/aco-dev/aco"
	"github.com/aco-dev/aco/core/server/servertest"
)

var update = flag.Bool("update", false, "rewrite the golden files")

func init() { time.Local = time.UTC }

func TestShowFormats(t *testing.T) {
	s := servertest.Start(t)
	run, calls := servertest.Seed(t, s.Store, aco.Run{ID: "aaaa1111bbbb2222", Name: "agent.py"},
		[2]string{"Output the number 42", "42"}, [2]string{"Add 1 to 42", "43"}, [2]string{`Say "<b>" then 43`, "<b> 43"})
	ok := true
	if err := s.Store.AddLog(t.Context(), aco.LogEntry{RunID: run.ID, Entry: "answer was right", Success: &ok, Time: run.CreatedAt}); err != nil {
		t.Fatal(err)
	}
	svc := func() (aco.RunService, error) { return s.Client, nil }
	for _, format := range []string{"text", "dot", "mermaid", "json"} {
		t.Run(format, func(t *testing.T) {
			var out bytes.Buffer
			if err := Run(t.Context(), &Options{Run: "aaaa", Format: format, Service: svc, Out: &out}); err != nil {
				t.Fatal(err)
			}
			got := out.Bytes()
			if format == "json" {
				var g struct {
					Nodes []map[string]any `json:"nodes"`
					Edges []map[string]any `json:"edges"`
				}
				if err := json.Unmarshal(got, &g); err != nil {
					t.Fatal(err)
				}
				if len(g.Nodes) != 3 || len(g.Edges) != 2 || g.Nodes[0]["id"] != calls[0].NodeID || g.Edges[0]["via"] != "content" {
					t.Errorf("json graph: %s", got)
				}
				for _, key := range []string{"id", "api", "model", "input", "output", "location"} {
					if _, ok := g.Nodes[0][key]; !ok {
						t.Errorf("a node lacks %q, which scripts rely on", key)
					}
				}
				return
			}
			path := filepath.Join("testdata", "graph."+format)
			if *update {
				os.WriteFile(path, got, 0o644)
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test -update)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("differs from %s:\n%s", path, got)
			}
		})
	}
	if err := Run(t.Context(), &Options{Run: "last", Format: "svg", Service: svc, Out: &bytes.Buffer{}}); aco.ErrorCode(err) != aco.EINVALID {
		t.Errorf("unknown format: %v", err)
	}
	if err := Run(t.Context(), &Options{Run: "zzzz", Format: "text", Service: svc, Out: &bytes.Buffer{}}); aco.ErrorCode(err) != aco.ENOTFOUND {
		t.Errorf("unknown run: %v", err)
	}
}
