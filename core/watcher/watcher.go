// Package watcher keeps the AST-rewritten bytecode of the user's Python files
// fresh while they edit. It watches the project roots that runners announce
// and, once a saved .py file settles, asks a long-lived rewrite worker of the
// announced interpreter (`python -m aco.rewrite.worker`) to refresh that
// file's cached .pyc. The import hook would rewrite a stale file on the spot
// anyway; the watcher moves that cost off the user's next run.
package watcher

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"syscall"
	"time"

	"github.com/aco-dev/aco"
	"github.com/fsnotify/fsnotify"
)

// Defaults for the zero values of Options.
const (
	DefaultDebounce   = 50 * time.Millisecond
	DefaultMaxDelay   = time.Second
	DefaultTimeout    = 30 * time.Second
	DefaultMinBackoff = 100 * time.Millisecond
	DefaultMaxBackoff = 10 * time.Second
	DefaultMaxDirs    = 16384
	DefaultMaxErrors  = 20
	DefaultWindow     = 32
)

// Cause says why a file was sent to a rewrite worker.
type Cause string

const (
	CauseSweep   Cause = "sweep"   // the first sight of a project root
	CauseChange  Cause = "change"  // file events on it settled
	CauseRequest Cause = "request" // Refresh was called
)

// Result is the outcome of one refresh of one file by one worker.
type Result struct {
	Path        string
	Interpreter string
	Cause       Cause
	Err         error         // nil when the worker refreshed the bytecode
	Duration    time.Duration // from sending the request to the answer
}

// Options configure a Watcher. Zero values take the defaults above.
type Options struct {
	// ShimDir is the unpacked Python shim; it goes first on the workers'
	// PYTHONPATH so that `-m aco.rewrite.worker` finds this aco's rewriter.
	ShimDir string
	Logger  *slog.Logger
	// Environ is the environment workers inherit (os.Environ by default).
	Environ func() []string
	// Debounce is how long a file must stay quiet after an event before it
	// is refreshed: editors write a file in several steps.
	Debounce time.Duration
	// MaxDelay bounds how long a file written without pause waits.
	MaxDelay time.Duration
	// Timeout is how long a worker may take over one file before it is
	// killed and restarted.
	Timeout    time.Duration
	MinBackoff time.Duration // first delay before restarting a dead worker
	MaxBackoff time.Duration
	// MaxDirs caps the watched directories: each costs an inotify watch,
	// and the kernel's budget (fs.inotify.max_user_watches) is per user.
	MaxDirs   int
	MaxErrors int // rewrite errors kept for Status
	Window    int // requests in flight per worker
	Now       func() time.Time
	// Home is the user's home directory (os.UserHomeDir by default). It is
	// never watched as a project root: a script run from it would have the
	// watcher walk, and the sweep rewrite, everything the user owns.
	Home string
	// OnResult, when set, sees every refresh result. It is called from a
	// worker's goroutine and must not block.
	OnResult func(Result)
}

// sharedTempDir reports whether dir is a temporary directory every program
// shares (/tmp and the like): a script run from there names it as its
// project, but watching it would rewrite everybody's files below it.
func sharedTempDir(dir string) bool {
	for _, d := range []string{os.TempDir(), "/tmp", "/var/tmp", "/dev/shm"} {
		if c, err := filepath.EvalSymlinks(d); err == nil && c == dir {
			return true
		}
	}
	return false
}

// Watcher watches project roots and keeps their cached bytecode fresh. Its
// goroutines (the event loop and one per interpreter's worker) belong to it:
// Close stops them, kills the worker processes and waits.
type Watcher struct {
	opts Options
	log  *slog.Logger

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu        sync.Mutex
	closed    bool
	fsw       *fsnotify.Watcher // nil until the first Watch
	roots     map[string]map[string]bool
	dirs      map[string]bool
	workers   map[string]*worker
	errs      []RewriteError // oldest first, at most MaxErrors
	refreshed int64
}

