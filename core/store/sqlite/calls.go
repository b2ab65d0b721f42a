package sqlite

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/aco-dev/aco"
)

const callColumns = `run_id, node_id, seq, api, kind, model, input, input_hash, occurrence,
	input_overwrite, output, output_overwrite, prev_output, input_text, output_text,
	location, started_at, duration_ms, stream, execution, origin`

// putCallSQL replaces every column of an existing node. It is an upsert,
// not INSERT OR REPLACE, because REPLACE deletes the row first, which would
// fire the foreign-key cascades of anything that points at it.
var putCallSQL = `INSERT INTO calls (` + callColumns + `)
	VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
	ON CONFLICT (node_id) DO UPDATE SET ` + upsertSet(callColumns, "node_id")

func upsertSet(columns, key string) string {
	var set []string
	for _, c := range strings.Split(columns, ",") {
		if c = strings.TrimSpace(c); c != key {
			set = append(set, c+" = excluded."+c)
		}
	}
	return strings.Join(set, ", ")
}

func scanCall(s scanner) (*aco.Call, error) {
	var (
		c                                       aco.Call
		input, inOver, output, outOver, prevOut sql.NullString
		started                                 sql.NullInt64
		origin                                  string
	)
	err := s.Scan(&c.RunID, &c.NodeID, &c.Seq, &c.API, &c.Kind, &c.Model, &input, &c.InputHash,
		&c.Occurrence, &inOver, &output, &outOver, &prevOut, &c.InputText, &c.OutputText,
		&c.Location, &started, &c.DurationMS, &c.Stream, &c.Execution, &origin)
	if err != nil {
		return nil, err
	}
	c.Input = rawJSON(input)
	c.InputOverwrite = rawJSON(inOver)
	c.Output = rawJSON(output)
	c.OutputOverwrite = rawJSON(outOver)
	c.PrevOutput = rawJSON(prevOut)
	c.StartedAt = fromMS(started)
	c.Origin = aco.CallOrigin(origin)
	return &c, nil
}

// A nil json.RawMessage is stored as NULL ("none"); anything else as its
// JSON text, unchanged, so it reads back byte for byte.

func rawJSON(v sql.NullString) json.RawMessage {
	if !v.Valid {
		return nil
	}
	return json.RawMessage(v.String)
}

func jsonColumn(m json.RawMessage) sql.NullString {
	if m == nil {
		return sql.NullString{}
	}
	return sql.NullString{String: string(m), Valid: true}
}

func checkJSON(node, field string, m json.RawMessage) error {
	if m != nil && !json.Valid(m) {
		return aco.Errorf(aco.EINVALID, "call %s: %s is not valid JSON", node, field)
	}
	return nil
}

// PutCall inserts c, or replaces every field of the call with c.NodeID
// (overwrites and PrevOutput included, so read-modify-write keeps them).
// c.NodeID and c.RunID are required; the run must exist (else ENOTFOUND);
// the JSON fields must be valid JSON or nil (else EINVALID). Execution is
// stored as given: it must be the run's current execution for Calls to list
// the call.
func (db *DB) PutCall(ctx context.Context, c *aco.Call) error {
	put, err := db.putCallFunc(c)
	if err != nil {
		return err
	}
	return db.update(ctx, put)
}

// RecordCall stores c and the edges into it in one write: the server records
// every call this way, and one commit instead of two per call is what lets
// it keep up with many runners.
func (db *DB) RecordCall(ctx context.Context, c *aco.Call, edges []aco.Edge) error {
	return db.RecordCalls(ctx, []aco.CallRecord{{Call: c, Edges: edges}})
}

// RecordCalls stores many calls with their edges in one transaction, each
// in a savepoint of its own: a record that fails (its run is gone) is left
// out and its error returned, joined with the others', while the rest are
// stored.
func (db *DB) RecordCalls(ctx context.Context, records []aco.CallRecord) error {
	type write struct{ put, add writeFunc }
	writes := make([]write, 0, len(records))
	var errs []error
	for _, r := range records {
		put, err := db.putCallFunc(r.Call)
		if err == nil {
			var add writeFunc
			if add, err = db.addEdgesFunc(r.Edges); err == nil {
				writes = append(writes, write{put, add})
				continue
			}
		}
		errs = append(errs, err)
	}
	if len(writes) == 0 {
		return errors.Join(errs...)
	}
	var failed []error
	err := db.update(ctx, func(tx *sql.Tx) error {
		failed = failed[:0]
		if len(writes) == 1 {
			if err := writes[0].put(tx); err != nil {
				return err
			}
			return writes[0].add(tx)
		}
		for _, w := range writes {
			if _, err := tx.Exec("SAVEPOINT rec"); err != nil {
				return err
			}
			err := w.put(tx)
			if err == nil {
				err = w.add(tx)
			}
			if err != nil {
				failed = append(failed, err)
				if _, rerr := tx.Exec("ROLLBACK TO rec"); rerr != nil {
					return rerr
				}
			}
			if _, err := tx.Exec("RELEASE rec"); err != nil {
				return err
			}
		}
		return nil
	})
	return errors.Join(append(append(errs, err), failed...)...)
}

