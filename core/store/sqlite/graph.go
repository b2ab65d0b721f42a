package sqlite

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/aco-dev/aco"
)

// AddEdges stores edges, all or none. An edge is identified by (Source,
// Target): adding one again changes nothing, except that a taint edge
// replaces a content edge, since taint is direct evidence and a content
// match only a likely one. Every edge needs a source, a target, a run that
// exists (else ENOTFOUND) and Via taint or content (else EINVALID).
func (db *DB) AddEdges(ctx context.Context, edges []aco.Edge) error {
	add, err := db.addEdgesFunc(edges)
	if err != nil || len(edges) == 0 {
		return err
	}
	return db.update(ctx, add)
}

const addEdgeSQL = `INSERT INTO edges (run_id, source, target, via) VALUES (?, ?, ?, ?)
	ON CONFLICT (source, target) DO UPDATE SET via = excluded.via
	WHERE excluded.via = 'taint'`

// addEdgesFunc checks edges and returns the write that adds them.
func (db *DB) addEdgesFunc(edges []aco.Edge) (writeFunc, error) {
	for _, e := range edges {
		if e.RunID == "" || e.Source == "" || e.Target == "" {
			return nil, aco.Errorf(aco.EINVALID, "an edge needs a run id, a source and a target (got %s -> %s in run %q)",
				e.Source, e.Target, e.RunID)
		}
		if e.Via != aco.ViaTaint && e.Via != aco.ViaContent {
			return nil, aco.Errorf(aco.EINVALID, "edge %s -> %s: via %q is not taint or content", e.Source, e.Target, e.Via)
		}
	}
	return func(tx *sql.Tx) error {
		if len(edges) == 0 {
			return nil
		}
		stmt := tx.Stmt(db.addEdge)
		for _, e := range edges {
			_, err := stmt.Exec(e.RunID, e.Source, e.Target, string(e.Via))
			switch {
			case isForeignKey(err):
				return aco.Errorf(aco.ENOTFOUND, "edge %s -> %s: run %s does not exist", e.Source, e.Target, e.RunID)
			case err != nil:
				return fmt.Errorf("add edge %s -> %s: %w", e.Source, e.Target, err)
			}
		}
		return nil
	}, nil
}

// Edges lists the edges into the calls of runID in the order they were
// first added. The slice is empty, not nil, when there are none.
func (db *DB) Edges(ctx context.Context, runID string) ([]aco.Edge, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT run_id, source, target, via FROM edges
		WHERE run_id = ? ORDER BY id`, runID)
	if err != nil {
		return nil, fmt.Errorf("edges of run %s: %w", runID, err)
	}
	defer rows.Close()
	edges := []aco.Edge{}
	for rows.Next() {
		var e aco.Edge
		var via string
		if err := rows.Scan(&e.RunID, &e.Source, &e.Target, &via); err != nil {
			return nil, fmt.Errorf("edges of run %s: %w", runID, err)
		}
		e.Via = aco.EdgeVia(via)
		edges = append(edges, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("edges of run %s: %w", runID, err)
	}
	return edges, nil
}

// AddLog records an aco.log(...) entry in the run's current execution, or
// returns aco.ErrNotFound for an unknown run. A zero Time means now.
func (db *DB) AddLog(ctx context.Context, e aco.LogEntry) error {
	if e.Time.IsZero() {
		e.Time = db.now()
	}
	var success sql.NullBool
	if e.Success != nil {
		success = sql.NullBool{Bool: *e.Success, Valid: true}
	}
	return db.update(ctx, func(tx *sql.Tx) error {
		res, err := tx.Exec(`INSERT INTO logs (run_id, execution, entry, success, time)
			SELECT id, execution, ?, ?, ? FROM runs WHERE id = ?`,
			e.Entry, success, toMS(e.Time), e.RunID)
		return oneRow(res, err, "add log to run "+e.RunID)
	})
}

// Logs lists the log entries of the run's current execution in the order
// they were added; earlier executions' entries stay stored but are not
// listed, like their calls. Empty, not nil, when there are none.
func (db *DB) Logs(ctx context.Context, runID string) ([]aco.LogEntry, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT l.run_id, l.entry, l.success, l.time
		FROM logs l JOIN runs r ON r.id = l.run_id AND r.execution = l.execution
		WHERE l.run_id = ? ORDER BY l.id`, runID)
	if err != nil {
		return nil, fmt.Errorf("logs of run %s: %w", runID, err)
	}
	defer rows.Close()
	logs := []aco.LogEntry{}
	for rows.Next() {
		var e aco.LogEntry
		var success sql.NullBool
		var t sql.NullInt64
		if err := rows.Scan(&e.RunID, &e.Entry, &success, &t); err != nil {
			return nil, fmt.Errorf("logs of run %s: %w", runID, err)
		}
		if success.Valid {
			b := success.Bool
			e.Success = &b
		}
		e.Time = fromMS(t)
		logs = append(logs, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("logs of run %s: %w", runID, err)
	}
	return logs, nil
}