// New returns a watcher that watches nothing yet. It touches no files and
// starts no process until the first Watch.
func New(opts Options) *Watcher {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Environ == nil {
		opts.Environ = os.Environ
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Home == "" {
		opts.Home, _ = os.UserHomeDir()
	}
	if home, err := filepath.EvalSymlinks(opts.Home); err == nil {
		opts.Home = home
	}
	setDefault(&opts.Debounce, DefaultDebounce)
	setDefault(&opts.MaxDelay, DefaultMaxDelay)
	setDefault(&opts.Timeout, DefaultTimeout)
	setDefault(&opts.MinBackoff, DefaultMinBackoff)
	setDefault(&opts.MaxBackoff, DefaultMaxBackoff)
	setDefault(&opts.MaxDirs, DefaultMaxDirs)
	setDefault(&opts.MaxErrors, DefaultMaxErrors)
	setDefault(&opts.Window, DefaultWindow)
	ctx, cancel := context.WithCancel(context.Background())
	return &Watcher{
		opts:    opts,
		log:     opts.Logger,
		ctx:     ctx,
		cancel:  cancel,
		roots:   map[string]map[string]bool{},
		dirs:    map[string]bool{},
		workers: map[string]*worker{},
	}
}

func setDefault[T comparable](v *T, def T) {
	var zero T
	if *v == zero {
		*v = def
	}
}

// Watch watches root recursively and keeps the bytecode of its .py files
// fresh for interpreter. It is idempotent, so a server can call it at every
// runner's hello. The first time a (root, interpreter) pair is seen, every
// .py file under root is queued for a refresh so that the next run finds
// fresh bytecode. Watch walks the tree before it returns (milliseconds for
// an ordinary project). An error after a partial walk (too many directories)
// leaves what was watched in place.
func (w *Watcher) Watch(root, interpreter string) error {
	if interpreter == "" {
		return aco.Errorf(aco.EINVALID, "watch %s: no interpreter given", root)
	}
	root, err := canonicalDir(root)
	if err != nil {
		return err
	}
	if root == w.opts.Home || root == filepath.Dir(root) || sharedTempDir(root) {
		return aco.Errorf(aco.EINVALID, "not watching %s: as a project root it would have aco watch and rewrite everything under it; run the program from its project's directory to have its bytecode kept fresh", root)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return aco.Errorf(aco.EUNAVAIL, "the file watcher is closed")
	}
	if w.roots[root][interpreter] {
		return nil
	}
	if err := w.startLocked(); err != nil {
		return err
	}
	covered := w.coveredLocked(root, interpreter)
	if w.roots[root] == nil {
		w.roots[root] = map[string]bool{}
	}
	w.roots[root][interpreter] = true
	k := w.workerLocked(interpreter)
	files, err := w.addTreeLocked(root)
	w.log.Info("watching project root", "root", root, "interpreter", interpreter, "files", len(files), "dirs", len(w.dirs))
	if !covered {
		for _, f := range files {
			k.submit(&job{path: f, cause: CauseSweep})
		}
	}
	if err != nil {
		w.recordErrorLocked(interpreter, root, err.Error())
		w.log.Warn("watching project root is incomplete", "root", root, "err", err)
	}
	return err
}

// Refresh asks the workers of every interpreter watching path's root to
// refresh its bytecode now, without waiting for a file event, and returns
// when they have answered.
func (w *Watcher) Refresh(ctx context.Context, path string) error {
	abs, err := canonicalFile(path)
	if err != nil {
		return err
	}
	fi, err := os.Stat(abs)
	if err != nil || !fi.Mode().IsRegular() {
		return aco.Errorf(aco.ENOTFOUND, "refresh %s: not a regular file", path)
	}
	w.mu.Lock()
	var dones []chan error
	for _, interp := range w.interpretersLocked(abs) {
		if k := w.workerLocked(interp); k != nil {
			d := make(chan error, 1)
			dones = append(dones, d)
			k.submit(&job{path: abs, cause: CauseRequest, dones: []chan<- error{d}})
		}
	}
	w.mu.Unlock()
	if len(dones) == 0 {
		return aco.Errorf(aco.ENOTFOUND, "refresh %s: not under a watched project root", path)
	}
	var errs []error
	for _, d := range dones {
		select {
		case err := <-d:
			errs = append(errs, err)
		case <-ctx.Done():
			return ctx.Err()
		case <-w.ctx.Done():
			return aco.Errorf(aco.EUNAVAIL, "the file watcher is closed")
		}
	}
	return errors.Join(errs...)
}

// Close stops watching, kills the workers and waits for every goroutine the
// watcher started. Refreshes still queued are dropped.
func (w *Watcher) Close() error {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return nil
	}
	w.closed = true
	fsw := w.fsw
	w.mu.Unlock()
	w.cancel()
	var err error
	if fsw != nil {
		err = fsw.Close()
	}
	w.wg.Wait()
	return err
}

