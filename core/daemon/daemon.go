// Package daemon starts, finds and stops the long-running aco server process.
//
// The server process holds an exclusive flock on $ACO_HOME/server.lock for
// its whole life (Acquire) and describes itself in the pidfile. The lock, not
// the pid, says whether a server runs: it vanishes with the process, so a
// stale pidfile or a recycled pid cannot fool Status or Stop. Starters
// (aco-launch, `aco server start`) serialise on $ACO_HOME/start.lock so that
// many launches at once start one server.
package daemon

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/aco-dev/aco"
	"github.com/aco-dev/aco/core/config"
)

// EnvServe is set in the environment of the process Start spawns; the aco
// binary's root command runs the server in the foreground when it sees it
// (and unsets it, so the server's own children do not inherit it).
const EnvServe = "ACO_SERVE_DAEMON"

const (
	// acquireWait bounds how long Acquire retries a refused lock: long enough
	// to outlast another process's probe (held), far shorter than any start.
	acquireWait = 500 * time.Millisecond
	dialTimeout = 100 * time.Millisecond
	pollPeriod  = 10 * time.Millisecond
	// DefaultGrace is how long Stop waits after SIGTERM before SIGKILL.
	DefaultGrace = 5 * time.Second
)

// Info is the pidfile's content: which process serves and where.
type Info struct {
	PID       int       `json:"pid"`
	Port      int       `json:"port"`
	HTTPPort  int       `json:"http_port"`
	StartedAt time.Time `json:"started_at"`
	Version   string    `json:"version"`
}

// State is what Status finds.
type State struct {
	Running  bool // a server process holds the server lock
	Info          // from the pidfile; zero when there is none
	RunnerUp bool // the runner port answers
	HTTPUp   bool // the HTTP port answers
}

func lockPath(cfg config.Config) string      { return filepath.Join(cfg.Home, "server.lock") }
func startLockPath(cfg config.Config) string { return filepath.Join(cfg.Home, "start.lock") }

// Acquire makes the calling process the server of cfg.Home: it takes the
// server lock and writes the pidfile. release removes the pidfile and drops
// the lock; call it when the server has stopped serving. When another server
// already runs, the error is an *aco.Error with code ECONFLICT.
func Acquire(cfg config.Config) (release func(), err error) {
	if err := os.MkdirAll(cfg.Home, 0o700); err != nil {
		return nil, aco.Errorf(aco.EUNAVAIL, "cannot create aco's home %s: %v", cfg.Home, err)
	}
	var f *os.File
	ctx, cancel := context.WithTimeout(context.Background(), acquireWait)
	defer cancel()
	err = pollEvery(ctx, pollPeriod/2, func() (bool, error) {
		var err error
		f, err = tryLock(lockPath(cfg), syscall.LOCK_EX)
		return f != nil, err
	})
	if f == nil {
		if err != nil && !errors.Is(err, context.DeadlineExceeded) {
			return nil, fmt.Errorf("lock %s: %w", lockPath(cfg), err)
		}
		who := "another process"
		if info, rerr := readPIDFile(cfg); rerr == nil && info.PID != 0 {
			who = fmt.Sprintf("pid %d", info.PID)
		}
		return nil, aco.Errorf(aco.ECONFLICT, "an aco server already runs for %s (%s); stop it with `aco server stop`", cfg.Home, who)
	}
	info := Info{
		PID:       os.Getpid(),
		Port:      cfg.Port,
		HTTPPort:  cfg.HTTPPort,
		StartedAt: time.Now().UTC(),
		Version:   Version(),
	}
	if err := writePIDFile(cfg, info); err != nil {
		unlock(f)
		return nil, err
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			// Only our own pidfile: a successor cannot have written one while
			// we hold the lock, but a hand-edited file is not ours to remove.
			if cur, err := readPIDFile(cfg); err == nil && cur.PID == info.PID {
				os.Remove(cfg.PIDPath())
			}
			unlock(f)
		})
	}, nil
}

