package patchgen

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/aco-dev/aco"
)

// Introspection is what aco.introspect reports about a method (the JSON
// fields this package reads; the whole object goes to the model as is).
type Introspection struct {
	API          string            `json:"api"`
	Import       string            `json:"import"`
	Distribution string            `json:"distribution"`
	Version      string            `json:"version"`
	ProjectURLs  map[string]string `json:"project_urls"`
	Client       json.RawMessage   `json:"client"`
	Target       string            `json:"target"`
	AsyncTarget  string            `json:"async_target"`
	StreamParam  string            `json:"stream_param"`
	ReturnTypes  []struct {
		Type string `json:"type"`
	} `json:"return_types"`

	raw json.RawMessage
}

// Report is what aco.verify found.
type Report struct {
	OK     bool    `json:"ok"`
	Fatal  bool    `json:"fatal"`
	Error  string  `json:"error"`
	Checks []Check `json:"checks"`
	// Extracted is what the declaration's selectors found in the recorded call.
	Extracted   map[string]string `json:"extracted"`
	Logs        []string          `json:"logs"`
	AgainstMock bool              `json:"against_mock"`
}

// Check is one verified property of a declaration.
type Check struct {
	Name   string `json:"name"`
	OK     bool   `json:"ok"`
	Detail string `json:"detail"`
}

// Passed counts the checks that passed.
func (r *Report) Passed() int {
	n := 0
	for _, c := range r.Checks {
		if c.OK {
			n++
		}
	}
	return n
}

// python runs `python -m module` of the shim at shimDir with in as JSON on
// stdin, and decodes its JSON stdout into out.
type python struct {
	exe     string
	shimDir string
	home    string // ACO_HOME for the shim's own log
}

func (p python) run(ctx context.Context, module string, in, out any) error {
	data, err := json.Marshal(in)
	if err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, p.exe, "-m", module)
	cmd.Stdin = bytes.NewReader(data)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.Env = append(pythonEnv(os.Environ()), "PYTHONPATH="+p.shimDir, "ACO_HOME="+p.home, "PYTHONDONTWRITEBYTECODE=1")
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return aco.Errorf(aco.EUNAVAIL, "%s -m %s failed: %v: %s", p.exe, module, err, lastLines(stderr.String(), 8))
	}
	if err := json.Unmarshal(lastLine(stdout.Bytes()), out); err != nil {
		return aco.Errorf(aco.EINTERNAL, "%s -m %s printed no report (%v): %s", p.exe, module, err, lastLines(stdout.String()+stderr.String(), 8))
	}
	return nil
}

// pythonEnv drops what would make the interpreter run something else than
// the shim copy given, or record into a real aco server.
func pythonEnv(env []string) []string {
	var out []string
	for _, kv := range env {
		k, _, _ := strings.Cut(kv, "=")
		switch k {
		case "PYTHONPATH", "ACO_HOME", "ACO_RUNNER_ADDR", "ACO_DISABLE", "PYTHONDONTWRITEBYTECODE":
			continue
		}
		out = append(out, kv)
	}
	return out
}

func lastLine(b []byte) []byte {
	b = bytes.TrimSpace(b)
	if i := bytes.LastIndexByte(b, '\n'); i >= 0 {
		return b[i+1:]
	}
	return b
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// introspect asks the interpreter about api.
func (p python) introspect(ctx context.Context, api string) (*Introspection, error) {
	var raw json.RawMessage
	if err := p.run(ctx, "aco.introspect", map[string]string{"api": api}, &raw); err != nil {
		return nil, err
	}
	var e struct {
		Error *struct{ Code, Message string } `json:"error"`
	}
	if err := json.Unmarshal(raw, &e); err != nil {
		return nil, err
	}
	if e.Error != nil {
		switch e.Error.Code {
		case "not_installed", "unknown_api":
			return nil, aco.Errorf(aco.ENOTFOUND, "%s", e.Error.Message)
		default:
			return nil, aco.Errorf(aco.EINTERNAL, "%s", e.Error.Message)
		}
	}
	var in Introspection
	if err := json.Unmarshal(raw, &in); err != nil {
		return nil, err
	}
	in.raw = raw
	return &in, nil
}

// copyTree copies the regular files under src to dst, skipping bytecode
// caches.
func copyTree(src, dst string) error {
	return filepath.WalkDir(src, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			if d.Name() == "__pycache__" {
				return filepath.SkipDir
			}
			return os.MkdirAll(target, 0o755)
		}
		if !d.Type().IsRegular() {
			return nil
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(target, data, 0o644)
	})
}
