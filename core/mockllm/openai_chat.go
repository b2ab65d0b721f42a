package mockllm

import (
	"encoding/json"
	"net/http"
)

// maxChoices is the real API's upper bound for n.
const maxChoices = 128

type chatRequest struct {
	Model         string            `json:"model"`
	Messages      []json.RawMessage `json:"messages"`
	N             *int              `json:"n"`
	Stream        bool              `json:"stream"`
	StreamOptions *struct {
		IncludeUsage bool `json:"include_usage"`
	} `json:"stream_options"`
}

type chatMessage struct {
	Role    string          `json:"role"`
	Content json.RawMessage `json:"content"`
}

func chatConversation(req *chatRequest) (*conversation, *apiError) {
	if req.Messages == nil {
		return nil, invalid("messages", "Missing required parameter: 'messages'.")
	}
	if len(req.Messages) == 0 {
		return nil, invalid("messages", "Invalid 'messages': empty array. Expected an array with minimum length 1, but got an empty array instead.")
	}
	c := &conversation{}
	for i, raw := range req.Messages {
		var m chatMessage
		if json.Unmarshal(raw, &m) != nil || m.Role == "" {
			return nil, invalid("messages", "Invalid 'messages[%d]': expected an object with a 'role'.", i)
		}
		text, ok := contentText(m.Content)
		if !ok {
			return nil, invalid("messages", "Invalid type for 'messages[%d].content': expected a string or an array of content parts.", i)
		}
		c.add(m.Role, text)
	}
	return c, nil
}

type chatCompletion struct {
	ID                string       `json:"id"`
	Object            string       `json:"object"`
	Created           int64        `json:"created"`
	Model             string       `json:"model"`
	Choices           []chatChoice `json:"choices"`
	Usage             *chatUsage   `json:"usage"`
	ServiceTier       string       `json:"service_tier"`
	SystemFingerprint string       `json:"system_fingerprint"`
}

type chatChoice struct {
	Index        int             `json:"index"`
	Message      chatReply       `json:"message"`
	Logprobs     json.RawMessage `json:"logprobs"`
	FinishReason string          `json:"finish_reason"`
}

type chatReply struct {
	Role        string  `json:"role"`
	Content     string  `json:"content"`
	Refusal     *string `json:"refusal"`
	Annotations []any   `json:"annotations"`
}

type chatUsage struct {
	PromptTokens        int `json:"prompt_tokens"`
	CompletionTokens    int `json:"completion_tokens"`
	TotalTokens         int `json:"total_tokens"`
	PromptTokensDetails struct {
		CachedTokens int `json:"cached_tokens"`
		AudioTokens  int `json:"audio_tokens"`
	} `json:"prompt_tokens_details"`
	CompletionTokensDetails struct {
		ReasoningTokens          int `json:"reasoning_tokens"`
		AudioTokens              int `json:"audio_tokens"`
		AcceptedPredictionTokens int `json:"accepted_prediction_tokens"`
		RejectedPredictionTokens int `json:"rejected_prediction_tokens"`
	} `json:"completion_tokens_details"`
}

// chatChunk is one streamed chunk.
type chatChunk struct {
	ID                string            `json:"id"`
	Object            string            `json:"object"`
	Created           int64             `json:"created"`
	Model             string            `json:"model"`
	ServiceTier       string            `json:"service_tier"`
	SystemFingerprint string            `json:"system_fingerprint"`
	Choices           []chatChunkChoice `json:"choices"`
}

// chatChunkWithUsage is a chunk of a stream that asked for usage: every
// chunk then carries the field, null until the last one.
type chatChunkWithUsage struct {
	chatChunk
	Usage *chatUsage `json:"usage"`
}

type chatChunkChoice struct {
	Index        int             `json:"index"`
	Delta        chatDelta       `json:"delta"`
	Logprobs     json.RawMessage `json:"logprobs"`
	FinishReason *string         `json:"finish_reason"`
}

type chatDelta struct {
	Role    string  `json:"role,omitempty"`
	Content *string `json:"content,omitempty"`
	Refusal *string `json:"refusal,omitempty"`
}

