package server

import (
	"crypto/subtle"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/aco-dev/aco"
	"github.com/aco-dev/aco/core/watcher"
)

// maxBody bounds request bodies of the HTTP API (edited inputs can be large).
const maxBody = 32 << 20

func (s *Server) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/status", s.handleStatus)
	mux.HandleFunc("GET /api/runs", s.handleListRuns)
	mux.HandleFunc("GET /api/runs/{ref}", s.handleGraph)
	mux.HandleFunc("PATCH /api/runs/{ref}", s.handleUpdateRun)
	mux.HandleFunc("DELETE /api/runs/{ref}", s.handleDeleteRun)
	mux.HandleFunc("GET /api/nodes/{id}", s.handleGetCall)
	mux.HandleFunc("POST /api/nodes/{id}/edit", s.handleEditCall)
	mux.HandleFunc("POST /api/clear", s.handleClear)
	mux.HandleFunc("POST /api/runs/{ref}/rerun", s.handleRerun)
	mux.HandleFunc("GET /api/events", s.handleEvents)
	mux.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, aco.Errorf(aco.ENOTFOUND, "no API endpoint %s %s", r.Method, r.URL.Path))
	})
	if s.opts.UI != nil {
		mux.Handle("/", s.opts.UI)
	}
	return s.guard(mux)
}

// guard admits only requests that a page served by this server, or a local
// client holding the token, can make: the Host must be loopback (against DNS
// rebinding), a browser's Origin must be this server, and every API request
// must carry the token.
func (s *Server) guard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !loopbackHost(r.Host) {
			writeError(w, aco.Errorf(aco.EFORBIDDEN, "host %q is not a loopback address", r.Host))
			return
		}
		if o := r.Header.Get("Origin"); o != "" && !s.sameOrigin(o) {
			writeError(w, aco.Errorf(aco.EFORBIDDEN, "origin %q may not use this server", o))
			return
		}
		if strings.HasPrefix(r.URL.Path, "/api/") && !s.authorized(r) {
			writeError(w, aco.Errorf(aco.EUNAUTH, "missing or wrong token: use the address `aco server start` prints, or send Authorization: Bearer <token from $ACO_HOME/token>"))
			return
		}
		next.ServeHTTP(w, r)
	})
}

func loopbackHost(hostport string) bool {
	host, _, err := net.SplitHostPort(hostport)
	if err != nil {
		host = hostport
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(strings.Trim(host, "[]"))
	return ip != nil && ip.IsLoopback()
}

func (s *Server) sameOrigin(origin string) bool {
	_, port, _ := net.SplitHostPort(s.HTTPAddr())
	for _, host := range []string{"127.0.0.1", "localhost", "[::1]"} {
		if origin == "http://"+host+":"+port {
			return true
		}
	}
	return false
}

func (s *Server) authorized(r *http.Request) bool {
	if s.opts.Token == "" {
		return false
	}
	got := r.URL.Query().Get("token")
	if h := r.Header.Get("Authorization"); strings.HasPrefix(h, "Bearer ") {
		got = strings.TrimPrefix(h, "Bearer ")
	}
	return subtle.ConstantTimeCompare([]byte(got), []byte(s.opts.Token)) == 1
}

// Status is what GET /api/status answers.
type Status struct {
	PID        int             `json:"pid"`
	RunnerAddr string          `json:"runner_addr"`
	HTTPAddr   string          `json:"http_addr"`
	Time       time.Time       `json:"time"`
	Watcher    *watcher.Status `json:"watcher,omitempty"`
}

func (s *Server) handleStatus(w http.ResponseWriter, r *http.Request) {
	st := Status{PID: os.Getpid(), RunnerAddr: s.RunnerAddr(), HTTPAddr: s.HTTPAddr(), Time: s.opts.Now().UTC()}
	if s.opts.Watcher != nil {
		ws := s.opts.Watcher.Status()
		st.Watcher = &ws
	}
	writeJSON(w, http.StatusOK, st)
}

func (s *Server) handleListRuns(w http.ResponseWriter, r *http.Request) {
	runs, err := s.service.ListRuns(r.Context())
	if err != nil {
		s.fail(w, err)
		return
	}
	if runs == nil {
		runs = []aco.Run{}
	}
	writeJSON(w, http.StatusOK, runs)
}

func (s *Server) resolve(w http.ResponseWriter, r *http.Request) (string, bool) {
	id, err := s.service.ResolveRun(r.Context(), r.PathValue("ref"))
	if err != nil {
		s.fail(w, notFound(err, "run %s", r.PathValue("ref")))
		return "", false
	}
	return id, true
}

func (s *Server) handleGraph(w http.ResponseWriter, r *http.Request) {
	id, ok := s.resolve(w, r)
	if !ok {
		return
	}
	g, err := s.service.Graph(r.Context(), id)
	if err != nil {
		s.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, g)
}

func (s *Server) handleUpdateRun(w http.ResponseWriter, r *http.Request) {
	id, ok := s.resolve(w, r)
	if !ok {
		return
	}
	var u aco.RunUpdate
	if !readJSON(w, r, &u) {
		return
	}
	if err := s.service.UpdateRun(r.Context(), id, u); err != nil {
		s.fail(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) handleDeleteRun(w http.ResponseWriter, r *http.Request) {
	id, ok := s.resolve(w, r)
	if !ok {
		return
	}
	if err := s.service.DeleteRun(r.Context(), id); err != nil {
		s.fail(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) handleGetCall(w http.ResponseWriter, r *http.Request) {
	c, err := s.service.GetCall(r.Context(), r.PathValue("id"))
	if err != nil {
		s.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, c)
}

func (s *Server) handleEditCall(w http.ResponseWriter, r *http.Request) {
	var e aco.CallEdit
	if !readJSON(w, r, &e) {
		return
	}
	if err := s.service.EditCall(r.Context(), r.PathValue("id"), e); err != nil {
		s.fail(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) handleClear(w http.ResponseWriter, r *http.Request) {
	if err := s.service.Clear(r.Context()); err != nil {
		s.fail(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// fail logs internal errors once and answers with the user-facing message.
func (s *Server) fail(w http.ResponseWriter, err error) {
	if aco.ErrorCode(err) == aco.EINTERNAL {
		s.log.Error("http request failed", "err", err)
	}
	writeError(w, err)
}

func readJSON(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		writeError(w, aco.Errorf(aco.EINVALID, "request body: %v", err))
		return false
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		writeError(w, aco.Errorf(aco.EINVALID, "request body: one JSON value expected"))
		return false
	}
	return true
}

// HTTPStatus maps an error code to its HTTP status; the client maps back.
var HTTPStatus = map[string]int{
	aco.EINVALID:   http.StatusBadRequest,
	aco.EUNAUTH:    http.StatusUnauthorized,
	aco.EFORBIDDEN: http.StatusForbidden,
	aco.ENOTFOUND:  http.StatusNotFound,
	aco.ECONFLICT:  http.StatusConflict,
	aco.EUNAVAIL:   http.StatusServiceUnavailable,
	aco.EINTERNAL:  http.StatusInternalServerError,
}

// ErrorBody is the JSON of every error answer.
type ErrorBody struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

func writeError(w http.ResponseWriter, err error) {
	var body ErrorBody
	body.Error.Code = aco.ErrorCode(err)
	body.Error.Message = aco.ErrorMessage(err)
	status, ok := HTTPStatus[body.Error.Code]
	if !ok {
		status = http.StatusInternalServerError
	}
	writeJSON(w, status, body)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}
