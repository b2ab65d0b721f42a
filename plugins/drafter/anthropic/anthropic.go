// Package anthropic is a drafter that asks Anthropic's Messages API, over
// plain HTTP (no SDK), for patchgen's drafts.
package anthropic

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/aco-dev/aco/plugins"
)

// Defaults used when neither the prompt nor the config says.
const (
	DefaultBaseURL   = "https://api.anthropic.com"
	DefaultModel     = "claude-sonnet-4-5"
	DefaultMaxTokens = 4096
	apiVersion       = "2023-06-01"
)

// Config is plugins.drafters.anthropic in config.yaml. The key comes from
// the environment only, so it never sits in a config file.
type Config struct {
	BaseURL   string `json:"base_url"`   // else $ANTHROPIC_BASE_URL, else DefaultBaseURL
	Model     string `json:"model"`      // used when the prompt names none
	MaxTokens int    `json:"max_tokens"` // used when the prompt says 0
}

// Drafter calls the Messages API.
type Drafter struct {
	baseURL   string
	apiKey    string
	model     string
	maxTokens int
	client    *http.Client
}

// New returns a drafter; getenv supplies ANTHROPIC_API_KEY and
// ANTHROPIC_BASE_URL (os.Getenv in the plugin).
func New(cfg Config, getenv func(string) string, client *http.Client) (*Drafter, error) {
	key := getenv("ANTHROPIC_API_KEY")
	if key == "" {
		return nil, errors.New("ANTHROPIC_API_KEY is not set: export it where aco runs")
	}
	base := cfg.BaseURL
	if base == "" {
		base = getenv("ANTHROPIC_BASE_URL")
	}
	if base == "" {
		base = DefaultBaseURL
	}
	if !strings.HasPrefix(base, "http://") && !strings.HasPrefix(base, "https://") {
		return nil, fmt.Errorf("the Anthropic base URL %q is not an http(s) URL", base)
	}
	if cfg.Model == "" {
		cfg.Model = DefaultModel
	}
	if cfg.MaxTokens <= 0 {
		cfg.MaxTokens = DefaultMaxTokens
	}
	if client == nil {
		client = http.DefaultClient
	}
	return &Drafter{baseURL: strings.TrimRight(base, "/"), apiKey: key, model: cfg.Model, maxTokens: cfg.MaxTokens, client: client}, nil
}

// Open is the plugin's entry: the config section as JSON.
func Open(config []byte) (plugins.Drafter, error) {
	var cfg Config
	if err := plugins.DecodeConfig(config, &cfg); err != nil {
		return nil, err
	}
	return New(cfg, os.Getenv, &http.Client{Timeout: 5 * time.Minute})
}

type request struct {
	Model     string    `json:"model"`
	MaxTokens int       `json:"max_tokens"`
	System    string    `json:"system,omitempty"`
	Messages  []message `json:"messages"`
}

type message struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

type response struct {
	Model   string `json:"model"`
	Content []struct {
		Type string `json:"type"`
		Text string `json:"text"`
	} `json:"content"`
	StopReason string `json:"stop_reason"`
}

type apiError struct {
	Error struct {
		Type    string `json:"type"`
		Message string `json:"message"`
	} `json:"error"`
}

func (d *Drafter) Draft(ctx context.Context, p plugins.Prompt) (plugins.Draft, error) {
	req := request{Model: p.Model, MaxTokens: p.MaxTokens, System: p.System}
	if req.Model == "" {
		req.Model = d.model
	}
	if req.MaxTokens <= 0 {
		req.MaxTokens = d.maxTokens
	}
	for _, m := range p.Messages {
		if m.Role != "user" && m.Role != "assistant" {
			return plugins.Draft{}, fmt.Errorf("message role %q: the Messages API takes user and assistant turns (the system text goes in Prompt.System)", m.Role)
		}
		req.Messages = append(req.Messages, message{Role: m.Role, Content: m.Content})
	}
	if len(req.Messages) == 0 {
		return plugins.Draft{}, errors.New("the prompt has no messages")
	}
	body, err := json.Marshal(req)
	if err != nil {
		return plugins.Draft{}, err
	}
	url := d.baseURL + "/v1/messages"
	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return plugins.Draft{}, err
	}
	hr.Header.Set("Content-Type", "application/json")
	hr.Header.Set("x-api-key", d.apiKey)
	hr.Header.Set("anthropic-version", apiVersion)
	resp, err := d.client.Do(hr)
	if err != nil {
		return plugins.Draft{}, fmt.Errorf("POST %s: %w", url, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return plugins.Draft{}, fmt.Errorf("POST %s: reading the answer: %w", url, err)
	}
	if resp.StatusCode != http.StatusOK {
		var e apiError
		if json.Unmarshal(raw, &e) == nil && e.Error.Message != "" {
			return plugins.Draft{}, fmt.Errorf("Anthropic API %s: %s: %s", resp.Status, e.Error.Type, e.Error.Message)
		}
		return plugins.Draft{}, fmt.Errorf("Anthropic API %s: %s", resp.Status, snippet(raw))
	}
	var out response
	if err := json.Unmarshal(raw, &out); err != nil {
		return plugins.Draft{}, fmt.Errorf("the Anthropic API answered something that is not a message: %v: %s", err, snippet(raw))
	}
	var text strings.Builder
	for _, b := range out.Content {
		if b.Type == "text" {
			text.WriteString(b.Text)
		}
	}
	if text.Len() == 0 {
		return plugins.Draft{}, fmt.Errorf("the model (%s) answered no text (stop reason %q)", out.Model, out.StopReason)
	}
	model := out.Model
	if model == "" {
		model = req.Model
	}
	return plugins.Draft{Text: text.String(), Model: model}, nil
}

func snippet(b []byte) string {
	s := strings.TrimSpace(string(b))
	if len(s) > 300 {
		s = s[:300] + "…"
	}
	return s
}
