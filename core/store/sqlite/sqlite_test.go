package sqlite

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aco-dev/aco"
	"github.com/aco-dev/aco/core/store/storetest"
)

func openFile(t *testing.T) *DB {
	t.Helper()
	db, err := Open(filepath.Join(t.TempDir(), "aco.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func TestConformance(t *testing.T) {
	t.Run("file", func(t *testing.T) {
		storetest.Run(t, func(t *testing.T) aco.Store {
			db, err := Open(filepath.Join(t.TempDir(), "aco.db"))
			if err != nil {
				t.Fatal(err)
			}
			return db
		})
	})
	t.Run("memory", func(t *testing.T) {
		storetest.Run(t, func(t *testing.T) aco.Store {
			db, err := Open(":memory:")
			if err != nil {
				t.Fatal(err)
			}
			return db
		})
	})
	t.Run("file taints", func(t *testing.T) {
		storetest.RunFileTaints(t, func(t *testing.T) storetest.FileTaintStore {
			db, err := Open(filepath.Join(t.TempDir(), "aco.db"))
			if err != nil {
				t.Fatal(err)
			}
			return db
		})
	})
}

// rawOpen opens the file without the store, as another tool (or an older or
// newer aco) would.
func rawOpen(t *testing.T, path string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func userVersion(t *testing.T, db *sql.DB) int {
	t.Helper()
	var v int
	if err := db.QueryRow("PRAGMA user_version").Scan(&v); err != nil {
		t.Fatal(err)
	}
	return v
}

func TestOpenEmptyFile(t *testing.T) {
	// An empty file is what a crash between create and first write leaves,
	// and what `touch` makes: it must be migrated like a missing one.
	path := filepath.Join(t.TempDir(), "nested", "dir", "aco.db")
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	db, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()

	checks := []struct{ pragma, want string }{
		{"journal_mode", "wal"},
		{"foreign_keys", "1"},
		{"user_version", fmt.Sprint(SchemaVersion())},
	}
	for _, c := range checks {
		var got string
		// The writer connection is where these matter; ask it directly.
		if err := db.write.QueryRow("PRAGMA " + c.pragma).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if got != c.want {
			t.Errorf("PRAGMA %s = %q, want %q", c.pragma, got, c.want)
		}
	}
	for _, table := range []string{"runs", "calls", "edges", "logs", "files"} {
		var n int
		if err := db.read.QueryRow(`SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = ?`, table).Scan(&n); err != nil || n != 1 {
			t.Errorf("table %s: count %d, err %v", table, n, err)
		}
	}
}

func TestOpenCreatesDirectory(t *testing.T) {
	path := filepath.Join(t.TempDir(), "a", "b", "aco.db")
	db, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	if _, err := os.Stat(path); err != nil {
		t.Errorf("store file not created: %v", err)
	}
}

func TestReopenKeepsData(t *testing.T) {
	path := filepath.Join(t.TempDir(), "odd?name#.db")
	ctx := context.Background()
	db, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.CreateRun(ctx, &aco.Run{ID: "run-1", Name: "kept"}); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("the store is not at the path given: %v", err)
	}

	db, err = Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	r, err := db.GetRun(ctx, "run-1")
	if err != nil || r.Name != "kept" {
		t.Errorf("after reopening, GetRun = %+v, %v", r, err)
	}
}

func TestOpenRefusesNewerSchema(t *testing.T) {
	path := filepath.Join(t.TempDir(), "aco.db")
	db, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	newer := SchemaVersion() + 7
	if _, err := rawOpen(t, path).Exec(fmt.Sprintf("PRAGMA user_version = %d", newer)); err != nil {
		t.Fatal(err)
	}

	_, err = Open(path)
	var e *aco.Error
	if !errors.As(err, &e) || e.Code != aco.ECONFLICT {
		t.Fatalf("Open of a newer store = %v, want an *aco.Error with code %s", err, aco.ECONFLICT)
	}
	for _, want := range []string{fmt.Sprint(newer), fmt.Sprint(SchemaVersion()), "newer aco", "Upgrade aco"} {
		if !strings.Contains(e.Message, want) {
			t.Errorf("error %q does not mention %q", e.Message, want)
		}
	}
	if got := userVersion(t, rawOpen(t, path)); got != newer {
		t.Errorf("refusing the store changed its version to %d", got)
	}
}

func TestOpenRefusesOtherFiles(t *testing.T) {
	path := filepath.Join(t.TempDir(), "notes.txt")
	if err := os.WriteFile(path, bytes.Repeat([]byte("not a database\n"), 300), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := Open(path)
	if aco.ErrorCode(err) != aco.EINVALID || !strings.Contains(err.Error(), "not an aco store") {
		t.Errorf("Open of a text file = %v, want an EINVALID error saying it is not a store", err)
	}
}

// TestTwoOpeners has two stores on one file, as when `aco` commands run
// beside the server: both write at once and neither sees SQLITE_BUSY.
func TestTwoOpeners(t *testing.T) {
	path := filepath.Join(t.TempDir(), "aco.db")
	ctx := context.Background()
	a, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()

	const n = 100
	errs := make(chan error, 2)
	for i, db := range []*DB{a, b} {
		go func() {
			for j := range n {
				if err := db.CreateRun(ctx, &aco.Run{ID: fmt.Sprintf("run-%d-%d", i, j)}); err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}()
	}
	for range 2 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	for _, db := range []*DB{a, b} {
		runs, err := db.ListRuns(ctx)
		if err != nil || len(runs) != 2*n {
			t.Errorf("ListRuns = %d runs, %v; want %d", len(runs), err, 2*n)
		}
	}
}

func TestMigrateStopsAtFailure(t *testing.T) {
	path := filepath.Join(t.TempDir(), "m.db")
	db := rawOpen(t, path+"?_txlock=immediate")
	ctx := context.Background()
	good := "CREATE TABLE a (x INTEGER)"
	bad := "CREATE TABLE b (y INTEGER); INSERT INTO nowhere VALUES (1)"

	err := migrate(ctx, db, path, []string{good, bad})
	if err == nil || !strings.Contains(err.Error(), "version 2") {
		t.Fatalf("migrate with a failing second migration = %v, want an error naming version 2", err)
	}
	if v := userVersion(t, db); v != 1 {
		t.Errorf("version after a failed migration = %d, want 1", v)
	}
	var n int
	db.QueryRow(`SELECT count(*) FROM sqlite_schema WHERE name = 'b'`).Scan(&n)
	if n != 0 {
		t.Error("the failed migration was partly applied")
	}

	fixed := "CREATE TABLE b (y INTEGER)"
	if err := migrate(ctx, db, path, []string{good, fixed}); err != nil {
		t.Fatal(err)
	}
	if v := userVersion(t, db); v != 2 {
		t.Errorf("version after migrating = %d, want 2", v)
	}
	// Migrating again is a no-op.
	if err := migrate(ctx, db, path, []string{good, fixed}); err != nil {
		t.Errorf("second migrate: %v", err)
	}
}

func TestFiles(t *testing.T) {
	db := openFile(t)
	ctx := context.Background()
	if err := db.CreateRun(ctx, &aco.Run{ID: "run-f"}); err != nil {
		t.Fatal(err)
	}
	png := []byte("\x89PNG\r\n\x1a\n\x00binary\xff")
	f := &File{ID: "file-1", RunID: "run-f", NodeID: "node-1", Name: "cat.png", MIME: "image/png", Bytes: png,
		CreatedAt: time.Date(2026, 1, 2, 3, 4, 5, 6_789_000, time.UTC)}
	if err := db.PutFile(ctx, f); err != nil {
		t.Fatal(err)
	}
	if sum := sha256.Sum256(png); f.SHA256 != hex.EncodeToString(sum[:]) {
		t.Errorf("PutFile set SHA256 %q, want the digest of the bytes", f.SHA256)
	}
	got, err := db.GetFile(ctx, "file-1")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.Bytes, png) || got.SHA256 != f.SHA256 || got.Name != "cat.png" ||
		got.MIME != "image/png" || got.NodeID != "node-1" || got.RunID != "run-f" ||
		!got.CreatedAt.Equal(f.CreatedAt.Truncate(time.Millisecond)) {
		t.Errorf("GetFile = %+v, want %+v", got, f)
	}

	empty := &File{ID: "file-empty", RunID: "run-f", Name: "empty.txt"}
	if err := db.PutFile(ctx, empty); err != nil {
		t.Fatal(err)
	}
	if got, err := db.GetFile(ctx, "file-empty"); err != nil || len(got.Bytes) != 0 || got.NodeID != "" || got.CreatedAt.IsZero() {
		t.Errorf("GetFile(empty) = %+v, %v", got, err)
	}

	tests := []struct {
		name string
		file *File
		code string
	}{
		{"duplicate id", &File{ID: "file-1", RunID: "run-f"}, aco.ECONFLICT},
		{"unknown run", &File{ID: "file-2", RunID: "no-such"}, aco.ENOTFOUND},
		{"no id", &File{RunID: "run-f"}, aco.EINVALID},
		{"damaged", &File{ID: "file-3", RunID: "run-f", Bytes: []byte("x"), SHA256: "00"}, aco.EINVALID},
	}
	for _, tt := range tests {
		if code := aco.ErrorCode(db.PutFile(ctx, tt.file)); code != tt.code {
			t.Errorf("PutFile(%s): code %q, want %q", tt.name, code, tt.code)
		}
	}
	if _, err := db.GetFile(ctx, "no-such"); !errors.Is(err, aco.ErrNotFound) {
		t.Errorf("GetFile(unknown) = %v, want ErrNotFound", err)
	}

	if err := db.DeleteRun(ctx, "run-f"); err != nil {
		t.Fatal(err)
	}
	if _, err := db.GetFile(ctx, "file-1"); !errors.Is(err, aco.ErrNotFound) {
		t.Errorf("a deleted run's file remains: %v", err)
	}
}

func TestWithClock(t *testing.T) {
	now := time.Date(2030, 5, 6, 7, 8, 9, 0, time.UTC)
	db, err := Open(":memory:", WithClock(func() time.Time { return now }))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	if err := db.CreateRun(ctx, &aco.Run{ID: "r"}); err != nil {
		t.Fatal(err)
	}
	now = now.Add(time.Hour)
	if err := db.FinishRun(ctx, "r", aco.RunFinished, nil); err != nil {
		t.Fatal(err)
	}
	r, err := db.GetRun(ctx, "r")
	if err != nil {
		t.Fatal(err)
	}
	if !r.CreatedAt.Equal(now.Add(-time.Hour)) || !r.UpdatedAt.Equal(now) {
		t.Errorf("created %v updated %v, want the injected clock's times", r.CreatedAt, r.UpdatedAt)
	}
}

func TestClosed(t *testing.T) {
	db, err := Open(":memory:")
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	err = db.CreateRun(context.Background(), &aco.Run{ID: "r"})
	if aco.ErrorCode(err) != aco.EUNAVAIL {
		t.Errorf("CreateRun after Close = %v, want code %s", err, aco.EUNAVAIL)
	}
}

func TestCancelledWrite(t *testing.T) {
	db := openFile(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := db.CreateRun(ctx, &aco.Run{ID: "r"}); !errors.Is(err, context.Canceled) {
		t.Errorf("CreateRun with a cancelled context = %v, want context.Canceled", err)
	}
	if _, err := db.GetRun(context.Background(), "r"); !errors.Is(err, aco.ErrNotFound) {
		t.Errorf("a cancelled write was stored: %v", err)
	}
}

// batchOf queues writes the way the writer collects them, so a test can
// commit them as one batch without depending on timing.
func batchOf(fns ...writeFunc) []*writeReq {
	reqs := make([]*writeReq, len(fns))
	for i, fn := range fns {
		reqs[i] = &writeReq{ctx: context.Background(), fn: fn, done: make(chan error, 1)}
	}
	return reqs
}

func insertRun(id string) writeFunc {
	return func(tx *sql.Tx) error {
		_, err := tx.Exec(`INSERT INTO runs (id, name, cwd, argv, interpreter, env, status, result, notes,
			execution, created_at, updated_at) VALUES (?, '', '', '[]', '', '{}', 'running', '', '', 1, 0, 0)`, id)
		return err
	}
}

func TestBatchIsolatesFailures(t *testing.T) {
	db := openFile(t)
	ctx := context.Background()
	errHalfway := errors.New("failed after writing")
	cancelled, cancel := context.WithCancel(ctx)
	cancel()

	batch := batchOf(
		insertRun("ok-1"),
		insertRun("ok-1"), // duplicate: fails alone
		func(tx *sql.Tx) error { // writes, then fails: its write must be undone
			if err := insertRun("half")(tx); err != nil {
				return err
			}
			return errHalfway
		},
		insertRun("ok-2"),
		insertRun("cancelled"),
	)
	batch[4].ctx = cancelled
	db.commit(batch)

	results := make([]error, len(batch))
	for i, req := range batch {
		results[i] = <-req.done
	}
	if results[0] != nil || results[3] != nil {
		t.Errorf("good writes failed: %v, %v", results[0], results[3])
	}
	if !isUnique(results[1]) {
		t.Errorf("duplicate insert: %v, want a unique violation", results[1])
	}
	if !errors.Is(results[2], errHalfway) {
		t.Errorf("failing write: %v, want its own error", results[2])
	}
	if !errors.Is(results[4], context.Canceled) {
		t.Errorf("cancelled write: %v, want context.Canceled", results[4])
	}
	for id, want := range map[string]bool{"ok-1": true, "ok-2": true, "half": false, "cancelled": false} {
		_, err := db.GetRun(ctx, id)
		if got := err == nil; got != want {
			t.Errorf("run %s stored = %v, want %v (err %v)", id, got, want, err)
		}
	}
}

func TestBatchFallsBackWhenTheTransactionFails(t *testing.T) {
	db := openFile(t)
	ctx := context.Background()
	// A write that ends the transaction under everyone's feet: the batch
	// cannot commit, so each write is retried alone and only the culprit fails.
	poison := func(tx *sql.Tx) error {
		_, err := tx.Exec("ROLLBACK")
		return err
	}
	batch := batchOf(insertRun("before"), poison, insertRun("after"))
	db.commit(batch)
	results := []error{<-batch[0].done, <-batch[1].done, <-batch[2].done}
	if results[0] != nil || results[2] != nil {
		t.Errorf("innocent writes failed: %v, %v", results[0], results[2])
	}
	if results[1] == nil {
		t.Error("the poisoned write reported success")
	}
	for _, id := range []string{"before", "after"} {
		if _, err := db.GetRun(ctx, id); err != nil {
			t.Errorf("run %s lost: %v", id, err)
		}
	}
	// The writer is still usable.
	if err := db.CreateRun(ctx, &aco.Run{ID: "later"}); err != nil {
		t.Errorf("write after the failed batch: %v", err)
	}
}

// BenchmarkPutCall measures ingest as the server sees it: eight runners'
// calls arriving at once, each for its own run.
func BenchmarkPutCall(b *testing.B) {
	db, err := Open(filepath.Join(b.TempDir(), "aco.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	input := []byte(`{"model":"gpt-4.1","input":"` + strings.Repeat("lorem ipsum ", 40) + `"}`)
	output := []byte(`{"output_text":"` + strings.Repeat("dolor sit ", 40) + `"}`)

	const runners = 8
	for r := range runners {
		if err := db.CreateRun(ctx, &aco.Run{ID: fmt.Sprintf("run-%d", r)}); err != nil {
			b.Fatal(err)
		}
	}
	next := make(chan int, runners)
	for r := range runners {
		next <- r
	}
	procs := runtime.GOMAXPROCS(0)
	b.SetParallelism((runners + procs - 1) / procs)
	var ids atomic.Int64
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		var r int
		select {
		case r = <-next:
		default: // more goroutines than runners: share the last run
			r = runners - 1
		}
		run := fmt.Sprintf("run-%d", r)
		for i := 0; pb.Next(); i++ {
			c := &aco.Call{
				RunID: run, NodeID: fmt.Sprint("node-", ids.Add(1)), Seq: i,
				API: "openai.responses.create", Kind: "llm", Model: "gpt-4.1",
				Input: input, InputHash: fmt.Sprintf("h%d", i), Output: output,
				InputText: "lorem", OutputText: "dolor", Location: "agent.py:3",
				StartedAt: time.Now(), DurationMS: 1, Execution: 1, Origin: aco.OriginNew,
			}
			if err := db.PutCall(ctx, c); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "calls/s")
}
