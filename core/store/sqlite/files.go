package sqlite

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/aco-dev/aco"
)

// File is an attachment of a run or of one of its calls: an image or a
// document the program sent to an LLM, kept so a rerun can send it again.
type File struct {
	ID        string    `json:"id"`
	RunID     string    `json:"run_id"`
	NodeID    string    `json:"node_id,omitempty"` // "" for a file of the run as a whole
	Name      string    `json:"name"`
	MIME      string    `json:"mime"`
	SHA256    string    `json:"sha256"` // hex, of Bytes
	Bytes     []byte    `json:"-"`
	CreatedAt time.Time `json:"created_at"`
}

// PutFile stores a new file. f.ID and f.RunID are required; the run must
// exist (else ENOTFOUND) and the id must be new (else ECONFLICT). SHA256 is
// computed from Bytes; a different one given by the caller means the bytes
// were damaged on the way (EINVALID). A zero CreatedAt means now. The
// computed fields are written back into f.
func (db *DB) PutFile(ctx context.Context, f *File) error {
	if f.ID == "" || f.RunID == "" {
		return aco.Errorf(aco.EINVALID, "a file needs an id and a run id")
	}
	sum := sha256.Sum256(f.Bytes)
	digest := hex.EncodeToString(sum[:])
	if f.SHA256 != "" && f.SHA256 != digest {
		return aco.Errorf(aco.EINVALID, "file %s: sha256 %s does not match its bytes (%s)", f.ID, f.SHA256, digest)
	}
	f.SHA256 = digest
	if f.CreatedAt.IsZero() {
		f.CreatedAt = db.now()
	}
	data := f.Bytes
	if data == nil {
		data = []byte{} // the column is NOT NULL; an empty file is still a file
	}
	return db.update(ctx, func(tx *sql.Tx) error {
		_, err := tx.Exec(`INSERT INTO files (id, run_id, node_id, name, mime, sha256, bytes, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
			f.ID, f.RunID, nullString(f.NodeID), f.Name, f.MIME, f.SHA256, data, toMS(f.CreatedAt))
		switch {
		case isUnique(err):
			return aco.Errorf(aco.ECONFLICT, "a file with id %s already exists", f.ID)
		case isForeignKey(err):
			return aco.Errorf(aco.ENOTFOUND, "file %s: run %s does not exist", f.ID, f.RunID)
		case err != nil:
			return fmt.Errorf("put file %s: %w", f.ID, err)
		}
		return nil
	})
}

// GetFile returns the file with id, bytes included, or aco.ErrNotFound.
func (db *DB) GetFile(ctx context.Context, id string) (*File, error) {
	var (
		f       File
		node    sql.NullString
		created sql.NullInt64
	)
	err := db.read.QueryRowContext(ctx, `SELECT id, run_id, node_id, name, mime, sha256, bytes, created_at
		FROM files WHERE id = ?`, id).Scan(&f.ID, &f.RunID, &node, &f.Name, &f.MIME, &f.SHA256, &f.Bytes, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, aco.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("get file %s: %w", id, err)
	}
	f.NodeID = node.String
	f.CreatedAt = fromMS(created)
	return &f, nil
}
