package pyshim

import (
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
)

func shimFS(files map[string]string) fstest.MapFS {
	m := fstest.MapFS{}
	for p, s := range files {
		m[p] = &fstest.MapFile{Data: []byte(s), Mode: 0o644}
	}
	return m
}

func TestVersionFollowsShippedContent(t *testing.T) {
	base := map[string]string{"aco/__init__.py": "x = 1\n", "aco/runner/__main__.py": "run()\n"}
	with := func(edit func(m map[string]string)) string {
		m := map[string]string{}
		for k, v := range base {
			m[k] = v
		}
		edit(m)
		return hashFS(shimFS(m))
	}
	v0 := hashFS(shimFS(base))
	tests := []struct {
		name string
		edit func(m map[string]string)
		same bool
	}{
		{"unchanged", func(m map[string]string) {}, true},
		{"bytecode cache", func(m map[string]string) { m["aco/__pycache__/__init__.cpython-311.pyc"] = "junk" }, true},
		{"tests", func(m map[string]string) { m["aco/tests/test_x.py"] = "def test(): pass" }, true},
		{"content", func(m map[string]string) { m["aco/__init__.py"] = "x = 2\n" }, false},
		{"new file", func(m map[string]string) { m["aco/log.py"] = "" }, false},
		{"renamed", func(m map[string]string) {
			m["aco/runner/main.py"] = m["aco/runner/__main__.py"]
			delete(m, "aco/runner/__main__.py")
		}, false},
		{"bytes moved between name and content", func(m map[string]string) {
			delete(m, "aco/__init__.py")
			m["aco/__init__.p"] = "yx = 1\n"
		}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := with(tt.edit) == v0; got != tt.same {
				t.Errorf("version unchanged = %v, want %v", got, tt.same)
			}
		})
	}
	if Version() == "" || len(Version()) != 16 {
		t.Errorf("Version() = %q, want 16 hex digits", Version())
	}
}

func TestUnpackEmbeddedShimImports(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "shim", Version())
	got, err := Unpack(dir)
	if err != nil || got != dir {
		t.Fatalf("Unpack = %q, %v; want %q", got, err, dir)
	}
	n := 0
	err = fs.WalkDir(embedded, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !shipped(p, d) {
			return err
		}
		want, _ := fs.ReadFile(embedded, p)
		have, err := os.ReadFile(filepath.Join(dir, p))
		if err != nil || string(have) != string(want) {
			t.Errorf("%s unpacked wrongly: %v", p, err)
		}
		n++
		return nil
	})
	if err != nil || n == 0 {
		t.Fatalf("walked %d embedded files: %v", n, err)
	}
	python, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("no python3 on PATH")
	}
	cmd := exec.Command(python, "-c", "import aco, os; print(os.path.dirname(list(aco.__path__)[0]))")
	cmd.Env = append(os.Environ(), "PYTHONPATH="+dir)
	cmd.Dir = t.TempDir() // python -c imports from the cwd first: not the source tree
	out, err := cmd.CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != dir {
		t.Errorf("python imports aco from %q (%v), want from %s", out, err, dir)
	}
}

func TestUnpackTrustsAnExistingDir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "v1")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := unpack(shimFS(map[string]string{"aco/__init__.py": ""}), dir); err != nil {
		t.Fatal(err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("Unpack wrote into an existing version dir: %v", entries)
	}
}

func TestConcurrentUnpacksSeeWholeTrees(t *testing.T) {
	files := map[string]string{}
	for i := range 50 {
		files[fmt.Sprintf("aco/m%d/__init__.py", i)] = strings.Repeat(fmt.Sprintf("# %d\n", i), 500)
	}
	fsys := shimFS(files)
	parent := t.TempDir()
	dir := filepath.Join(parent, "v1")
	const n = 20
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			got, err := unpack(fsys, dir)
			if err == nil && got != dir {
				err = fmt.Errorf("returned %q", got)
			}
			if err == nil {
				// Whoever returns must find the whole tree there.
				for p, want := range files {
					b, rerr := os.ReadFile(filepath.Join(dir, p))
					if rerr != nil || string(b) != want {
						err = fmt.Errorf("%s incomplete after Unpack returned: %v", p, rerr)
						break
					}
				}
			}
			errs[i] = err
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("unpacker %d: %v", i, err)
		}
	}
	entries, err := os.ReadDir(parent)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || entries[0].Name() != "v1" {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Errorf("parent holds %v, want only v1 (temp dirs must be cleaned up)", names)
	}
}
