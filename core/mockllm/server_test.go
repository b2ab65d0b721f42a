package mockllm

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"io"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func newTestServer(t *testing.T, opts Options) string {
	t.Helper()
	ts := httptest.NewServer(New(opts).Handler())
	t.Cleanup(ts.Close)
	return ts.URL
}

func post(t *testing.T, url, body string) (*http.Response, []byte) {
	t.Helper()
	resp, err := http.Post(url, "application/json", strings.NewReader(body))
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

func decode[T any](t *testing.T, b []byte) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("decode %s: %v", b, err)
	}
	return v
}

type sseEvent struct {
	name string
	data string
}

// readSSE parses a server-sent event stream the way SDK decoders do.
func readSSE(t *testing.T, r io.Reader) []sseEvent {
	t.Helper()
	var events []sseEvent
	var cur sseEvent
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "":
			if cur.data != "" {
				events = append(events, cur)
			}
			cur = sseEvent{}
		case strings.HasPrefix(line, "event: "):
			cur.name = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "data: "):
			cur.data += strings.TrimPrefix(line, "data: ")
		default:
			t.Fatalf("unexpected SSE line %q", line)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if cur.data != "" {
		t.Fatalf("stream ended inside an event: %+v", cur)
	}
	return events
}

// response is the part of a Responses API object the tests look at.
type response struct {
	ID           string  `json:"id"`
	Object       string  `json:"object"`
	Status       string  `json:"status"`
	Model        string  `json:"model"`
	Instructions *string `json:"instructions"`
	Output       []struct {
		ID      string `json:"id"`
		Type    string `json:"type"`
		Role    string `json:"role"`
		Status  string `json:"status"`
		Content []struct {
			Type string `json:"type"`
			Text string `json:"text"`
		} `json:"content"`
	} `json:"output"`
	Usage *struct {
		InputTokens  int `json:"input_tokens"`
		OutputTokens int `json:"output_tokens"`
		TotalTokens  int `json:"total_tokens"`
	} `json:"usage"`
}

func (r response) text() string {
	var b strings.Builder
	for _, o := range r.Output {
		for _, c := range o.Content {
			b.WriteString(c.Text)
		}
	}
	return b.String()
}

func TestResponses(t *testing.T) {
	url := newTestServer(t, Options{}) + "/v1/responses"
	tests := []struct {
		name        string
		body        string
		want        string
		inputTokens int
	}{
		{"string input", `{"model":"gpt-4o","input":"Add 1 to 42"}`, "43", 4},
		{"message list, last user message wins",
			`{"model":"gpt-4o","input":[{"role":"user","content":"Double 4"},{"role":"assistant","content":"8"},{"role":"user","content":"Subtract 2 from 10"}]}`,
			"8", 7},
		{"content parts",
			`{"model":"gpt-4o","input":[{"type":"message","role":"user","content":[{"type":"input_text","text":"Multiply 6"},{"type":"input_text","text":"by 7"}]}]}`,
			"42", 4},
		{"instructions count but are not the user message",
			`{"model":"gpt-4o","instructions":"Add 5 to 5","input":"Output the number 42"}`, "42", 8},
		{"function call output is prompt text",
			`{"model":"gpt-4o","input":[{"role":"user","content":"hi"},{"type":"function_call_output","call_id":"c1","output":"sunny today"}]}`,
			"Echo: hi", 3},
		{"echo", `{"model":"gpt-4o","input":"What is the capital of France?"}`, "Echo: What is the capital of France?", 6},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, b := post(t, url, tt.body)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status %d: %s", resp.StatusCode, b)
			}
			r := decode[response](t, b)
			if got := r.text(); got != tt.want {
				t.Errorf("answer %q, want %q", got, tt.want)
			}
			if r.Object != "response" || r.Status != "completed" || r.Model != "gpt-4o" || !strings.HasPrefix(r.ID, "resp_") {
				t.Errorf("envelope: %s", b)
			}
			if len(r.Output) != 1 || r.Output[0].Type != "message" || r.Output[0].Role != "assistant" || r.Output[0].Content[0].Type != "output_text" {
				t.Errorf("output item: %s", b)
			}
			if r.Usage == nil || r.Usage.InputTokens != tt.inputTokens || r.Usage.OutputTokens != countTokens(tt.want) ||
				r.Usage.TotalTokens != tt.inputTokens+countTokens(tt.want) {
				t.Errorf("usage %+v, want input %d output %d", r.Usage, tt.inputTokens, countTokens(tt.want))
			}
		})
	}
}

