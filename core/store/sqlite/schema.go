package sqlite

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/aco-dev/aco"
	sqlite3 "modernc.org/sqlite/lib"
)

// migrations are the schema's history: migrations[i] takes a database from
// version i to i+1, where the version is PRAGMA user_version (0 for a new
// file). Append only; never edit one that has shipped, since databases out
// there already ran it.
//
// JSON columns hold JSON text (never pickle or gob: a shared store must not
// be a way to run code on a teammate's machine). NULL in a JSON column means
// "none", which is different from the JSON text null. Times are unix ms.
var migrations = []string{
	// 1: the first schema.
	`
CREATE TABLE runs (
	id          TEXT PRIMARY KEY,
	parent      TEXT REFERENCES runs(id) ON DELETE CASCADE,
	name        TEXT NOT NULL,
	cwd         TEXT NOT NULL,
	argv        TEXT NOT NULL,    -- JSON array
	interpreter TEXT NOT NULL,
	env         TEXT NOT NULL,    -- JSON object, secrets already redacted
	status      TEXT NOT NULL,
	exit_code   INTEGER,
	result      TEXT NOT NULL,
	notes       TEXT NOT NULL,
	execution   INTEGER NOT NULL,
	created_at  INTEGER NOT NULL,
	updated_at  INTEGER NOT NULL
) STRICT;
CREATE INDEX runs_created ON runs(created_at);
CREATE INDEX runs_parent ON runs(parent, name);

CREATE TABLE calls (
	node_id          TEXT PRIMARY KEY,
	run_id           TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
	seq              INTEGER NOT NULL,
	api              TEXT NOT NULL,
	kind             TEXT NOT NULL,
	model            TEXT NOT NULL,
	input            TEXT,
	input_hash       TEXT NOT NULL,
	occurrence       INTEGER NOT NULL,
	input_overwrite  TEXT,
	output           TEXT,
	output_overwrite TEXT,
	prev_output      TEXT,
	input_text       TEXT NOT NULL,
	output_text      TEXT NOT NULL,
	location         TEXT NOT NULL,
	started_at       INTEGER,
	duration_ms      REAL NOT NULL,
	stream           INTEGER NOT NULL,
	execution        INTEGER NOT NULL,
	origin           TEXT NOT NULL
) STRICT;
-- FindCall, the cache look-up of every call of a rerun.
CREATE INDEX calls_find ON calls(run_id, input_hash, occurrence);
-- Calls and the per-run call counts of ListRuns.
CREATE INDEX calls_list ON calls(run_id, execution, seq);

CREATE TABLE edges (
	id     INTEGER PRIMARY KEY,
	run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
	source TEXT NOT NULL,
	target TEXT NOT NULL,
	via    TEXT NOT NULL,
	UNIQUE (source, target)
) STRICT;
CREATE INDEX edges_run ON edges(run_id);
CREATE INDEX edges_target ON edges(target);

CREATE TABLE logs (
	id        INTEGER PRIMARY KEY,
	run_id    TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
	execution INTEGER NOT NULL,
	entry     TEXT NOT NULL,
	success   INTEGER,
	time      INTEGER NOT NULL
) STRICT;
CREATE INDEX logs_run ON logs(run_id, execution, id);

CREATE TABLE files (
	id         TEXT PRIMARY KEY,
	run_id     TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
	node_id    TEXT,          -- no foreign key: a file may arrive before its call
	name       TEXT NOT NULL,
	mime       TEXT NOT NULL,
	sha256     TEXT NOT NULL,
	bytes      BLOB NOT NULL,
	created_at INTEGER NOT NULL
) STRICT;
CREATE INDEX files_run ON files(run_id);
CREATE INDEX files_node ON files(node_id);
`,
	// 2: taint written to files, so a later read of the same bytes (in any
	// run) is tainted again.
	`
CREATE TABLE file_taints (
	id         INTEGER PRIMARY KEY, -- orders records: the newest wins
	run_id     TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
	path       TEXT NOT NULL,
	sha256     TEXT NOT NULL,
	origins    TEXT NOT NULL,       -- JSON array of node ids
	created_at INTEGER NOT NULL
) STRICT;
CREATE INDEX file_taints_find ON file_taints(path, sha256);
CREATE INDEX file_taints_run ON file_taints(run_id);
`,
}

// SchemaVersion is the schema version this aco writes.
func SchemaVersion() int { return len(migrations) }

// migrate applies the migrations the database at path has not had yet, each
// in its own transaction together with the new version number, so a failure
// leaves the database at the last version that fully applied.
func migrate(ctx context.Context, db *sql.DB, path string, migrations []string) error {
	for {
		done, err := migrateOne(ctx, db, path, migrations)
		if sqliteCode(err)&0xff == sqlite3.SQLITE_NOTADB {
			return aco.Errorf(aco.EINVALID,
				"%s is not an aco store (not an SQLite database): move it away, or set ACO_HOME to another directory", path)
		}
		if err != nil || done {
			return err
		}
	}
}

func migrateOne(ctx context.Context, db *sql.DB, path string, migrations []string) (done bool, err error) {
	// The version is read inside the (immediate) transaction: another
	// process opening the same file at the same time waits here and then
	// sees the version this one wrote.
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return false, fmt.Errorf("open %s: %w", path, err)
	}
	defer tx.Rollback()
	var version int
	if err := tx.QueryRow("PRAGMA user_version").Scan(&version); err != nil {
		return false, fmt.Errorf("open %s: read schema version: %w", path, err)
	}
	switch {
	case version > len(migrations):
		return false, aco.Errorf(aco.ECONFLICT,
			"the store %s has schema version %d, but this aco only knows versions up to %d: "+
				"it was written by a newer aco. Upgrade aco, or set ACO_HOME to another directory to use a separate store",
			path, version, len(migrations))
	case version == len(migrations):
		return true, nil
	}
	if _, err := tx.Exec(migrations[version]); err != nil {
		return false, fmt.Errorf("open %s: migrate schema to version %d: %w", path, version+1, err)
	}
	// PRAGMA takes no parameters; version is an int, so formatting is safe.
	if _, err := tx.Exec(fmt.Sprintf("PRAGMA user_version = %d", version+1)); err != nil {
		return false, fmt.Errorf("open %s: set schema version %d: %w", path, version+1, err)
	}
	if err := tx.Commit(); err != nil {
		return false, fmt.Errorf("open %s: migrate schema to version %d: %w", path, version+1, err)
	}
	return false, nil
}
