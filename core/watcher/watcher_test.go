package watcher

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aco-dev/aco"
)

// skippedFiles are .py files in directories the watcher must leave alone.
var skippedFiles = []string{
	".git/hooks/x.py", ".hg/x.py", ".venv/lib/x.py", "venv/x.py", "node_modules/pkg/x.py",
	"__pycache__/x.py", "lib/site-packages/x.py", ".tox/x.py", ".mypy_cache/x.py",
	".idea/x.py", "lib/dist-packages/x.py",
	"myenv/lib/x.py", // a virtualenv with an unusual name: it has a pyvenv.cfg
}

func TestSweepRefreshesSourceAndSkipsTheRest(t *testing.T) {
	h := newHarness(t, Options{})
	h.write("a.py", "A = 1\n")
	h.write("pkg/b.py", "B = 2\n")
	h.write("notes.txt", "not python\n")
	h.write("myenv/pyvenv.cfg", "home = /usr/bin\n")
	for _, f := range skippedFiles {
		h.write(f, "X = 0\n")
	}
	h.watch()
	h.awaitFresh("a.py", "A = 1\n")
	h.awaitFresh("pkg/b.py", "B = 2\n")

	// Refresh answers after everything queued before it: the sweep is over.
	if err := h.w.Refresh(context.Background(), h.path("a.py")); err != nil {
		t.Fatalf("Refresh: %v", err)
	}
	if n := h.count(forPath(h.path("a.py"), CauseSweep)); n != 1 {
		t.Errorf("a.py swept %d times, want once", n)
	}
	for _, f := range skippedFiles {
		if n := h.count(func(r Result) bool { return r.Path == h.path(f) }); n != 0 {
			t.Errorf("%s in a skipped directory was refreshed %d times", f, n)
		}
		if sidecar(h.path(f)) != "" {
			t.Errorf("%s in a skipped directory has bytecode", f)
		}
		err := h.w.Refresh(context.Background(), h.path(f))
		if aco.ErrorCode(err) != aco.ENOTFOUND {
			t.Errorf("Refresh(%s) = %v, want not found: it is not watched", f, err)
		}
	}

	st := h.w.Status()
	// lib, the parent of site-packages, is plain; myenv is a virtualenv.
	if st.WatchedDirs != 3 {
		t.Errorf("WatchedDirs = %d, want 3 (root, pkg, lib)", st.WatchedDirs)
	}
	if len(st.Roots) != 1 || st.Roots[0].Path != h.root || len(st.Roots[0].Interpreters) != 1 || st.Roots[0].Interpreters[0] != h.python {
		t.Errorf("Roots = %+v, want %s for %s", st.Roots, h.root, h.python)
	}
	if len(st.Workers) != 1 || !st.Workers[0].Alive || st.Workers[0].PID == 0 || st.Workers[0].Refreshed != 3 {
		t.Errorf("Workers = %+v, want one alive worker that refreshed 3 files", st.Workers)
	}
	if st.Refreshed != 3 || len(st.Errors) != 0 {
		t.Errorf("Refreshed = %d, Errors = %v; want 3 and none", st.Refreshed, st.Errors)
	}
}

