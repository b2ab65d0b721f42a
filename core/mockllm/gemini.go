package mockllm

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
)

// maxCandidates is the real API's upper bound for candidateCount.
const maxCandidates = 8

// Gemini embedding sizes: gemini-embedding-* models give 3072 values, the
// older text-embedding-* ones 768.
const (
	geminiEmbeddingDimensions = 3072
	textEmbeddingDimensions   = 768
)

type geminiRequest struct {
	Contents          []json.RawMessage `json:"contents"`
	SystemInstruction json.RawMessage   `json:"systemInstruction"`
	GenerationConfig  struct {
		CandidateCount *int `json:"candidateCount"`
	} `json:"generationConfig"`
}

type geminiContent struct {
	Role  string       `json:"role"`
	Parts []geminiPart `json:"parts"`
}

// geminiPart is one part of a content. Only text and function responses
// carry text the mock reads; inline data and function calls are passed over.
type geminiPart struct {
	Text             *string         `json:"text"`
	FunctionResponse json.RawMessage `json:"functionResponse"`
}

// text joins the content's text parts.
func (c *geminiContent) text() string {
	var texts []string
	for _, p := range c.Parts {
		if p.Text != nil {
			texts = append(texts, *p.Text)
		}
	}
	return strings.Join(texts, "\n")
}

// geminiConversation reads the system instruction and the contents. A user
// turn made only of function responses is the tools speaking, so it counts
// in the prompt but leaves the last user message as it was.
func geminiConversation(req *geminiRequest) (*conversation, *apiError) {
	c := &conversation{}
	if len(req.SystemInstruction) > 0 && string(req.SystemInstruction) != "null" {
		var sys geminiContent
		if json.Unmarshal(req.SystemInstruction, &sys) != nil {
			return nil, invalid("systemInstruction", "Invalid value at 'system_instruction': expected a Content object with parts.")
		}
		c.add("system", sys.text())
	}
	if len(req.Contents) == 0 {
		return nil, invalid("contents", "* GenerateContentRequest.contents: contents is not specified")
	}
	for i, raw := range req.Contents {
		var m geminiContent
		if json.Unmarshal(raw, &m) != nil {
			return nil, invalid("contents", "Invalid value at 'contents[%d]': expected a Content object with parts.", i)
		}
		role := m.Role
		switch role {
		case "":
			role = "user" // a single-turn request may leave the role out
		case "user", "model":
		default:
			return nil, invalid("contents", "Please use a valid role: user, model.")
		}
		onlyTools := len(m.Parts) > 0
		for _, p := range m.Parts {
			if len(p.FunctionResponse) > 0 {
				c.add("tool", string(p.FunctionResponse))
			} else {
				onlyTools = false
			}
		}
		if !onlyTools {
			c.add(role, m.text())
		}
	}
	return c, nil
}

type geminiResponse struct {
	Candidates    []geminiCandidate `json:"candidates"`
	UsageMetadata geminiUsage       `json:"usageMetadata"`
	ModelVersion  string            `json:"modelVersion"`
	ResponseID    string            `json:"responseId"`
}

type geminiCandidate struct {
	Content struct {
		Parts []geminiText `json:"parts"`
		Role  string       `json:"role"`
	} `json:"content"`
	FinishReason string `json:"finishReason,omitempty"`
	Index        int    `json:"index"`
}

type geminiText struct {
	Text string `json:"text"`
}

type geminiUsage struct {
	PromptTokenCount     int             `json:"promptTokenCount"`
	CandidatesTokenCount int             `json:"candidatesTokenCount,omitempty"`
	TotalTokenCount      int             `json:"totalTokenCount"`
	PromptTokensDetails  []modalityCount `json:"promptTokensDetails"`
}

type modalityCount struct {
	Modality   string `json:"modality"`
	TokenCount int    `json:"tokenCount"`
}

func textTokens(n int) []modalityCount { return []modalityCount{{"TEXT", n}} }

