package launcher

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aco-dev/aco"
)

// fakePython writes an executable shell script (or, with mode 0o644, a
// non-executable file) at dir/rel and returns its path.
func fakePython(t *testing.T, dir, rel string, mode os.FileMode) string {
	t.Helper()
	p := filepath.Join(dir, rel)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte("#!/bin/sh\necho fake python\n"), mode); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestFindInterpreter(t *testing.T) {
	root := t.TempDir()
	venv := filepath.Join(root, "venv")
	conda := filepath.Join(root, "conda")
	pathBoth := filepath.Join(root, "path-both")
	pathPython := filepath.Join(root, "path-python")
	fakePython(t, venv, "bin/python", 0o755)
	fakePython(t, conda, "bin/python", 0o755)
	fakePython(t, pathBoth, "python3", 0o755)
	fakePython(t, pathBoth, "python", 0o755)
	fakePython(t, pathPython, "python", 0o755)
	fakePython(t, pathPython, "python3", 0o644) // not executable: skipped
	explicit := fakePython(t, root, "custom/py", 0o755)
	notExec := fakePython(t, root, "custom/noexec", 0o644)
	fakePython(t, pathBoth, "mypython", 0o755)

	tests := []struct {
		name    string
		env     map[string]string
		want    string
		wantErr string
	}{
		{"ACO_PYTHON wins", map[string]string{"ACO_PYTHON": explicit, "VIRTUAL_ENV": venv, "PATH": pathBoth}, explicit, ""},
		{"ACO_PYTHON by name", map[string]string{"ACO_PYTHON": "mypython", "PATH": pathBoth}, filepath.Join(pathBoth, "mypython"), ""},
		{"ACO_PYTHON missing", map[string]string{"ACO_PYTHON": filepath.Join(root, "nope"), "PATH": pathBoth}, "", "does not exist"},
		{"ACO_PYTHON not executable", map[string]string{"ACO_PYTHON": notExec, "PATH": pathBoth}, "", "not an executable"},
		{"virtualenv", map[string]string{"VIRTUAL_ENV": venv, "CONDA_PREFIX": conda, "PATH": pathBoth}, filepath.Join(venv, "bin/python"), ""},
		{"conda", map[string]string{"CONDA_PREFIX": conda, "PATH": pathBoth}, filepath.Join(conda, "bin/python"), ""},
		{"broken virtualenv falls through", map[string]string{"VIRTUAL_ENV": filepath.Join(root, "gone"), "PATH": pathBoth}, filepath.Join(pathBoth, "python3"), ""},
		{"python3 before python", map[string]string{"PATH": pathBoth}, filepath.Join(pathBoth, "python3"), ""},
		{"python when python3 is unusable", map[string]string{"PATH": pathPython}, filepath.Join(pathPython, "python"), ""},
		{"nothing", map[string]string{"PATH": filepath.Join(root, "empty"), "VIRTUAL_ENV": filepath.Join(root, "gone")}, "", "tried $VIRTUAL_ENV/bin/python"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			getenv := func(k string) string { return tt.env[k] }
			// A real PATH search over real files, with this case's PATH.
			lookPath := func(name string) (string, error) {
				for _, dir := range filepath.SplitList(tt.env["PATH"]) {
					p := filepath.Join(dir, name)
					if fi, err := os.Stat(p); err == nil && fi.Mode()&0o111 != 0 {
						return p, nil
					}
				}
				return "", exec.ErrNotFound
			}
			got, err := FindInterpreter(getenv, lookPath)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("FindInterpreter = %q, %v; want an error containing %q", got, err, tt.wantErr)
				}
				if _, ok := err.(*aco.Error); !ok || !strings.Contains(err.Error(), "ACO_PYTHON") {
					t.Errorf("error %v should be an *aco.Error naming the ACO_PYTHON fix", err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("FindInterpreter = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}