// startLocked creates the inotify instance and the event loop on first use.
func (w *Watcher) startLocked() error {
	if w.fsw != nil {
		return nil
	}
	fsw, err := fsnotify.NewWatcher()
	if err != nil {
		if errors.Is(err, syscall.EMFILE) {
			return aco.Errorf(aco.EUNAVAIL, "cannot watch files: this user has too many inotify instances (%v); raise fs.inotify.max_user_instances (`sudo sysctl fs.inotify.max_user_instances=1024`)", err)
		}
		return aco.Errorf(aco.EUNAVAIL, "cannot watch files: %v", err)
	}
	w.fsw = fsw
	w.wg.Add(1)
	go w.loop(fsw)
	return nil
}

// workerLocked returns interpreter's worker, creating it (not its process)
// on first use; nil once the watcher is closed.
func (w *Watcher) workerLocked(interpreter string) *worker {
	if w.closed {
		return nil
	}
	k := w.workers[interpreter]
	if k == nil {
		k = newWorker(w, interpreter)
		w.workers[interpreter] = k
		w.wg.Add(1)
		go k.run(w.ctx)
	}
	return k
}

// pending is a file waiting for its events to settle.
type pending struct {
	first, due time.Time
}

// loop owns the debounce state: files with recent events and the one timer
// that fires when the earliest of them has settled.
func (w *Watcher) loop(fsw *fsnotify.Watcher) {
	defer w.wg.Done()
	waiting := map[string]*pending{}
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	for {
		select {
		case <-w.ctx.Done():
			return
		case ev, ok := <-fsw.Events:
			if !ok {
				return
			}
			w.handle(ev, waiting)
		case err, ok := <-fsw.Errors:
			if !ok {
				return
			}
			w.handleError(err, waiting)
		case <-timer.C:
			for _, path := range settled(waiting, time.Now()) {
				delete(waiting, path)
				w.dispatch(path, CauseChange)
			}
		}
		if next, ok := earliest(waiting); ok {
			timer.Reset(time.Until(next))
		} else {
			timer.Stop()
		}
	}
}

// settled returns the files due by now, in the order they became due, so
// that files saved one after the other are refreshed in that order.
func settled(waiting map[string]*pending, now time.Time) []string {
	var due []string
	for path, p := range waiting {
		if !p.due.After(now) {
			due = append(due, path)
		}
	}
	sort.Slice(due, func(i, j int) bool { return waiting[due[i]].due.Before(waiting[due[j]].due) })
	return due
}

func earliest(waiting map[string]*pending) (time.Time, bool) {
	var next time.Time
	for _, p := range waiting {
		if next.IsZero() || p.due.Before(next) {
			next = p.due
		}
	}
	return next, !next.IsZero()
}

