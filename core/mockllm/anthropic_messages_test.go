package mockllm

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// anthropicMsg is the part of an Anthropic message the tests look at.
type anthropicMsg struct {
	ID      string `json:"id"`
	Type    string `json:"type"`
	Role    string `json:"role"`
	Model   string `json:"model"`
	Content []struct {
		Type string `json:"type"`
		Text string `json:"text"`
	} `json:"content"`
	StopReason *string `json:"stop_reason"`
	Usage      struct {
		InputTokens  int `json:"input_tokens"`
		OutputTokens int `json:"output_tokens"`
	} `json:"usage"`
}

func TestAnthropicMessages(t *testing.T) {
	url := newTestServer(t, Options{}) + "/v1/messages"
	tests := []struct {
		name        string
		body        string
		want        string
		inputTokens int
	}{
		{"string content", `{"model":"claude-haiku-4-5","max_tokens":100,"messages":[{"role":"user","content":"Add 1 to 42"}]}`, "43", 4},
		{"text blocks",
			`{"model":"claude-haiku-4-5","max_tokens":100,"messages":[{"role":"user","content":[{"type":"text","text":"Multiply 6"},{"type":"image","source":{"type":"base64","media_type":"image/png","data":""}},{"type":"text","text":"by 7"}]}]}`,
			"42", 4},
		{"system string counts but is not the user message",
			`{"model":"m","max_tokens":100,"system":"Add 5 to 5","messages":[{"role":"user","content":"Output the number 42"}]}`, "42", 8},
		{"system blocks",
			`{"model":"m","max_tokens":100,"system":[{"type":"text","text":"You add."}],"messages":[{"role":"user","content":"Double 21"}]}`, "42", 4},
		{"history, last user message wins",
			`{"model":"m","max_tokens":100,"messages":[{"role":"user","content":"Double 4"},{"role":"assistant","content":"8"},{"role":"user","content":"Subtract 2 from 10"}]}`,
			"8", 7},
		{"tool results are not the user's message",
			`{"model":"m","max_tokens":100,"messages":[{"role":"user","content":"Add 1 to 42"},{"role":"assistant","content":[{"type":"tool_use","id":"t1","name":"calc","input":{}}]},{"role":"user","content":[{"type":"tool_result","tool_use_id":"t1","content":"sunny today"}]}]}`,
			"43", 6},
		{"echo", `{"model":"m","max_tokens":100,"messages":[{"role":"user","content":"What is the capital of France?"}]}`, "Echo: What is the capital of France?", 6},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, b := post(t, url, tt.body)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status %d: %s", resp.StatusCode, b)
			}
			m := decode[anthropicMsg](t, b)
			if len(m.Content) != 1 || m.Content[0].Type != "text" || m.Content[0].Text != tt.want {
				t.Errorf("content %+v, want one text block %q", m.Content, tt.want)
			}
			if !strings.HasPrefix(m.ID, "msg_") || m.Type != "message" || m.Role != "assistant" || m.StopReason == nil || *m.StopReason != "end_turn" {
				t.Errorf("envelope: %s", b)
			}
			if m.Usage.InputTokens != tt.inputTokens || m.Usage.OutputTokens != countTokens(tt.want) {
				t.Errorf("usage %+v, want input %d output %d", m.Usage, tt.inputTokens, countTokens(tt.want))
			}
			if rid := resp.Header.Get("request-id"); !strings.HasPrefix(rid, "req_") {
				t.Errorf("request-id header %q", rid)
			}
		})
	}
}

