// Package mockllm is a deterministic LLM server that speaks the real wire
// formats of OpenAI, Anthropic, Google GenAI (Gemini API) and Together, so
// that demos, tests and benchmarks run offline with the real SDK packages
// unmodified. Point each SDK at it with its own base-URL setting and any API
// key:
//
//	openai        OPENAI_BASE_URL=http://HOST:PORT/v1, or OpenAI(base_url=...)
//	anthropic     ANTHROPIC_BASE_URL=http://HOST:PORT, or Anthropic(base_url=...)
//	google-genai  genai.Client(api_key="x", http_options={"base_url": "http://HOST:PORT"})
//	together      TOGETHER_BASE_URL=http://HOST:PORT, or Together(base_url=...)
//
// Routes:
//
//   - OpenAI: POST /v1/responses and POST /v1/chat/completions (both with
//     "stream": true as server-sent events in the real event sequence), POST
//     /v1/embeddings, GET /v1/models and GET /v1/models/{id}.
//   - Anthropic: POST /v1/messages (with "stream": true: message_start,
//     content_block_start, ping, content_block_delta, content_block_stop,
//     message_delta, message_stop) and POST /v1/messages/count_tokens.
//     max_tokens is required but does not cut the answer short.
//   - Google GenAI: POST /v1/models/{model}:generateContent and
//     :streamGenerateContent (server-sent events with ?alt=sse, which the SDK
//     always asks for; a JSON array otherwise), :countTokens, :embedContent
//     and :batchEmbedContents; the same under /v1beta, the version the SDK
//     uses when GOOGLE_GENAI_API_VERSION=beta.
//   - Together: POST /v1/chat/completions, as for OpenAI; a request from the
//     together SDK (its User-Agent starts with "Together/") gets Together's
//     shape, which its types require: a "prompt" list, a role in every
//     streamed delta, and usage in the last chunk.
//
// Any model name is accepted and echoed back. Bad requests get a 400 and
// unknown paths a 404, each in its provider's error JSON shape.
//
// The answer depends only on the last user message (for the Responses API a
// string input counts as one; instructions, system prompts and tool results
// do not):
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
// Every choice of a chat completion with n > 1 (and every Gemini candidate)
// carries the same answer. Token counts are whitespace-separated words: input
// counts the whole prompt (instructions, system prompts, earlier messages and
// tool results included), output the answer. Ids are derived from a hash of
// the request (without its stream options; a Gemini stream and a plain call
// of the same request share them) and timestamps are fixed, so the same
// request gives the same response bytes. Embeddings are unit vectors derived
// from a hash of each input.
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
	"strings"
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
	mux.HandleFunc("POST /v1/messages", s.handleMessages)
	mux.HandleFunc("POST /v1/messages/count_tokens", s.handleCountTokens)
	// A Gemini path's last segment is "{model}:{method}", which a mux
	// wildcard cannot split; the handler does.
	mux.HandleFunc("POST /v1/models/{call}", s.handleGemini)
	mux.HandleFunc("POST /v1beta/models/{call}", s.handleGemini)
	mux.HandleFunc("/", notFound)
	return mux
}

// notFound answers any other method or path with a JSON 404, as the real
// APIs do, in the shape of the provider the path belongs to.
func notFound(w http.ResponseWriter, r *http.Request) {
	e := &apiError{
		status:  http.StatusNotFound,
		Message: fmt.Sprintf("Invalid URL (%s %s)", r.Method, r.URL.Path),
		Type:    "invalid_request_error",
	}
	switch p := r.URL.Path; {
	case strings.HasPrefix(p, "/v1/messages"):
		writeAnthropicError(w, e)
	case strings.HasPrefix(p, "/v1beta/") || strings.HasPrefix(p, "/v1/models/") && strings.Contains(p, ":"):
		writeGeminiError(w, e)
	default:
		writeError(w, e)
	}
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
// request's digest: a hash of route and the canonical body without its
// stream options, so a streamed and a plain request get the same ids.
func decodeRequest(r *http.Request, route string, v any) (string, *apiError) {
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
		return "", invalid("", "We could not parse the JSON body of your request. The API expects a JSON object.")
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
	sum := sha256.Sum256(append([]byte(route+"\n"), c...))
	return hex.EncodeToString(sum[:]), nil
}

// id returns a deterministic object id with the given prefix, taken from a
// digest and a salt that tells apart the objects of one response.
func id(prefix, digest, salt string, n int) string {
	sum := sha256.Sum256([]byte(digest + "/" + salt))
	return prefix + hex.EncodeToString(sum[:])[:n]
}
