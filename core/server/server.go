// Package server is the aco daemon: it speaks the runner protocol with the
// Python shims of running programs, records their calls in the store, finds
// the edges between calls, and serves the HTTP API the CLI and the web UI use.
// It listens on loopback only.
package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"sync"
	"time"

	"github.com/aco-dev/aco"
	"github.com/aco-dev/aco/core/watcher"
)

// DefaultMaxLine bounds one protocol line. Requests and responses of LLM
// calls with attachments can be large, but a runaway line must not exhaust
// the server's memory.
const DefaultMaxLine = 64 << 20

// Options configure a Server. Zero ports pick free ones (tests).
type Options struct {
	Store    aco.Store
	Logger   *slog.Logger
	Port     int    // runner protocol
	HTTPPort int    // HTTP API and web UI
	Token    string // required by every HTTP API request
	MaxLine  int
	Now      func() time.Time
	// Environ is the server's own environment, used to fill redacted
	// secrets when the server starts a rerun.
	Environ func() []string
	// Home is $ACO_HOME (rerun logs go there) and ShimDir the unpacked
	// Python shim; both are needed to start reruns.
	Home    string
	ShimDir string
	// UI serves the web UI at every path outside /api/.
	UI http.Handler
	// Watcher keeps the rewritten bytecode of the project roots runners
	// announce fresh; nil turns that off.
	Watcher Watcher
}

// Watcher is what the server needs of core/watcher.
type Watcher interface {
	Watch(root, interpreter string) error
	Status() watcher.Status
}

// Server is one aco daemon. Start it, then Close it; Close waits for every
// goroutine the server started.
type Server struct {
	opts    Options
	store   aco.Store
	log     *slog.Logger
	service *Service

	runnerLn net.Listener
	httpLn   net.Listener
	httpSrv  *http.Server

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	hub *Hub

	mu       sync.Mutex
	conns    map[*runnerConn]struct{}
	children map[int]*exec.Cmd // reruns this server started, by pid
}

// New returns a server that is not listening yet.
func New(opts Options) *Server {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.MaxLine == 0 {
		opts.MaxLine = DefaultMaxLine
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Server{
		opts:     opts,
		store:    opts.Store,
		log:      opts.Logger,
		ctx:      ctx,
		cancel:   cancel,
		conns:    map[*runnerConn]struct{}{},
		children: map[int]*exec.Cmd{},
		hub:      NewHub(),
	}
	if opts.Environ == nil {
		opts.Environ = os.Environ
		s.opts.Environ = os.Environ
	}
	s.service = &Service{Store: opts.Store, Events: s.hub}
	return s
}

// Service returns the run service the HTTP API serves.
func (s *Server) Service() *Service { return s.service }

// Start binds both loopback listeners and starts serving.
func (s *Server) Start() error {
	var err error
	s.runnerLn, err = net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", s.opts.Port))
	if err != nil {
		return aco.Errorf(aco.EUNAVAIL, "cannot listen for runners on 127.0.0.1:%d: %v (is another aco server running? try `aco server status`, or set ACO_PORT)", s.opts.Port, err)
	}
	s.httpLn, err = net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", s.opts.HTTPPort))
	if err != nil {
		s.runnerLn.Close()
		return aco.Errorf(aco.EUNAVAIL, "cannot listen for HTTP on 127.0.0.1:%d: %v (set ACO_HTTP_PORT to a free port)", s.opts.HTTPPort, err)
	}
	s.httpSrv = &http.Server{
		Handler:           s.handler(),
		ReadHeaderTimeout: 10 * time.Second,
		BaseContext:       func(net.Listener) context.Context { return s.ctx },
	}
	s.wg.Add(2)
	go func() {
		defer s.wg.Done()
		s.acceptRunners()
	}()
	go func() {
		defer s.wg.Done()
		if err := s.httpSrv.Serve(s.httpLn); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("http server stopped", "err", err)
		}
	}()
	s.log.Info("server started", "runner_addr", s.RunnerAddr(), "http_addr", s.HTTPAddr())
	return nil
}

// RunnerAddr is the runner protocol's address, host:port.
func (s *Server) RunnerAddr() string { return s.runnerLn.Addr().String() }

// HTTPAddr is the HTTP API's address, host:port.
func (s *Server) HTTPAddr() string { return s.httpLn.Addr().String() }

// Close tells live runners the server is going away, closes every
// connection and waits for all goroutines.
func (s *Server) Close() error {
	s.cancel()
	s.hub.Close()
	s.stopChildren()
	s.runnerLn.Close()
	shutdownCtx, done := context.WithTimeout(context.Background(), 5*time.Second)
	defer done()
	err := s.httpSrv.Shutdown(shutdownCtx)
	s.mu.Lock()
	for c := range s.conns {
		c.shutdown("server stopping")
	}
	s.mu.Unlock()
	s.wg.Wait()
	return err
}

func (s *Server) acceptRunners() {
	for {
		nc, err := s.runnerLn.Accept()
		if err != nil {
			if s.ctx.Err() == nil {
				s.log.Error("accepting runner connections stopped", "err", err)
			}
			return
		}
		c := newRunnerConn(s, nc)
		s.mu.Lock()
		if s.ctx.Err() != nil {
			s.mu.Unlock()
			nc.Close()
			return
		}
		s.conns[c] = struct{}{}
		s.mu.Unlock()
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			c.serve()
			s.mu.Lock()
			delete(s.conns, c)
			s.mu.Unlock()
		}()
	}
}

// liveConn returns the connection running runID's top-level run, if any.
func (s *Server) liveConn(runID string) *runnerConn {
	s.mu.Lock()
	defer s.mu.Unlock()
	for c := range s.conns {
		if c.topRunID() == runID {
			return c
		}
	}
	return nil
}

// newID returns n random bytes as hex: unguessable, and short enough to type
// as a prefix.
func newID(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	return hex.EncodeToString(b)
}
