package server

import (
	"context"
	"encoding/json"
	"net/http"
	"sync"
	"time"

	"github.com/coder/websocket"

	"github.com/aco-dev/aco"
)

// Event is one live update for the web UI, sent as JSON over /api/events.
type Event struct {
	Type  string        `json:"type"` // run, node, edge, log, removed, cleared
	Run   *aco.Run      `json:"run,omitempty"`
	Node  *aco.Call     `json:"node,omitempty"`
	Edge  *aco.Edge     `json:"edge,omitempty"`
	Log   *aco.LogEntry `json:"log,omitempty"`
	RunID string        `json:"run_id,omitempty"`
}

// Hub fans events out to subscribers. A subscriber that falls behind is
// dropped (its channel closed): the page reconnects and reloads, which is
// better than the server holding an unbounded backlog.
type Hub struct {
	mu     sync.Mutex
	subs   map[chan []byte]struct{}
	closed bool
}

// NewHub returns a hub without subscribers.
func NewHub() *Hub { return &Hub{subs: map[chan []byte]struct{}{}} }

const subscriberBuffer = 1024

// Subscribe returns a channel of encoded events and a function that ends the
// subscription. The channel is closed when the hub drops the subscriber or
// closes.
func (h *Hub) Subscribe() (<-chan []byte, func()) {
	ch := make(chan []byte, subscriberBuffer)
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		close(ch)
		return ch, func() {}
	}
	h.subs[ch] = struct{}{}
	return ch, func() {
		h.mu.Lock()
		defer h.mu.Unlock()
		if _, ok := h.subs[ch]; ok {
			delete(h.subs, ch)
			close(ch)
		}
	}
}

// Publish sends ev to every subscriber without blocking.
func (h *Hub) Publish(ev Event) {
	if h == nil {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.subs) == 0 {
		return
	}
	b, err := json.Marshal(ev)
	if err != nil {
		return
	}
	for ch := range h.subs {
		select {
		case ch <- b:
		default:
			delete(h.subs, ch)
			close(ch)
		}
	}
}

// Close drops every subscriber; later subscriptions are closed at once.
func (h *Hub) Close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.closed = true
	for ch := range h.subs {
		delete(h.subs, ch)
		close(ch)
	}
}

// handleEvents streams events over a WebSocket until the client goes, the
// hub drops it, or the server stops. The guard has already checked the token
// and the Origin; websocket.Accept checks the Origin against the Host again.
func (s *Server) handleEvents(w http.ResponseWriter, r *http.Request) {
	s.wg.Add(1)
	defer s.wg.Done()
	// Subscribed before the handshake completes, so that whatever happens
	// after the page's socket opens reaches it.
	events, unsubscribe := s.hub.Subscribe()
	defer unsubscribe()
	conn, err := websocket.Accept(w, r, nil)
	if err != nil {
		return
	}
	defer conn.CloseNow()
	// The page sends nothing; reading only notices it going away.
	ctx := conn.CloseRead(s.ctx)
	for {
		select {
		case <-ctx.Done():
			conn.Close(websocket.StatusGoingAway, "server stopping")
			return
		case b, ok := <-events:
			if !ok {
				conn.Close(websocket.StatusTryAgainLater, "fell behind: reload")
				return
			}
			wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			err := conn.Write(wctx, websocket.MessageText, b)
			cancel()
			if err != nil {
				return
			}
		}
	}
}