func TestAnthropicStream(t *testing.T) {
	url := newTestServer(t, Options{}) + "/v1/messages"
	const prompt = "Tell me a story about a dragon"
	want := Answer(prompt)
	body := `{"model":"m","max_tokens":100,"system":"be kind","messages":[{"role":"user","content":"` + prompt + `"}]`

	_, plain := post(t, url, body+`}`)
	resp, b := post(t, url, body+`,"stream":true}`)
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/event-stream") {
		t.Fatalf("content type %q", ct)
	}
	events := readSSE(t, bytes.NewReader(b))

	var names, deltas []string
	for i, ev := range events {
		var head struct {
			Type  string `json:"type"`
			Index *int   `json:"index"`
			Delta struct {
				Type string `json:"type"`
				Text string `json:"text"`
			} `json:"delta"`
		}
		if err := json.Unmarshal([]byte(ev.data), &head); err != nil {
			t.Fatalf("event %d: %v: %s", i, err, ev.data)
		}
		// The SDK skips events without a name, so every one must have it.
		if ev.name == "" || head.Type != ev.name {
			t.Errorf("event %d named %q carries type %q", i, ev.name, head.Type)
		}
		if len(names) == 0 || names[len(names)-1] != ev.name {
			names = append(names, ev.name)
		}
		if ev.name == "content_block_delta" {
			if head.Delta.Type != "text_delta" || head.Index == nil || *head.Index != 0 {
				t.Errorf("delta event %d: %s", i, ev.data)
			}
			deltas = append(deltas, head.Delta.Text)
		}
	}
	wantNames := []string{"message_start", "content_block_start", "ping", "content_block_delta", "content_block_stop", "message_delta", "message_stop"}
	if strings.Join(names, ",") != strings.Join(wantNames, ",") {
		t.Errorf("event sequence\n got %v\nwant %v", names, wantNames)
	}
	if len(deltas) < 2 || strings.Join(deltas, "") != want {
		t.Errorf("deltas %q, want several joining to %q", deltas, want)
	}

	start := decode[struct{ Message anthropicMsg }](t, []byte(events[0].data)).Message
	if len(start.Content) != 0 || start.StopReason != nil || start.Usage.InputTokens != 9 {
		t.Errorf("message_start should carry an empty message with the input tokens: %s", events[0].data)
	}
	if p := decode[anthropicMsg](t, plain); p.ID != start.ID {
		t.Errorf("stream id %s differs from plain %s", start.ID, p.ID)
	}
	md := decode[struct {
		Delta struct {
			StopReason string `json:"stop_reason"`
		} `json:"delta"`
		Usage struct {
			OutputTokens int `json:"output_tokens"`
		} `json:"usage"`
	}](t, []byte(events[len(events)-2].data))
	if md.Delta.StopReason != "end_turn" || md.Usage.OutputTokens != countTokens(want) {
		t.Errorf("message_delta: %s", events[len(events)-2].data)
	}
}

func TestAnthropicCountTokens(t *testing.T) {
	url := newTestServer(t, Options{}) + "/v1/messages/count_tokens"
	resp, b := post(t, url, `{"model":"m","system":"be brief","messages":[{"role":"user","content":"Add 1 to 42"}]}`)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d: %s", resp.StatusCode, b)
	}
	if got := decode[struct {
		InputTokens int `json:"input_tokens"`
	}](t, b).InputTokens; got != 6 {
		t.Errorf("input_tokens %d, want 6: %s", got, b)
	}
}

func TestAnthropicErrors(t *testing.T) {
	base := newTestServer(t, Options{})
	tests := []struct {
		name, path, body string
		status           int
		typ, message     string
	}{
		{"missing max_tokens", "/v1/messages", `{"model":"m","messages":[{"role":"user","content":"hi"}]}`, 400, "invalid_request_error", "max_tokens: Field required"},
		{"zero max_tokens", "/v1/messages", `{"model":"m","max_tokens":0,"messages":[{"role":"user","content":"hi"}]}`, 400, "invalid_request_error", "max_tokens"},
		{"missing model", "/v1/messages", `{"max_tokens":10,"messages":[{"role":"user","content":"hi"}]}`, 400, "invalid_request_error", "model: Field required"},
		{"missing messages", "/v1/messages", `{"model":"m","max_tokens":10}`, 400, "invalid_request_error", "messages: Field required"},
		{"empty messages", "/v1/messages", `{"model":"m","max_tokens":10,"messages":[]}`, 400, "invalid_request_error", "messages"},
		{"system role in messages", "/v1/messages", `{"model":"m","max_tokens":10,"messages":[{"role":"system","content":"hi"}]}`, 400, "invalid_request_error", "messages.0.role"},
		{"bad content", "/v1/messages", `{"model":"m","max_tokens":10,"messages":[{"role":"user","content":42}]}`, 400, "invalid_request_error", "messages.0.content"},
		{"malformed json", "/v1/messages", `{"model":`, 400, "invalid_request_error", "JSON"},
		{"count_tokens needs messages", "/v1/messages/count_tokens", `{"model":"m"}`, 400, "invalid_request_error", "messages"},
		{"unknown path", "/v1/messages/batches/nope", `{}`, 404, "not_found_error", "Invalid URL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, b := post(t, base+tt.path, tt.body)
			if resp.StatusCode != tt.status {
				t.Errorf("status %d, want %d: %s", resp.StatusCode, tt.status, b)
			}
			if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("content type %q", ct)
			}
			e := decode[struct {
				Type  string `json:"type"`
				Error *struct {
					Type    string `json:"type"`
					Message string `json:"message"`
				} `json:"error"`
			}](t, b)
			if e.Type != "error" || e.Error == nil || e.Error.Type != tt.typ || !strings.Contains(e.Error.Message, tt.message) {
				t.Errorf("error body %s, want type %q and a message with %q", b, tt.typ, tt.message)
			}
		})
	}
}
