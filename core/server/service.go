package server

import (
	"context"
	"encoding/json"
	"errors"

	"github.com/aco-dev/aco"
)

// Service implements aco.RunService over the store.
type Service struct {
	Store  aco.Store
	Events *Hub // may be nil
}

var _ aco.RunService = (*Service)(nil)

func (s *Service) ListRuns(ctx context.Context) ([]aco.Run, error) { return s.Store.ListRuns(ctx) }

func (s *Service) ResolveRun(ctx context.Context, ref string) (string, error) {
	return s.Store.ResolveRunID(ctx, ref)
}

func (s *Service) Graph(ctx context.Context, runID string) (*aco.Graph, error) {
	r, err := s.Store.GetRun(ctx, runID)
	if err != nil {
		return nil, notFound(err, "run %s", runID)
	}
	g := &aco.Graph{Run: *r}
	if g.Nodes, err = s.Store.Calls(ctx, runID); err != nil {
		return nil, err
	}
	if g.Edges, err = s.Store.Edges(ctx, runID); err != nil {
		return nil, err
	}
	if g.Logs, err = s.Store.Logs(ctx, runID); err != nil {
		return nil, err
	}
	g.Run.Calls = len(g.Nodes)
	return g, nil
}

func (s *Service) GetCall(ctx context.Context, nodeID string) (*aco.Call, error) {
	c, err := s.Store.GetCall(ctx, nodeID)
	return c, notFound(err, "node %s", nodeID)
}

func (s *Service) UpdateRun(ctx context.Context, runID string, u aco.RunUpdate) error {
	if u.Result != nil {
		switch *u.Result {
		case "", "satisfactory", "failed":
		default:
			return aco.Errorf(aco.EINVALID, "result %q: use satisfactory, failed, or an empty string to unset", *u.Result)
		}
	}
	if err := s.Store.UpdateRun(ctx, runID, u); err != nil {
		return notFound(err, "run %s", runID)
	}
	s.publishRun(ctx, runID)
	return nil
}

// publishRun sends a run's current record to the live pages.
func (s *Service) publishRun(ctx context.Context, runID string) {
	if s.Events == nil {
		return
	}
	if r, err := s.Store.GetRun(ctx, runID); err == nil {
		s.Events.Publish(Event{Type: "run", Run: r})
	}
}

// EditCall validates overwrites before storing them: an input overwrite is
// {"request": {...}} (the whole request) or {"text": "..."} (set through the
// declaration's set_input selector); an output overwrite is {"text": "..."}
// or a full recorded output {"type": ..., "data": ...}. JSON null reverts.
func (s *Service) EditCall(ctx context.Context, nodeID string, e aco.CallEdit) error {
	if e.Input == nil && e.Output == nil {
		return aco.Errorf(aco.EINVALID, "nothing to edit: give an input or an output")
	}
	if err := checkOverwrite("input", e.Input, "request"); err != nil {
		return err
	}
	if err := checkOverwrite("output", e.Output, "data"); err != nil {
		return err
	}
	if err := s.Store.EditCall(ctx, nodeID, e); err != nil {
		return notFound(err, "node %s", nodeID)
	}
	if c, err := s.Store.GetCall(ctx, nodeID); err == nil {
		s.Events.Publish(Event{Type: "node", Node: c})
	}
	return nil
}

func checkOverwrite(what string, raw json.RawMessage, whole string) error {
	if raw == nil || isNull(raw) {
		return nil
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return aco.Errorf(aco.EINVALID, "%s overwrite is not a JSON object: %v", what, err)
	}
	if t, ok := m["text"]; ok {
		var s string
		if json.Unmarshal(t, &s) != nil {
			return aco.Errorf(aco.EINVALID, `%s overwrite: "text" must be a string`, what)
		}
		return nil
	}
	if _, ok := m[whole]; ok {
		return nil
	}
	return aco.Errorf(aco.EINVALID, `%s overwrite needs "text" (the new text) or %q (the whole %s)`, what, whole, what)
}

func (s *Service) DeleteRun(ctx context.Context, runID string) error {
	if err := s.Store.DeleteRun(ctx, runID); err != nil {
		return notFound(err, "run %s", runID)
	}
	s.Events.Publish(Event{Type: "removed", RunID: runID})
	return nil
}

func (s *Service) Clear(ctx context.Context) error {
	if err := s.Store.Clear(ctx); err != nil {
		return err
	}
	s.Events.Publish(Event{Type: "cleared"})
	return nil
}

// notFound words a store's ErrNotFound for the user.
func notFound(err error, format string, args ...any) error {
	if errors.Is(err, aco.ErrNotFound) {
		return aco.Errorf(aco.ENOTFOUND, "no "+format+": see `aco runs` for what is recorded", args...)
	}
	return err
}