func TestResponsesEchoesInstructions(t *testing.T) {
	url := newTestServer(t, Options{}) + "/v1/responses"
	_, b := post(t, url, `{"model":"m","instructions":"be brief","input":"hi"}`)
	if r := decode[response](t, b); r.Instructions == nil || *r.Instructions != "be brief" {
		t.Errorf("instructions not echoed: %s", b)
	}
	_, b = post(t, url, `{"model":"m","input":"hi"}`)
	if !bytes.Contains(b, []byte(`"instructions":null`)) {
		t.Errorf("absent instructions should be null: %s", b)
	}
}

func TestDeterministic(t *testing.T) {
	base := newTestServer(t, Options{})
	tests := []struct {
		path, a, reordered, other string
		idKey                     string // "" means "id"
	}{
		{"/v1/responses",
			`{"model":"m","input":"Add 1 to 42","temperature":0.5}`,
			`{"temperature":0.5,"input":"Add 1 to 42","model":"m"}`,
			`{"model":"m","input":"Add 2 to 42","temperature":0.5}`, ""},
		{"/v1/chat/completions",
			`{"model":"m","messages":[{"role":"user","content":"hi"}]}`,
			`{"messages":[{"content":"hi","role":"user"}],"model":"m"}`,
			`{"model":"m","messages":[{"role":"user","content":"ho"}]}`, ""},
		{"/v1/embeddings",
			`{"model":"m","input":"hi","encoding_format":"float"}`,
			`{"encoding_format":"float","input":"hi","model":"m"}`,
			`{"model":"m","input":"ho","encoding_format":"float"}`, ""},
		{"/v1/messages",
			`{"model":"m","max_tokens":10,"messages":[{"role":"user","content":"hi"}]}`,
			`{"messages":[{"content":"hi","role":"user"}],"max_tokens":10,"model":"m"}`,
			`{"model":"m","max_tokens":10,"messages":[{"role":"user","content":"ho"}]}`, ""},
		{"/v1beta/models/gemini-2.5-flash:generateContent",
			`{"contents":[{"role":"user","parts":[{"text":"hi"}]}]}`,
			`{"contents":[{"parts":[{"text":"hi"}],"role":"user"}]}`,
			`{"contents":[{"role":"user","parts":[{"text":"ho"}]}]}`, "responseId"},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			_, first := post(t, base+tt.path, tt.a)
			_, again := post(t, base+tt.path, tt.a)
			if !bytes.Equal(first, again) {
				t.Errorf("same request, different bytes:\n%s\n%s", first, again)
			}
			_, reordered := post(t, base+tt.path, tt.reordered)
			key := tt.idKey
			if key == "" {
				key = "id"
			}
			idOf := func(b []byte) string { return string(decode[map[string]json.RawMessage](t, b)[key]) }
			if idOf(reordered) != idOf(first) {
				t.Errorf("key order changed the id: %s vs %s", first, reordered)
			}
			_, other := post(t, base+tt.path, tt.other)
			if bytes.Equal(first, other) {
				t.Errorf("different requests gave the same bytes: %s", first)
			}
		})
	}
}