// putCallFunc checks c and returns the write that stores it.
func (db *DB) putCallFunc(c *aco.Call) (writeFunc, error) {
	if c.NodeID == "" || c.RunID == "" {
		return nil, aco.Errorf(aco.EINVALID, "a call needs a node id and a run id")
	}
	for _, f := range []struct {
		name string
		v    json.RawMessage
	}{
		{"input", c.Input}, {"input_overwrite", c.InputOverwrite}, {"output", c.Output},
		{"output_overwrite", c.OutputOverwrite}, {"prev_output", c.PrevOutput},
	} {
		if err := checkJSON(c.NodeID, f.name, f.v); err != nil {
			return nil, err
		}
	}
	args := []any{c.RunID, c.NodeID, c.Seq, c.API, c.Kind, c.Model, jsonColumn(c.Input), c.InputHash,
		c.Occurrence, jsonColumn(c.InputOverwrite), jsonColumn(c.Output), jsonColumn(c.OutputOverwrite),
		jsonColumn(c.PrevOutput), c.InputText, c.OutputText, c.Location, toMS(c.StartedAt),
		c.DurationMS, c.Stream, c.Execution, string(c.Origin)}
	return func(tx *sql.Tx) error {
		_, err := tx.Stmt(db.putCall).Exec(args...)
		switch {
		case isForeignKey(err):
			return aco.Errorf(aco.ENOTFOUND, "call %s: run %s does not exist", c.NodeID, c.RunID)
		case err != nil:
			return fmt.Errorf("put call %s: %w", c.NodeID, err)
		}
		return nil
	}, nil
}

// GetCall returns the call with nodeID, or aco.ErrNotFound.
func (db *DB) GetCall(ctx context.Context, nodeID string) (*aco.Call, error) {
	return getCall(db.getCall.QueryRowContext(ctx, nodeID))
}

// The look-ups made for every recorded call are prepared once: parsing the
// SQL each time cost more than running it.
const (
	getCallSQL  = `SELECT ` + callColumns + ` FROM calls WHERE node_id = ?`
	findCallSQL = `SELECT ` + callColumns + ` FROM calls
		WHERE run_id = ? AND input_hash = ? AND occurrence = ?
		ORDER BY execution DESC, rowid DESC LIMIT 1`
)

func getCall(row *sql.Row) (*aco.Call, error) {
	c, err := scanCall(row)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, aco.ErrNotFound
	}
	return c, err
}

// FindCall returns the call of runID recorded for (inputHash, occurrence) in
// any execution, the most recent execution's if there are several, or
// aco.ErrNotFound. This is the cache look-up of a rerun.
func (db *DB) FindCall(ctx context.Context, runID, inputHash string, occurrence int) (*aco.Call, error) {
	return getCall(db.findCall.QueryRowContext(ctx, runID, inputHash, occurrence))
}

// isNull reports whether m is the JSON text null, which in a CallEdit
// clears an overwrite.
func isNull(m json.RawMessage) bool {
	return bytes.Equal(bytes.TrimSpace(m), []byte("null"))
}

// EditCall sets or clears a call's overwrites; aco.ErrNotFound for an
// unknown node, EINVALID for JSON that does not parse.
//
// e.Input non-nil sets the input overwrite (JSON null clears it). Either way
// the call's effective input changed, so the recorded output no longer
// answers it: the output moves to PrevOutput (keeping an earlier one if the
// output was already gone) and Output becomes nil, which makes the next
// execution call the SDK again. e.Output non-nil sets the output overwrite
// (JSON null clears it).
func (db *DB) EditCall(ctx context.Context, nodeID string, e aco.CallEdit) error {
	if err := checkJSON(nodeID, "input", e.Input); err != nil {
		return err
	}
	if err := checkJSON(nodeID, "output", e.Output); err != nil {
		return err
	}
	var set []string
	var args []any
	if e.Input != nil {
		set = append(set, "input_overwrite = ?", "prev_output = coalesce(output, prev_output)", "output = NULL")
		args = append(args, overwrite(e.Input))
	}
	if e.Output != nil {
		set = append(set, "output_overwrite = ?")
		args = append(args, overwrite(e.Output))
	}
	if len(set) == 0 {
		// Nothing to change, but an unknown node is still an error.
		_, err := db.GetCall(ctx, nodeID)
		return err
	}
	args = append(args, nodeID)
	return db.update(ctx, func(tx *sql.Tx) error {
		res, err := tx.Exec(`UPDATE calls SET `+strings.Join(set, ", ")+` WHERE node_id = ?`, args...)
		return oneRow(res, err, "edit call "+nodeID)
	})
}

func overwrite(m json.RawMessage) sql.NullString {
	if isNull(m) {
		return sql.NullString{}
	}
	return jsonColumn(m)
}

// Calls lists the calls of the run's current execution in Seq order. The
// slice is empty, not nil, for a run without calls or an unknown run.
func (db *DB) Calls(ctx context.Context, runID string) ([]aco.Call, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT `+callColumns+` FROM calls
		WHERE run_id = ?1 AND execution = (SELECT execution FROM runs WHERE id = ?1)
		ORDER BY seq, rowid`, runID)
	if err != nil {
		return nil, fmt.Errorf("calls of run %s: %w", runID, err)
	}
	defer rows.Close()
	calls := []aco.Call{}
	for rows.Next() {
		c, err := scanCall(rows)
		if err != nil {
			return nil, fmt.Errorf("calls of run %s: %w", runID, err)
		}
		calls = append(calls, *c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("calls of run %s: %w", runID, err)
	}
	return calls, nil
}
