package mockllm

import (
	"encoding/json"
	"net/http"
	"strings"
)

// fromTogether reports whether the together SDK sent r. Together serves
// chat completions at the same path as OpenAI but in a shape of its own,
// and the together SDK's types require the fields where the two differ.
func fromTogether(r *http.Request) bool {
	return strings.HasPrefix(r.UserAgent(), "Together/")
}

type togetherCompletion struct {
	ID      string           `json:"id"`
	Object  string           `json:"object"`
	Created int64            `json:"created"`
	Model   string           `json:"model"`
	Prompt  []any            `json:"prompt"`
	Choices []togetherChoice `json:"choices"`
	Usage   *togetherUsage   `json:"usage"`
}

type togetherChoice struct {
	Index        int             `json:"index"`
	FinishReason string          `json:"finish_reason"`
	Logprobs     json.RawMessage `json:"logprobs"`
	Message      togetherMessage `json:"message"`
}

// togetherMessage is both a reply and a streamed delta: Together puts the
// role in every delta, where OpenAI sends it only in the first.
type togetherMessage struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

type togetherUsage struct {
	PromptTokens     int `json:"prompt_tokens"`
	CompletionTokens int `json:"completion_tokens"`
	TotalTokens      int `json:"total_tokens"`
}

type togetherChunk struct {
	ID      string                `json:"id"`
	Object  string                `json:"object"`
	Created int64                 `json:"created"`
	Model   string                `json:"model"`
	Choices []togetherChunkChoice `json:"choices"`
	Usage   *togetherUsage        `json:"usage"`
}

type togetherChunkChoice struct {
	Index        int             `json:"index"`
	Delta        togetherMessage `json:"delta"`
	Logprobs     json.RawMessage `json:"logprobs"`
	FinishReason *string         `json:"finish_reason"`
}

// togetherChat answers a chat completion in Together's shape. A stream
// sends, per choice, the content chunks and a finish chunk, choices taking
// turns chunk by chunk; usage rides on the very last chunk, which Together
// sends whether or not stream_options asked for it.
func (s *Server) togetherChat(w http.ResponseWriter, r *http.Request, base chatCompletion, n int, answer string, u *chatUsage, stream bool) {
	usage := &togetherUsage{u.PromptTokens, u.CompletionTokens, u.TotalTokens}
	reply := togetherMessage{Role: "assistant", Content: answer}
	if !stream {
		c := togetherCompletion{
			ID: base.ID, Object: "chat.completion", Created: base.Created, Model: base.Model,
			Prompt: []any{}, Usage: usage,
		}
		for i := range n {
			c.Choices = append(c.Choices, togetherChoice{Index: i, FinishReason: "stop", Logprobs: json.RawMessage("null"), Message: reply})
		}
		s.writeJSON(w, r, c)
		return
	}
	sse := newSSEWriter(w)
	send := func(i int, content string, finish *string, u *togetherUsage) error {
		return sse.event("", togetherChunk{
			ID: base.ID, Object: "chat.completion.chunk", Created: base.Created, Model: base.Model,
			Choices: []togetherChunkChoice{{
				Index: i, Delta: togetherMessage{Role: "assistant", Content: content},
				Logprobs: json.RawMessage("null"), FinishReason: finish,
			}},
			Usage: u,
		})
	}
	err := func() error {
		for j, d := range splitDeltas(answer) {
			if j > 0 && !s.pause(r, s.opts.ChunkDelay) {
				return r.Context().Err()
			}
			for i := range n {
				if err := send(i, d, nil, nil); err != nil {
					return err
				}
			}
		}
		stop := "stop"
		for i := range n {
			var u *togetherUsage
			if i == n-1 {
				u = usage
			}
			if err := send(i, "", &stop, u); err != nil {
				return err
			}
		}
		return sse.raw("", []byte("[DONE]"))
	}()
	if err != nil {
		s.log.Debug("mockllm: stream together chat", "path", r.URL.Path, "err", err)
	}
}
