package mockllm

import "net/http"

// models is what GET /v1/models lists. Requests may name any model; these
// are the names SDK examples and demos commonly use.
var models = []string{
	"gpt-4.1",
	"gpt-4.1-mini",
	"gpt-4o",
	"gpt-4o-mini",
	"gpt-5",
	"gpt-5-mini",
	"o4-mini",
	"text-embedding-3-large",
	"text-embedding-3-small",
}

const modelOwner = "aco-mockllm"

type model struct {
	ID      string `json:"id"`
	Object  string `json:"object"`
	Created int64  `json:"created"`
	OwnedBy string `json:"owned_by"`
}

func newModel(name string) model {
	return model{ID: name, Object: "model", Created: created, OwnedBy: modelOwner}
}

func (s *Server) handleModels(w http.ResponseWriter, r *http.Request) {
	list := struct {
		Object string  `json:"object"`
		Data   []model `json:"data"`
	}{Object: "list"}
	for _, m := range models {
		list.Data = append(list.Data, newModel(m))
	}
	s.writeJSON(w, r, list)
}

// handleModel describes any model asked for, since requests may name any.
func (s *Server) handleModel(w http.ResponseWriter, r *http.Request) {
	s.writeJSON(w, r, newModel(r.PathValue("id")))
}