func TestEditsRefreshBytecode(t *testing.T) {
	const v2 = "A = 2  # edited\n"
	tests := []struct {
		name   string
		edit   func(h *harness) (rel, content string)
		recent bool // also check that a later edit is seen
	}{
		{"modify in place", func(h *harness) (string, string) {
			h.write("a.py", v2)
			return "a.py", v2
		}, false},
		{"create", func(h *harness) (string, string) {
			h.write("b.py", "B = 1\n")
			return "b.py", "B = 1\n"
		}, false},
		{"write a temporary file and rename it over (VS Code, vim)", func(h *harness) (string, string) {
			tmp := h.write("a.py.tmp.4913", v2)
			if err := os.Rename(tmp, h.path("a.py")); err != nil {
				t.Fatal(err)
			}
			return "a.py", v2
		}, false},
		{"move the original away, rename the new one in, delete the old (JetBrains)", func(h *harness) (string, string) {
			tmp := h.write("a.py___jb_tmp___", v2)
			if err := os.Rename(h.path("a.py"), h.path("a.py___jb_old___")); err != nil {
				t.Fatal(err)
			}
			if err := os.Rename(tmp, h.path("a.py")); err != nil {
				t.Fatal(err)
			}
			if err := os.Remove(h.path("a.py___jb_old___")); err != nil {
				t.Fatal(err)
			}
			return "a.py", v2
		}, false},
		{"delete then recreate", func(h *harness) (string, string) {
			if err := os.Remove(h.path("a.py")); err != nil {
				t.Fatal(err)
			}
			h.write("a.py", v2)
			return "a.py", v2
		}, false},
		{"new subdirectory", func(h *harness) (string, string) {
			h.write("pkg/sub/m.py", "M = 1\n")
			return "pkg/sub/m.py", "M = 1\n"
		}, true},
		{"directory moved in from outside", func(h *harness) (string, string) {
			outside := t.TempDir()
			if err := os.MkdirAll(filepath.Join(outside, "moved", "deep"), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(outside, "moved", "deep", "m.py"), []byte("M = 1\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.Rename(filepath.Join(outside, "moved"), h.path("moved")); err != nil {
				t.Skipf("cannot move across the temp dirs: %v", err)
			}
			return "moved/deep/m.py", "M = 1\n"
		}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, Options{})
			h.write("a.py", "A = 1\n")
			h.watch()
			h.awaitFresh("a.py", "A = 1\n")

			rel, content := tt.edit(h)
			h.awaitFresh(rel, content)
			if tt.recent {
				// The new directory is watched, not just swept.
				h.write(rel, "LATER = 3\n")
				h.awaitFresh(rel, "LATER = 3\n")
			}
			if errs := h.w.Status().Errors; len(errs) != 0 {
				t.Errorf("rewrite errors: %v", errs)
			}
		})
	}
}

func TestBurstOfWritesIsRefreshedOnce(t *testing.T) {
	// A long debounce keeps a busy machine's pauses between the writes
	// from splitting the burst.
	h := newHarness(t, Options{Debounce: 300 * time.Millisecond})
	h.write("a.py", "A = 0\n")
	h.write("b.py", "B = 0\n")
	h.watch()
	h.awaitFresh("a.py", "A = 0\n")
	h.awaitFresh("b.py", "B = 0\n")

	last := ""
	for i := 1; i <= 10; i++ {
		last = strings.Repeat("# padding\n", i) + "A = 1\n"
		h.write("a.py", last)
	}
	h.awaitFresh("a.py", last)
	// Events are handled in order and b.py settles after a.py, so once
	// b.py is refreshed no refresh of the burst can still be on its way.
	h.write("b.py", "B = 1\n")
	h.awaitFresh("b.py", "B = 1\n")
	if n := h.count(forPath(h.path("a.py"), CauseChange)); n != 1 {
		t.Errorf("10 rapid writes caused %d refreshes, want 1", n)
	}
}

func TestNewSkippedDirectoriesStayUnwatched(t *testing.T) {
	h := newHarness(t, Options{})
	h.write("a.py", "A = 0\n")
	h.watch()
	h.awaitFresh("a.py", "A = 0\n")
	dirs := h.w.Status().WatchedDirs

	for _, f := range skippedFiles {
		if strings.HasPrefix(f, "myenv/") {
			h.write("myenv/pyvenv.cfg", "home = /usr/bin\n")
		}
		h.write(f, "X = 0\n")
	}
	h.write("a.py", "A = 1\n")
	h.awaitFresh("a.py", "A = 1\n")
	for _, f := range skippedFiles {
		if n := h.count(func(r Result) bool { return r.Path == h.path(f) }); n != 0 {
			t.Errorf("%s was refreshed %d times", f, n)
		}
	}
	// lib/ (parent of site-packages) is plain; myenv may be watched for
	// the moment before its pyvenv.cfg appears, then it is dropped.
	eventually(t, "watched dirs settle", func() bool { return h.w.Status().WatchedDirs == dirs+1 })
}

