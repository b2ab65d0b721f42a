package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/aco-dev/aco"
)

// PutFileTaint records that the file at path, with bytes hashing to sha256
// (hex), was written by run runID with text derived from the calls origins.
// A run that writes the same bytes to the same path again replaces its
// record. The run must exist (else ENOTFOUND).
func (db *DB) PutFileTaint(ctx context.Context, runID, path, sha256 string, origins []string) error {
	if runID == "" || path == "" || sha256 == "" {
		return aco.Errorf(aco.EINVALID, "a file taint needs a run id, a path and a sha256")
	}
	o := slices.Clone(origins)
	slices.Sort(o)
	o = slices.Compact(o)
	if o == nil {
		o = []string{}
	}
	js, err := json.Marshal(o)
	if err != nil {
		return err
	}
	return db.update(ctx, func(tx *sql.Tx) error {
		if _, err := tx.Exec(`DELETE FROM file_taints WHERE path = ? AND sha256 = ? AND run_id = ?`, path, sha256, runID); err != nil {
			return fmt.Errorf("put file taint %s: %w", path, err)
		}
		_, err := tx.Exec(`INSERT INTO file_taints (run_id, path, sha256, origins, created_at) VALUES (?, ?, ?, ?, ?)`,
			runID, path, sha256, string(js), toMS(db.now()))
		switch {
		case isForeignKey(err):
			return aco.Errorf(aco.ENOTFOUND, "file taint %s: run %s does not exist", path, runID)
		case err != nil:
			return fmt.Errorf("put file taint %s: %w", path, err)
		}
		return nil
	})
}

// FileTaintOrigins returns the origins most recently recorded for the
// file at path with bytes hashing to sha256, or aco.ErrNotFound.
func (db *DB) FileTaintOrigins(ctx context.Context, path, sha256 string) ([]string, error) {
	var js string
	err := db.read.QueryRowContext(ctx, `SELECT origins FROM file_taints WHERE path = ? AND sha256 = ?
		ORDER BY id DESC LIMIT 1`, path, sha256).Scan(&js)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, aco.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("file taint %s: %w", path, err)
	}
	var origins []string
	if err := json.Unmarshal([]byte(js), &origins); err != nil {
		return nil, fmt.Errorf("file taint %s: origins: %w", path, err)
	}
	return origins, nil
}
