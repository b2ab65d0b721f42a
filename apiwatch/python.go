package apiwatch

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"strings"

	"github.com/aco-dev/aco"
)

// PythonReader reads API surfaces by running pyshim/aco/apisurface.py as a
// script with Python (any 3.9+; it imports only the standard library).
type PythonReader struct {
	Python string // the interpreter, e.g. python3
	Script string // the path of apisurface.py
}

// Surface runs the script on req.
func (p *PythonReader) Surface(ctx context.Context, req SurfaceRequest) (*Surface, error) {
	in, err := json.Marshal(req)
	if err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, p.Python, p.Script)
	cmd.Stdin = bytes.NewReader(in)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			return nil, aco.Errorf(aco.EUNAVAIL, "cannot run %s: %v; set --python (or ACO_PYTHON) to a Python 3.9+", p.Python, err)
		}
		return nil, fmt.Errorf("%s %s failed: %v: %s", p.Python, p.Script, err, lastLines(stderr.String(), 5))
	}
	var s Surface
	if err := json.Unmarshal(stdout.Bytes(), &s); err != nil {
		return nil, fmt.Errorf("%s printed no surface JSON: %v: %s", p.Script, err, lastLines(stderr.String(), 5))
	}
	return &s, nil
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