// Version names the build of the running binary, for the pidfile and status.
func Version() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	v := bi.Main.Version
	for _, s := range bi.Settings {
		if s.Key == "vcs.revision" && len(s.Value) >= 12 {
			v += "+" + s.Value[:12]
		}
	}
	return v
}

func readPIDFile(cfg config.Config) (Info, error) {
	var info Info
	b, err := os.ReadFile(cfg.PIDPath())
	if err != nil {
		return info, err
	}
	if err := json.Unmarshal(b, &info); err != nil {
		return info, fmt.Errorf("pidfile %s: %w", cfg.PIDPath(), err)
	}
	return info, nil
}

// writePIDFile replaces the pidfile atomically so readers never see half of it.
func writePIDFile(cfg config.Config, info Info) error {
	b, err := json.Marshal(info)
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(cfg.Home, ".server.pid-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(append(b, '\n')); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), cfg.PIDPath())
}

// Status reports whether a server runs for cfg.Home and whether its ports
// answer. The ports checked are the server's own, from its pidfile.
func Status(cfg config.Config) (State, error) {
	var st State
	running, err := held(lockPath(cfg))
	if err != nil {
		return st, fmt.Errorf("check %s: %w", lockPath(cfg), err)
	}
	if !running {
		return st, nil
	}
	st.Running = true
	if info, err := readPIDFile(cfg); err == nil {
		st.Info = info
	}
	port, httpPort := st.Port, st.HTTPPort
	if st.PID == 0 {
		// Between taking the lock and writing the pidfile.
		port, httpPort = cfg.Port, cfg.HTTPPort
	}
	st.RunnerUp = answers(port)
	st.HTTPUp = answers(httpPort)
	return st, nil
}

// answers reports whether something accepts TCP connections on the loopback port.
func answers(port int) bool {
	if port <= 0 {
		return false
	}
	c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), dialTimeout)
	if err != nil {
		return false
	}
	c.Close()
	return true
}

func ready(cfg config.Config) bool { return answers(cfg.Port) && answers(cfg.HTTPPort) }

// Start makes sure a server runs for cfg and answers on both of cfg's ports,
// spawning exe as a detached daemon when none does, and returns the server's
// pid. exe runs with env plus EnvServe=1 and cfg's home and ports, in a new
// session, with stdin from /dev/null and its output appended to
// cfg.LogPath(). Concurrent Starts, in one process or many, start one server;
// the others wait for it. ctx bounds the whole wait.
func Start(ctx context.Context, cfg config.Config, exe string, env []string) (int, error) {
	if err := os.MkdirAll(cfg.Home, 0o700); err != nil {
		return 0, aco.Errorf(aco.EUNAVAIL, "cannot create aco's home %s: %v", cfg.Home, err)
	}
	if pid, ok := serving(cfg); ok {
		return pid, nil
	}
	var lock *os.File
	pid := 0
	err := pollEvery(ctx, pollPeriod, func() (bool, error) {
		// A winner's server answering ends the wait as well as the lock does.
		if p, ok := serving(cfg); ok {
			pid = p
			return true, nil
		}
		var err error
		lock, err = tryLock(startLockPath(cfg), syscall.LOCK_EX)
		return lock != nil, err
	})
	if err != nil {
		return 0, startError(cfg, fmt.Errorf("waiting for another aco process starting the server: %w", err), -1)
	}
	if lock == nil {
		return pid, nil
	}
	defer unlock(lock)
	if p, ok := serving(cfg); ok {
		return p, nil
	}
	if running, err := held(lockPath(cfg)); err == nil && running {
		// A server started by other means (`aco server run`) is on its way up.
		return waitReady(ctx, cfg, 0, -1)
	}
	return spawn(ctx, cfg, exe, env)
}