func TestResponsesStream(t *testing.T) {
	url := newTestServer(t, Options{}) + "/v1/responses"
	const prompt = "Tell me a story about a dragon"
	want := Answer(prompt)

	_, plain := post(t, url, `{"model":"m","input":"`+prompt+`"}`)
	resp, b := post(t, url, `{"model":"m","input":"`+prompt+`","stream":true}`)
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/event-stream") {
		t.Fatalf("content type %q", ct)
	}
	events := readSSE(t, bytes.NewReader(b))

	var names []string
	var deltas []string
	for i, ev := range events {
		var head struct {
			Type           string `json:"type"`
			SequenceNumber *int   `json:"sequence_number"`
			Delta          string `json:"delta"`
			ItemID         string `json:"item_id"`
		}
		if err := json.Unmarshal([]byte(ev.data), &head); err != nil {
			t.Fatalf("event %d: %v: %s", i, err, ev.data)
		}
		if head.Type != ev.name {
			t.Errorf("event %d named %q carries type %q", i, ev.name, head.Type)
		}
		if head.SequenceNumber == nil || *head.SequenceNumber != i {
			t.Errorf("event %d has sequence_number %v", i, head.SequenceNumber)
		}
		if len(names) == 0 || names[len(names)-1] != ev.name {
			names = append(names, ev.name)
		}
		if ev.name == "response.output_text.delta" {
			deltas = append(deltas, head.Delta)
		}
	}
	wantNames := []string{
		"response.created", "response.in_progress", "response.output_item.added",
		"response.content_part.added", "response.output_text.delta", "response.output_text.done",
		"response.content_part.done", "response.output_item.done", "response.completed",
	}
	if strings.Join(names, ",") != strings.Join(wantNames, ",") {
		t.Errorf("event sequence\n got %v\nwant %v", names, wantNames)
	}
	if len(deltas) < 2 {
		t.Errorf("want several deltas, got %q", deltas)
	}
	if got := strings.Join(deltas, ""); got != want {
		t.Errorf("deltas join to %q, want %q", got, want)
	}

	created := decode[struct{ Response response }](t, []byte(events[0].data)).Response
	if created.Status != "in_progress" || len(created.Output) != 0 || created.Usage != nil {
		t.Errorf("created snapshot should be in progress and empty: %s", events[0].data)
	}
	done := decode[struct{ Text string }](t, []byte(events[len(events)-4].data))
	if done.Text != want {
		t.Errorf("output_text.done text %q", done.Text)
	}
	completed := decode[struct{ Response response }](t, []byte(events[len(events)-1].data)).Response
	if completed.text() != want || completed.Status != "completed" || completed.Usage == nil {
		t.Errorf("completed response: %s", events[len(events)-1].data)
	}
	// A stream and a plain call of the same request describe the same response.
	if p := decode[response](t, plain); p.ID != completed.ID || p.Output[0].ID != completed.Output[0].ID {
		t.Errorf("stream ids %s/%s differ from plain %s/%s", completed.ID, completed.Output[0].ID, p.ID, p.Output[0].ID)
	}
}

// chatCompletionResp is the part of a chat completion the tests look at.
type chatCompletionResp struct {
	ID      string `json:"id"`
	Object  string `json:"object"`
	Model   string `json:"model"`
	Choices []struct {
		Index   int `json:"index"`
		Message struct {
			Role    string `json:"role"`
			Content string `json:"content"`
		} `json:"message"`
		FinishReason string `json:"finish_reason"`
	} `json:"choices"`
	Usage struct {
		PromptTokens     int `json:"prompt_tokens"`
		CompletionTokens int `json:"completion_tokens"`
		TotalTokens      int `json:"total_tokens"`
	} `json:"usage"`
}

