package mockllm

import (
	"encoding/json"
	"net/http"
)

// responsesRequest holds the fields of POST /v1/responses the mock reads or
// echoes back, as the real API echoes its settings in the response.
type responsesRequest struct {
	Model              string          `json:"model"`
	Input              json.RawMessage `json:"input"`
	Instructions       json.RawMessage `json:"instructions"`
	Stream             bool            `json:"stream"`
	Metadata           json.RawMessage `json:"metadata"`
	Temperature        *float64        `json:"temperature"`
	TopP               *float64        `json:"top_p"`
	MaxOutputTokens    *int            `json:"max_output_tokens"`
	PreviousResponseID *string         `json:"previous_response_id"`
	Tools              json.RawMessage `json:"tools"`
	ToolChoice         json.RawMessage `json:"tool_choice"`
	ParallelToolCalls  *bool           `json:"parallel_tool_calls"`
	Text               json.RawMessage `json:"text"`
	Reasoning          json.RawMessage `json:"reasoning"`
	Store              *bool           `json:"store"`
	Truncation         *string         `json:"truncation"`
	User               *string         `json:"user"`
}

// inputItem is one element of a list input: a message (with or without
// "type": "message") or another item such as a function call output.
type inputItem struct {
	Type    string          `json:"type"`
	Role    string          `json:"role"`
	Content json.RawMessage `json:"content"`
	Output  json.RawMessage `json:"output"`
}

// responsesConversation reads instructions and input. Instructions count in
// the prompt but are never the user message.
func responsesConversation(req *responsesRequest) (*conversation, *apiError) {
	c := &conversation{}
	if len(req.Instructions) > 0 {
		text, ok := contentText(req.Instructions)
		if !ok {
			return nil, invalid("instructions", "Invalid type for 'instructions': expected a string.")
		}
		c.add("system", text)
	}
	if len(req.Input) == 0 || string(req.Input) == "null" {
		return nil, invalid("input", "Missing required parameter: 'input'.")
	}
	var s string
	if json.Unmarshal(req.Input, &s) == nil {
		c.add("user", s)
		return c, nil
	}
	var items []inputItem
	if json.Unmarshal(req.Input, &items) != nil {
		return nil, invalid("input", "Invalid type for 'input': expected a string or an array of input items.")
	}
	for i, it := range items {
		raw := it.Content
		if it.Role == "" && len(it.Output) > 0 {
			raw = it.Output
		}
		text, ok := contentText(raw)
		if !ok {
			return nil, invalid("input", "Invalid type for 'input[%d].content': expected a string or an array of content parts.", i)
		}
		c.add(it.Role, text)
	}
	return c, nil
}

type responseObject struct {
	ID                 string          `json:"id"`
	Object             string          `json:"object"`
	CreatedAt          int64           `json:"created_at"`
	Status             string          `json:"status"`
	Background         bool            `json:"background"`
	CompletedAt        *int64          `json:"completed_at"`
	Error              json.RawMessage `json:"error"`
	IncompleteDetails  json.RawMessage `json:"incomplete_details"`
	Instructions       json.RawMessage `json:"instructions"`
	MaxOutputTokens    *int            `json:"max_output_tokens"`
	Metadata           json.RawMessage `json:"metadata"`
	Model              string          `json:"model"`
	Output             []outputMessage `json:"output"`
	ParallelToolCalls  bool            `json:"parallel_tool_calls"`
	PreviousResponseID *string         `json:"previous_response_id"`
	Reasoning          json.RawMessage `json:"reasoning"`
	Store              bool            `json:"store"`
	Temperature        float64         `json:"temperature"`
	Text               json.RawMessage `json:"text"`
	ToolChoice         json.RawMessage `json:"tool_choice"`
	Tools              json.RawMessage `json:"tools"`
	TopP               float64         `json:"top_p"`
	Truncation         string          `json:"truncation"`
	Usage              *responseUsage  `json:"usage"`
	User               *string         `json:"user"`
}

