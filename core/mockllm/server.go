// Package mockllm is a deterministic LLM server that speaks the real OpenAI
// wire format, so that demos, tests and benchmarks run offline with the real
// SDK packages unmodified (OpenAI at http://HOST:PORT/v1).
//
// Routes: POST /v1/responses and POST /v1/chat/completions (both with
// "stream": true as server-sent events in the real event sequence), POST
// /v1/embeddings, GET /v1/models and GET /v1/models/{id}. Any model name is
// accepted and echoed back. Other paths get a 404 and bad requests a 400, both
// in OpenAI's error JSON shape.
//
// The answer depends only on the last user message (for the Responses API a
// string input counts as one; instructions and system messages do not):
//
//   - The first arithmetic verb in it decides: "Add A to B" is B+A, "Subtract
//     A from B" is B-A, "Multiply A by B" is A*B, "Divide A by B" is A/B,
//     "Double X", "Triple X", "Halve X". Without one, "Output X" gives X.
//   - Operands are the numbers after the verb, in order; other words and
//     punctuation are ignored ("Add 1 to this number: 42." gives 43). A
//     missing last operand is taken from the last number before the verb
//     ("The number is 42. Add 1 to it." gives 43). Numbers may be negative
//     or decimal; arithmetic is exact and printed without trailing zeros.
//   - Otherwise (or on division by zero) the reply is "Echo: " followed by
//     the first 200 characters of the message.
//
// Every choice of a chat completion with n > 1 carries the same answer. Token
// counts are whitespace-separated words: input counts the whole prompt
// (instructions, system and earlier messages included), output the answer.
// Ids are derived from a hash of the request (without its stream options) and
// timestamps are fixed, so the same request gives the same response bytes.
// Embeddings are unit vectors derived from a hash of each input.
package mockllm

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"
)

// created is the timestamp every object carries: a fixed instant keeps
// responses byte-identical across runs.
const created = 1700000000

// maxBody bounds a request body; real prompts are far smaller.
const maxBody = 32 << 20

// Options tunes the server. The zero value answers at once.
type Options struct {
	// Latency is waited before a response's first byte, like a model's
	// time to first token.
	Latency time.Duration
	// ChunkDelay is waited between streamed text chunks.
	ChunkDelay time.Duration
	// Logger receives failures to write a response; nil discards them.
	Logger *slog.Logger
}

// Server is the mock LLM server. It is safe for concurrent use.
type Server struct {
	opts Options
	log  *slog.Logger
}

// New returns a server with the given options.
func New(opts Options) *Server {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Server{opts: opts, log: log}
}

// Handler returns the HTTP handler serving every route.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/responses", s.handleResponses)
	mux.HandleFunc("POST /v1/chat/completions", s.handleChat)
	mux.HandleFunc("POST /v1/embeddings", s.handleEmbeddings)
	mux.HandleFunc("GET /v1/models", s.handleModels)
	mux.HandleFunc("GET /v1/models/{id}", s.handleModel)
	// The real API answers any other method or path with a JSON 404.
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, &apiError{
			status:  http.StatusNotFound,
			Message: fmt.Sprintf("Invalid URL (%s %s)", r.Method, r.URL.Path),
			Type:    "invalid_request_error",
		})
	})
	return mux
}

type stoppingKey struct{}

// Serve serves HTTP on ln until ctx is cancelled, then stops accepting,
// lets in-flight requests finish (skipping their remaining injected delays)
// and returns. It returns nil after a cancellation and the serving error
// otherwise. ln is closed on return.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	stopping := make(chan struct{})
	hs := &http.Server{
		Handler:           s.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		BaseContext: func(net.Listener) context.Context {
			return context.WithValue(context.Background(), stoppingKey{}, (<-chan struct{})(stopping))
		},
	}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	close(stopping)
	err := hs.Shutdown(context.Background())
	if serr := <-errc; !errors.Is(serr, http.ErrServerClosed) && err == nil {
		err = serr
	}
	return err
}

// ListenAndServe listens on the TCP address addr and calls Serve.
func (s *Server) ListenAndServe(ctx context.Context, addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	return s.Serve(ctx, ln)
}

// pause waits d, or less when the server is stopping. It reports false when
// the client went away, so the handler can give up.
func (s *Server) pause(r *http.Request, d time.Duration) bool {
	if d <= 0 {
		return r.Context().Err() == nil
	}
	stopping, _ := r.Context().Value(stoppingKey{}).(<-chan struct{})
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-stopping:
		return true
	case <-r.Context().Done():
		return false
	}
}

// apiError is OpenAI's error object; status is the HTTP status it goes with.
type apiError struct {
	status  int
	Message string  `json:"message"`
	Type    string  `json:"type"`
	Param   *string `json:"param"`
	Code    *string `json:"code"`
}

func invalid(param, format string, args ...any) *apiError {
	e := &apiError{
		status:  http.StatusBadRequest,
		Message: fmt.Sprintf(format, args...),
		Type:    "invalid_request_error",
	}
	if param != "" {
		e.Param = &param
	}
	return e
}

func writeError(w http.ResponseWriter, e *apiError) {
	body, _ := json.Marshal(struct {
		Error *apiError `json:"error"`
	}{e})
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(e.status)
	_, _ = w.Write(body)
}

func (s *Server) writeJSON(w http.ResponseWriter, r *http.Request, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		s.log.Error("mockllm: encode response", "path", r.URL.Path, "err", err)
		writeError(w, &apiError{status: http.StatusInternalServerError, Message: "internal error", Type: "server_error"})
		return
	}
	w.Header().Set("Content-Type", "application/json")
	if _, err := w.Write(body); err != nil {
		s.log.Debug("mockllm: write response", "path", r.URL.Path, "err", err)
	}
}

// decodeRequest reads the JSON object body of r into v and returns the
// request's digest: a hash of the route and the canonical body without its
// stream options, so a streamed and a plain request get the same ids.
func decodeRequest(r *http.Request, v any) (string, *apiError) {
	body, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, maxBody))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return "", &apiError{status: http.StatusRequestEntityTooLarge, Message: fmt.Sprintf("The request body exceeds %d bytes.", maxBody), Type: "invalid_request_error"}
		}
		return "", invalid("", "Could not read the request body: %v", err)
	}
	var canon map[string]any
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&canon); err != nil || canon == nil {
		return "", invalid("", "We could not parse the JSON body of your request. The OpenAI API expects a JSON object.")
	}
	if err := json.Unmarshal(body, v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return "", invalid(te.Field, "Invalid type for '%s': expected %s, got a JSON %s.", te.Field, te.Type, te.Value)
		}
		return "", invalid("", "We could not parse the JSON body of your request: %v", err)
	}
	delete(canon, "stream")
	delete(canon, "stream_options")
	c, _ := json.Marshal(canon) // maps marshal with sorted keys
	sum := sha256.Sum256(append([]byte(r.URL.Path+"\n"), c...))
	return hex.EncodeToString(sum[:]), nil
}

// id returns a deterministic object id with the given prefix, taken from a
// digest and a salt that tells apart the objects of one response.
func id(prefix, digest, salt string, n int) string {
	sum := sha256.Sum256([]byte(digest + "/" + salt))
	return prefix + hex.EncodeToString(sum[:])[:n]
}