func TestChat(t *testing.T) {
	url := newTestServer(t, Options{}) + "/v1/chat/completions"
	tests := []struct {
		name   string
		body   string
		want   string
		n      int
		prompt int
	}{
		{"single", `{"model":"gpt-4o-mini","messages":[{"role":"user","content":"Add 3 to 42"}]}`, "45", 1, 4},
		{"system and history",
			`{"model":"gpt-4o-mini","messages":[{"role":"system","content":"You add."},{"role":"user","content":"Add 1 to 1"},{"role":"assistant","content":"2"},{"role":"user","content":"Add 1 to this number: 42."}]}`,
			"43", 1, 13},
		{"content parts", `{"model":"gpt-4o-mini","messages":[{"role":"user","content":[{"type":"text","text":"Double 21"},{"type":"image_url","image_url":{"url":"data:,"}}]}]}`, "42", 1, 2},
		{"n choices", `{"model":"gpt-4o-mini","n":3,"messages":[{"role":"user","content":"Hello"}]}`, "Echo: Hello", 3, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, b := post(t, url, tt.body)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status %d: %s", resp.StatusCode, b)
			}
			c := decode[chatCompletionResp](t, b)
			if c.Object != "chat.completion" || !strings.HasPrefix(c.ID, "chatcmpl-") || c.Model != "gpt-4o-mini" {
				t.Errorf("envelope: %s", b)
			}
			if len(c.Choices) != tt.n {
				t.Fatalf("%d choices, want %d", len(c.Choices), tt.n)
			}
			for i, ch := range c.Choices {
				if ch.Index != i || ch.Message.Role != "assistant" || ch.Message.Content != tt.want || ch.FinishReason != "stop" {
					t.Errorf("choice %d: %+v, want content %q", i, ch, tt.want)
				}
			}
			wantCompletion := tt.n * countTokens(tt.want)
			if c.Usage.PromptTokens != tt.prompt || c.Usage.CompletionTokens != wantCompletion || c.Usage.TotalTokens != tt.prompt+wantCompletion {
				t.Errorf("usage %+v, want prompt %d completion %d", c.Usage, tt.prompt, wantCompletion)
			}
		})
	}
}

func TestChatStream(t *testing.T) {
	url := newTestServer(t, Options{}) + "/v1/chat/completions"
	const prompt = "Please repeat this sentence back"
	want := Answer(prompt)
	tests := []struct {
		name         string
		extra        string
		n            int
		includeUsage bool
	}{
		{"plain", ``, 1, false},
		{"with usage", `,"stream_options":{"include_usage":true}`, 1, true},
		{"two choices with usage", `,"n":2,"stream_options":{"include_usage":true}`, 2, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, b := post(t, url, `{"model":"m","stream":true,"messages":[{"role":"user","content":"`+prompt+`"}]`+tt.extra+`}`)
			events := readSSE(t, bytes.NewReader(b))
			if last := events[len(events)-1]; last.data != "[DONE]" || last.name != "" {
				t.Fatalf("stream should end with data: [DONE], got %+v", last)
			}
			content := make([]string, tt.n)
			chunks := make([]int, tt.n)
			finished := make([]bool, tt.n)
			var usageChunks int
			for i, ev := range events[:len(events)-1] {
				var raw map[string]json.RawMessage
				if err := json.Unmarshal([]byte(ev.data), &raw); err != nil {
					t.Fatalf("chunk %d: %v", i, err)
				}
				if _, ok := raw["usage"]; ok != tt.includeUsage {
					t.Errorf("chunk %d has usage field: %v, want %v", i, ok, tt.includeUsage)
				}
				var c struct {
					ID      string `json:"id"`
					Object  string `json:"object"`
					Choices []struct {
						Index int `json:"index"`
						Delta struct {
							Role    string  `json:"role"`
							Content *string `json:"content"`
						} `json:"delta"`
						FinishReason *string `json:"finish_reason"`
					} `json:"choices"`
					Usage *struct {
						CompletionTokens int `json:"completion_tokens"`
					} `json:"usage"`
				}
				if err := json.Unmarshal([]byte(ev.data), &c); err != nil {
					t.Fatal(err)
				}
				if c.Object != "chat.completion.chunk" || !strings.HasPrefix(c.ID, "chatcmpl-") {
					t.Errorf("chunk %d envelope: %s", i, ev.data)
				}
				if c.Usage != nil {
					usageChunks++
					if len(c.Choices) != 0 || i != len(events)-2 || c.Usage.CompletionTokens != tt.n*countTokens(want) {
						t.Errorf("usage chunk %d: %s", i, ev.data)
					}
				}
				for _, ch := range c.Choices {
					if finished[ch.Index] {
						t.Errorf("choice %d got a chunk after finishing", ch.Index)
					}
					if ch.Delta.Content != nil && *ch.Delta.Content != "" {
						content[ch.Index] += *ch.Delta.Content
						chunks[ch.Index]++
					}
					if ch.FinishReason != nil {
						finished[ch.Index] = *ch.FinishReason == "stop"
					}
				}
			}
			for i := range tt.n {
				if content[i] != want || chunks[i] < 2 || !finished[i] {
					t.Errorf("choice %d: content %q in %d chunks, finished %v; want %q in several", i, content[i], chunks[i], finished[i], want)
				}
			}
			if want := map[bool]int{true: 1, false: 0}[tt.includeUsage]; usageChunks != want {
				t.Errorf("%d usage chunks, want %d", usageChunks, want)
			}
		})
	}
}