type outputMessage struct {
	ID      string       `json:"id"`
	Type    string       `json:"type"`
	Status  string       `json:"status"`
	Role    string       `json:"role"`
	Content []outputText `json:"content"`
}

type outputText struct {
	Type        string `json:"type"`
	Text        string `json:"text"`
	Annotations []any  `json:"annotations"`
	Logprobs    []any  `json:"logprobs"`
}

func newOutputText(text string) outputText {
	return outputText{Type: "output_text", Text: text, Annotations: []any{}, Logprobs: []any{}}
}

type responseUsage struct {
	InputTokens        int `json:"input_tokens"`
	InputTokensDetails struct {
		CachedTokens     int `json:"cached_tokens"`
		CacheWriteTokens int `json:"cache_write_tokens"`
	} `json:"input_tokens_details"`
	OutputTokens        int `json:"output_tokens"`
	OutputTokensDetails struct {
		ReasoningTokens int `json:"reasoning_tokens"`
	} `json:"output_tokens_details"`
	TotalTokens int `json:"total_tokens"`
}

// Stream events, with their fields in the order the real API sends them.
type (
	lifecycleEvent struct {
		Type           string          `json:"type"`
		SequenceNumber int             `json:"sequence_number"`
		Response       *responseObject `json:"response"`
	}
	outputItemEvent struct {
		Type           string        `json:"type"`
		SequenceNumber int           `json:"sequence_number"`
		OutputIndex    int           `json:"output_index"`
		Item           outputMessage `json:"item"`
	}
	contentPartEvent struct {
		Type           string     `json:"type"`
		SequenceNumber int        `json:"sequence_number"`
		ItemID         string     `json:"item_id"`
		OutputIndex    int        `json:"output_index"`
		ContentIndex   int        `json:"content_index"`
		Part           outputText `json:"part"`
	}
	textDeltaEvent struct {
		Type           string `json:"type"`
		SequenceNumber int    `json:"sequence_number"`
		ItemID         string `json:"item_id"`
		OutputIndex    int    `json:"output_index"`
		ContentIndex   int    `json:"content_index"`
		Delta          string `json:"delta"`
		Logprobs       []any  `json:"logprobs"`
	}
	textDoneEvent struct {
		Type           string `json:"type"`
		SequenceNumber int    `json:"sequence_number"`
		ItemID         string `json:"item_id"`
		OutputIndex    int    `json:"output_index"`
		ContentIndex   int    `json:"content_index"`
		Text           string `json:"text"`
		Logprobs       []any  `json:"logprobs"`
	}
)

func orRaw(v json.RawMessage, def string) json.RawMessage {
	if len(v) == 0 || string(v) == "null" {
		return json.RawMessage(def)
	}
	return v
}

func orFloat(v *float64, def float64) float64 {
	if v == nil {
		return def
	}
	return *v
}

func orBool(v *bool, def bool) bool {
	if v == nil {
		return def
	}
	return *v
}

// newResponse builds the response object in its in-progress state: no
// output and no usage yet, as the first stream events carry it.
func newResponse(req *responsesRequest, digest string) *responseObject {
	truncation := "disabled"
	if req.Truncation != nil {
		truncation = *req.Truncation
	}
	var instructions json.RawMessage
	if len(req.Instructions) > 0 {
		instructions = req.Instructions
	}
	return &responseObject{
		ID:                 id("resp_", digest, "response", 48),
		Object:             "response",
		CreatedAt:          created,
		Status:             "in_progress",
		Instructions:       instructions,
		MaxOutputTokens:    req.MaxOutputTokens,
		Metadata:           orRaw(req.Metadata, "{}"),
		Model:              req.Model,
		Output:             []outputMessage{},
		ParallelToolCalls:  orBool(req.ParallelToolCalls, true),
		PreviousResponseID: req.PreviousResponseID,
		Reasoning:          orRaw(req.Reasoning, `{"effort":null,"summary":null}`),
		Store:              orBool(req.Store, true),
		Temperature:        orFloat(req.Temperature, 1),
		Text:               orRaw(req.Text, `{"format":{"type":"text"}}`),
		ToolChoice:         orRaw(req.ToolChoice, `"auto"`),
		Tools:              orRaw(req.Tools, "[]"),
		TopP:               orFloat(req.TopP, 1),
		Truncation:         truncation,
		User:               req.User,
	}
}