// handleGemini serves POST /{version}/models/{model}:{method}.
func (s *Server) handleGemini(w http.ResponseWriter, r *http.Request) {
	call := r.PathValue("call")
	i := strings.LastIndexByte(call, ':')
	if i <= 0 {
		notFound(w, r)
		return
	}
	model, method := call[:i], call[i+1:]
	switch method {
	case "generateContent":
		s.geminiGenerate(w, r, model, false)
	case "streamGenerateContent":
		s.geminiGenerate(w, r, model, true)
	case "countTokens":
		s.geminiCountTokens(w, r)
	case "embedContent":
		s.geminiEmbed(w, r, model, false)
	case "batchEmbedContents":
		s.geminiEmbed(w, r, model, true)
	default:
		notFound(w, r)
	}
}

// geminiChunk builds a response carrying text in each of n candidates;
// finished adds the finish reason and the output token count.
func geminiChunk(model, respID, text string, n, promptTokens, outputTokens int, finished bool) geminiResponse {
	resp := geminiResponse{
		Candidates:   make([]geminiCandidate, n),
		ModelVersion: model,
		ResponseID:   respID,
		UsageMetadata: geminiUsage{
			PromptTokenCount:    promptTokens,
			TotalTokenCount:     promptTokens,
			PromptTokensDetails: textTokens(promptTokens),
		},
	}
	for i := range resp.Candidates {
		c := &resp.Candidates[i]
		c.Index = i
		c.Content.Role = "model"
		c.Content.Parts = []geminiText{{text}}
		if finished {
			c.FinishReason = "STOP"
		}
	}
	if finished {
		resp.UsageMetadata.CandidatesTokenCount = outputTokens
		resp.UsageMetadata.TotalTokenCount += outputTokens
	}
	return resp
}

func (s *Server) geminiGenerate(w http.ResponseWriter, r *http.Request, model string, stream bool) {
	var req geminiRequest
	// One route for both methods, so a stream and a plain call share ids.
	digest, aerr := decodeRequest(r, "gemini/"+model+":generateContent", &req)
	n := 1
	if aerr == nil && req.GenerationConfig.CandidateCount != nil {
		n = *req.GenerationConfig.CandidateCount
		if n < 1 || n > maxCandidates {
			aerr = invalid("generationConfig.candidateCount", "* GenerateContentRequest.generation_config.candidate_count: must be between 1 and %d, got %d", maxCandidates, n)
		}
	}
	var conv *conversation
	if aerr == nil {
		conv, aerr = geminiConversation(&req)
	}
	if aerr != nil {
		writeGeminiError(w, aerr)
		return
	}
	if !s.pause(r, s.opts.Latency) {
		return
	}
	answer := Answer(conv.lastUser)
	respID := id("", digest, "response", 22)
	promptTokens := countTokens(conv.prompt())
	outputTokens := n * countTokens(answer)
	if !stream {
		s.writeJSON(w, r, geminiChunk(model, respID, answer, n, promptTokens, outputTokens, true))
		return
	}
	deltas := splitDeltas(answer)
	if len(deltas) == 0 {
		deltas = []string{""}
	}
	// The SDK always asks for server-sent events; without alt=sse the real
	// API streams one JSON array instead.
	var send func(i int, chunk geminiResponse) error
	if r.URL.Query().Get("alt") == "sse" {
		sse := newSSEWriter(w)
		send = func(_ int, chunk geminiResponse) error { return sse.event("", chunk) }
	} else {
		w.Header().Set("Content-Type", "application/json")
		rc := http.NewResponseController(w)
		send = func(i int, chunk geminiResponse) error {
			b, err := json.Marshal(chunk)
			if err != nil {
				return err
			}
			sep, end := ",\r\n", ""
			if i == 0 {
				sep = "["
			}
			if i == len(deltas)-1 {
				end = "]"
			}
			if _, err := fmt.Fprintf(w, "%s%s%s", sep, b, end); err != nil {
				return err
			}
			return rc.Flush()
		}
	}
	for i, d := range deltas {
		if i > 0 && !s.pause(r, s.opts.ChunkDelay) {
			return
		}
		last := i == len(deltas)-1
		if err := send(i, geminiChunk(model, respID, d, n, promptTokens, outputTokens, last)); err != nil {
			s.log.Debug("mockllm: stream gemini", "path", r.URL.Path, "err", err)
			return
		}
	}
}