func TestEmbeddings(t *testing.T) {
	url := newTestServer(t, Options{}) + "/v1/embeddings"
	type result struct {
		Object string `json:"object"`
		Data   []struct {
			Object    string          `json:"object"`
			Index     int             `json:"index"`
			Embedding json.RawMessage `json:"embedding"`
		} `json:"data"`
		Usage struct {
			PromptTokens int `json:"prompt_tokens"`
			TotalTokens  int `json:"total_tokens"`
		} `json:"usage"`
	}
	floats := func(t *testing.T, raw json.RawMessage) []float32 {
		var v []float32
		if json.Unmarshal(raw, &v) == nil {
			return v
		}
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			t.Fatalf("embedding is neither floats nor base64: %s", raw)
		}
		b, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			t.Fatal(err)
		}
		v = make([]float32, len(b)/4)
		for i := range v {
			v[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
		}
		return v
	}
	embed := func(t *testing.T, body string) ([]([]float32), result) {
		resp, b := post(t, url, body)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("status %d: %s", resp.StatusCode, b)
		}
		r := decode[result](t, b)
		var vs [][]float32
		for i, d := range r.Data {
			if d.Index != i || d.Object != "embedding" {
				t.Errorf("data[%d]: index %d object %q", i, d.Index, d.Object)
			}
			vs = append(vs, floats(t, d.Embedding))
		}
		return vs, r
	}

	tests := []struct {
		name   string
		body   string
		count  int
		dims   int
		tokens int
	}{
		{"string", `{"model":"text-embedding-3-small","input":"hello world"}`, 1, 1536, 2},
		{"large model", `{"model":"text-embedding-3-large","input":"hello"}`, 1, 3072, 1},
		{"list", `{"model":"text-embedding-3-small","input":["hello world","a b c"],"dimensions":8}`, 2, 8, 5},
		{"token ids", `{"model":"text-embedding-3-small","input":[1,2,3],"dimensions":4}`, 1, 4, 3},
		{"token id lists", `{"model":"text-embedding-3-small","input":[[1,2],[3]],"dimensions":4}`, 2, 4, 3},
		{"base64", `{"model":"text-embedding-3-small","input":"hello world","encoding_format":"base64"}`, 1, 1536, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vs, r := embed(t, tt.body)
			if r.Object != "list" || len(vs) != tt.count || r.Usage.PromptTokens != tt.tokens || r.Usage.TotalTokens != tt.tokens {
				t.Fatalf("got %d vectors, usage %+v", len(vs), r.Usage)
			}
			for i, v := range vs {
				if len(v) != tt.dims {
					t.Errorf("vector %d has %d dims, want %d", i, len(v), tt.dims)
				}
				norm := 0.0
				for _, x := range v {
					norm += float64(x) * float64(x)
				}
				if math.Abs(norm-1) > 1e-4 {
					t.Errorf("vector %d has squared norm %v, want 1", i, norm)
				}
			}
		})
	}

	t.Run("same text same vector in every encoding", func(t *testing.T) {
		f, _ := embed(t, `{"model":"m","input":["hello world","other"],"encoding_format":"float"}`)
		b, _ := embed(t, `{"model":"m","input":"hello world","encoding_format":"base64"}`)
		for i := range f[0] {
			if f[0][i] != b[0][i] {
				t.Fatalf("float and base64 differ at %d: %v vs %v", i, f[0][i], b[0][i])
			}
		}
		same := true
		for i := range f[0] {
			same = same && f[0][i] == f[1][i]
		}
		if same {
			t.Error("different texts gave the same vector")
		}
	})
}

