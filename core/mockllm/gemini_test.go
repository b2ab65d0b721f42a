package mockllm

import (
	"bytes"
	"encoding/json"
	"math"
	"net/http"
	"strings"
	"testing"
)

// geminiResp is the part of a GenerateContentResponse the tests look at.
type geminiResp struct {
	Candidates []struct {
		Content struct {
			Parts []struct {
				Text string `json:"text"`
			} `json:"parts"`
			Role string `json:"role"`
		} `json:"content"`
		FinishReason string `json:"finishReason"`
		Index        int    `json:"index"`
	} `json:"candidates"`
	UsageMetadata struct {
		PromptTokenCount     int `json:"promptTokenCount"`
		CandidatesTokenCount int `json:"candidatesTokenCount"`
		TotalTokenCount      int `json:"totalTokenCount"`
	} `json:"usageMetadata"`
	ModelVersion string `json:"modelVersion"`
	ResponseID   string `json:"responseId"`
}

func (r geminiResp) text(i int) string {
	var b strings.Builder
	for _, p := range r.Candidates[i].Content.Parts {
		b.WriteString(p.Text)
	}
	return b.String()
}

func TestGeminiGenerate(t *testing.T) {
	base := newTestServer(t, Options{})
	tests := []struct {
		name        string
		version     string
		body        string
		want        string
		n           int
		inputTokens int
	}{
		{"text", "v1", `{"contents":[{"role":"user","parts":[{"text":"Add 1 to 42"}]}]}`, "43", 1, 4},
		{"v1beta", "v1beta", `{"contents":[{"role":"user","parts":[{"text":"Add 1 to 42"}]}]}`, "43", 1, 4},
		{"role left out", "v1", `{"contents":[{"parts":[{"text":"Double 21"}]}]}`, "42", 1, 2},
		{"parts joined", "v1", `{"contents":[{"role":"user","parts":[{"text":"Multiply 6"},{"inlineData":{"mimeType":"image/png","data":""}},{"text":"by 7"}]}]}`, "42", 1, 4},
		{"system instruction counts but is not the user message",
			"v1", `{"systemInstruction":{"role":"user","parts":[{"text":"Add 5 to 5"}]},"contents":[{"role":"user","parts":[{"text":"Output the number 42"}]}],"generationConfig":{"temperature":0.5,"maxOutputTokens":100}}`,
			"42", 1, 8},
		{"history, last user turn wins",
			"v1", `{"contents":[{"role":"user","parts":[{"text":"Double 4"}]},{"role":"model","parts":[{"text":"8"}]},{"role":"user","parts":[{"text":"Subtract 2 from 10"}]}]}`,
			"8", 1, 7},
		{"function responses are not the user's message",
			"v1", `{"contents":[{"role":"user","parts":[{"text":"Add 1 to 42"}]},{"role":"model","parts":[{"functionCall":{"name":"f","args":{}}}]},{"role":"user","parts":[{"functionResponse":{"name":"f","response":{"sky":"blue"}}}]}]}`,
			"43", 1, 5},
		{"candidate count", "v1", `{"contents":[{"parts":[{"text":"Hello"}]}],"generationConfig":{"candidateCount":3}}`, "Echo: Hello", 3, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, b := post(t, base+"/"+tt.version+"/models/gemini-2.5-flash:generateContent", tt.body)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status %d: %s", resp.StatusCode, b)
			}
			r := decode[geminiResp](t, b)
			if len(r.Candidates) != tt.n {
				t.Fatalf("%d candidates, want %d: %s", len(r.Candidates), tt.n, b)
			}
			for i, c := range r.Candidates {
				if r.text(i) != tt.want || c.Content.Role != "model" || c.FinishReason != "STOP" || c.Index != i {
					t.Errorf("candidate %d: %+v, want text %q", i, c, tt.want)
				}
			}
			u := r.UsageMetadata
			out := tt.n * countTokens(tt.want)
			if u.PromptTokenCount != tt.inputTokens || u.CandidatesTokenCount != out || u.TotalTokenCount != tt.inputTokens+out {
				t.Errorf("usage %+v, want prompt %d candidates %d", u, tt.inputTokens, out)
			}
			if r.ModelVersion != "gemini-2.5-flash" || r.ResponseID == "" {
				t.Errorf("envelope: %s", b)
			}
		})
	}
}

