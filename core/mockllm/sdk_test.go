package mockllm

import (
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// testPython returns an interpreter that can import openai: $ACO_TEST_PYTHON
// (which must work when set), else the nearest .venv above this package.
func testPython(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("ACO_TEST_PYTHON"); p != "" {
		if out, err := exec.Command(p, "-c", "import openai").CombinedOutput(); err != nil {
			t.Fatalf("ACO_TEST_PYTHON=%s cannot import openai: %v\n%s", p, err, out)
		}
		return p
	}
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		p := filepath.Join(dir, ".venv", "bin", "python")
		if _, err := os.Stat(p); err == nil {
			if exec.Command(p, "-c", "import openai").Run() == nil {
				return p
			}
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			break
		}
		dir = parent
	}
	t.Skip("no Python with the openai package: set ACO_TEST_PYTHON or create .venv with openai at the repository root")
	return ""
}

// TestOpenAISDK runs the real openai SDK against the server over TCP.
func TestOpenAISDK(t *testing.T) {
	python := testPython(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- New(Options{}).Serve(ctx, ln) }()
	defer func() {
		cancel()
		if err := <-served; err != nil {
			t.Errorf("Serve: %v", err)
		}
	}()

	runCtx, stop := context.WithTimeout(context.Background(), 2*time.Minute)
	defer stop()
	cmd := exec.CommandContext(runCtx, python, filepath.Join("testdata", "sdk_check.py"), "http://"+ln.Addr().String()+"/v1")
	cmd.Env = sdkEnv()
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("sdk_check.py failed: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "sdk_check ok") {
		t.Fatalf("sdk_check.py did not finish its checks:\n%s", out)
	}
}

// sdkEnv keeps the user's OpenAI settings and proxies away from the check.
func sdkEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "OPENAI_") {
			continue
		}
		env = append(env, kv)
	}
	return append(env, "NO_PROXY=127.0.0.1,localhost", "no_proxy=127.0.0.1,localhost")
}
