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

// testPython returns an interpreter that can import module: $ACO_TEST_PYTHON
// (which must work when set), else the nearest .venv above this package.
func testPython(t *testing.T, module string) string {
	t.Helper()
	if p := os.Getenv("ACO_TEST_PYTHON"); p != "" {
		if out, err := exec.Command(p, "-c", "import "+module).CombinedOutput(); err != nil {
			t.Fatalf("ACO_TEST_PYTHON=%s cannot import %s: %v\n%s", p, module, err, out)
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
			if exec.Command(p, "-c", "import "+module).Run() == nil {
				return p
			}
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			break
		}
		dir = parent
	}
	t.Skipf("no Python with %s: set ACO_TEST_PYTHON or create .venv with it at the repository root", module)
	return ""
}

// TestSDKs runs each real SDK against the server over TCP, at the base URL
// the package comment tells users to give it.
func TestSDKs(t *testing.T) {
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
	root := "http://" + ln.Addr().String()

	tests := []struct {
		sdk, module, script, baseURL string
	}{
		{"openai", "openai", "sdk_check_openai.py", root + "/v1"},
		{"anthropic", "anthropic", "sdk_check_anthropic.py", root},
		{"google-genai", "google.genai", "sdk_check_google.py", root},
		{"together", "together", "sdk_check_together.py", root},
	}
	for _, tt := range tests {
		t.Run(tt.sdk, func(t *testing.T) {
			python := testPython(t, tt.module)
			runCtx, stop := context.WithTimeout(context.Background(), 2*time.Minute)
			defer stop()
			cmd := exec.CommandContext(runCtx, python, filepath.Join("testdata", tt.script), tt.baseURL)
			cmd.Env = sdkEnv()
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("%s failed: %v\n%s", tt.script, err, out)
			}
			if !strings.Contains(string(out), "sdk_check ok") {
				t.Fatalf("%s did not finish its checks:\n%s", tt.script, out)
			}
		})
	}
}

// sdkEnvPrefixes are the settings through which a user's environment could
// send the SDKs elsewhere or change their behaviour.
var sdkEnvPrefixes = []string{"OPENAI_", "ANTHROPIC_", "GOOGLE_", "GEMINI_", "TOGETHER_"}

// sdkEnv keeps the user's SDK settings and proxies away from the checks.
func sdkEnv() []string {
	var env []string
outer:
	for _, kv := range os.Environ() {
		for _, p := range sdkEnvPrefixes {
			if strings.HasPrefix(kv, p) {
				continue outer
			}
		}
		env = append(env, kv)
	}
	return append(env, "NO_PROXY=127.0.0.1,localhost", "no_proxy=127.0.0.1,localhost")
}
