package mockllm

import (
	"encoding/json"
	"net/http"
	"strings"
)

// anthropicRequest holds the fields of POST /v1/messages (and of
// count_tokens, which takes the same ones but max_tokens) the mock reads.
type anthropicRequest struct {
	Model     string            `json:"model"`
	MaxTokens *int              `json:"max_tokens"`
	Messages  []json.RawMessage `json:"messages"`
	System    json.RawMessage   `json:"system"`
	Stream    bool              `json:"stream"`
}

type anthropicMessage struct {
	Role    string          `json:"role"`
	Content json.RawMessage `json:"content"`
}

// anthropicBlock is one content block of a message. Only text and tool
// results carry text the mock reads; images, documents and tool uses are
// passed over.
type anthropicBlock struct {
	Type    string          `json:"type"`
	Text    *string         `json:"text"`
	Content json.RawMessage `json:"content"` // a tool_result's own content
}

// anthropicConversation reads the system prompt and the messages. A user
// message made only of tool results is the tools speaking, not the user, so
// it counts in the prompt but leaves the last user message as it was.
func anthropicConversation(req *anthropicRequest) (*conversation, *apiError) {
	if req.Messages == nil {
		return nil, invalid("messages", "messages: Field required")
	}
	if len(req.Messages) == 0 {
		return nil, invalid("messages", "messages: at least one message is required")
	}
	c := &conversation{}
	if len(req.System) > 0 {
		text, ok := contentText(req.System)
		if !ok {
			return nil, invalid("system", "system: Input should be a valid string or a list of text blocks")
		}
		c.add("system", text)
	}
	for i, raw := range req.Messages {
		var m anthropicMessage
		if json.Unmarshal(raw, &m) != nil {
			return nil, invalid("messages", "messages.%d: Input should be an object with 'role' and 'content'", i)
		}
		if m.Role != "user" && m.Role != "assistant" {
			return nil, invalid("messages", "messages.%d.role: Input should be 'user' or 'assistant'", i)
		}
		var s string
		if json.Unmarshal(m.Content, &s) == nil {
			c.add(m.Role, s)
			continue
		}
		var blocks []anthropicBlock
		if json.Unmarshal(m.Content, &blocks) != nil {
			return nil, invalid("messages", "messages.%d.content: Input should be a valid string or a list of content blocks", i)
		}
		var texts []string
		onlyTools := len(blocks) > 0
		for _, b := range blocks {
			if b.Type == "tool_result" {
				text, _ := contentText(b.Content)
				c.add("tool", text)
				continue
			}
			onlyTools = false
			if b.Text != nil {
				texts = append(texts, *b.Text)
			}
		}
		if !onlyTools {
			c.add(m.Role, strings.Join(texts, "\n"))
		}
	}
	return c, nil
}

type anthropicResponse struct {
	ID           string          `json:"id"`
	Type         string          `json:"type"`
	Role         string          `json:"role"`
	Model        string          `json:"model"`
	Content      []anthropicText `json:"content"`
	StopReason   *string         `json:"stop_reason"`
	StopSequence *string         `json:"stop_sequence"`
	Usage        anthropicUsage  `json:"usage"`
}

type anthropicText struct {
	Type string `json:"type"`
	Text string `json:"text"`
}

type anthropicUsage struct {
	InputTokens              int `json:"input_tokens"`
	CacheCreationInputTokens int `json:"cache_creation_input_tokens"`
	CacheReadInputTokens     int `json:"cache_read_input_tokens"`
	CacheCreation            struct {
		Ephemeral5mInputTokens int `json:"ephemeral_5m_input_tokens"`
		Ephemeral1hInputTokens int `json:"ephemeral_1h_input_tokens"`
	} `json:"cache_creation"`
	OutputTokens int    `json:"output_tokens"`
	ServiceTier  string `json:"service_tier"`
}

// Stream events, with their fields in the order the real API sends them.
type (
	messageStartEvent struct {
		Type    string             `json:"type"`
		Message *anthropicResponse `json:"message"`
	}
	blockStartEvent struct {
		Type         string        `json:"type"`
		Index        int           `json:"index"`
		ContentBlock anthropicText `json:"content_block"`
	}
	blockDeltaEvent struct {
		Type  string `json:"type"`
		Index int    `json:"index"`
		Delta struct {
			Type string `json:"type"`
			Text string `json:"text"`
		} `json:"delta"`
	}
	blockStopEvent struct {
		Type  string `json:"type"`
		Index int    `json:"index"`
	}
	messageDeltaEvent struct {
		Type  string `json:"type"`
		Delta struct {
			StopReason   string  `json:"stop_reason"`
			StopSequence *string `json:"stop_sequence"`
		} `json:"delta"`
		Usage struct {
			InputTokens              int `json:"input_tokens"`
			CacheCreationInputTokens int `json:"cache_creation_input_tokens"`
			CacheReadInputTokens     int `json:"cache_read_input_tokens"`
			OutputTokens             int `json:"output_tokens"`
		} `json:"usage"`
	}
	// typeOnly is the payload of ping and message_stop.
	typeOnly struct {
		Type string `json:"type"`
	}
)

