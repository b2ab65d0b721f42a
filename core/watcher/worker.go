package watcher

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// WorkerModule is what each worker process runs: `interpreter -m WorkerModule`.
// It reads {"id":N,"path":"/abs/file.py"} lines on stdin, answers
// {"id":N,"ok":true} or {"id":N,"ok":false,"error":"..."} on stdout and
// exits at end of input.
const WorkerModule = "aco.rewrite.worker"

// job is one file to refresh with one worker. dones hear the outcome; a file
// queued again before it was sent merges into the job already queued.
type job struct {
	path  string
	cause Cause
	dones []chan<- error
	tries int // sends that ended with the worker dying on this file
	id    uint64
	sent  time.Time
}

type request struct {
	ID   uint64 `json:"id"`
	Path string `json:"path"`
}

type answer struct {
	ID    uint64 `json:"id"`
	OK    bool   `json:"ok"`
	Error string `json:"error"`
}

// worker is the rewrite worker of one interpreter: a queue of files and the
// goroutine (run) that owns the worker process, starting it when there is
// work, pipelining requests to it and restarting it when it dies or hangs.
type worker struct {
	w      *Watcher
	interp string
	kick   chan struct{} // run looks at the queue again

	mu        sync.Mutex
	queue     []*job
	queued    map[string]*job // by path, jobs not sent yet
	pid       int
	alive     bool
	started   int
	refreshed int64

	nextID uint64 // run's own
}

func newWorker(w *Watcher, interp string) *worker {
	return &worker{w: w, interp: interp, kick: make(chan struct{}, 1), queued: map[string]*job{}}
}

// submit queues j without blocking.
func (k *worker) submit(j *job) {
	k.mu.Lock()
	if old := k.queued[j.path]; old != nil {
		old.dones = append(old.dones, j.dones...)
		k.mu.Unlock()
		return
	}
	k.queued[j.path] = j
	k.queue = append(k.queue, j)
	k.mu.Unlock()
	select {
	case k.kick <- struct{}{}:
	default:
	}
}

// take removes up to n jobs (all if n < 0) from the front of the queue.
func (k *worker) take(n int) []*job {
	k.mu.Lock()
	defer k.mu.Unlock()
	if n < 0 || n > len(k.queue) {
		n = len(k.queue)
	}
	js := append([]*job(nil), k.queue[:n]...)
	k.queue = k.queue[n:]
	for _, j := range js {
		delete(k.queued, j.path)
	}
	return js
}

// requeue puts jobs that were sent but not answered back at the front.
func (k *worker) requeue(js []*job) {
	k.mu.Lock()
	defer k.mu.Unlock()
	var keep []*job
	for _, j := range js {
		if old := k.queued[j.path]; old != nil {
			old.dones = append(old.dones, j.dones...)
			continue
		}
		k.queued[j.path] = j
		keep = append(keep, j)
	}
	k.queue = append(keep, k.queue...)
}

func (k *worker) status() WorkerStatus {
	k.mu.Lock()
	defer k.mu.Unlock()
	return WorkerStatus{Interpreter: k.interp, PID: k.pid, Alive: k.alive, Restarts: max(k.started-1, 0), Refreshed: k.refreshed, Queued: len(k.queue)}
}

// finish reports j's outcome. record puts a failure among the errors Status
// shows; failures that are not the file's (shutdown, a worker that cannot
// start) are recorded once by the caller instead.
func (k *worker) finish(j *job, err error, record bool) {
	w := k.w
	w.mu.Lock()
	if err == nil {
		w.refreshed++
	} else if record {
		w.recordErrorLocked(k.interp, j.path, err.Error())
	}
	w.mu.Unlock()
	if err == nil {
		k.mu.Lock()
		k.refreshed++
		k.mu.Unlock()
	} else if record {
		w.log.Warn("rewrite failed", "path", j.path, "interpreter", k.interp, "err", err)
	}
	if w.opts.OnResult != nil {
		var d time.Duration
		if !j.sent.IsZero() {
			d = time.Since(j.sent)
		}
		w.opts.OnResult(Result{Path: j.path, Interpreter: k.interp, Cause: j.cause, Err: err, Duration: d})
	}
	for _, d := range j.dones {
		d <- err
	}
}

func (k *worker) failQueued(err error) {
	for _, j := range k.take(-1) {
		k.finish(j, err, false)
	}
}

// errTimedOut ends a session whose process hung: not a sign that the
// worker cannot start.
var errTimedOut = errors.New("the rewrite worker timed out")

// earlyDeathLimit is how many processes in a row may die before answering
// anything until the worker is taken as broken and its queue is dropped.
const earlyDeathLimit = 3