func (w *Watcher) schedule(waiting map[string]*pending, path string) {
	now := time.Now()
	p := waiting[path]
	if p == nil {
		waiting[path] = &pending{first: now, due: now.Add(w.opts.Debounce)}
		return
	}
	p.due = now.Add(w.opts.Debounce)
	if limit := p.first.Add(w.opts.MaxDelay); p.due.After(limit) {
		p.due = limit
	}
}

// handle reacts to one event. Editors' atomic saves (write a temporary
// file, rename it over the target) show up as Create or Rename on the
// target's name; every such event just (re)starts the file's debounce, and
// whether the file exists is decided when it has settled.
func (w *Watcher) handle(ev fsnotify.Event, waiting map[string]*pending) {
	name := ev.Name
	if ev.Has(fsnotify.Create) {
		if fi, err := os.Lstat(name); err == nil && fi.IsDir() {
			for _, f := range w.addDir(name) {
				w.schedule(waiting, f)
			}
			return
		}
		if filepath.Base(name) == "pyvenv.cfg" {
			// A virtualenv is being made in a directory we already watch.
			w.forget(filepath.Dir(name), false, "it became a virtualenv")
			return
		}
	}
	if ev.Has(fsnotify.Remove) || ev.Has(fsnotify.Rename) {
		w.forget(name, true, "it was removed or renamed")
	}
	if ev.Op&(fsnotify.Create|fsnotify.Write|fsnotify.Remove|fsnotify.Rename) != 0 && isSource(filepath.Base(name)) {
		w.schedule(waiting, name)
	}
}

func (w *Watcher) handleError(err error, waiting map[string]*pending) {
	if !errors.Is(err, fsnotify.ErrEventOverflow) {
		w.log.Error("file watcher error", "err", err)
		return
	}
	// Events were lost: look at everything again rather than miss a save.
	w.log.Warn("file events overflowed; rescanning the watched roots", "err", err)
	w.mu.Lock()
	var files []string
	for root := range w.roots {
		f, _ := w.addTreeLocked(root)
		files = append(files, f...)
	}
	w.mu.Unlock()
	for _, f := range files {
		w.schedule(waiting, f)
	}
}

// addDir watches a directory created (or moved in) under a root and returns
// the .py files already in it: they may have been written before its watch
// was added.
func (w *Watcher) addDir(dir string) []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed || !w.reachedLocked(dir) {
		return nil
	}
	files, err := w.addTreeLocked(dir)
	if err != nil {
		w.recordErrorLocked("", dir, err.Error())
		w.log.Warn("cannot watch a new directory", "path", dir, "err", err)
	}
	return files
}

// forget drops the watches of path and everything under it, and (if
// dropRoots) the roots among them: path no longer names what we watched.
func (w *Watcher) forget(path string, dropRoots bool, why string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.dirs[path] && w.roots[path] == nil || !dropRoots && w.roots[path] != nil {
		return
	}
	for d := range w.dirs {
		if within(path, d) {
			delete(w.dirs, d)
			// The kernel already dropped watches of deleted directories;
			// those of a renamed one would report under stale names.
			_ = w.fsw.Remove(d)
		}
	}
	for r := range w.roots {
		if dropRoots && within(path, r) {
			delete(w.roots, r)
			w.log.Warn("no longer watching project root: "+why, "root", r)
		}
	}
}

