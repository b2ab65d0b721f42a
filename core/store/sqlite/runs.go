package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/aco-dev/aco"
)

// runColumns are read by scanRun; the last one is the number of calls of
// the run's current execution.
const runColumns = `r.id, r.parent, r.name, r.cwd, r.argv, r.interpreter, r.env,
	r.status, r.exit_code, r.result, r.notes, r.execution, r.created_at, r.updated_at,
	(SELECT count(*) FROM calls c WHERE c.run_id = r.id AND c.execution = r.execution)`

type scanner interface{ Scan(dest ...any) error }

func scanRun(s scanner) (*aco.Run, error) {
	var (
		r                aco.Run
		parent           sql.NullString
		argv, env        string
		exitCode         sql.NullInt64
		created, updated sql.NullInt64
		status           string
	)
	err := s.Scan(&r.ID, &parent, &r.Name, &r.Cwd, &argv, &r.Interpreter, &env,
		&status, &exitCode, &r.Result, &r.Notes, &r.Execution, &created, &updated, &r.Calls)
	if err != nil {
		return nil, err
	}
	r.ParentID = parent.String
	r.Status = aco.RunStatus(status)
	if exitCode.Valid {
		c := int(exitCode.Int64)
		r.ExitCode = &c
	}
	if err := json.Unmarshal([]byte(argv), &r.Argv); err != nil {
		return nil, fmt.Errorf("run %s: argv: %w", r.ID, err)
	}
	if err := json.Unmarshal([]byte(env), &r.Env); err != nil {
		return nil, fmt.Errorf("run %s: env: %w", r.ID, err)
	}
	r.CreatedAt = fromMS(created)
	r.UpdatedAt = fromMS(updated)
	return &r, nil
}

func validStatus(s aco.RunStatus) bool {
	switch s {
	case aco.RunRunning, aco.RunFinished, aco.RunCrashed:
		return true
	}
	return false
}