func (k *worker) run(ctx context.Context) {
	defer k.w.wg.Done()
	var backoff time.Duration
	early := 0
	for {
		select {
		case <-ctx.Done():
			k.failQueued(ctx.Err())
			return
		case <-k.kick:
		}
		if k.status().Queued == 0 {
			continue
		}
		if backoff > 0 {
			t := time.NewTimer(backoff)
			select {
			case <-ctx.Done():
				t.Stop()
				k.failQueued(ctx.Err())
				return
			case <-t.C:
			}
		}
		p, err := k.start()
		if err != nil {
			err = fmt.Errorf("cannot start the rewrite worker (%s -m %s): %w", k.interp, WorkerModule, err)
			k.w.recordError(k.interp, "", err.Error())
			k.w.log.Error("rewrite worker did not start", "interpreter", k.interp, "err", err)
			k.failQueued(err)
			backoff = k.nextBackoff(backoff)
			continue
		}
		answered, err := k.serve(ctx, p)
		if ctx.Err() != nil {
			k.failQueued(ctx.Err())
			return
		}
		switch {
		case answered > 0 || errors.Is(err, errTimedOut):
			early = 0
			backoff = k.w.opts.MinBackoff
		default:
			early++
			backoff = k.nextBackoff(backoff)
			if early >= earlyDeathLimit {
				err = fmt.Errorf("the rewrite worker (%s -m %s) exits before answering: %w", k.interp, WorkerModule, err)
				k.w.recordError(k.interp, "", err.Error())
				k.w.log.Error("rewrite worker is broken; dropping its queue", "interpreter", k.interp, "err", err)
				k.failQueued(err)
				early = 0
			}
		}
		// Whatever is still queued needs the next process.
		select {
		case k.kick <- struct{}{}:
		default:
		}
	}
}

func (k *worker) nextBackoff(d time.Duration) time.Duration {
	if d < k.w.opts.MinBackoff {
		return k.w.opts.MinBackoff
	}
	return min(2*d, k.w.opts.MaxBackoff)
}

// proc is one worker process and the pipes run talks to it through.
type proc struct {
	cmd    *exec.Cmd
	stdin  *os.File
	stdout *os.File
	stderr *tail
	lines  chan []byte // closed when stdout ends
}

func (k *worker) start() (*proc, error) {
	cmd := exec.Command(k.interp, "-m", WorkerModule)
	cmd.Env = withPythonPath(k.w.opts.Environ(), k.w.opts.ShimDir)
	if k.w.opts.ShimDir != "" {
		// `-m` puts the working directory first on sys.path: make it the
		// shim, so a directory named aco wherever the server was started
		// cannot stand in for it.
		cmd.Dir = k.w.opts.ShimDir
	}
	inR, inW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		inR.Close()
		inW.Close()
		return nil, err
	}
	p := &proc{cmd: cmd, stdin: inW, stdout: outR, stderr: &tail{max: 4096}, lines: make(chan []byte)}
	cmd.Stdin, cmd.Stdout, cmd.Stderr = inR, outW, p.stderr
	cmd.WaitDelay = time.Second
	err = cmd.Start()
	inR.Close()
	outW.Close()
	if err != nil {
		inW.Close()
		outR.Close()
		return nil, err
	}
	// The reader belongs to serve, which always drains lines before it returns.
	go p.read()
	k.mu.Lock()
	k.pid, k.alive = cmd.Process.Pid, true
	k.started++
	k.mu.Unlock()
	k.w.log.Info("rewrite worker started", "interpreter", k.interp, "pid", cmd.Process.Pid)
	return p, nil
}

func (p *proc) read() {
	defer close(p.lines)
	sc := bufio.NewScanner(p.stdout)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		p.lines <- bytes.Clone(sc.Bytes())
	}
}

func (p *proc) send(j *job, timeout time.Duration) error {
	b, err := json.Marshal(request{ID: j.id, Path: j.path})
	if err != nil {
		return err
	}
	// A worker stuck on a file stops reading; the deadline keeps a full
	// pipe from stopping run too.
	_ = p.stdin.SetWriteDeadline(time.Now().Add(timeout))
	_, err = p.stdin.Write(append(b, '\n'))
	return err
}

// stop kills the process (if it still runs), reaps it and describes how it
// ended.
func (p *proc) stop() string {
	_ = p.cmd.Process.Kill()
	p.stdin.Close()
	p.stdout.Close()
	for range p.lines {
	}
	err := p.cmd.Wait()
	msg := "exited"
	if p.cmd.ProcessState != nil {
		msg = p.cmd.ProcessState.String()
	} else if err != nil {
		msg = err.Error()
	}
	if s := p.stderr.last(); s != "" {
		msg += ": " + s
	}
	return msg
}