// dispatch sends a settled file to the workers of the roots that reach it.
// A file that is gone (deleted, or the first half of a rename) is skipped.
func (w *Watcher) dispatch(path string, cause Cause) {
	fi, err := os.Stat(path)
	if err != nil || !fi.Mode().IsRegular() {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, interp := range w.interpretersLocked(path) {
		if k := w.workerLocked(interp); k != nil {
			k.submit(&job{path: path, cause: cause})
		}
	}
}

// interpretersLocked returns the interpreters of the roots that reach file.
func (w *Watcher) interpretersLocked(file string) []string {
	dir := filepath.Dir(file)
	seen := map[string]bool{}
	var out []string
	for root, interps := range w.roots {
		if !reaches(root, dir) {
			continue
		}
		for interp := range interps {
			if !seen[interp] {
				seen[interp] = true
				out = append(out, interp)
			}
		}
	}
	sort.Strings(out)
	return out
}

// coveredLocked reports whether root is already watched for interpreter as
// part of a root containing it.
func (w *Watcher) coveredLocked(root, interpreter string) bool {
	for r, interps := range w.roots {
		if interps[interpreter] && reaches(r, root) {
			return true
		}
	}
	return false
}

func (w *Watcher) reachedLocked(dir string) bool {
	for r := range w.roots {
		if reaches(r, dir) {
			return true
		}
	}
	return false
}

// addTreeLocked watches top and the directories under it that are not
// skipped, and returns the .py files it saw.
func (w *Watcher) addTreeLocked(top string) ([]string, error) {
	var files []string
	err := filepath.WalkDir(top, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if path == top {
				return err
			}
			w.log.Debug("cannot read under a watched root", "path", path, "err", err)
			return nil
		}
		if !d.IsDir() {
			if isSource(d.Name()) && (d.Type().IsRegular() || d.Type()&fs.ModeSymlink != 0) {
				files = append(files, path)
			}
			return nil
		}
		if path != top && skipDir(path, d.Name()) {
			return filepath.SkipDir
		}
		if w.dirs[path] {
			return nil
		}
		if len(w.dirs) >= w.opts.MaxDirs {
			return aco.Errorf(aco.EUNAVAIL, "not watching all of %s: aco watches at most %d directories and that limit is reached; files past it get fresh bytecode when they are imported instead. Announce a narrower project root, or if the kernel's limit is what you need to raise, see fs.inotify.max_user_watches", top, w.opts.MaxDirs)
		}
		if err := w.fsw.Add(path); err != nil {
			if errors.Is(err, syscall.ENOSPC) {
				return aco.Errorf(aco.EUNAVAIL, "not watching all of %s: the kernel's inotify watch limit for this user is reached after %d directories; raise fs.inotify.max_user_watches (`sudo sysctl fs.inotify.max_user_watches=524288`)", top, len(w.dirs))
			}
			if path == top {
				return err
			}
			w.log.Debug("cannot watch a directory", "path", path, "err", err)
			return filepath.SkipDir
		}
		// A virtualenv being made: its pyvenv.cfg may have appeared after
		// the look above (or reaches' for a new directory) and before the
		// watch, which then had no event to tell of it. Look again now
		// that any later one would be seen.
		if w.roots[path] == nil && skipDir(path, d.Name()) {
			_ = w.fsw.Remove(path)
			return filepath.SkipDir
		}
		w.dirs[path] = true
		return nil
	})
	return files, err
}

func canonicalDir(path string) (string, error) {
	abs, err := filepath.Abs(path)
	if err == nil {
		abs, err = filepath.EvalSymlinks(abs)
	}
	if err != nil {
		return "", aco.Errorf(aco.ENOTFOUND, "watch %s: %v", path, err)
	}
	fi, err := os.Stat(abs)
	if err != nil || !fi.IsDir() {
		return "", aco.Errorf(aco.EINVALID, "watch %s: not a directory", path)
	}
	return abs, nil
}

// canonicalFile resolves the symlinks of path's directory, as event names
// and roots carry them, and keeps the file name itself.
func canonicalFile(path string) (string, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", fmt.Errorf("refresh %s: %w", path, err)
	}
	dir, err := filepath.EvalSymlinks(filepath.Dir(abs))
	if err != nil {
		return "", aco.Errorf(aco.ENOTFOUND, "refresh %s: %v", path, err)
	}
	return filepath.Join(dir, filepath.Base(abs)), nil
}