func TestModels(t *testing.T) {
	base := newTestServer(t, Options{})
	resp, err := http.Get(base + "/v1/models")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	list := decode[struct {
		Object string
		Data   []struct{ ID, Object string }
	}](t, b)
	if list.Object != "list" || len(list.Data) != len(models) || list.Data[0].Object != "model" {
		t.Errorf("models list: %s", b)
	}
	resp, err = http.Get(base + "/v1/models/my-own-model")
	if err != nil {
		t.Fatal(err)
	}
	b, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if m := decode[struct{ ID, Object string }](t, b); resp.StatusCode != 200 || m.ID != "my-own-model" || m.Object != "model" {
		t.Errorf("model: %d %s", resp.StatusCode, b)
	}
}

func TestErrors(t *testing.T) {
	base := newTestServer(t, Options{})
	tests := []struct {
		name, method, path, body string
		status                   int
		param                    string // "" means null
	}{
		{"malformed json", "POST", "/v1/chat/completions", `{"model":`, 400, ""},
		{"not an object", "POST", "/v1/responses", `[1,2]`, 400, ""},
		{"wrong field type", "POST", "/v1/chat/completions", `{"model":"m","messages":"hi"}`, 400, "messages"},
		{"chat missing model", "POST", "/v1/chat/completions", `{"messages":[{"role":"user","content":"hi"}]}`, 400, "model"},
		{"chat missing messages", "POST", "/v1/chat/completions", `{"model":"m"}`, 400, "messages"},
		{"chat empty messages", "POST", "/v1/chat/completions", `{"model":"m","messages":[]}`, 400, "messages"},
		{"chat message without role", "POST", "/v1/chat/completions", `{"model":"m","messages":[{"content":"hi"}]}`, 400, "messages"},
		{"chat n zero", "POST", "/v1/chat/completions", `{"model":"m","n":0,"messages":[{"role":"user","content":"hi"}]}`, 400, "n"},
		{"responses missing model", "POST", "/v1/responses", `{"input":"hi"}`, 400, "model"},
		{"responses missing input", "POST", "/v1/responses", `{"model":"m"}`, 400, "input"},
		{"responses bad input", "POST", "/v1/responses", `{"model":"m","input":42}`, 400, "input"},
		{"embeddings missing input", "POST", "/v1/embeddings", `{"model":"m"}`, 400, "input"},
		{"embeddings empty input", "POST", "/v1/embeddings", `{"model":"m","input":""}`, 400, "input"},
		{"embeddings bad dimensions", "POST", "/v1/embeddings", `{"model":"m","input":"a","dimensions":0}`, 400, "dimensions"},
		{"embeddings bad format", "POST", "/v1/embeddings", `{"model":"m","input":"a","encoding_format":"hex"}`, 400, "encoding_format"},
		{"unknown route", "POST", "/v1/completions/nope", `{}`, 404, ""},
		{"wrong method", "GET", "/v1/chat/completions", ``, 404, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequest(tt.method, base+tt.path, strings.NewReader(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tt.status {
				t.Errorf("status %d, want %d: %s", resp.StatusCode, tt.status, b)
			}
			if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("content type %q", ct)
			}
			var e struct {
				Error *struct {
					Message string  `json:"message"`
					Type    string  `json:"type"`
					Param   *string `json:"param"`
					Code    *string `json:"code"`
				} `json:"error"`
			}
			if err := json.Unmarshal(b, &e); err != nil || e.Error == nil {
				t.Fatalf("not an error object: %s", b)
			}
			if e.Error.Message == "" || e.Error.Type != "invalid_request_error" {
				t.Errorf("error %+v", e.Error)
			}
			gotParam := ""
			if e.Error.Param != nil {
				gotParam = *e.Error.Param
			}
			if gotParam != tt.param {
				t.Errorf("param %q, want %q (%s)", gotParam, tt.param, b)
			}
		})
	}
}