func TestNestedRootsAndSecondInterpreter(t *testing.T) {
	h := newHarness(t, Options{})
	h.write("a.py", "A = 0\n")
	h.write("pkg/b.py", "B = 0\n")
	h.watch()
	h.watch() // a second hello changes nothing
	if err := h.w.Watch(h.path("pkg"), h.python); err != nil {
		t.Fatal(err)
	}
	dirs := h.w.Status().WatchedDirs
	h.awaitFresh("a.py", "A = 0\n")
	h.awaitFresh("pkg/b.py", "B = 0\n")
	// Refresh answers after everything queued before it: a second sweep
	// would be counted.
	if err := h.w.Refresh(context.Background(), h.path("a.py")); err != nil {
		t.Fatal(err)
	}
	if n := h.count(func(r Result) bool { return r.Cause == CauseSweep }); n != 2 {
		t.Errorf("%d files swept, want 2: repeated and nested roots are swept once", n)
	}

	// Another interpreter announcing pkg gets its own worker, its own sweep
	// of pkg, and the events under pkg; a.py stays the first one's.
	other := filepath.Join(t.TempDir(), "python-other")
	if err := os.Symlink(h.python, other); err != nil {
		t.Fatal(err)
	}
	if err := h.w.Watch(h.path("pkg"), other); err != nil {
		t.Fatal(err)
	}
	h.await("sweep of pkg by the other interpreter", func(r Result) bool {
		return r.Interpreter == other && r.Path == h.path("pkg/b.py") && r.Cause == CauseSweep && r.Err == nil
	})
	if got := h.w.Status().WatchedDirs; got != dirs {
		t.Errorf("WatchedDirs = %d after nested roots, want %d", got, dirs)
	}
	h.write("pkg/b.py", "B = 1\n")
	h.write("a.py", "A = 1\n")
	for _, interp := range []string{h.python, other} {
		h.await("b.py by "+interp, func(r Result) bool {
			return r.Interpreter == interp && r.Path == h.path("pkg/b.py") && r.Cause == CauseChange
		})
	}
	h.await("a.py", forPath(h.path("a.py"), CauseChange))
	if err := h.w.Refresh(context.Background(), h.path("pkg/b.py")); err != nil {
		t.Fatal(err)
	}
	if n := h.count(func(r Result) bool { return r.Interpreter == other && r.Path == h.path("a.py") }); n != 0 {
		t.Errorf("a.py, outside the other interpreter's root, was sent to it %d times", n)
	}
	if st := h.w.Status(); len(st.Roots) != 2 || len(st.Workers) != 2 {
		t.Errorf("Status = %+v, want 2 roots and 2 workers", st)
	}
}

func TestWorkerThatCrashesIsRestarted(t *testing.T) {
	h := newHarness(t, Options{MinBackoff: 10 * time.Millisecond})
	h.write("a.py", "A = 0\n")
	h.watch()
	h.awaitFresh("a.py", "A = 0\n")
	firstPID := h.w.Status().Workers[0].PID

	h.write("crash.py", "# fake-worker: crash\n")
	r := h.await("crash.py", forPath(h.path("crash.py"), CauseChange))
	if r.Err == nil || !strings.Contains(r.Err.Error(), "died on this file twice") || !strings.Contains(r.Err.Error(), "crashing on") {
		t.Errorf("crash.py: err = %v, want the worker's death and its last stderr line", r.Err)
	}
	h.write("b.py", "B = 1\n")
	h.awaitFresh("b.py", "B = 1\n")

	st := h.w.Status()
	w := st.Workers[0]
	if w.PID == firstPID || !w.Alive || w.Restarts != 2 {
		t.Errorf("worker = %+v, want alive, restarted twice, pid other than %d", w, firstPID)
	}
	if len(st.Errors) != 1 || st.Errors[0].Path != h.path("crash.py") || st.Errors[0].Interpreter != h.python {
		t.Errorf("Errors = %+v, want one for crash.py", st.Errors)
	}
}

func TestWorkerThatHangsIsKilled(t *testing.T) {
	h := newHarness(t, Options{Timeout: 3 * time.Second, MinBackoff: 10 * time.Millisecond})
	h.write("a.py", "A = 0\n")
	h.watch()
	h.awaitFresh("a.py", "A = 0\n")
	firstPID := h.w.Status().Workers[0].PID

	h.write("hang.py", "# fake-worker: hang\n")
	h.write("b.py", "B = 1\n") // queued behind hang.py: must survive the kill
	r := h.await("hang.py", forPath(h.path("hang.py"), CauseChange))
	if r.Err == nil || !strings.Contains(r.Err.Error(), "took more than 3s") {
		t.Errorf("hang.py: err = %v, want a timeout", r.Err)
	}
	h.awaitFresh("b.py", "B = 1\n")
	if err := syscall.Kill(firstPID, 0); !errors.Is(err, syscall.ESRCH) {
		t.Errorf("hung worker %d: kill(0) = %v, want it gone", firstPID, err)
	}
	st := h.w.Status()
	if len(st.Errors) != 1 || st.Errors[0].Path != h.path("hang.py") {
		t.Errorf("Errors = %+v, want one for hang.py", st.Errors)
	}
}

