package server

import (
	"context"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/aco-dev/aco"
	"github.com/aco-dev/aco/core/config"
	"github.com/aco-dev/aco/core/rerun"
)

// RerunStarted says where a rerun the server started can be followed.
type RerunStarted struct {
	RunID string `json:"run_id"`
	PID   int    `json:"pid"`
	Log   string `json:"log"` // the program's stdout and stderr
}

// Rerun starts the program of runID (or of its top-level run) again as a
// child of the server, continuing the same run: unchanged calls come from
// the cache. Secrets the recording redacted come from the server's own
// environment.
func (s *Server) Rerun(ctx context.Context, runID string) (*RerunStarted, error) {
	run, err := s.store.GetRun(ctx, runID)
	for err == nil && run.ParentID != "" {
		run, err = s.store.GetRun(ctx, run.ParentID)
	}
	if err != nil {
		return nil, notFound(err, "run %s", runID)
	}
	if s.liveConn(run.ID) != nil {
		return nil, aco.Errorf(aco.ECONFLICT, "run %s is still running: wait for it to end, then rerun", run.ID)
	}
	if s.opts.Home == "" || s.opts.ShimDir == "" {
		return nil, aco.Errorf(aco.EUNAVAIL, "this server was started without a home or shim directory and cannot start reruns")
	}
	cfg := config.Config{Home: s.opts.Home, Port: port(s.RunnerAddr()), HTTPPort: port(s.HTTPAddr())}
	plan, err := rerun.Plan(*run, cfg, s.opts.Environ(), s.opts.ShimDir)
	if err != nil {
		return nil, err
	}
	logDir := filepath.Join(s.opts.Home, "reruns")
	if err := os.MkdirAll(logDir, 0o700); err != nil {
		return nil, err
	}
	logPath := filepath.Join(logDir, run.ID+".log")
	out, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return nil, err
	}
	defer out.Close()
	cmd := exec.Command(plan.Path, plan.Argv[1:]...)
	cmd.Dir = run.Cwd
	cmd.Env = plan.Env
	cmd.Stdout, cmd.Stderr = out, out
	// Its own process group, so stopping the server can stop the rerun and
	// everything it started.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ctx.Err() != nil {
		return nil, aco.Errorf(aco.EUNAVAIL, "the server is stopping")
	}
	if err := cmd.Start(); err != nil {
		return nil, aco.Errorf(aco.EINVALID, "cannot start %s in %s: %v", plan.Path, run.Cwd, err)
	}
	pid := cmd.Process.Pid
	s.children[pid] = cmd
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		err := cmd.Wait()
		s.mu.Lock()
		delete(s.children, pid)
		s.mu.Unlock()
		s.log.Info("rerun ended", "run", run.ID, "pid", pid, "err", err)
	}()
	s.log.Info("rerun started", "run", run.ID, "pid", pid, "log", logPath)
	return &RerunStarted{RunID: run.ID, PID: pid, Log: logPath}, nil
}

// stopChildren ends the reruns this server started (and what they started).
func (s *Server) stopChildren() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for pid := range s.children {
		syscall.Kill(-pid, syscall.SIGTERM)
	}
	// A rerun that ignores SIGTERM must not hold the server's Close forever.
	if len(s.children) > 0 {
		pids := make([]int, 0, len(s.children))
		for pid := range s.children {
			pids = append(pids, pid)
		}
		time.AfterFunc(5*time.Second, func() {
			for _, pid := range pids {
				syscall.Kill(-pid, syscall.SIGKILL)
			}
		})
	}
}

func (s *Server) handleRerun(w http.ResponseWriter, r *http.Request) {
	id, ok := s.resolve(w, r)
	if !ok {
		return
	}
	started, err := s.Rerun(r.Context(), id)
	if err != nil {
		s.fail(w, err)
		return
	}
	writeJSON(w, http.StatusAccepted, started)
}

func port(hostport string) int {
	_, p, err := net.SplitHostPort(hostport)
	if err != nil {
		return 0
	}
	n, _ := strconv.Atoi(p)
	return n
}