func TestGeminiStream(t *testing.T) {
	base := newTestServer(t, Options{}) + "/v1/models/gemini-2.5-flash:"
	const prompt = "Tell me a story about a dragon"
	want := Answer(prompt)
	body := `{"contents":[{"role":"user","parts":[{"text":"` + prompt + `"}]}],"generationConfig":{"candidateCount":2}}`
	_, plainBody := post(t, base+"generateContent", body)
	plain := decode[geminiResp](t, plainBody)

	check := func(t *testing.T, chunks []geminiResp) {
		t.Helper()
		if len(chunks) < 2 {
			t.Fatalf("want several chunks, got %d", len(chunks))
		}
		texts := make([]string, 2)
		for i, c := range chunks {
			last := i == len(chunks)-1
			if len(c.Candidates) != 2 || c.ResponseID != plain.ResponseID || c.ModelVersion != "gemini-2.5-flash" {
				t.Errorf("chunk %d envelope: %+v", i, c)
			}
			for j, cand := range c.Candidates {
				texts[j] += c.text(j)
				if (cand.FinishReason == "STOP") != last {
					t.Errorf("chunk %d candidate %d finish reason %q", i, j, cand.FinishReason)
				}
			}
			u := c.UsageMetadata
			if u.PromptTokenCount != 7 || (u.CandidatesTokenCount != 0) != last {
				t.Errorf("chunk %d usage %+v", i, u)
			}
			if last && (u.CandidatesTokenCount != 2*countTokens(want) || u.TotalTokenCount != 7+2*countTokens(want)) {
				t.Errorf("last chunk usage %+v", u)
			}
		}
		if texts[0] != want || texts[1] != want {
			t.Errorf("streamed texts %q, want %q", texts, want)
		}
	}

	t.Run("sse", func(t *testing.T) {
		resp, b := post(t, base+"streamGenerateContent?alt=sse", body)
		if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/event-stream") {
			t.Fatalf("content type %q", ct)
		}
		var chunks []geminiResp
		for _, ev := range readSSE(t, bytes.NewReader(b)) {
			if ev.name != "" {
				t.Errorf("gemini events are unnamed, got %q", ev.name)
			}
			chunks = append(chunks, decode[geminiResp](t, []byte(ev.data)))
		}
		check(t, chunks)
	})
	t.Run("json array", func(t *testing.T) {
		resp, b := post(t, base+"streamGenerateContent", body)
		if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
			t.Fatalf("content type %q", ct)
		}
		check(t, decode[[]geminiResp](t, b))
	})
}

func TestGeminiCountTokens(t *testing.T) {
	url := newTestServer(t, Options{}) + "/v1beta/models/gemini-2.5-flash:countTokens"
	resp, b := post(t, url, `{"contents":[{"role":"user","parts":[{"text":"a b c"}]}]}`)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d: %s", resp.StatusCode, b)
	}
	if got := decode[struct{ TotalTokens int }](t, b).TotalTokens; got != 3 {
		t.Errorf("totalTokens %d, want 3: %s", got, b)
	}
}

