// Package sqlite is the embedded aco.Store: one SQLite file in WAL mode.
//
// Writes go through a single goroutine that owns the only write connection
// and commits the writes queued behind each other in one transaction (group
// commit), each in its own savepoint so one failing write does not undo the
// others. Reads use a separate pool of read-only connections, which WAL lets
// run beside the writer. The server ingests calls from many runners at once;
// one transaction per call would spend most of its time committing.
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"time"

	"github.com/aco-dev/aco"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// maxBatch bounds how many queued writes share one transaction, so that a
// flood of writes still commits (and answers its callers) regularly.
const maxBatch = 512

// DB is an aco.Store backed by SQLite. It is safe for concurrent use.
type DB struct {
	path  string
	write *sql.DB // exactly one connection, used only by the writer goroutine
	read  *sql.DB // read-only pool; the same as write for in-memory databases
	now   func() time.Time

	putCall  *sql.Stmt // prepared on the write connection
	addEdge  *sql.Stmt
	getCall  *sql.Stmt // prepared on the read pool
	findCall *sql.Stmt

	reqs      chan *writeReq
	quit      chan struct{}
	done      chan struct{}
	closeOnce sync.Once
	closeErr  error
}

var _ aco.Store = (*DB)(nil)

// Option changes how Open sets up a DB.
type Option func(*DB)

// WithClock sets the clock used for timestamps the store fills in itself
// (created_at, updated_at); tests pass a fixed one.
func WithClock(now func() time.Time) Option {
	return func(db *DB) { db.now = now }
}

// Open opens (creating if needed) the SQLite store at path and brings its
// schema up to date. path ":memory:" gives a private in-memory store.
// A database written by a newer aco is refused with an *aco.Error, since its
// schema may hold data this version would misread or lose.
func Open(path string, opts ...Option) (*DB, error) {
	db := &DB{
		path: path,
		now:  time.Now,
		reqs: make(chan *writeReq),
		quit: make(chan struct{}),
		done: make(chan struct{}),
	}
	for _, o := range opts {
		o(db)
	}

	// busy_timeout first: other processes (a second server, `aco` commands
	// reading the file) may hold locks briefly. synchronous=NORMAL is durable
	// across application crashes in WAL mode and only risks the last commits
	// on power loss, which for a cache of LLM calls is the right trade.
	const pragmas = "_pragma=busy_timeout(10000)&_pragma=foreign_keys(1)" +
		"&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)"
	memory := path == ":memory:"
	var name string
	if memory {
		name = "file::memory:"
	} else {
		if dir := filepath.Dir(path); dir != "" {
			if err := os.MkdirAll(dir, 0o700); err != nil {
				return nil, aco.Errorf(aco.EINVALID, "cannot create the directory of the store %s: %v", path, err)
			}
		}
		// A file: URI with an escaped path, so that '?' or '#' in a path
		// cannot be taken for the start of the parameters.
		name = "file:" + (&url.URL{Path: path}).EscapedPath()
	}

	// Every write transaction starts IMMEDIATE: taking the write lock up
	// front avoids the deadlock-prone upgrade from a read lock when another
	// process writes too.
	w, err := sql.Open("sqlite", name+"?"+pragmas+"&_txlock=immediate")
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0) // an in-memory database lives as long as its connection
	db.write = w
	db.read = w
	if !memory {
		r, err := sql.Open("sqlite", name+"?"+pragmas+"&_pragma=query_only(1)")
		if err != nil {
			w.Close()
			return nil, fmt.Errorf("open %s: %w", path, err)
		}
		r.SetMaxOpenConns(max(4, runtime.GOMAXPROCS(0)))
		db.read = r
	}

	if err := migrate(context.Background(), w, path, migrations); err != nil {
		db.closeConns()
		return nil, err
	}
	if db.putCall, err = w.Prepare(putCallSQL); err == nil {
		db.addEdge, err = w.Prepare(addEdgeSQL)
	}
	if err == nil {
		if db.getCall, err = db.read.Prepare(getCallSQL); err == nil {
			db.findCall, err = db.read.Prepare(findCallSQL)
		}
	}
	if err != nil {
		db.closeStmts()
		db.closeConns()
		return nil, fmt.Errorf("prepare: %w", err)
	}

	go db.writer()
	return db, nil
}

// Path is where the store lives (":memory:" for an in-memory store).
func (db *DB) Path() string { return db.path }

// Close stops the writer after the writes already accepted and closes the
// database. Writes started after Close fail.
func (db *DB) Close() error {
	db.closeOnce.Do(func() {
		close(db.quit)
		<-db.done
		db.closeStmts()
		// Keep the query planner's statistics fresh for the next start; a
		// failure here loses nothing.
		db.write.Exec("PRAGMA optimize")
		db.closeErr = db.closeConns()
	})
	return db.closeErr
}

func (db *DB) closeStmts() {
	for _, st := range []*sql.Stmt{db.putCall, db.addEdge, db.getCall, db.findCall} {
		if st != nil {
			st.Close()
		}
	}
}

