package storetest

import (
	"context"
	"errors"
	"reflect"
	"testing"

	"github.com/aco-dev/aco"
)

// FileTaintStore is a store that also keeps the taint programs write into
// files (the server uses it when its store offers it; aco.Store itself does
// not require it).
type FileTaintStore interface {
	aco.Store
	PutFileTaint(ctx context.Context, runID, path, sha256 string, origins []string) error
	FileTaintOrigins(ctx context.Context, path, sha256 string) ([]string, error)
}

// RunFileTaints runs the file taint part of the suite.
func RunFileTaints(t *testing.T, open func(t *testing.T) FileTaintStore) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s FileTaintStore)
	}{
		{"PutAndFind", testFileTaintPutAndFind},
		{"NewestWins", testFileTaintNewestWins},
		{"Errors", testFileTaintErrors},
		{"GoneWithTheRun", testFileTaintGoneWithTheRun},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := open(t)
			t.Cleanup(func() {
				if err := s.Close(); err != nil {
					t.Errorf("Close: %v", err)
				}
			})
			tt.fn(t, s)
		})
	}
}

const (
	notes = "/home/ada/project/notes.txt"
	shaA  = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
	shaB  = "60303ae22b998861bce3b28f33eec1be758a213c86c93c076dbe9f558c11c752"
)

func wantOrigins(t *testing.T, s FileTaintStore, path, sha string, want []string) {
	t.Helper()
	got, err := s.FileTaintOrigins(context.Background(), path, sha)
	if want == nil {
		wantNotFound(t, "FileTaintOrigins("+path+")", err)
		return
	}
	if err != nil {
		t.Fatalf("FileTaintOrigins(%s, %s): %v", path, sha[:6], err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("FileTaintOrigins(%s, %s) = %q, want %q", path, sha[:6], got, want)
	}
}

func testFileTaintPutAndFind(t *testing.T, s FileTaintStore) {
	ctx := context.Background()
	mustCreate(t, s, newRun("r1", 0))
	if err := s.PutFileTaint(ctx, "r1", notes, shaA, []string{"n2", "n1", "n2"}); err != nil {
		t.Fatal(err)
	}
	wantOrigins(t, s, notes, shaA, []string{"n1", "n2"})
	// Other bytes at the same path, or the same bytes elsewhere, are not
	// what was written.
	wantOrigins(t, s, notes, shaB, nil)
	wantOrigins(t, s, "/home/ada/project/other.txt", shaA, nil)
}

func testFileTaintNewestWins(t *testing.T, s FileTaintStore) {
	ctx := context.Background()
	mustCreate(t, s, newRun("r1", 0), newRun("r2", 1))
	for _, p := range []struct {
		run     string
		origins []string
	}{
		{"r1", []string{"a"}},
		{"r2", []string{"b"}},
		{"r1", []string{"c"}}, // r1 writes the same bytes again: replaces its own record
	} {
		if err := s.PutFileTaint(ctx, p.run, notes, shaA, p.origins); err != nil {
			t.Fatal(err)
		}
	}
	wantOrigins(t, s, notes, shaA, []string{"c"})
	if err := s.DeleteRun(ctx, "r1"); err != nil {
		t.Fatal(err)
	}
	wantOrigins(t, s, notes, shaA, []string{"b"})
}

func testFileTaintErrors(t *testing.T, s FileTaintStore) {
	ctx := context.Background()
	wantCode(t, "PutFileTaint for an unknown run", s.PutFileTaint(ctx, "nope", notes, shaA, []string{"n"}), aco.ENOTFOUND)
	wantCode(t, "PutFileTaint without a path", s.PutFileTaint(ctx, "r1", "", shaA, nil), aco.EINVALID)
	wantCode(t, "PutFileTaint without a hash", s.PutFileTaint(ctx, "r1", notes, "", nil), aco.EINVALID)
	if _, err := s.FileTaintOrigins(ctx, notes, shaA); !errors.Is(err, aco.ErrNotFound) && aco.ErrorCode(err) != aco.ENOTFOUND {
		t.Errorf("FileTaintOrigins on an empty store: %v", err)
	}
}

func testFileTaintGoneWithTheRun(t *testing.T, s FileTaintStore) {
	ctx := context.Background()
	mustCreate(t, s, newRun("r1", 0), subrun("s1", "r1", "sample", 1))
	if err := s.PutFileTaint(ctx, "s1", notes, shaA, []string{"n"}); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteRun(ctx, "r1"); err != nil {
		t.Fatal(err)
	}
	wantOrigins(t, s, notes, shaA, nil)

	mustCreate(t, s, newRun("r2", 2))
	if err := s.PutFileTaint(ctx, "r2", notes, shaB, []string{"m"}); err != nil {
		t.Fatal(err)
	}
	if err := s.Clear(ctx); err != nil {
		t.Fatal(err)
	}
	wantOrigins(t, s, notes, shaB, nil)
}