func TestGeminiEmbed(t *testing.T) {
	base := newTestServer(t, Options{}) + "/v1/models/"
	type values struct {
		Values []float32 `json:"values"`
	}
	batch := func(t *testing.T, model, body string) []values {
		t.Helper()
		resp, b := post(t, base+model+":batchEmbedContents", body)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("status %d: %s", resp.StatusCode, b)
		}
		return decode[struct{ Embeddings []values }](t, b).Embeddings
	}
	tests := []struct {
		name, model, body string
		count, dims       int
	}{
		{"gemini embedding", "gemini-embedding-001", `{"requests":[{"model":"models/gemini-embedding-001","content":{"parts":[{"text":"a"}]}},{"model":"models/gemini-embedding-001","content":{"parts":[{"text":"b"}]}}]}`, 2, 3072},
		{"text embedding", "text-embedding-004", `{"requests":[{"content":{"parts":[{"text":"a"}]}}]}`, 1, 768},
		{"output dimensionality", "gemini-embedding-001", `{"requests":[{"content":{"parts":[{"text":"a"}]},"outputDimensionality":8}]}`, 1, 8},
		{"dimensionality in embedContentConfig", "gemini-embedding-001", `{"requests":[{"content":{"parts":[{"text":"a"}]},"embedContentConfig":{"outputDimensionality":4}}]}`, 1, 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			es := batch(t, tt.model, tt.body)
			if len(es) != tt.count {
				t.Fatalf("%d embeddings, want %d", len(es), tt.count)
			}
			for i, e := range es {
				norm := 0.0
				for _, x := range e.Values {
					norm += float64(x) * float64(x)
				}
				if len(e.Values) != tt.dims || math.Abs(norm-1) > 1e-4 {
					t.Errorf("embedding %d: %d values with squared norm %v, want %d unit", i, len(e.Values), norm, tt.dims)
				}
			}
		})
	}

	t.Run("single matches batch", func(t *testing.T) {
		resp, b := post(t, base+"text-embedding-004:embedContent", `{"content":{"parts":[{"text":"a"}]}}`)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("status %d: %s", resp.StatusCode, b)
		}
		one := decode[struct{ Embedding values }](t, b).Embedding
		many := batch(t, "text-embedding-004", `{"requests":[{"content":{"parts":[{"text":"a"}]}},{"content":{"parts":[{"text":"b"}]}}]}`)
		if len(one.Values) != 768 || !equalFloats(one.Values, many[0].Values) {
			t.Error("the same text embedded alone and in a batch differs")
		}
		if equalFloats(many[0].Values, many[1].Values) {
			t.Error("different texts gave the same embedding")
		}
	})
}

func equalFloats(a, b []float32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestGeminiErrors(t *testing.T) {
	base := newTestServer(t, Options{})
	const gen = "/v1/models/gemini-2.5-flash:generateContent"
	tests := []struct {
		name, path, body string
		status           int
		wantStatus       string
	}{
		{"no contents", gen, `{}`, 400, "INVALID_ARGUMENT"},
		{"empty contents", gen, `{"contents":[]}`, 400, "INVALID_ARGUMENT"},
		{"bad role", gen, `{"contents":[{"role":"system","parts":[{"text":"hi"}]}]}`, 400, "INVALID_ARGUMENT"},
		{"content not an object", gen, `{"contents":["hi"]}`, 400, "INVALID_ARGUMENT"},
		{"candidate count too high", gen, `{"contents":[{"parts":[{"text":"hi"}]}],"generationConfig":{"candidateCount":9}}`, 400, "INVALID_ARGUMENT"},
		{"malformed json", gen, `{"contents":`, 400, "INVALID_ARGUMENT"},
		{"stream errors before streaming", "/v1beta/models/m:streamGenerateContent?alt=sse", `{"contents":[]}`, 400, "INVALID_ARGUMENT"},
		{"embed without content", "/v1/models/text-embedding-004:batchEmbedContents", `{"requests":[{}]}`, 400, "INVALID_ARGUMENT"},
		{"embed bad dimensionality", "/v1/models/text-embedding-004:embedContent", `{"content":{"parts":[{"text":"a"}]},"outputDimensionality":0}`, 400, "INVALID_ARGUMENT"},
		{"unknown method", "/v1/models/gemini-2.5-flash:predict", `{}`, 404, "NOT_FOUND"},
		{"no method", "/v1beta/models/gemini-2.5-flash", `{}`, 404, "NOT_FOUND"},
		{"unknown v1beta path", "/v1beta/tunedModels/x:generateContent", `{}`, 404, "NOT_FOUND"},
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
			var e struct {
				Error *struct {
					Code    int    `json:"code"`
					Message string `json:"message"`
					Status  string `json:"status"`
				} `json:"error"`
			}
			if err := json.Unmarshal(b, &e); err != nil || e.Error == nil {
				t.Fatalf("not an error object: %s", b)
			}
			if e.Error.Code != tt.status || e.Error.Status != tt.wantStatus || e.Error.Message == "" {
				t.Errorf("error %+v, want code %d status %s", e.Error, tt.status, tt.wantStatus)
			}
		})
	}
}
