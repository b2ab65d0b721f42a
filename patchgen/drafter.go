package patchgen

import (
	"context"
	"errors"
	"strings"

	openai "github.com/sashabaranov/go-openai"

	"github.com/aco-dev/aco"
)

// Message is one turn of the conversation with the drafting model.
type Message struct {
	Role    string `json:"role"` // system, user or assistant
	Content string `json:"content"`
}

// Prompt is everything a drafter needs for one draft. It is plain data so
// that a drafter can live in another process (a plugin) as well as here.
type Prompt struct {
	Model     string    `json:"model"`
	System    string    `json:"system"`
	Messages  []Message `json:"messages"`
	MaxTokens int       `json:"max_tokens"`
}

// Drafter asks a language model for the next draft of a declaration and
// returns its answer as text.
type Drafter interface {
	Draft(ctx context.Context, p Prompt) (string, error)
}

// DefaultModel is the model asked when none is given.
const DefaultModel = "gpt-4o"

// OpenAIDrafter drafts with any OpenAI-compatible chat completions endpoint.
type OpenAIDrafter struct {
	client  *openai.Client
	baseURL string
}

// NewOpenAIDrafter reads OPENAI_API_KEY and OPENAI_BASE_URL from getenv. A
// key is required only for OpenAI's own endpoint: local OpenAI-compatible
// servers often take none.
func NewOpenAIDrafter(getenv func(string) string) (*OpenAIDrafter, error) {
	key, base := getenv("OPENAI_API_KEY"), strings.TrimRight(getenv("OPENAI_BASE_URL"), "/")
	if key == "" && base == "" {
		return nil, aco.Errorf(aco.EINVALID, "patchgen needs a model: set OPENAI_API_KEY (and OPENAI_BASE_URL for another OpenAI-compatible endpoint)")
	}
	if key == "" {
		key = "unused"
	}
	cfg := openai.DefaultConfig(key)
	if base != "" {
		cfg.BaseURL = base
	}
	return &OpenAIDrafter{client: openai.NewClientWithConfig(cfg), baseURL: cfg.BaseURL}, nil
}

// Draft sends the conversation as one chat completion.
func (d *OpenAIDrafter) Draft(ctx context.Context, p Prompt) (string, error) {
	msgs := make([]openai.ChatCompletionMessage, 0, len(p.Messages)+1)
	if p.System != "" {
		msgs = append(msgs, openai.ChatCompletionMessage{Role: openai.ChatMessageRoleSystem, Content: p.System})
	}
	for _, m := range p.Messages {
		msgs = append(msgs, openai.ChatCompletionMessage{Role: m.Role, Content: m.Content})
	}
	resp, err := d.client.CreateChatCompletion(ctx, openai.ChatCompletionRequest{
		Model:     p.Model,
		Messages:  msgs,
		MaxTokens: p.MaxTokens,
	})
	if err != nil {
		var apiErr *openai.APIError
		if errors.As(err, &apiErr) {
			return "", aco.Errorf(aco.EUNAVAIL, "the model at %s refused the request (HTTP %d: %s): check --model, OPENAI_API_KEY and OPENAI_BASE_URL", d.baseURL, apiErr.HTTPStatusCode, apiErr.Message)
		}
		if ctx.Err() != nil {
			return "", ctx.Err()
		}
		return "", aco.Errorf(aco.EUNAVAIL, "the model is unreachable at %s (%v): check OPENAI_BASE_URL and your network", d.baseURL, err)
	}
	if len(resp.Choices) == 0 {
		return "", nil
	}
	return resp.Choices[0].Message.Content, nil
}
