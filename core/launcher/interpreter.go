// Package launcher plans how aco-launch turns itself into the user's Python:
// which interpreter, which arguments, which environment, and whether the
// server is there to record. Planning is pure so tests can check it without
// replacing the test process; Exec does the replacing.
package launcher

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/aco-dev/aco"
)

// FindInterpreter chooses the Python that runs the user's program: $ACO_PYTHON,
// else the active virtualenv's or conda environment's, else python3 then
// python on PATH. lookPath is exec.LookPath in production.
func FindInterpreter(getenv func(string) string, lookPath func(string) (string, error)) (string, error) {
	if p := getenv("ACO_PYTHON"); p != "" {
		// An explicit choice that does not work is an error, not a reason
		// to quietly run some other Python.
		path := p
		if !strings.ContainsRune(p, filepath.Separator) {
			found, err := lookPath(p)
			if err != nil {
				return "", aco.Errorf(aco.EINVALID, "ACO_PYTHON=%s is not on PATH: set ACO_PYTHON to a Python interpreter's path, or unset it", p)
			}
			path = found
		}
		if err := executable(path); err != nil {
			return "", aco.Errorf(aco.EINVALID, "ACO_PYTHON=%s: %v: set ACO_PYTHON to a Python interpreter's path, or unset it", p, err)
		}
		return path, nil
	}
	var tried []string
	for _, env := range []string{"VIRTUAL_ENV", "CONDA_PREFIX"} {
		dir := getenv(env)
		if dir == "" {
			continue
		}
		// Not resolved through symlinks: a venv's python finds its
		// pyvenv.cfg from the path it was started as.
		path := filepath.Join(dir, "bin", "python")
		if err := executable(path); err == nil {
			return path, nil
		}
		tried = append(tried, fmt.Sprintf("$%s/bin/python (%s)", env, path))
	}
	for _, name := range []string{"python3", "python"} {
		if path, err := lookPath(name); err == nil && executable(path) == nil {
			return path, nil
		}
		tried = append(tried, name+" on PATH")
	}
	return "", aco.Errorf(aco.EUNAVAIL, "no Python interpreter found (tried %s): set ACO_PYTHON to one, or activate a virtualenv", strings.Join(tried, ", "))
}

func executable(path string) error {
	fi, err := os.Stat(path)
	if err != nil {
		if os.IsNotExist(err) {
			return fmt.Errorf("%s does not exist", path)
		}
		return err
	}
	if !fi.Mode().IsRegular() || fi.Mode().Perm()&0o111 == 0 {
		return fmt.Errorf("%s is not an executable file", path)
	}
	return nil
}