func TestWorkerThatCannotRun(t *testing.T) {
	tests := []struct {
		name    string
		python  func(h *harness) string
		shim    func(tb testing.TB) string
		wantErr string
	}{
		{"no such interpreter", func(*harness) string { return "/nonexistent/python3" }, standInShim, "cannot start the rewrite worker"},
		{"no worker module", func(h *harness) string { return h.python }, shimWithoutRewrite, "No module named"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, Options{ShimDir: tt.shim(t), MinBackoff: 10 * time.Millisecond})
			h.write("a.py", "A = 0\n")
			if err := h.w.Watch(h.root, tt.python(h)); err != nil {
				t.Fatalf("Watch: %v (a broken worker must not stop the watching)", err)
			}
			r := h.await("a.py", forPath(h.path("a.py"), CauseSweep))
			if r.Err == nil || !strings.Contains(r.Err.Error(), tt.wantErr) {
				t.Errorf("err = %v, want it to say %q", r.Err, tt.wantErr)
			}
			err := h.w.Refresh(context.Background(), h.path("a.py"))
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("Refresh = %v, want it to say %q", err, tt.wantErr)
			}
			errs := h.w.Status().Errors
			if len(errs) == 0 || !strings.Contains(errs[0].Message, tt.wantErr) {
				t.Errorf("Status errors = %+v, want the latest to say %q", errs, tt.wantErr)
			}
		})
	}
}

// shimWithoutRewrite is a shim whose aco package has no rewrite worker.
func shimWithoutRewrite(t testing.TB) string {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "aco"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "aco", "__init__.py"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestRootThatDisappearsIsDropped(t *testing.T) {
	h := newHarness(t, Options{})
	h.write("a.py", "A = 0\n")
	h.write("pkg/b.py", "B = 0\n")
	h.watch()
	h.awaitFresh("a.py", "A = 0\n")
	h.awaitFresh("pkg/b.py", "B = 0\n") // the worker writes no more
	if err := os.RemoveAll(h.root); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the root is dropped", func() bool {
		st := h.w.Status()
		return len(st.Roots) == 0 && st.WatchedDirs == 0
	})
}

func TestDirectoryLimit(t *testing.T) {
	h := newHarness(t, Options{MaxDirs: 3})
	for _, d := range []string{"a", "b", "c", "d"} {
		h.write(d+"/m.py", "M = 0\n")
	}
	err := h.w.Watch(h.root, h.python)
	if err == nil || !strings.Contains(err.Error(), "fs.inotify.max_user_watches") || !strings.Contains(err.Error(), "at most 3 directories") {
		t.Fatalf("Watch = %v, want the limit named", err)
	}
	st := h.w.Status()
	if st.WatchedDirs != 3 || len(st.Roots) != 1 || len(st.Errors) != 1 {
		t.Errorf("Status = %+v, want 3 dirs watched, the root kept and the error shown", st)
	}
}

func TestWatchRejectsBadArguments(t *testing.T) {
	h := newHarness(t, Options{Home: t.TempDir()})
	file := h.write("a.py", "A = 0\n")
	tests := []struct {
		name, root, interp, code string
	}{
		{"missing root", h.path("nope"), h.python, aco.ENOTFOUND},
		{"root is a file", file, h.python, aco.EINVALID},
		{"no interpreter", h.root, "", aco.EINVALID},
		{"the file system's root", "/", h.python, aco.EINVALID},
		{"the home directory", h.w.opts.Home, h.python, aco.EINVALID},
		{"the shared temp directory", os.TempDir(), h.python, aco.EINVALID},
		{"/tmp", "/tmp", h.python, aco.EINVALID},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := h.w.Watch(tt.root, tt.interp); aco.ErrorCode(err) != tt.code {
				t.Errorf("Watch = %v, want code %s", err, tt.code)
			}
		})
	}
	if err := h.w.Refresh(context.Background(), file); aco.ErrorCode(err) != aco.ENOTFOUND {
		t.Errorf("Refresh before any Watch = %v, want not found", err)
	}
}

func TestCloseStopsEverything(t *testing.T) {
	before := runtime.NumGoroutine()
	h := newHarness(t, Options{})
	h.write("a.py", "A = 0\n")
	h.write("hang.py", "# fake-worker: hang\n") // a worker busy at Close
	h.watch()
	h.awaitFresh("a.py", "A = 0\n")
	pid := h.w.Status().Workers[0].PID

	if err := h.w.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
		t.Errorf("worker %d: kill(0) = %v, want it gone after Close", pid, err)
	}
	r := h.await("hang.py", forPath(h.path("hang.py"), CauseSweep))
	if !errors.Is(r.Err, context.Canceled) {
		t.Errorf("hang.py at Close: err = %v, want cancelled", r.Err)
	}
	if err := h.w.Watch(h.root, h.python); aco.ErrorCode(err) != aco.EUNAVAIL {
		t.Errorf("Watch after Close = %v, want unavailable", err)
	}
	if err := h.w.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	// Goroutines that signalled their end may still be returning.
	eventually(t, "goroutines end", func() bool { return runtime.NumGoroutine() <= before })
}

