package mockllm

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"math"
	"net/http"
	"strconv"
	"strings"
)

const (
	defaultDimensions = 1536
	largeDimensions   = 3072 // text-embedding-3-large's size
	maxDimensions     = 8192
)

type embeddingsRequest struct {
	Model          string          `json:"model"`
	Input          json.RawMessage `json:"input"`
	Dimensions     *int            `json:"dimensions"`
	EncodingFormat string          `json:"encoding_format"`
}

type embeddingsResponse struct {
	Object string      `json:"object"`
	Data   []embedding `json:"data"`
	Model  string      `json:"model"`
	Usage  struct {
		PromptTokens int `json:"prompt_tokens"`
		TotalTokens  int `json:"total_tokens"`
	} `json:"usage"`
}

type embedding struct {
	Object    string `json:"object"`
	Index     int    `json:"index"`
	Embedding any    `json:"embedding"` // []float32, or a base64 string of little-endian float32s
}

// embeddingInput is one input to embed: its text (token arrays are embedded
// by their JSON text) and its token count.
type embeddingInput struct {
	text   string
	tokens int
}

// embeddingInputs accepts every input shape the API does: a string, an array
// of strings, an array of token ids, or an array of token id arrays.
func embeddingInputs(raw json.RawMessage) ([]embeddingInput, *apiError) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, invalid("input", "Missing required parameter: 'input'.")
	}
	bad := invalid("input", "Invalid 'input': expected a non-empty string, an array of non-empty strings, or token arrays.")
	var s string
	if json.Unmarshal(raw, &s) == nil {
		if s == "" {
			return nil, bad
		}
		return []embeddingInput{{s, countTokens(s)}}, nil
	}
	var list []json.RawMessage
	if json.Unmarshal(raw, &list) != nil || len(list) == 0 {
		return nil, bad
	}
	var tokens []int
	if json.Unmarshal(raw, &tokens) == nil {
		return []embeddingInput{{tokensText(tokens), len(tokens)}}, nil
	}
	out := make([]embeddingInput, 0, len(list))
	for _, item := range list {
		if json.Unmarshal(item, &s) == nil && s != "" {
			out = append(out, embeddingInput{s, countTokens(s)})
			continue
		}
		if json.Unmarshal(item, &tokens) == nil && len(tokens) > 0 {
			out = append(out, embeddingInput{tokensText(tokens), len(tokens)})
			continue
		}
		return nil, bad
	}
	return out, nil
}

func tokensText(tokens []int) string {
	parts := make([]string, len(tokens))
	for i, t := range tokens {
		parts[i] = strconv.Itoa(t)
	}
	return "[" + strings.Join(parts, ",") + "]"
}

// vector derives a unit vector from text alone: equal texts get equal
// vectors, and a shorter vector is a renormalised prefix of a longer one, as
// with the real models' shortening.
func vector(text string, dims int) []float32 {
	v := make([]float64, dims)
	var block [sha256.Size]byte
	for i := range v {
		if i%8 == 0 {
			block = sha256.Sum256([]byte(text + "\x00" + strconv.Itoa(i/8)))
		}
		u := binary.LittleEndian.Uint32(block[(i%8)*4:])
		v[i] = float64(u)/(1<<31) - 1
	}
	norm := 0.0
	for _, x := range v {
		norm += x * x
	}
	norm = math.Sqrt(norm)
	out := make([]float32, dims)
	for i, x := range v {
		out[i] = float32(x / norm)
	}
	return out
}

func base64Floats(v []float32) string {
	b := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(x))
	}
	return base64.StdEncoding.EncodeToString(b)
}

func (s *Server) handleEmbeddings(w http.ResponseWriter, r *http.Request) {
	var req embeddingsRequest
	_, aerr := decodeRequest(r, r.URL.Path, &req)
	if aerr == nil && req.Model == "" {
		aerr = invalid("model", "Missing required parameter: 'model'.")
	}
	var inputs []embeddingInput
	if aerr == nil {
		inputs, aerr = embeddingInputs(req.Input)
	}
	dims := defaultDimensions
	if strings.Contains(req.Model, "large") {
		dims = largeDimensions
	}
	if aerr == nil && req.Dimensions != nil {
		dims = *req.Dimensions
		if dims < 1 || dims > maxDimensions {
			aerr = invalid("dimensions", "Invalid 'dimensions': integer must be between 1 and %d, got %d.", maxDimensions, dims)
		}
	}
	if aerr == nil && req.EncodingFormat != "" && req.EncodingFormat != "float" && req.EncodingFormat != "base64" {
		aerr = invalid("encoding_format", "Invalid 'encoding_format': expected 'float' or 'base64', got '%s'.", req.EncodingFormat)
	}
	if aerr != nil {
		writeError(w, aerr)
		return
	}
	if !s.pause(r, s.opts.Latency) {
		return
	}
	resp := embeddingsResponse{Object: "list", Model: req.Model, Data: make([]embedding, 0, len(inputs))}
	for i, in := range inputs {
		v := vector(in.text, dims)
		var e any = v
		if req.EncodingFormat == "base64" {
			e = base64Floats(v)
		}
		resp.Data = append(resp.Data, embedding{Object: "embedding", Index: i, Embedding: e})
		resp.Usage.PromptTokens += in.tokens
	}
	resp.Usage.TotalTokens = resp.Usage.PromptTokens
	s.writeJSON(w, r, resp)
}