// serving reports whether a server runs and answers on cfg's ports, and its pid.
func serving(cfg config.Config) (int, bool) {
	if !ready(cfg) {
		return 0, false
	}
	running, err := held(lockPath(cfg))
	if err != nil || !running {
		// Something else listens on aco's ports, or a server is just
		// stopping; either way it is not ours to use.
		return 0, false
	}
	info, _ := readPIDFile(cfg)
	return info.PID, true
}

// LogLimit is the size past which a server start moves server.log to
// server.log.1 (replacing an older one) and begins a new log, so the two
// files together stay below about twice this.
const LogLimit = 10 << 20

func spawn(ctx context.Context, cfg config.Config, exe string, env []string) (int, error) {
	if fi, err := os.Stat(cfg.LogPath()); err == nil && fi.Size() > LogLimit {
		// A failed rename only keeps the log growing; the server starts anyway.
		_ = os.Rename(cfg.LogPath(), cfg.LogPath()+".1")
	}
	logf, err := os.OpenFile(cfg.LogPath(), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return 0, aco.Errorf(aco.EUNAVAIL, "cannot open the server log %s: %v", cfg.LogPath(), err)
	}
	defer logf.Close()
	logStart, _ := logf.Seek(0, 2)
	devnull, err := os.Open(os.DevNull)
	if err != nil {
		return 0, err
	}
	defer devnull.Close()

	cmd := exec.Command(exe)
	cmd.Env = daemonEnv(cfg, env)
	cmd.Dir = cfg.Home // not the caller's cwd, which the daemon would keep busy
	cmd.Stdin = devnull
	cmd.Stdout = logf
	cmd.Stderr = logf
	// A new session: the terminal's Ctrl-C and hang-up go to the user's
	// program, not to the server that outlives it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return 0, aco.Errorf(aco.EUNAVAIL, "cannot start the aco server (%s): %v", exe, err)
	}
	fmt.Fprintf(logf, "%s aco: started server process pid=%d exe=%s\n", time.Now().UTC().Format(time.RFC3339), cmd.Process.Pid, exe)
	pid, err := waitReady(ctx, cfg, cmd.Process.Pid, logStart)
	// Not waited for: the daemon outlives this process (or, under
	// aco-launch, the interpreter it becomes).
	cmd.Process.Release()
	return pid, err
}

// waitReady waits until cfg's server answers. child, when not 0, is the
// process just spawned: its exit ends the wait early.
func waitReady(ctx context.Context, cfg config.Config, child int, logStart int64) (int, error) {
	pid := 0
	var exited error
	err := pollEvery(ctx, pollPeriod, func() (bool, error) {
		if p, ok := serving(cfg); ok {
			pid = p
			return true, nil
		}
		if child != 0 {
			var ws syscall.WaitStatus
			wp, err := syscall.Wait4(child, &ws, syscall.WNOHANG, nil)
			if err == nil && wp == child {
				// It may have lost to a server that won the race; the
				// last check tells.
				if p, ok := serving(cfg); ok {
					pid = p
					return true, nil
				}
				exited = fmt.Errorf("the server process exited (%s)", describeExit(ws))
				return false, exited
			}
		}
		return false, nil
	})
	if err == nil {
		return pid, nil
	}
	if exited == nil {
		err = fmt.Errorf("the server did not answer on %s and %s in time", cfg.RunnerAddr(), cfg.HTTPAddr())
	}
	return 0, startError(cfg, err, logStart)
}

func describeExit(ws syscall.WaitStatus) string {
	if ws.Signaled() {
		return "killed by " + ws.Signal().String()
	}
	return fmt.Sprintf("exit status %d", ws.ExitStatus())
}

// startError makes an *aco.Error naming the log and quoting what the server
// wrote since logStart (nothing when logStart < 0).
func startError(cfg config.Config, err error, logStart int64) error {
	msg := fmt.Sprintf("cannot start the aco server: %v; see %s", err, cfg.LogPath())
	if logStart >= 0 {
		if tail := logTail(cfg.LogPath(), logStart, 10); tail != "" {
			msg += "\n" + tail
		}
	}
	return aco.Errorf(aco.EUNAVAIL, "%s", msg)
}