func (db *DB) closeConns() error {
	var errs []error
	if db.read != db.write {
		errs = append(errs, db.read.Close())
	}
	errs = append(errs, db.write.Close())
	return errors.Join(errs...)
}

// writeFunc is one write. It runs on the writer connection inside a
// transaction (or a savepoint of one) and must use only tx.
type writeFunc func(tx *sql.Tx) error

type writeReq struct {
	ctx  context.Context
	fn   writeFunc
	done chan error
}

var errClosed = aco.Errorf(aco.EUNAVAIL, "the store is closed")

// update runs fn in a write transaction and returns its error.
//
// ctx bounds only the wait for the writer: once fn has started it runs to
// the end, because interrupting SQLite mid-statement rolls back the whole
// transaction, which holds other callers' writes too.
func (db *DB) update(ctx context.Context, fn writeFunc) error {
	req := &writeReq{ctx: ctx, fn: fn, done: make(chan error, 1)}
	select {
	case db.reqs <- req:
	case <-ctx.Done():
		return ctx.Err()
	case <-db.quit:
		return errClosed
	}
	// The writer answers every request it has received, even while closing.
	return <-req.done
}

// writer owns the write connection. It collects the requests queued behind
// the first one and commits them together.
func (db *DB) writer() {
	defer close(db.done)
	batch := make([]*writeReq, 0, maxBatch)
	for {
		select {
		case <-db.quit:
			return
		case req := <-db.reqs:
			batch = append(batch[:0], req)
		}
	fill:
		for len(batch) < maxBatch {
			select {
			case req := <-db.reqs:
				batch = append(batch, req)
			default:
				break fill
			}
		}
		db.commit(batch)
	}
}

func (db *DB) commit(batch []*writeReq) {
	live := batch[:0:0]
	for _, req := range batch {
		if err := req.ctx.Err(); err != nil {
			req.done <- err
			continue
		}
		live = append(live, req)
	}
	switch len(live) {
	case 0:
		return
	case 1:
		live[0].done <- db.runAlone(live[0].fn)
		return
	}

	errs, err := db.runBatch(live)
	if err != nil {
		// The transaction itself failed (commit, or SQLite rolled it back
		// on its own), so none of the batch was written: give each write
		// its own transaction, and its own error.
		for _, req := range live {
			req.done <- db.runAlone(req.fn)
		}
		return
	}
	for i, req := range live {
		req.done <- errs[i]
	}
}

func (db *DB) runAlone(fn writeFunc) error {
	tx, err := db.write.Begin()
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// runBatch runs every write in a savepoint of one transaction. It returns
// each write's own error, or an error when the transaction as a whole
// failed and nothing was committed.
func (db *DB) runBatch(batch []*writeReq) ([]error, error) {
	tx, err := db.write.Begin()
	if err != nil {
		return nil, fmt.Errorf("begin: %w", err)
	}
	errs := make([]error, len(batch))
	for i, req := range batch {
		if _, err := tx.Exec("SAVEPOINT w"); err != nil {
			tx.Rollback()
			return nil, err
		}
		if errs[i] = req.fn(tx); errs[i] != nil {
			if _, err := tx.Exec("ROLLBACK TO w"); err != nil {
				tx.Rollback()
				return nil, err
			}
		}
		if _, err := tx.Exec("RELEASE w"); err != nil {
			tx.Rollback()
			return nil, err
		}
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("commit: %w", err)
	}
	return errs, nil
}

// sqliteCode is the extended result code of an SQLite error, 0 for others.
func sqliteCode(err error) int {
	var e *sqlite.Error
	if errors.As(err, &e) {
		return e.Code()
	}
	return 0
}

func isForeignKey(err error) bool {
	return sqliteCode(err) == sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY
}

func isUnique(err error) bool {
	c := sqliteCode(err)
	return c == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY || c == sqlite3.SQLITE_CONSTRAINT_UNIQUE
}

// Clear deletes every run, call, edge, log and file, keeping the schema.
func (db *DB) Clear(ctx context.Context) error {
	return db.update(ctx, func(tx *sql.Tx) error {
		for _, table := range []string{"edges", "logs", "files", "calls", "runs"} {
			if _, err := tx.Exec("DELETE FROM " + table); err != nil {
				return fmt.Errorf("clear %s: %w", table, err)
			}
		}
		return nil
	})
}

// Times are stored as integer unix milliseconds, UTC: they sort and compare
// in SQL, and round-trip exactly at millisecond precision. The zero time is
// stored as NULL so that it reads back as the zero time.

func toMS(t time.Time) sql.NullInt64 {
	if t.IsZero() {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: t.UnixMilli(), Valid: true}
}

func fromMS(v sql.NullInt64) time.Time {
	if !v.Valid {
		return time.Time{}
	}
	return time.UnixMilli(v.Int64).UTC()
}