// CreateRun stores a new run. r.ID is required (a duplicate is ECONFLICT)
// and r.ParentID, when set, must name an existing run (else ENOTFOUND).
// Fields left zero get defaults, written back into r: Status running,
// Execution 1, CreatedAt now, UpdatedAt CreatedAt. Env is stored as given:
// the caller redacts it (core/redact).
func (db *DB) CreateRun(ctx context.Context, r *aco.Run) error {
	if r.ID == "" {
		return aco.Errorf(aco.EINVALID, "a run needs an id")
	}
	if r.Status == "" {
		r.Status = aco.RunRunning
	}
	if !validStatus(r.Status) {
		return aco.Errorf(aco.EINVALID, "run status %q is not one of running, finished, crashed", r.Status)
	}
	if r.Execution == 0 {
		r.Execution = 1
	}
	if r.CreatedAt.IsZero() {
		r.CreatedAt = db.now()
	}
	if r.UpdatedAt.IsZero() {
		r.UpdatedAt = r.CreatedAt
	}
	argv, err := json.Marshal(r.Argv)
	if err != nil {
		return fmt.Errorf("run %s: argv: %w", r.ID, err)
	}
	env, err := json.Marshal(r.Env)
	if err != nil {
		return fmt.Errorf("run %s: env: %w", r.ID, err)
	}
	var exitCode sql.NullInt64
	if r.ExitCode != nil {
		exitCode = sql.NullInt64{Int64: int64(*r.ExitCode), Valid: true}
	}
	return db.update(ctx, func(tx *sql.Tx) error {
		_, err := tx.Exec(`INSERT INTO runs (id, parent, name, cwd, argv, interpreter, env,
			status, exit_code, result, notes, execution, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			r.ID, nullString(r.ParentID), r.Name, r.Cwd, string(argv), r.Interpreter, string(env),
			string(r.Status), exitCode, r.Result, r.Notes, r.Execution, toMS(r.CreatedAt), toMS(r.UpdatedAt))
		switch {
		case isUnique(err):
			return aco.Errorf(aco.ECONFLICT, "a run with id %s already exists", r.ID)
		case isForeignKey(err):
			return aco.Errorf(aco.ENOTFOUND, "parent run %s of run %s does not exist", r.ParentID, r.ID)
		case err != nil:
			return fmt.Errorf("create run %s: %w", r.ID, err)
		}
		return nil
	})
}

func nullString(s string) sql.NullString {
	return sql.NullString{String: s, Valid: s != ""}
}

// GetRun returns the run with id, with Calls counted, or aco.ErrNotFound.
func (db *DB) GetRun(ctx context.Context, id string) (*aco.Run, error) {
	return getRun(db.read.QueryRowContext(ctx, `SELECT `+runColumns+` FROM runs r WHERE r.id = ?`, id))
}

func getRun(row *sql.Row) (*aco.Run, error) {
	r, err := scanRun(row)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, aco.ErrNotFound
	}
	return r, err
}

// FindSubrun returns the subrun of parentID named name, or aco.ErrNotFound.
// Should several share the name, the first created is returned, so that a
// rerun keeps finding the same one.
func (db *DB) FindSubrun(ctx context.Context, parentID, name string) (*aco.Run, error) {
	return getRun(db.read.QueryRowContext(ctx, `SELECT `+runColumns+` FROM runs r
		WHERE r.parent = ? AND r.name = ? ORDER BY r.created_at, r.rowid LIMIT 1`, parentID, name))
}

// ListRuns returns every run, subruns included, newest first (by CreatedAt,
// then by insertion). Calls is the number of calls of each run's current
// execution. The slice is empty, not nil, when there are no runs.
func (db *DB) ListRuns(ctx context.Context) ([]aco.Run, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT `+runColumns+` FROM runs r
		ORDER BY r.created_at DESC, r.rowid DESC`)
	if err != nil {
		return nil, fmt.Errorf("list runs: %w", err)
	}
	defer rows.Close()
	runs := []aco.Run{}
	for rows.Next() {
		r, err := scanRun(rows)
		if err != nil {
			return nil, fmt.Errorf("list runs: %w", err)
		}
		runs = append(runs, *r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list runs: %w", err)
	}
	return runs, nil
}

// UpdateRun sets the non-nil fields of u and UpdatedAt, or returns
// aco.ErrNotFound.
func (db *DB) UpdateRun(ctx context.Context, id string, u aco.RunUpdate) error {
	set := []string{"updated_at = ?"}
	args := []any{toMS(db.now())}
	for _, f := range []struct {
		col string
		v   *string
	}{{"name", u.Name}, {"result", u.Result}, {"notes", u.Notes}} {
		if f.v != nil {
			set = append(set, f.col+" = ?")
			args = append(args, *f.v)
		}
	}
	args = append(args, id)
	return db.update(ctx, func(tx *sql.Tx) error {
		res, err := tx.Exec(`UPDATE runs SET `+strings.Join(set, ", ")+` WHERE id = ?`, args...)
		return oneRow(res, err, "update run "+id)
	})
}

// oneRow turns "no row changed" into aco.ErrNotFound.
func oneRow(res sql.Result, err error, what string) error {
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if n == 0 {
		return aco.ErrNotFound
	}
	return nil
}

// FinishRun records how the run's current execution ended; exitCode may be
// nil (unknown). It returns aco.ErrNotFound for an unknown run.
func (db *DB) FinishRun(ctx context.Context, id string, status aco.RunStatus, exitCode *int) error {
	if !validStatus(status) {
		return aco.Errorf(aco.EINVALID, "run status %q is not one of running, finished, crashed", status)
	}
	var code sql.NullInt64
	if exitCode != nil {
		code = sql.NullInt64{Int64: int64(*exitCode), Valid: true}
	}
	now := toMS(db.now())
	return db.update(ctx, func(tx *sql.Tx) error {
		res, err := tx.Exec(`UPDATE runs SET status = ?, exit_code = ?, updated_at = ? WHERE id = ?`,
			string(status), code, now, id)
		return oneRow(res, err, "finish run "+id)
	})
}

// StartExecution begins the next execution of a run: Execution+1, status
// running, no exit code, and none of its edges (the rerun finds them again).
// Calls and logs of earlier executions stay, out of sight of Calls and Logs;
// FindCall still finds their calls, which is what serves a rerun from cache.
// It returns the updated run, or aco.ErrNotFound.
func (db *DB) StartExecution(ctx context.Context, runID string) (*aco.Run, error) {
	now := toMS(db.now())
	var run *aco.Run
	err := db.update(ctx, func(tx *sql.Tx) error {
		res, err := tx.Exec(`UPDATE runs SET execution = execution + 1, status = ?,
			exit_code = NULL, updated_at = ? WHERE id = ?`, string(aco.RunRunning), now, runID)
		if err := oneRow(res, err, "start execution of run "+runID); err != nil {
			return err
		}
		if _, err := tx.Exec(`DELETE FROM edges WHERE run_id = ?`, runID); err != nil {
			return fmt.Errorf("start execution of run %s: drop edges: %w", runID, err)
		}
		run, err = getRun(tx.QueryRow(`SELECT `+runColumns+` FROM runs r WHERE r.id = ?`, runID))
		return err
	})
	if err != nil {
		return nil, err
	}
	return run, nil
}

// DeleteRun deletes a run and, recursively, its subruns, with their calls,
// edges, logs and files. Edges of other runs that start or end at a deleted
// call go too, so no edge is left dangling. Unknown runs: aco.ErrNotFound.
func (db *DB) DeleteRun(ctx context.Context, id string) error {
	return db.update(ctx, func(tx *sql.Tx) error {
		_, err := tx.Exec(`WITH RECURSIVE family(id) AS (
				SELECT id FROM runs WHERE id = ?1
				UNION ALL SELECT r.id FROM runs r JOIN family f ON r.parent = f.id
			), gone(node_id) AS (
				SELECT node_id FROM calls WHERE run_id IN family
			)
			DELETE FROM edges WHERE source IN gone OR target IN gone`, id)
		if err != nil {
			return fmt.Errorf("delete run %s: edges: %w", id, err)
		}
		// The foreign keys cascade to subruns, calls, edges, logs and files.
		res, err := tx.Exec(`DELETE FROM runs WHERE id = ?`, id)
		return oneRow(res, err, "delete run "+id)
	})
}

// minPrefix is the shortest run id prefix ResolveRunID accepts; shorter
// ones would match by accident as the store grows.
const minPrefix = 4

// maxCandidates bounds the ids an ambiguity error lists.
const maxCandidates = 5

// ResolveRunID turns what a user typed into a run id: a full id, a prefix
// of at least 4 characters matching one run, or "last" for the newest
// top-level run. An ambiguous prefix is an EINVALID *aco.Error that lists
// the matching ids; no match is an ENOTFOUND *aco.Error.
func (db *DB) ResolveRunID(ctx context.Context, ref string) (string, error) {
	ref = strings.TrimSpace(ref)
	if ref == "" {
		return "", aco.Errorf(aco.EINVALID, "no run given: give a run id, a prefix of one, or `last`")
	}
	if ref == "last" {
		var id string
		err := db.read.QueryRowContext(ctx, `SELECT id FROM runs WHERE parent IS NULL
			ORDER BY created_at DESC, rowid DESC LIMIT 1`).Scan(&id)
		if errors.Is(err, sql.ErrNoRows) {
			return "", aco.Errorf(aco.ENOTFOUND, "there are no runs yet: run a program with aco-launch first")
		}
		if err != nil {
			return "", fmt.Errorf("resolve run %q: %w", ref, err)
		}
		return id, nil
	}

	var exact int
	if err := db.read.QueryRowContext(ctx, `SELECT count(*) FROM runs WHERE id = ?`, ref).Scan(&exact); err != nil {
		return "", fmt.Errorf("resolve run %q: %w", ref, err)
	}
	if exact == 1 {
		return ref, nil
	}
	if len([]rune(ref)) < minPrefix {
		return "", aco.Errorf(aco.EINVALID,
			"run id prefix %q is too short: give at least %d characters (`aco runs` lists the ids)", ref, minPrefix)
	}
	rows, err := db.read.QueryContext(ctx, `SELECT id FROM runs WHERE substr(id, 1, length(?1)) = ?1
		ORDER BY created_at DESC, rowid DESC LIMIT ?2`, ref, maxCandidates+1)
	if err != nil {
		return "", fmt.Errorf("resolve run %q: %w", ref, err)
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return "", fmt.Errorf("resolve run %q: %w", ref, err)
		}
		ids = append(ids, id)
	}
	if err := rows.Err(); err != nil {
		return "", fmt.Errorf("resolve run %q: %w", ref, err)
	}
	switch len(ids) {
	case 0:
		return "", aco.Errorf(aco.ENOTFOUND, "no run matches %q: `aco runs` lists the ids", ref)
	case 1:
		return ids[0], nil
	}
	list := strings.Join(ids[:min(len(ids), maxCandidates)], ", ")
	if len(ids) > maxCandidates {
		list += ", ..."
	}
	return "", aco.Errorf(aco.EINVALID, "run id prefix %q is ambiguous: it matches %s; give more characters", ref, list)
}