// logTail returns the last n lines written to path from offset on.
func logTail(path string, offset int64, n int) string {
	b, err := os.ReadFile(path)
	if err != nil || offset > int64(len(b)) {
		return ""
	}
	lines := strings.Split(strings.TrimRight(string(b[offset:]), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.TrimSpace(strings.Join(lines, "\n"))
}

// daemonEnv is env with EnvServe and cfg's home and ports set, and without
// the variables that tie a process to one run: the server outlives the run
// whose launch started it.
func daemonEnv(cfg config.Config, env []string) []string {
	drop := map[string]bool{
		EnvServe: true, "ACO_HOME": true, "ACO_PORT": true, "ACO_HTTP_PORT": true,
		"ACO_RUN_ID": true, "ACO_RUN_NAME": true, "ACO_DISABLE": true,
	}
	out := make([]string, 0, len(env)+4)
	for _, kv := range env {
		k, _, _ := strings.Cut(kv, "=")
		if drop[k] || strings.HasPrefix(k, "ACO_RUNNER_") {
			continue
		}
		out = append(out, kv)
	}
	return append(out,
		EnvServe+"=1",
		"ACO_HOME="+cfg.Home,
		fmt.Sprintf("ACO_PORT=%d", cfg.Port),
		fmt.Sprintf("ACO_HTTP_PORT=%d", cfg.HTTPPort),
	)
}

// ErrNotRunning is returned by Stop when no server runs.
var ErrNotRunning = &aco.Error{Code: aco.ENOTFOUND, Message: "the aco server is not running"}

// Stop ends the server of cfg.Home: SIGTERM, then SIGKILL when it has not
// exited within DefaultGrace (or ctx ends first). It returns the pidfile of
// the stopped server, or ErrNotRunning.
func Stop(ctx context.Context, cfg config.Config) (Info, error) {
	return stop(ctx, cfg, DefaultGrace)
}

func stop(ctx context.Context, cfg config.Config, grace time.Duration) (Info, error) {
	running, err := held(lockPath(cfg))
	if err != nil {
		return Info{}, err
	}
	info, perr := readPIDFile(cfg)
	if !running {
		if perr == nil {
			os.Remove(cfg.PIDPath()) // stale: its process is gone
		}
		return Info{}, ErrNotRunning
	}
	if perr != nil || info.PID <= 0 {
		return Info{}, aco.Errorf(aco.ECONFLICT, "an aco server holds %s but its pidfile %s is unreadable; try again in a moment", lockPath(cfg), cfg.PIDPath())
	}
	// Gone means the lock is free and the ports are closed: a restart must
	// be able to bind them as soon as Stop returns.
	exited := func() (bool, error) {
		h, err := held(lockPath(cfg))
		return !h && !answers(info.Port) && !answers(info.HTTPPort), err
	}
	if err := syscall.Kill(info.PID, syscall.SIGTERM); err != nil && !errors.Is(err, syscall.ESRCH) {
		return info, aco.Errorf(aco.EUNAVAIL, "cannot signal the aco server (pid %d): %v", info.PID, err)
	}
	gctx, cancel := context.WithTimeout(ctx, grace)
	err = pollEvery(gctx, pollPeriod, exited)
	cancel()
	if err == nil {
		return info, nil
	}
	if ctx.Err() != nil {
		return info, ctx.Err()
	}
	syscall.Kill(info.PID, syscall.SIGKILL)
	kctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if err := pollEvery(kctx, pollPeriod, exited); err != nil {
		return info, aco.Errorf(aco.EUNAVAIL, "the aco server (pid %d) did not exit after SIGKILL", info.PID)
	}
	// Killed servers leave their pidfile behind.
	if cur, err := readPIDFile(cfg); err == nil && cur.PID == info.PID {
		os.Remove(cfg.PIDPath())
	}
	return info, nil
}