func (s *Server) geminiCountTokens(w http.ResponseWriter, r *http.Request) {
	var req geminiRequest
	_, aerr := decodeRequest(r, r.URL.Path, &req)
	var conv *conversation
	if aerr == nil {
		conv, aerr = geminiConversation(&req)
	}
	if aerr != nil {
		writeGeminiError(w, aerr)
		return
	}
	n := countTokens(conv.prompt())
	s.writeJSON(w, r, struct {
		TotalTokens         int             `json:"totalTokens"`
		PromptTokensDetails []modalityCount `json:"promptTokensDetails"`
	}{n, textTokens(n)})
}

// geminiEmbedRequest is one embedContent request, alone or in a batch. The
// SDK puts outputDimensionality at the top or, for some models, in
// embedContentConfig.
type geminiEmbedRequest struct {
	Content              *geminiContent `json:"content"`
	OutputDimensionality *int           `json:"outputDimensionality"`
	EmbedContentConfig   struct {
		OutputDimensionality *int `json:"outputDimensionality"`
	} `json:"embedContentConfig"`
}

type geminiEmbedding struct {
	Values []float32 `json:"values"`
}

func (s *Server) geminiEmbed(w http.ResponseWriter, r *http.Request, model string, batch bool) {
	var reqs []geminiEmbedRequest
	var aerr *apiError
	if batch {
		var body struct {
			Requests []geminiEmbedRequest `json:"requests"`
		}
		_, aerr = decodeRequest(r, r.URL.Path, &body)
		if aerr == nil && len(body.Requests) == 0 {
			aerr = invalid("requests", "* BatchEmbedContentsRequest.requests: requests is not specified")
		}
		reqs = body.Requests
	} else {
		var one geminiEmbedRequest
		_, aerr = decodeRequest(r, r.URL.Path, &one)
		reqs = []geminiEmbedRequest{one}
	}
	dflt := textEmbeddingDimensions
	if strings.Contains(model, "gemini-embedding") {
		dflt = geminiEmbeddingDimensions
	}
	out := make([]geminiEmbedding, 0, len(reqs))
	for i, req := range reqs {
		if aerr != nil {
			break
		}
		if req.Content == nil || len(req.Content.Parts) == 0 {
			aerr = invalid("content", "* EmbedContentRequest.content: content is not specified (request %d)", i)
			break
		}
		dims := dflt
		for _, d := range []*int{req.OutputDimensionality, req.EmbedContentConfig.OutputDimensionality} {
			if d != nil {
				dims = *d
			}
		}
		if dims < 1 || dims > maxDimensions {
			aerr = invalid("outputDimensionality", "* EmbedContentRequest.output_dimensionality: must be between 1 and %d, got %d", maxDimensions, dims)
			break
		}
		out = append(out, geminiEmbedding{vector(req.Content.text(), dims)})
	}
	if aerr != nil {
		writeGeminiError(w, aerr)
		return
	}
	if !s.pause(r, s.opts.Latency) {
		return
	}
	if batch {
		s.writeJSON(w, r, struct {
			Embeddings []geminiEmbedding `json:"embeddings"`
		}{out})
		return
	}
	s.writeJSON(w, r, struct {
		Embedding geminiEmbedding `json:"embedding"`
	}{out[0]})
}

// geminiStatuses names Google's canonical error status for an HTTP status.
var geminiStatuses = map[int]string{
	http.StatusBadRequest:            "INVALID_ARGUMENT",
	http.StatusNotFound:              "NOT_FOUND",
	http.StatusRequestEntityTooLarge: "INVALID_ARGUMENT",
	http.StatusInternalServerError:   "INTERNAL",
}

// writeGeminiError writes e in Google's error shape.
func writeGeminiError(w http.ResponseWriter, e *apiError) {
	status, ok := geminiStatuses[e.status]
	if !ok {
		status = "UNKNOWN"
	}
	type detail struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
		Status  string `json:"status"`
	}
	body, _ := json.Marshal(struct {
		Error detail `json:"error"`
	}{detail{e.status, e.Message, status}})
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(e.status)
	_, _ = w.Write(body)
}