func (s *Server) handleChat(w http.ResponseWriter, r *http.Request) {
	var req chatRequest
	digest, aerr := decodeRequest(r, r.URL.Path, &req)
	if aerr == nil && req.Model == "" {
		aerr = invalid("model", "Missing required parameter: 'model'.")
	}
	n := 1
	if aerr == nil && req.N != nil {
		n = *req.N
		if n < 1 || n > maxChoices {
			aerr = invalid("n", "Invalid 'n': integer must be between 1 and %d, got %d.", maxChoices, n)
		}
	}
	var conv *conversation
	if aerr == nil {
		conv, aerr = chatConversation(&req)
	}
	if aerr != nil {
		writeError(w, aerr)
		return
	}
	if !s.pause(r, s.opts.Latency) {
		return
	}
	answer := Answer(conv.lastUser)
	usage := &chatUsage{PromptTokens: countTokens(conv.prompt()), CompletionTokens: n * countTokens(answer)}
	usage.TotalTokens = usage.PromptTokens + usage.CompletionTokens
	base := chatCompletion{
		ID:                id("chatcmpl-", digest, "completion", 29),
		Created:           created,
		Model:             req.Model,
		ServiceTier:       "default",
		SystemFingerprint: id("fp_", digest, "fingerprint", 10),
	}
	if fromTogether(r) {
		s.togetherChat(w, r, base, n, answer, usage, req.Stream)
		return
	}
	if !req.Stream {
		base.Object = "chat.completion"
		base.Usage = usage
		for i := range n {
			base.Choices = append(base.Choices, chatChoice{
				Index:        i,
				Message:      chatReply{Role: "assistant", Content: answer, Annotations: []any{}},
				Logprobs:     json.RawMessage("null"),
				FinishReason: "stop",
			})
		}
		s.writeJSON(w, r, base)
		return
	}
	includeUsage := req.StreamOptions != nil && req.StreamOptions.IncludeUsage
	if err := s.streamChat(w, r, base, n, answer, includeUsage, usage); err != nil {
		s.log.Debug("mockllm: stream chat", "path", r.URL.Path, "err", err)
	}
}

// streamChat sends, per choice, a role chunk, the content chunks and a
// finish chunk, choices taking turns chunk by chunk; then the usage chunk
// when asked for, then [DONE].
func (s *Server) streamChat(w http.ResponseWriter, r *http.Request, base chatCompletion, n int, answer string, includeUsage bool, usage *chatUsage) error {
	sse := newSSEWriter(w)
	send := func(choices []chatChunkChoice, u *chatUsage) error {
		c := chatChunk{
			ID: base.ID, Object: "chat.completion.chunk", Created: base.Created, Model: base.Model,
			ServiceTier: base.ServiceTier, SystemFingerprint: base.SystemFingerprint, Choices: choices,
		}
		if includeUsage {
			return sse.event("", chatChunkWithUsage{c, u})
		}
		return sse.event("", c)
	}
	each := func(delta func() chatDelta, finish *string) error {
		for i := range n {
			ch := chatChunkChoice{Index: i, Delta: delta(), Logprobs: json.RawMessage("null"), FinishReason: finish}
			if err := send([]chatChunkChoice{ch}, nil); err != nil {
				return err
			}
		}
		return nil
	}
	empty := ""
	if err := each(func() chatDelta { return chatDelta{Role: "assistant", Content: &empty} }, nil); err != nil {
		return err
	}
	for i, d := range splitDeltas(answer) {
		if i > 0 && !s.pause(r, s.opts.ChunkDelay) {
			return r.Context().Err()
		}
		if err := each(func() chatDelta { return chatDelta{Content: &d} }, nil); err != nil {
			return err
		}
	}
	stop := "stop"
	if err := each(func() chatDelta { return chatDelta{} }, &stop); err != nil {
		return err
	}
	if includeUsage {
		if err := send([]chatChunkChoice{}, usage); err != nil {
			return err
		}
	}
	return sse.raw("", []byte("[DONE]"))
}