func TestCloseWithoutWatch(t *testing.T) {
	w := New(Options{})
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestWithPythonPath(t *testing.T) {
	tests := []struct {
		name string
		env  []string
		dir  string
		want string
	}{
		{"none set", []string{"HOME=/h"}, "/shim", "PYTHONPATH=/shim"},
		{"prepended", []string{"PYTHONPATH=/a:/b", "HOME=/h"}, "/shim", "PYTHONPATH=/shim:/a:/b"},
		{"empty", []string{"PYTHONPATH="}, "/shim", "PYTHONPATH=/shim"},
		{"no shim", []string{"PYTHONPATH=/a"}, "", "PYTHONPATH=/a"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := withPythonPath(tt.env, tt.dir)
			n := 0
			for _, kv := range got {
				if strings.HasPrefix(kv, "PYTHONPATH=") {
					n++
					if kv != tt.want {
						t.Errorf("got %s, want %s", kv, tt.want)
					}
				}
			}
			if n != 1 {
				t.Errorf("%d PYTHONPATH entries in %v, want 1", n, got)
			}
		})
	}
}

func TestRealRewriteWorker(t *testing.T) {
	shim, err := filepath.Abs("../../pyshim")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(shim, "aco", "rewrite", "worker.py")); err != nil {
		t.Skip("pyshim/aco/rewrite/worker.py does not exist yet")
	}
	h := newHarness(t, Options{ShimDir: shim})
	h.write("agent.py", "import json\n\ndef f(x):\n    return f\"<{x}>\" + json.dumps([x])\n")
	h.watch()
	r := h.await("sweep of agent.py", forPath(h.path("agent.py"), CauseSweep))
	if r.Err != nil {
		t.Fatalf("real worker: %v", r.Err)
	}
	cached := acoBytecode(t, h.path("__pycache__"))
	if len(cached) == 0 {
		t.Fatalf("no aco bytecode under __pycache__ after the real worker's refresh")
	}
	h.write("agent.py", "def g(y):\n    return y.upper() + '!'\n")
	r = h.await("agent.py changed", forPath(h.path("agent.py"), CauseChange))
	if r.Err != nil {
		t.Fatalf("real worker after an edit: %v", r.Err)
	}
	h.write("broken.py", "def (:\n")
	r = h.await("broken.py", forPath(h.path("broken.py"), CauseChange))
	if r.Err == nil {
		t.Errorf("a file with a syntax error refreshed without error")
	}
}

// acoBytecode lists the files under dir the rewriter wrote: named with an
// aco tag, beside (never instead of) Python's own .pyc files.
func acoBytecode(t *testing.T, dir string) []string {
	t.Helper()
	entries, _ := os.ReadDir(dir)
	var out []string
	for _, e := range entries {
		if strings.Contains(e.Name(), "aco") {
			out = append(out, e.Name())
		}
	}
	return out
}

// A directory that is a virtualenv by the time its watch is added is not
// kept. Its pyvenv.cfg can appear after reaches (or the walk) looked and
// before the watch exists, and then no event tells of it; addTreeLocked,
// which every new watch goes through, looks again once the watch is on.
func TestDirectoryThatBecameAVirtualenvBeforeItsWatchIsNotKept(t *testing.T) {
	h := newHarness(t, Options{})
	h.write("a.py", "A = 0\n")
	h.watch()
	h.awaitFresh("a.py", "A = 0\n")
	venv := filepath.Join(t.TempDir(), "env")
	if err := os.MkdirAll(filepath.Join(venv, "lib"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(venv, "pyvenv.cfg"), []byte("home = /usr/bin\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	before := h.w.Status().WatchedDirs
	h.w.mu.Lock()
	_, err := h.w.addTreeLocked(venv)
	watched := h.w.dirs[venv] || h.w.dirs[filepath.Join(venv, "lib")]
	h.w.mu.Unlock()
	if err != nil {
		t.Fatal(err)
	}
	if watched || h.w.Status().WatchedDirs != before {
		t.Errorf("the virtualenv %s is watched (%d dirs, %d before)", venv, h.w.Status().WatchedDirs, before)
	}
}
