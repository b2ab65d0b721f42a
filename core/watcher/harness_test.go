package watcher

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// wait bounds every wait on an observed result; generous because the
// machine running the tests may be busy.
const wait = 20 * time.Second

// testPython is the interpreter the workers run: $ACO_TEST_PYTHON, else
// the repository's virtualenv, else python3 on PATH.
func testPython(tb testing.TB) string {
	tb.Helper()
	if p := os.Getenv("ACO_TEST_PYTHON"); p != "" {
		return p
	}
	if p, err := filepath.Abs("../../.venv/bin/python"); err == nil {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	p, err := exec.LookPath("python3")
	if err != nil {
		tb.Skip("no python3 to run rewrite workers")
	}
	return p
}

// standInShim is testdata/shim, whose aco.rewrite.worker stands in for the
// real one: it compiles each file and writes the source's hash beside the
// bytecode (see the module's docstring).
func standInShim(tb testing.TB) string {
	tb.Helper()
	dir, err := filepath.Abs("testdata/shim")
	if err != nil {
		tb.Fatal(err)
	}
	return dir
}

// harness is a watcher on a fresh project root whose results the test
// observes in order.
type harness struct {
	tb      testing.TB
	w       *Watcher
	root    string
	python  string
	results chan Result
	seen    []Result
}

func newHarness(tb testing.TB, opts Options) *harness {
	tb.Helper()
	root, err := filepath.EvalSymlinks(tb.TempDir())
	if err != nil {
		tb.Fatal(err)
	}
	h := &harness{tb: tb, root: root, python: testPython(tb), results: make(chan Result, 1<<14)}
	if opts.ShimDir == "" {
		opts.ShimDir = standInShim(tb)
		// Keep the stand-in's own bytecode out of testdata.
		opts.Environ = func() []string { return append(os.Environ(), "PYTHONDONTWRITEBYTECODE=1") }
	}
	opts.OnResult = func(r Result) { h.results <- r }
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(tb.Output(), &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	h.w = New(opts)
	tb.Cleanup(func() {
		if err := h.w.Close(); err != nil {
			tb.Errorf("Close: %v", err)
		}
	})
	return h
}

func (h *harness) path(rel string) string { return filepath.Join(h.root, filepath.FromSlash(rel)) }

func (h *harness) write(rel, content string) string {
	h.tb.Helper()
	p := h.path(rel)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		h.tb.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		h.tb.Fatal(err)
	}
	return p
}

func (h *harness) watch() {
	h.tb.Helper()
	if err := h.w.Watch(h.root, h.python); err != nil {
		h.tb.Fatalf("Watch: %v", err)
	}
}

// await returns the first result, seen before or arriving now, that
// matches.
func (h *harness) await(what string, match func(Result) bool) Result {
	h.tb.Helper()
	h.drain()
	for _, r := range h.seen {
		if match(r) {
			return r
		}
	}
	return h.wait(what, match)
}

// next returns the first result arriving from now on that matches.
func (h *harness) next(what string, match func(Result) bool) Result {
	h.tb.Helper()
	h.drain()
	return h.wait(what, match)
}

// wait returns the first result not yet in seen that matches.
func (h *harness) wait(what string, match func(Result) bool) Result {
	h.tb.Helper()
	deadline := time.NewTimer(wait)
	defer deadline.Stop()
	for {
		select {
		case r := <-h.results:
			h.seen = append(h.seen, r)
			if match(r) {
				return r
			}
		case <-deadline.C:
			h.tb.Fatalf("no result for %s within %s; the latest results: %v", what, wait, h.seen[max(0, len(h.seen)-5):])
		}
	}
}

// drain moves the results already delivered into seen.
func (h *harness) drain() {
	for {
		select {
		case r := <-h.results:
			h.seen = append(h.seen, r)
		default:
			return
		}
	}
}

// count returns how many results seen so far match.
func (h *harness) count(match func(Result) bool) int {
	h.drain()
	n := 0
	for _, r := range h.seen {
		if match(r) {
			n++
		}
	}
	return n
}

// awaitFresh waits until the stand-in's bytecode of the file at rel was
// compiled from content.
func (h *harness) awaitFresh(rel, content string) {
	h.tb.Helper()
	p := h.path(rel)
	want := sha(content)
	h.await(fmt.Sprintf("%s compiled from %.40q", rel, content), func(Result) bool {
		return sidecar(p) == want
	})
}

// sidecar is the hash the stand-in wrote for the file at path, or "".
func sidecar(path string) string {
	stem := strings.TrimSuffix(filepath.Base(path), ".py")
	b, err := os.ReadFile(filepath.Join(filepath.Dir(path), "__pycache__", stem+".aco-fake.sha256"))
	if err != nil {
		return ""
	}
	return string(b)
}

func sha(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

func forPath(p string, cause Cause) func(Result) bool {
	return func(r Result) bool { return r.Path == p && r.Cause == cause }
}

// eventually waits for a condition on state the test can only poll (the
// watcher's Status), failing after the usual deadline.
func eventually(tb testing.TB, what string, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(wait)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("%s: not true within %s", what, wait)
		}
		<-tick.C
	}
}