// complete fills in the answer, the usage and the completed status.
func (r *responseObject) complete(msg outputMessage, inputTokens int) {
	done := int64(created)
	r.Status = "completed"
	r.CompletedAt = &done
	r.Output = []outputMessage{msg}
	u := &responseUsage{InputTokens: inputTokens, OutputTokens: countTokens(msg.Content[0].Text)}
	u.TotalTokens = u.InputTokens + u.OutputTokens
	r.Usage = u
}

func (s *Server) handleResponses(w http.ResponseWriter, r *http.Request) {
	var req responsesRequest
	digest, aerr := decodeRequest(r, r.URL.Path, &req)
	if aerr == nil && req.Model == "" {
		aerr = invalid("model", "Missing required parameter: 'model'.")
	}
	var conv *conversation
	if aerr == nil {
		conv, aerr = responsesConversation(&req)
	}
	if aerr != nil {
		writeError(w, aerr)
		return
	}
	if !s.pause(r, s.opts.Latency) {
		return
	}
	answer := Answer(conv.lastUser)
	inputTokens := countTokens(conv.prompt())
	resp := newResponse(&req, digest)
	msg := outputMessage{
		ID:      id("msg_", digest, "message", 48),
		Type:    "message",
		Status:  "completed",
		Role:    "assistant",
		Content: []outputText{newOutputText(answer)},
	}
	if !req.Stream {
		resp.complete(msg, inputTokens)
		s.writeJSON(w, r, resp)
		return
	}
	if err := s.streamResponse(w, r, resp, msg, inputTokens); err != nil {
		s.log.Debug("mockllm: stream response", "path", r.URL.Path, "err", err)
	}
}

// streamResponse sends the event sequence of a one-message text response.
func (s *Server) streamResponse(w http.ResponseWriter, r *http.Request, resp *responseObject, msg outputMessage, inputTokens int) error {
	sse := newSSEWriter(w)
	seq := 0
	next := func() int { seq++; return seq - 1 }
	text := msg.Content[0].Text
	pending := msg
	pending.Status = "in_progress"
	pending.Content = []outputText{}

	// The in-progress snapshots are marshalled at once, so completing resp
	// later does not change what was sent.
	if err := sse.event("response.created", lifecycleEvent{"response.created", next(), resp}); err != nil {
		return err
	}
	if err := sse.event("response.in_progress", lifecycleEvent{"response.in_progress", next(), resp}); err != nil {
		return err
	}
	if err := sse.event("response.output_item.added", outputItemEvent{"response.output_item.added", next(), 0, pending}); err != nil {
		return err
	}
	if err := sse.event("response.content_part.added", contentPartEvent{"response.content_part.added", next(), msg.ID, 0, 0, newOutputText("")}); err != nil {
		return err
	}
	for i, d := range splitDeltas(text) {
		if i > 0 && !s.pause(r, s.opts.ChunkDelay) {
			return r.Context().Err()
		}
		if err := sse.event("response.output_text.delta", textDeltaEvent{"response.output_text.delta", next(), msg.ID, 0, 0, d, []any{}}); err != nil {
			return err
		}
	}
	if err := sse.event("response.output_text.done", textDoneEvent{"response.output_text.done", next(), msg.ID, 0, 0, text, []any{}}); err != nil {
		return err
	}
	if err := sse.event("response.content_part.done", contentPartEvent{"response.content_part.done", next(), msg.ID, 0, 0, msg.Content[0]}); err != nil {
		return err
	}
	if err := sse.event("response.output_item.done", outputItemEvent{"response.output_item.done", next(), 0, msg}); err != nil {
		return err
	}
	resp.complete(msg, inputTokens)
	return sse.event("response.completed", lifecycleEvent{"response.completed", next(), resp})
}
