package mockllm

import (
	"encoding/json"
	"fmt"
	"net/http"
)

// sseWriter frames server-sent events. It knows nothing of what the events
// mean; the API handlers decide names and payloads.
type sseWriter struct {
	w  http.ResponseWriter
	rc *http.ResponseController
}

func newSSEWriter(w http.ResponseWriter) *sseWriter {
	h := w.Header()
	h.Set("Content-Type", "text/event-stream; charset=utf-8")
	h.Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	return &sseWriter{w: w, rc: http.NewResponseController(w)}
}

// event writes one event with an optional name and a JSON payload, and
// flushes it so the client sees it before the next one is produced.
func (s *sseWriter) event(name string, payload any) error {
	data, err := json.Marshal(payload)
	if err != nil {
		return err
	}
	return s.raw(name, data)
}

// raw writes one event whose data is given as is (e.g. "[DONE]").
func (s *sseWriter) raw(name string, data []byte) error {
	if name != "" {
		if _, err := fmt.Fprintf(s.w, "event: %s\n", name); err != nil {
			return err
		}
	}
	if _, err := fmt.Fprintf(s.w, "data: %s\n\n", data); err != nil {
		return err
	}
	return s.rc.Flush()
}
