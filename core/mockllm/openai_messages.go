package mockllm

import (
	"encoding/json"
	"strings"
)

// conversation is what the answer is computed from: the last user message,
// and the whole prompt for token counts.
type conversation struct {
	texts    []string // every message's text, in order, instructions first
	lastUser string
}

func (c *conversation) add(role, text string) {
	if text != "" {
		c.texts = append(c.texts, text)
	}
	if role == "user" {
		c.lastUser = text
	}
}

func (c *conversation) prompt() string { return strings.Join(c.texts, "\n") }

// contentText returns the text of a message's content: a string, or a list
// of parts whose "text" fields are joined (images and audio carry none).
// ok is false when content is neither.
func contentText(raw json.RawMessage) (text string, ok bool) {
	if len(raw) == 0 || string(raw) == "null" {
		return "", true
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s, true
	}
	var parts []struct {
		Text *string `json:"text"`
	}
	if json.Unmarshal(raw, &parts) != nil {
		return "", false
	}
	var texts []string
	for _, p := range parts {
		if p.Text != nil {
			texts = append(texts, *p.Text)
		}
	}
	return strings.Join(texts, "\n"), true
}