// serve feeds p from the queue until p dies, hangs or ctx ends, and returns
// how many answers p gave. Requests are pipelined up to Window; p answers
// them one after the other, so the oldest unanswered request is the one p
// is working on, and its clock starts when p finished the one before.
func (k *worker) serve(ctx context.Context, p *proc) (int, error) {
	opts := k.w.opts
	var inflight []*job
	var headSince time.Time
	answered := 0
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	defer func() {
		k.mu.Lock()
		k.alive = false
		k.mu.Unlock()
	}()
	for {
		for len(inflight) < opts.Window {
			js := k.take(opts.Window - len(inflight))
			if len(js) == 0 {
				break
			}
			for _, j := range js {
				k.nextID++
				j.id, j.sent = k.nextID, time.Now()
				if len(inflight) == 0 {
					headSince = j.sent
				}
				inflight = append(inflight, j)
				if err := p.send(j, opts.Timeout); err != nil {
					return answered, k.died(p, inflight, fmt.Errorf("the worker stopped reading requests: %w", err))
				}
			}
		}
		if len(inflight) > 0 {
			timer.Reset(time.Until(headSince.Add(opts.Timeout)))
		} else {
			timer.Stop()
		}
		select {
		case <-ctx.Done():
			p.stop()
			for _, j := range inflight {
				k.finish(j, ctx.Err(), false)
			}
			return answered, ctx.Err()
		case <-k.kick:
		case line, ok := <-p.lines:
			if !ok {
				return answered, k.died(p, inflight, nil)
			}
			var a answer
			if err := json.Unmarshal(line, &a); err != nil || a.ID == 0 {
				k.w.log.Warn("rewrite worker wrote a line that is not an answer", "interpreter", k.interp, "line", truncate(string(line), 200))
				continue
			}
			i := indexOf(inflight, a.ID)
			if i < 0 {
				k.w.log.Warn("rewrite worker answered a request it was not sent", "interpreter", k.interp, "id", a.ID)
				continue
			}
			j := inflight[i]
			inflight = append(inflight[:i], inflight[i+1:]...)
			answered++
			headSince = time.Now()
			var err error
			if !a.OK {
				err = errors.New(cmp.Or(a.Error, "the rewrite worker failed without saying why"))
			}
			k.finish(j, err, true)
		case <-timer.C:
			head := inflight[0]
			how := p.stop()
			k.w.log.Warn("rewrite worker hung; killed it", "interpreter", k.interp, "path", head.path, "pid", p.cmd.Process.Pid, "how", how)
			k.finish(head, fmt.Errorf("the rewrite worker took more than %s over this file; it was killed and restarted", opts.Timeout), true)
			k.requeue(inflight[1:])
			return answered, errTimedOut
		}
	}
}

// died handles a process that ended on its own. The request it was working
// on is the likely cause: it is sent once more (the death may have been
// unrelated) and dropped with an error if the next process dies on it too.
func (k *worker) died(p *proc, inflight []*job, cause error) error {
	how := p.stop()
	if cause != nil {
		how = cause.Error() + "; " + how
	}
	err := fmt.Errorf("rewrite worker died: %s", how)
	k.w.log.Warn("rewrite worker died", "interpreter", k.interp, "pid", p.cmd.Process.Pid, "how", how)
	if len(inflight) == 0 {
		return err
	}
	head := inflight[0]
	head.tries++
	if head.tries >= 2 {
		k.finish(head, fmt.Errorf("the rewrite worker died on this file twice: %s", how), true)
		inflight = inflight[1:]
	}
	k.requeue(inflight)
	return err
}

func indexOf(js []*job, id uint64) int {
	for i, j := range js {
		if j.id == id {
			return i
		}
	}
	return -1
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// withPythonPath returns env with dir first on PYTHONPATH.
func withPythonPath(env []string, dir string) []string {
	if dir == "" {
		return env
	}
	out := make([]string, 0, len(env)+1)
	path := dir
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "PYTHONPATH="); ok {
			if v != "" {
				path = dir + string(filepath.ListSeparator) + v
			}
			continue
		}
		out = append(out, kv)
	}
	return append(out, "PYTHONPATH="+path)
}

// tail keeps the end of a worker's stderr for error messages.
type tail struct {
	mu  sync.Mutex
	max int
	buf []byte
}

func (t *tail) Write(b []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, b...)
	if n := len(t.buf) - t.max; n > 0 {
		t.buf = append(t.buf[:0], t.buf[n:]...)
	}
	return len(b), nil
}

// last returns the last line the worker wrote (a traceback's last line
// names the exception).
func (t *tail) last() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := strings.TrimSpace(string(t.buf))
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		s = s[i+1:]
	}
	return truncate(s, 500)
}