const endTurn = "end_turn"

// readAnthropic decodes and checks a Messages request. When it reports
// false it has written the error response.
func readAnthropic(w http.ResponseWriter, r *http.Request, needMaxTokens bool) (*anthropicRequest, *conversation, string, bool) {
	var req anthropicRequest
	digest, aerr := decodeRequest(r, r.URL.Path, &req)
	if aerr == nil && req.Model == "" {
		aerr = invalid("model", "model: Field required")
	}
	if aerr == nil && needMaxTokens {
		switch {
		case req.MaxTokens == nil:
			aerr = invalid("max_tokens", "max_tokens: Field required")
		case *req.MaxTokens < 1:
			aerr = invalid("max_tokens", "max_tokens: Input should be greater than or equal to 1")
		}
	}
	var conv *conversation
	if aerr == nil {
		conv, aerr = anthropicConversation(&req)
	}
	if aerr != nil {
		writeAnthropicError(w, aerr)
		return nil, nil, "", false
	}
	// The SDKs expose this header as the response's request id.
	w.Header().Set("request-id", id("req_", digest, "request", 24))
	return &req, conv, digest, true
}

func (s *Server) handleMessages(w http.ResponseWriter, r *http.Request) {
	req, conv, digest, ok := readAnthropic(w, r, true)
	if !ok || !s.pause(r, s.opts.Latency) {
		return
	}
	answer := Answer(conv.lastUser)
	msg := &anthropicResponse{
		ID:      id("msg_", digest, "message", 24),
		Type:    "message",
		Role:    "assistant",
		Model:   req.Model,
		Content: []anthropicText{},
		Usage:   anthropicUsage{InputTokens: countTokens(conv.prompt()), ServiceTier: "standard"},
	}
	if !req.Stream {
		stop := endTurn
		msg.Content = []anthropicText{{Type: "text", Text: answer}}
		msg.StopReason = &stop
		msg.Usage.OutputTokens = countTokens(answer)
		s.writeJSON(w, r, msg)
		return
	}
	if err := s.streamMessage(w, r, msg, answer); err != nil {
		s.log.Debug("mockllm: stream message", "path", r.URL.Path, "err", err)
	}
}

// streamMessage sends the event sequence of a one-block text message. msg
// is the message as message_start carries it: no content, no stop reason.
func (s *Server) streamMessage(w http.ResponseWriter, r *http.Request, msg *anthropicResponse, answer string) error {
	sse := newSSEWriter(w)
	if err := sse.event("message_start", messageStartEvent{"message_start", msg}); err != nil {
		return err
	}
	if err := sse.event("content_block_start", blockStartEvent{"content_block_start", 0, anthropicText{Type: "text"}}); err != nil {
		return err
	}
	if err := sse.event("ping", typeOnly{"ping"}); err != nil {
		return err
	}
	for i, d := range splitDeltas(answer) {
		if i > 0 && !s.pause(r, s.opts.ChunkDelay) {
			return r.Context().Err()
		}
		ev := blockDeltaEvent{Type: "content_block_delta", Index: 0}
		ev.Delta.Type = "text_delta"
		ev.Delta.Text = d
		if err := sse.event("content_block_delta", ev); err != nil {
			return err
		}
	}
	if err := sse.event("content_block_stop", blockStopEvent{"content_block_stop", 0}); err != nil {
		return err
	}
	// Usage counts on message_delta are cumulative totals.
	md := messageDeltaEvent{Type: "message_delta"}
	md.Delta.StopReason = endTurn
	md.Usage.InputTokens = msg.Usage.InputTokens
	md.Usage.OutputTokens = countTokens(answer)
	if err := sse.event("message_delta", md); err != nil {
		return err
	}
	return sse.event("message_stop", typeOnly{"message_stop"})
}

func (s *Server) handleCountTokens(w http.ResponseWriter, r *http.Request) {
	_, conv, _, ok := readAnthropic(w, r, false)
	if !ok {
		return
	}
	s.writeJSON(w, r, struct {
		InputTokens int `json:"input_tokens"`
	}{countTokens(conv.prompt())})
}

// anthropicErrorTypes names Anthropic's error type for an HTTP status.
var anthropicErrorTypes = map[int]string{
	http.StatusBadRequest:            "invalid_request_error",
	http.StatusNotFound:              "not_found_error",
	http.StatusRequestEntityTooLarge: "request_too_large",
	http.StatusInternalServerError:   "api_error",
}

// writeAnthropicError writes e in Anthropic's error shape.
func writeAnthropicError(w http.ResponseWriter, e *apiError) {
	typ, ok := anthropicErrorTypes[e.status]
	if !ok {
		typ = "api_error"
	}
	type detail struct {
		Type    string `json:"type"`
		Message string `json:"message"`
	}
	body, _ := json.Marshal(struct {
		Type  string `json:"type"`
		Error detail `json:"error"`
	}{"error", detail{typ, e.Message}})
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(e.status)
	_, _ = w.Write(body)
}
