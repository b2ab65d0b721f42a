package e2e_test

import (
	"bufio"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/aco-dev/aco"
)

// The taint corpus: every program in examples/taint runs under aco-launch
// with the edges its .edges file lists, no more and no fewer, and prints
// what it prints under python.
func TestTaintCorpus(t *testing.T) {
	dir := filepath.Join(repoRoot, "examples", "taint")
	programs, err := filepath.Glob(filepath.Join(dir, "*.py"))
	if err != nil || len(programs) == 0 {
		t.Fatalf("no programs in %s: %v", dir, err)
	}
	w := newWorld(t)
	for _, prog := range programs {
		name := strings.TrimSuffix(filepath.Base(prog), ".py")
		t.Run(name, func(t *testing.T) {
			want := readEdges(t, strings.TrimSuffix(prog, ".py")+".edges")
			plain := w.run(dir, "", python, filepath.Base(prog))
			traced := w.launch(dir, filepath.Base(prog))
			if traced.code != 0 || traced.stderr != "" {
				t.Fatalf("aco-launch %s: exit %d\nstderr %s", name, traced.code, traced.stderr)
			}
			if plain != traced {
				t.Errorf("python and aco-launch differ\npython:     %+v\naco-launch: %+v", plain, traced)
			}
			got := textEdges(w.graph("last"))
			if strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Errorf("edges of %s:\n got:\n  %s\nwant:\n  %s", name, strings.Join(got, "\n  "), strings.Join(want, "\n  "))
			}
		})
	}
}

// readEdges reads a sidecar: one "source input -> target input via taint|content"
// a line, # comments and blank lines ignored.
func readEdges(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("every corpus program needs its .edges file: %v", err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		src, rest, ok1 := strings.Cut(line, " -> ")
		i := strings.LastIndex(rest, " via ")
		if !ok1 || i < 0 {
			t.Fatalf("%s: %q is not `source -> target via taint|content`", path, line)
		}
		out = append(out, edgeLine(src, rest[:i], rest[i+len(" via "):]))
	}
	sort.Strings(out)
	return out
}

// textEdges names a graph's edges by their nodes' inputs, whitespace
// folded, as the sidecar files do.
func textEdges(g aco.Graph) []string {
	text := map[string]string{}
	for _, n := range g.Nodes {
		text[n.NodeID] = n.InputText
	}
	var out []string
	for _, e := range g.Edges {
		out = append(out, edgeLine(text[e.Source], text[e.Target], string(e.Via)))
	}
	sort.Strings(out)
	return out
}

func edgeLine(src, dst, via string) string {
	fold := func(s string) string { return strings.Join(strings.Fields(s), " ") }
	return fold(src) + " -> " + fold(dst) + " via " + via
}

// Taint written into a file by one run is restored when a later run reads
// the file: the reader's call gets a taint edge from the writer's call,
// which content matching (within one run's family) could not find.
func TestFileTaintAcrossRuns(t *testing.T) {
	w := newWorld(t)
	dir := t.TempDir()
	for _, name := range []string{"writer.py", "reader.py"} {
		b, err := os.ReadFile(filepath.Join(repoRoot, "e2e", "testdata", "taint_files", name))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if r := w.launch(dir, "writer.py"); r.code != 0 || r.stderr != "" {
		t.Fatalf("writer.py: exit %d stderr %s", r.code, r.stderr)
	}
	writer := w.graph("last")
	if r := w.launch(dir, "reader.py"); r.code != 0 || r.stdout != "43\n" || r.stderr != "" {
		t.Fatalf("reader.py: exit %d stdout %q stderr %s", r.code, r.stdout, r.stderr)
	}
	reader := w.graph("last")
	if reader.Run.ID == writer.Run.ID || len(writer.Nodes) != 1 || len(reader.Nodes) != 1 {
		t.Fatalf("runs %s and %s with %d and %d nodes", writer.Run.ID, reader.Run.ID, len(writer.Nodes), len(reader.Nodes))
	}
	want := aco.Edge{RunID: reader.Run.ID, Source: writer.Nodes[0].NodeID, Target: reader.Nodes[0].NodeID, Via: aco.ViaTaint}
	if len(reader.Edges) != 1 || reader.Edges[0] != want {
		t.Errorf("reader's edges = %+v, want %+v", reader.Edges, want)
	}

	// The same file changed by hand carries no taint: its bytes are not
	// what the writer wrote.
	if err := os.WriteFile(filepath.Join(dir, "answer.txt"), []byte("42 "), 0o644); err != nil {
		t.Fatal(err)
	}
	if r := w.launch(dir, "reader.py"); r.code != 0 {
		t.Fatalf("reader.py again: exit %d stderr %s", r.code, r.stderr)
	}
	if g := w.graph("last"); len(g.Edges) != 0 {
		t.Errorf("a file edited by hand kept the writer's taint: %+v", g.Edges)
	}
}
