// Package servertest starts a real aco server on loopback for tests of the
// packages that talk to it (the CLI's commands), with a fresh SQLite store.
package servertest

import (
	"fmt"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/aco-dev/aco"
	"github.com/aco-dev/aco/core/client"
	"github.com/aco-dev/aco/core/server"
	"github.com/aco-dev/aco/core/store/sqlite"
)

// Token is the API token of servers started here.
const Token = "servertest-token-0123456789abcdef0123456789"

// Server is a running server, its store and a client of its API.
type Server struct {
	*server.Server
	Store  aco.Store
	Client *client.Client
}

// Start starts a server that is closed when the test ends.
func Start(t *testing.T) *Server {
	t.Helper()
	db, err := sqlite.Open(filepath.Join(t.TempDir(), "aco.db"))
	if err != nil {
		t.Fatal(err)
	}
	s := server.New(server.Options{Store: db, Token: Token})
	if err := s.Start(); err != nil {
		db.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		s.Close()
		db.Close()
	})
	return &Server{
		Server: s,
		Store:  db,
		Client: &client.Client{
			BaseURL: "http://" + s.HTTPAddr(),
			Token:   Token,
			HTTP:    &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}},
		},
	}
}

// Seed stores a finished run with calls whose outputs feed each other in a
// chain, and returns it with its calls. Times are fixed so output is stable.
func Seed(t *testing.T, st aco.Store, run aco.Run, texts ...[2]string) (aco.Run, []aco.Call) {
	t.Helper()
	ctx := t.Context()
	if run.Status == "" {
		run.Status = aco.RunFinished
	}
	if run.CreatedAt.IsZero() {
		run.CreatedAt = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	}
	if err := st.CreateRun(ctx, &run); err != nil {
		t.Fatal(err)
	}
	var calls []aco.Call
	for i, io := range texts {
		c := aco.Call{
			RunID: run.ID, NodeID: fmt.Sprintf("%c%d%s", 'a'+i, i, run.ID), Seq: i, API: "openai.responses.create", Kind: "llm",
			Model: "gpt-4o-mini", Input: []byte(`{"input":"x"}`), InputHash: "h" + string(rune('a'+i)),
			Output: []byte(`{"type":"t","data":{}}`), InputText: io[0], OutputText: io[1],
			Location: "agent.py:" + string(rune('1'+i)), Execution: run.Execution, Origin: aco.OriginNew,
		}
		if c.Execution == 0 {
			c.Execution = 1
		}
		var edges []aco.Edge
		if i > 0 {
			edges = []aco.Edge{{RunID: run.ID, Source: calls[i-1].NodeID, Target: c.NodeID, Via: aco.ViaContent}}
		}
		if err := st.RecordCall(ctx, &c, edges); err != nil {
			t.Fatal(err)
		}
		calls = append(calls, c)
	}
	return run, calls
}
