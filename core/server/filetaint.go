package server

import (
	"context"
	"errors"

	"github.com/aco-dev/aco"
	"github.com/aco-dev/aco/core/protocol"
)

// fileTaintStore is what the server needs to carry taint through files.
// aco.Store does not require it, so a store without it (an in-memory fake)
// simply restores no file taint.
type fileTaintStore interface {
	PutFileTaint(ctx context.Context, runID, path, sha256 string, origins []string) error
	FileTaintOrigins(ctx context.Context, path, sha256 string) ([]string, error)
}

// fileTaint records what a program wrote into a file, in order with the
// connection's other writes.
func (c *runnerConn) fileTaint(m *protocol.FileTaint) error {
	if _, err := c.run(m.RunID); err != nil {
		return err
	}
	fts, ok := c.s.store.(fileTaintStore)
	if !ok || len(m.Origins) == 0 {
		return nil
	}
	c.enqueue(m, func(ctx context.Context) error {
		return fts.PutFileTaint(ctx, m.RunID, m.Path, m.SHA256, m.Origins)
	})
	return nil
}

// fileTaintGet answers with the origins recorded for a file's bytes, by
// any run: taint written by one run is restored when another reads it.
func (c *runnerConn) fileTaintGet(m *protocol.FileTaintGet) error {
	if _, err := c.run(m.RunID); err != nil {
		return err
	}
	res := &protocol.FileTaintResult{ID: m.ID}
	if fts, ok := c.s.store.(fileTaintStore); ok {
		origins, err := fts.FileTaintOrigins(c.ctx, m.Path, m.SHA256)
		switch {
		case err == nil:
			res.Origins = origins
		case !errors.Is(err, aco.ErrNotFound):
			return err
		}
	}
	c.reply(res)
	return nil
}