// TestDelays checks that every route waits Latency before answering and
// every stream ChunkDelay between its text chunks.
func TestDelays(t *testing.T) {
	const latency, chunkDelay = 40 * time.Millisecond, 15 * time.Millisecond
	base := newTestServer(t, Options{Latency: latency, ChunkDelay: chunkDelay})
	const prompt = "one two three four"
	chunkGaps := time.Duration(len(splitDeltas(Answer(prompt)))-1) * chunkDelay
	tests := []struct {
		name, userAgent, path, body string
		stream                      bool
	}{
		{"responses", "", "/v1/responses", `{"model":"m","input":"` + prompt + `"}`, false},
		{"responses stream", "", "/v1/responses", `{"model":"m","stream":true,"input":"` + prompt + `"}`, true},
		{"chat", "", "/v1/chat/completions", `{"model":"m","messages":[{"role":"user","content":"` + prompt + `"}]}`, false},
		{"chat stream", "", "/v1/chat/completions", `{"model":"m","stream":true,"messages":[{"role":"user","content":"` + prompt + `"}]}`, true},
		{"together stream", togetherUA, "/v1/chat/completions", `{"model":"m","stream":true,"messages":[{"role":"user","content":"` + prompt + `"}]}`, true},
		{"embeddings", "", "/v1/embeddings", `{"model":"m","input":"` + prompt + `"}`, false},
		{"anthropic", "", "/v1/messages", `{"model":"m","max_tokens":10,"messages":[{"role":"user","content":"` + prompt + `"}]}`, false},
		{"anthropic stream", "", "/v1/messages", `{"model":"m","max_tokens":10,"stream":true,"messages":[{"role":"user","content":"` + prompt + `"}]}`, true},
		{"gemini", "", "/v1/models/g:generateContent", `{"contents":[{"parts":[{"text":"` + prompt + `"}]}]}`, false},
		{"gemini stream", "", "/v1/models/g:streamGenerateContent?alt=sse", `{"contents":[{"parts":[{"text":"` + prompt + `"}]}]}`, true},
		{"gemini embed", "", "/v1/models/g:embedContent", `{"content":{"parts":[{"text":"` + prompt + `"}]}}`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Now()
			resp, b := postAs(t, base+tt.path, tt.userAgent, tt.body)
			elapsed := time.Since(start)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status %d: %s", resp.StatusCode, b)
			}
			want := latency
			if tt.stream {
				want += chunkGaps
			}
			if elapsed < want {
				t.Errorf("answered after %v, want at least %v", elapsed, want)
			}
		})
	}
}

// TestServeStopsAfterInFlightRequests checks that cancelling Serve's context
// lets a stream that is under way finish, without waiting out its delays.
func TestServeStopsAfterInFlightRequests(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	served := make(chan error, 1)
	go func() { served <- New(Options{ChunkDelay: time.Hour}).Serve(ctx, ln) }()

	body := `{"model":"m","stream":true,"input":"one two three four"}`
	resp, err := http.Post("http://"+ln.Addr().String()+"/v1/responses", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	br := bufio.NewReader(resp.Body)
	// The first delta is sent before any chunk delay; once it is read the
	// handler is known to be in flight.
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		if line == "event: response.output_text.delta\n" {
			break
		}
	}
	cancel()
	rest := readSSE(t, br)
	if err := <-served; err != nil {
		t.Errorf("Serve returned %v", err)
	}
	last := rest[len(rest)-1]
	if last.name != "response.completed" {
		t.Fatalf("stream did not complete: last event %q", last.name)
	}
	completed := decode[struct{ Response response }](t, []byte(last.data)).Response
	if completed.text() != Answer("one two three four") {
		t.Errorf("completed text %q", completed.text())
	}
	if _, err := http.Get("http://" + ln.Addr().String() + "/v1/models"); err == nil {
		t.Error("server still accepts connections after Serve returned")
	}
}

func TestListenAndServeBadAddress(t *testing.T) {
	if err := New(Options{}).ListenAndServe(context.Background(), "127.0.0.1:-1"); err == nil {
		t.Error("want an error for an invalid address")
	}
}
