package mockllm

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
)

// postAs posts body with the given User-Agent.
func postAs(t *testing.T, url, userAgent, body string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest("POST", url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", userAgent)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, b
}

const togetherUA = "Together/Python 3.1.1"

func TestTogetherChat(t *testing.T) {
	url := newTestServer(t, Options{}) + "/v1/chat/completions"
	body := `{"model":"meta-llama/Llama-3.3-70B-Instruct-Turbo","n":2,"messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"Add 1 to 42"}]}`

	resp, b := postAs(t, url, togetherUA, body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d: %s", resp.StatusCode, b)
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		t.Fatal(err)
	}
	// The together SDK's ChatCompletion requires prompt.
	if string(raw["prompt"]) != "[]" {
		t.Errorf("prompt %s, want []", raw["prompt"])
	}
	c := decode[chatCompletionResp](t, b)
	if len(c.Choices) != 2 || c.Choices[1].Message.Content != "43" || c.Choices[1].Message.Role != "assistant" || c.Choices[1].FinishReason != "stop" {
		t.Errorf("choices: %s", b)
	}
	if c.Usage.PromptTokens != 6 || c.Usage.CompletionTokens != 2 || c.Usage.TotalTokens != 8 {
		t.Errorf("usage %+v", c.Usage)
	}

	// The same request from another client keeps OpenAI's shape.
	_, openai := post(t, url, body)
	if bytes.Contains(openai, []byte(`"prompt"`)) || !bytes.Contains(openai, []byte(`"system_fingerprint"`)) {
		t.Errorf("OpenAI shape expected without the together User-Agent: %s", openai)
	}
}

func TestTogetherChatStream(t *testing.T) {
	url := newTestServer(t, Options{}) + "/v1/chat/completions"
	const prompt = "Please repeat this sentence back"
	want := Answer(prompt)
	_, b := postAs(t, url, togetherUA, `{"model":"m","n":2,"stream":true,"messages":[{"role":"user","content":"`+prompt+`"}]}`)
	events := readSSE(t, bytes.NewReader(b))
	if last := events[len(events)-1]; last.data != "[DONE]" {
		t.Fatalf("stream should end with [DONE], got %+v", last)
	}
	chunks := events[:len(events)-1]
	content := make([]string, 2)
	finished := make([]bool, 2)
	for i, ev := range chunks {
		var c struct {
			Object  string `json:"object"`
			Choices []struct {
				Index int `json:"index"`
				Delta struct {
					Role    *string `json:"role"`
					Content *string `json:"content"`
				} `json:"delta"`
				FinishReason *string `json:"finish_reason"`
			} `json:"choices"`
			Usage *struct {
				CompletionTokens int `json:"completion_tokens"`
			} `json:"usage"`
		}
		if err := json.Unmarshal([]byte(ev.data), &c); err != nil {
			t.Fatalf("chunk %d: %v", i, err)
		}
		if c.Object != "chat.completion.chunk" || len(c.Choices) != 1 {
			t.Fatalf("chunk %d: %s", i, ev.data)
		}
		ch := c.Choices[0]
		// The together SDK's ChoiceDelta requires the role in every delta.
		if ch.Delta.Role == nil || *ch.Delta.Role != "assistant" || ch.Delta.Content == nil {
			t.Errorf("chunk %d delta lacks role or content: %s", i, ev.data)
		}
		if finished[ch.Index] {
			t.Errorf("choice %d got a chunk after finishing", ch.Index)
		}
		if ch.Delta.Content != nil {
			content[ch.Index] += *ch.Delta.Content
		}
		finished[ch.Index] = ch.FinishReason != nil && *ch.FinishReason == "stop"
		if last := i == len(chunks)-1; (c.Usage != nil) != last {
			t.Errorf("chunk %d: usage %v, want it on the last chunk only", i, c.Usage)
		} else if last && c.Usage.CompletionTokens != 2*countTokens(want) {
			t.Errorf("usage %+v", c.Usage)
		}
	}
	for i := range 2 {
		if content[i] != want || !finished[i] {
			t.Errorf("choice %d: %q finished %v, want %q", i, content[i], finished[i], want)
		}
	}
}
