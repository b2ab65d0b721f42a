package watcher

import (
	"sort"
	"time"
)

// Status is what `aco server status` and /api/status show of the watcher.
type Status struct {
	Roots       []RootStatus   `json:"roots"`
	WatchedDirs int            `json:"watched_dirs"`
	Workers     []WorkerStatus `json:"workers"`
	Refreshed   int64          `json:"refreshed"` // files refreshed since the server started
	Errors      []RewriteError `json:"errors"`    // the latest rewrite errors, newest first
}

// RootStatus is one watched project root and the interpreters announced for it.
type RootStatus struct {
	Path         string   `json:"path"`
	Interpreters []string `json:"interpreters"`
}

// WorkerStatus is the rewrite worker of one interpreter.
type WorkerStatus struct {
	Interpreter string `json:"interpreter"`
	PID         int    `json:"pid,omitempty"` // of the current or last process
	Alive       bool   `json:"alive"`
	Restarts    int    `json:"restarts"` // processes started after the first
	Refreshed   int64  `json:"refreshed"`
	Queued      int    `json:"queued"` // files waiting to be sent
}

// RewriteError is a file a worker could not refresh, or a worker that could
// not run (Path is then the root or empty).
type RewriteError struct {
	Time        time.Time `json:"time"`
	Interpreter string    `json:"interpreter,omitempty"`
	Path        string    `json:"path,omitempty"`
	Message     string    `json:"message"`
}

// Status returns a snapshot of what is watched and how the workers fare.
func (w *Watcher) Status() Status {
	w.mu.Lock()
	defer w.mu.Unlock()
	st := Status{WatchedDirs: len(w.dirs), Refreshed: w.refreshed, Roots: []RootStatus{}, Workers: []WorkerStatus{}}
	for root, interps := range w.roots {
		rs := RootStatus{Path: root}
		for interp := range interps {
			rs.Interpreters = append(rs.Interpreters, interp)
		}
		sort.Strings(rs.Interpreters)
		st.Roots = append(st.Roots, rs)
	}
	sort.Slice(st.Roots, func(i, j int) bool { return st.Roots[i].Path < st.Roots[j].Path })
	for _, k := range w.workers {
		st.Workers = append(st.Workers, k.status())
	}
	sort.Slice(st.Workers, func(i, j int) bool { return st.Workers[i].Interpreter < st.Workers[j].Interpreter })
	st.Errors = make([]RewriteError, 0, len(w.errs))
	for i := len(w.errs) - 1; i >= 0; i-- {
		st.Errors = append(st.Errors, w.errs[i])
	}
	return st
}

func (w *Watcher) recordErrorLocked(interpreter, path, message string) {
	w.errs = append(w.errs, RewriteError{Time: w.opts.Now(), Interpreter: interpreter, Path: path, Message: message})
	if n := len(w.errs) - w.opts.MaxErrors; n > 0 {
		w.errs = append(w.errs[:0], w.errs[n:]...)
	}
}

func (w *Watcher) recordError(interpreter, path, message string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.recordErrorLocked(interpreter, path, message)
}
