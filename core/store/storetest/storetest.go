// Package storetest is the conformance suite every aco.Store must pass
// (SQLite now, PostgreSQL later), so that the server behaves the same on
// either. A store's own tests call Run with a function that opens a fresh,
// empty store for each subtest.
package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aco-dev/aco"
)

// Open returns a new, empty store that the suite may use and close; it
// should register its own cleanup (temp dirs, connections) with t.
type Open func(t *testing.T) aco.Store

// Run runs the whole suite against the stores open returns.
func Run(t *testing.T, open Open) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s aco.Store)
	}{
		{"CreateAndGetRun", testCreateAndGetRun},
		{"CreateRunDefaults", testCreateRunDefaults},
		{"CreateRunErrors", testCreateRunErrors},
		{"FindSubrun", testFindSubrun},
		{"ListRuns", testListRuns},
		{"UpdateRun", testUpdateRun},
		{"FinishRun", testFinishRun},
		{"StartExecution", testStartExecution},
		{"DeleteRun", testDeleteRun},
		{"Clear", testClear},
		{"ResolveRunID", testResolveRunID},
		{"PutAndGetCall", testPutAndGetCall},
		{"PutCallErrors", testPutCallErrors},
		{"FindCall", testFindCall},
		{"EditCall", testEditCall},
		{"Calls", testCalls},
		{"Edges", testEdges},
		{"RecordCall", testRecordCall},
		{"Logs", testLogs},
		{"Concurrent", testConcurrent},
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

// base is a fixed time with sub-millisecond digits, which stores may drop.
var base = time.Date(2026, 3, 14, 15, 9, 26, 535897932, time.UTC)

func newRun(id string, minute int) *aco.Run {
	return &aco.Run{
		ID:          id,
		Name:        "run " + id,
		Cwd:         "/home/ada/project",
		Argv:        []string{"agent.py", "--flag", "ünïcode"},
		Interpreter: "/usr/bin/python3",
		Env:         map[string]string{"HOME": "/home/ada", "OPENAI_API_KEY": "[redacted]"},
		Status:      aco.RunRunning,
		Execution:   1,
		CreatedAt:   base.Add(time.Duration(minute) * time.Minute),
		UpdatedAt:   base.Add(time.Duration(minute) * time.Minute),
	}
}

func subrun(id, parent, name string, minute int) *aco.Run {
	r := newRun(id, minute)
	r.ParentID = parent
	r.Name = name
	return r
}

func newCall(runID, nodeID string, seq, execution int) *aco.Call {
	return &aco.Call{
		RunID:      runID,
		NodeID:     nodeID,
		Seq:        seq,
		API:        "openai.responses.create",
		Kind:       "llm",
		Model:      "gpt-4.1",
		Input:      json.RawMessage(fmt.Sprintf(`{"input":"Add 1 to %d","model":"gpt-4.1"}`, seq)),
		InputHash:  fmt.Sprintf("hash-%d", seq),
		Output:     json.RawMessage(fmt.Sprintf(`{"output_text":"%d"}`, seq+1)),
		InputText:  fmt.Sprintf("Add 1 to %d", seq),
		OutputText: fmt.Sprint(seq + 1),
		Location:   "agent.py:12",
		StartedAt:  base.Add(time.Duration(seq) * time.Second),
		DurationMS: 12.5,
		Execution:  execution,
		Origin:     aco.OriginNew,
	}
}

func mustCreate(t *testing.T, s aco.Store, runs ...*aco.Run) {
	t.Helper()
	for _, r := range runs {
		if err := s.CreateRun(context.Background(), r); err != nil {
			t.Fatalf("CreateRun(%s): %v", r.ID, err)
		}
	}
}

func mustPut(t *testing.T, s aco.Store, calls ...*aco.Call) {
	t.Helper()
	for _, c := range calls {
		if err := s.PutCall(context.Background(), c); err != nil {
			t.Fatalf("PutCall(%s): %v", c.NodeID, err)
		}
	}
}

func mustGetRun(t *testing.T, s aco.Store, id string) *aco.Run {
	t.Helper()
	r, err := s.GetRun(context.Background(), id)
	if err != nil {
		t.Fatalf("GetRun(%s): %v", id, err)
	}
	return r
}

func mustGetCall(t *testing.T, s aco.Store, id string) *aco.Call {
	t.Helper()
	c, err := s.GetCall(context.Background(), id)
	if err != nil {
		t.Fatalf("GetCall(%s): %v", id, err)
	}
	return c
}

// ms is the precision stores must keep times at.
func ms(t time.Time) time.Time { return t.UTC().Truncate(time.Millisecond) }

func normRun(r aco.Run) aco.Run {
	r.CreatedAt, r.UpdatedAt = ms(r.CreatedAt), ms(r.UpdatedAt)
	return r
}

func normCall(c aco.Call) aco.Call {
	c.StartedAt = ms(c.StartedAt)
	return c
}

func wantCode(t *testing.T, what string, err error, code string) {
	t.Helper()
	if got := aco.ErrorCode(err); got != code {
		t.Errorf("%s: error %v has code %q, want %q", what, err, got, code)
	}
}

func wantNotFound(t *testing.T, what string, err error) {
	t.Helper()
	if !errors.Is(err, aco.ErrNotFound) {
		t.Errorf("%s: error %v, want aco.ErrNotFound", what, err)
	}
}

func ids(runs []aco.Run) []string {
	out := make([]string, len(runs))
	for i, r := range runs {
		out[i] = r.ID
	}
	return out
}

func nodeIDs(calls []aco.Call) []string {
	out := make([]string, len(calls))
	for i, c := range calls {
		out[i] = c.NodeID
	}
	return out
}

func testCreateAndGetRun(t *testing.T, s aco.Store) {
	ctx := context.Background()
	code := 3
	parent := newRun("run-parent", 0)
	parent.ExitCode = &code
	parent.Result = "satisfactory"
	parent.Notes = "first try"
	parent.Status = aco.RunCrashed
	parent.Execution = 2
	parent.UpdatedAt = parent.CreatedAt.Add(time.Hour)
	child := subrun("run-child", "run-parent", "sample 3", 1)
	child.Env = nil
	child.Argv = nil
	mustCreate(t, s, parent, child)

	for _, want := range []*aco.Run{parent, child} {
		got := mustGetRun(t, s, want.ID)
		if !reflect.DeepEqual(normRun(*got), normRun(*want)) {
			t.Errorf("GetRun(%s) =\n%+v\nwant\n%+v", want.ID, normRun(*got), normRun(*want))
		}
	}
	_, err := s.GetRun(ctx, "no-such-run")
	wantNotFound(t, "GetRun(unknown)", err)
}

func testCreateRunDefaults(t *testing.T, s aco.Store) {
	before := time.Now().Add(-time.Second)
	r := &aco.Run{ID: "run-defaults", Name: "d"}
	mustCreate(t, s, r)
	got := mustGetRun(t, s, r.ID)
	if got.Status != aco.RunRunning || got.Execution != 1 {
		t.Errorf("defaults: status %q execution %d, want running and 1", got.Status, got.Execution)
	}
	if got.CreatedAt.Before(before) || got.UpdatedAt.Before(before) {
		t.Errorf("defaults: created %v updated %v, want now", got.CreatedAt, got.UpdatedAt)
	}
	if r.Execution != 1 || r.CreatedAt.IsZero() || r.Status != aco.RunRunning {
		t.Errorf("CreateRun did not write its defaults back into the run: %+v", r)
	}
}

func testCreateRunErrors(t *testing.T, s aco.Store) {
	ctx := context.Background()
	mustCreate(t, s, newRun("run-a", 0))
	tests := []struct {
		name string
		run  *aco.Run
		code string
	}{
		{"duplicate id", newRun("run-a", 1), aco.ECONFLICT},
		{"no id", newRun("", 1), aco.EINVALID},
		{"unknown parent", subrun("run-b", "no-such-parent", "x", 1), aco.ENOTFOUND},
		{"bad status", func() *aco.Run { r := newRun("run-c", 1); r.Status = "sleeping"; return r }(), aco.EINVALID},
	}
	for _, tt := range tests {
		wantCode(t, tt.name, s.CreateRun(ctx, tt.run), tt.code)
	}
	if got := mustGetRun(t, s, "run-a"); got.Name != "run run-a" || !got.CreatedAt.Equal(ms(base)) {
		t.Errorf("a failed duplicate CreateRun changed the run: %+v", got)
	}
}

func testFindSubrun(t *testing.T, s aco.Store) {
	ctx := context.Background()
	mustCreate(t, s,
		newRun("run-p", 0), newRun("run-q", 1),
		subrun("run-p-a", "run-p", "sample", 2),
		subrun("run-p-b", "run-p", "other", 3),
		subrun("run-q-a", "run-q", "sample", 4),
		subrun("run-p-a2", "run-p", "sample", 5),
	)
	tests := []struct {
		parent, name, want string
	}{
		{"run-p", "sample", "run-p-a"}, // the first created of the two
		{"run-p", "other", "run-p-b"},
		{"run-q", "sample", "run-q-a"},
		{"run-q", "other", ""},
		{"run-p", "run run-p", ""}, // the parent's own name is not a subrun
		{"no-such", "sample", ""},
	}
	for _, tt := range tests {
		got, err := s.FindSubrun(ctx, tt.parent, tt.name)
		if tt.want == "" {
			wantNotFound(t, fmt.Sprintf("FindSubrun(%s, %s)", tt.parent, tt.name), err)
			continue
		}
		if err != nil || got.ID != tt.want || got.ParentID != tt.parent {
			t.Errorf("FindSubrun(%s, %s) = %+v, %v; want %s", tt.parent, tt.name, got, err, tt.want)
		}
	}
}

func testListRuns(t *testing.T, s aco.Store) {
	ctx := context.Background()
	runs, err := s.ListRuns(ctx)
	if err != nil || runs == nil || len(runs) != 0 {
		t.Fatalf("ListRuns on an empty store = %#v, %v; want an empty slice", runs, err)
	}

	mustCreate(t, s, newRun("run-old", 0), newRun("run-new", 10), subrun("run-sub", "run-old", "s", 5))
	// Same creation time: the one created later comes first.
	mustCreate(t, s, newRun("run-tie1", 20), newRun("run-tie2", 20))
	mustPut(t, s,
		newCall("run-old", "n1", 0, 1), newCall("run-old", "n2", 1, 1),
		newCall("run-new", "n3", 0, 1), newCall("run-sub", "n4", 0, 1))
	if _, err := s.StartExecution(ctx, "run-new"); err != nil {
		t.Fatal(err)
	}
	// run-new is now in execution 2: its execution-1 call does not count,
	// the new one does; two more for run-old's current execution.
	mustPut(t, s, newCall("run-new", "n5", 0, 2), newCall("run-new", "n6", 1, 2), newCall("run-old", "n7", 2, 1))

	runs, err = s.ListRuns(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := ids(runs), []string{"run-tie2", "run-tie1", "run-new", "run-sub", "run-old"}; !reflect.DeepEqual(got, want) {
		t.Errorf("ListRuns order = %v, want %v", got, want)
	}
	counts := map[string]int{}
	for _, r := range runs {
		counts[r.ID] = r.Calls
		if r.ID == "run-sub" && r.ParentID != "run-old" {
			t.Errorf("ListRuns: subrun has parent %q, want run-old", r.ParentID)
		}
		if r.ID == "run-old" && !reflect.DeepEqual(r.Argv, newRun("", 0).Argv) {
			t.Errorf("ListRuns: argv %v not filled", r.Argv)
		}
	}
	want := map[string]int{"run-old": 3, "run-new": 2, "run-sub": 1, "run-tie1": 0, "run-tie2": 0}
	if !reflect.DeepEqual(counts, want) {
		t.Errorf("ListRuns call counts = %v, want %v", counts, want)
	}
}

func testUpdateRun(t *testing.T, s aco.Store) {
	ctx := context.Background()
	mustCreate(t, s, newRun("run-u", 0))
	str := func(v string) *string { return &v }
	steps := []struct {
		u                   aco.RunUpdate
		name, result, notes string
	}{
		{aco.RunUpdate{Name: str("renamed")}, "renamed", "", ""},
		{aco.RunUpdate{Result: str("failed"), Notes: str("wrong answer")}, "renamed", "failed", "wrong answer"},
		{aco.RunUpdate{Notes: str("")}, "renamed", "failed", ""},
		{aco.RunUpdate{}, "renamed", "failed", ""},
	}
	for i, st := range steps {
		if err := s.UpdateRun(ctx, "run-u", st.u); err != nil {
			t.Fatalf("step %d: UpdateRun: %v", i, err)
		}
		got := mustGetRun(t, s, "run-u")
		if got.Name != st.name || got.Result != st.result || got.Notes != st.notes {
			t.Errorf("step %d: name %q result %q notes %q; want %q %q %q",
				i, got.Name, got.Result, got.Notes, st.name, st.result, st.notes)
		}
		if got.UpdatedAt.Before(got.CreatedAt) || got.Cwd != "/home/ada/project" {
			t.Errorf("step %d: UpdateRun changed more than it should: %+v", i, got)
		}
	}
	wantNotFound(t, "UpdateRun(unknown)", s.UpdateRun(ctx, "no-such", aco.RunUpdate{Name: str("x")}))
}

func testFinishRun(t *testing.T, s aco.Store) {
	ctx := context.Background()
	mustCreate(t, s, newRun("run-f", 0))
	one, zero := 1, 0
	tests := []struct {
		status aco.RunStatus
		code   *int
	}{
		{aco.RunCrashed, &one},
		{aco.RunFinished, &zero},
		{aco.RunFinished, nil},
	}
	for _, tt := range tests {
		if err := s.FinishRun(ctx, "run-f", tt.status, tt.code); err != nil {
			t.Fatalf("FinishRun(%s, %v): %v", tt.status, tt.code, err)
		}
		got := mustGetRun(t, s, "run-f")
		if got.Status != tt.status || !reflect.DeepEqual(got.ExitCode, tt.code) {
			t.Errorf("after FinishRun(%s, %v): status %s exit code %v", tt.status, tt.code, got.Status, got.ExitCode)
		}
	}
	wantNotFound(t, "FinishRun(unknown)", s.FinishRun(ctx, "no-such", aco.RunFinished, &zero))
	wantCode(t, "FinishRun(bad status)", s.FinishRun(ctx, "run-f", "bored", nil), aco.EINVALID)
}

func testStartExecution(t *testing.T, s aco.Store) {
	ctx := context.Background()
	mustCreate(t, s, newRun("run-s", 0), newRun("run-other", 1))
	mustPut(t, s, newCall("run-s", "s1", 0, 1), newCall("run-s", "s2", 1, 1), newCall("run-other", "o1", 0, 1))
	edges := []aco.Edge{
		{RunID: "run-s", Source: "s1", Target: "s2", Via: aco.ViaTaint},
		{RunID: "run-other", Source: "s1", Target: "o1", Via: aco.ViaContent},
	}
	if err := s.AddEdges(ctx, edges); err != nil {
		t.Fatal(err)
	}
	code := 0
	if err := s.FinishRun(ctx, "run-s", aco.RunFinished, &code); err != nil {
		t.Fatal(err)
	}

	r, err := s.StartExecution(ctx, "run-s")
	if err != nil {
		t.Fatal(err)
	}
	if r.ID != "run-s" || r.Execution != 2 || r.Status != aco.RunRunning || r.ExitCode != nil {
		t.Errorf("StartExecution returned %+v, want execution 2, running, no exit code", r)
	}
	if got := mustGetRun(t, s, "run-s"); got.Execution != 2 || got.Status != aco.RunRunning || got.ExitCode != nil {
		t.Errorf("after StartExecution, GetRun = %+v", got)
	}
	if got, _ := s.Edges(ctx, "run-s"); len(got) != 0 {
		t.Errorf("StartExecution kept the run's edges: %v", got)
	}
	if got, _ := s.Edges(ctx, "run-other"); len(got) != 1 {
		t.Errorf("StartExecution dropped another run's edges: %v", got)
	}
	if got, _ := s.Calls(ctx, "run-s"); len(got) != 0 {
		t.Errorf("Calls lists the previous execution's calls: %v", nodeIDs(got))
	}
	// The previous execution's calls serve the rerun from cache.
	if c, err := s.FindCall(ctx, "run-s", "hash-1", 0); err != nil || c.NodeID != "s2" {
		t.Errorf("FindCall after StartExecution = %+v, %v; want s2", c, err)
	}
	if r, err := s.StartExecution(ctx, "run-s"); err != nil || r.Execution != 3 {
		t.Errorf("second StartExecution = %+v, %v; want execution 3", r, err)
	}
	_, err = s.StartExecution(ctx, "no-such")
	wantNotFound(t, "StartExecution(unknown)", err)
}

func testDeleteRun(t *testing.T, s aco.Store) {
	ctx := context.Background()
	mustCreate(t, s,
		newRun("run-top", 0),
		subrun("run-sub", "run-top", "a", 1),
		subrun("run-subsub", "run-sub", "b", 2),
		subrun("run-sib", "run-top", "c", 3),
		newRun("run-keep", 4),
	)
	mustPut(t, s,
		newCall("run-top", "t1", 0, 1), newCall("run-sub", "u1", 0, 1),
		newCall("run-subsub", "v1", 0, 1), newCall("run-sib", "w1", 0, 1),
		newCall("run-keep", "k1", 0, 1))
	err := s.AddEdges(ctx, []aco.Edge{
		{RunID: "run-sub", Source: "t1", Target: "u1", Via: aco.ViaTaint},
		{RunID: "run-subsub", Source: "u1", Target: "v1", Via: aco.ViaTaint},
		{RunID: "run-sib", Source: "u1", Target: "w1", Via: aco.ViaContent},
		{RunID: "run-sib", Source: "t1", Target: "w1", Via: aco.ViaTaint},
		{RunID: "run-keep", Source: "k1", Target: "k1", Via: aco.ViaTaint},
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"run-sub", "run-subsub", "run-keep"} {
		if err := s.AddLog(ctx, aco.LogEntry{RunID: id, Entry: "log of " + id}); err != nil {
			t.Fatal(err)
		}
	}

	if err := s.DeleteRun(ctx, "run-sub"); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"run-sub", "run-subsub"} {
		_, err := s.GetRun(ctx, id)
		wantNotFound(t, "GetRun of deleted "+id, err)
		if logs, _ := s.Logs(ctx, id); len(logs) != 0 {
			t.Errorf("logs of deleted run %s remain: %v", id, logs)
		}
	}
	for _, id := range []string{"u1", "v1"} {
		_, err := s.GetCall(ctx, id)
		wantNotFound(t, "GetCall of deleted "+id, err)
	}
	if _, err := s.FindCall(ctx, "run-sub", "hash-0", 0); !errors.Is(err, aco.ErrNotFound) {
		t.Errorf("FindCall finds a deleted call: %v", err)
	}
	// The sibling keeps its own edge but loses the one from the deleted call.
	edges, err := s.Edges(ctx, "run-sib")
	if err != nil {
		t.Fatal(err)
	}
	if want := []aco.Edge{{RunID: "run-sib", Source: "t1", Target: "w1", Via: aco.ViaTaint}}; !reflect.DeepEqual(edges, want) {
		t.Errorf("edges of the sibling after deleting run-sub = %v, want %v", edges, want)
	}
	for _, id := range []string{"run-top", "run-sib", "run-keep"} {
		mustGetRun(t, s, id)
	}

	if err := s.DeleteRun(ctx, "run-top"); err != nil {
		t.Fatal(err)
	}
	runs, err := s.ListRuns(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got := ids(runs); !reflect.DeepEqual(got, []string{"run-keep"}) {
		t.Errorf("after deleting run-top, runs = %v, want [run-keep]", got)
	}
	if c := mustGetCall(t, s, "k1"); c.RunID != "run-keep" {
		t.Errorf("unrelated call changed: %+v", c)
	}
	if e, _ := s.Edges(ctx, "run-keep"); len(e) != 1 {
		t.Errorf("unrelated edges changed: %v", e)
	}
	if l, _ := s.Logs(ctx, "run-keep"); len(l) != 1 {
		t.Errorf("unrelated logs changed: %v", l)
	}
	wantNotFound(t, "DeleteRun(unknown)", s.DeleteRun(ctx, "run-top"))
}

func testClear(t *testing.T, s aco.Store) {
	ctx := context.Background()
	mustCreate(t, s, newRun("run-c", 0), subrun("run-c-sub", "run-c", "x", 1))
	mustPut(t, s, newCall("run-c", "c1", 0, 1), newCall("run-c-sub", "c2", 0, 1))
	if err := s.AddEdges(ctx, []aco.Edge{{RunID: "run-c-sub", Source: "c1", Target: "c2", Via: aco.ViaTaint}}); err != nil {
		t.Fatal(err)
	}
	if err := s.AddLog(ctx, aco.LogEntry{RunID: "run-c", Entry: "x"}); err != nil {
		t.Fatal(err)
	}
	if err := s.Clear(ctx); err != nil {
		t.Fatal(err)
	}
	runs, err := s.ListRuns(ctx)
	if err != nil || len(runs) != 0 {
		t.Errorf("ListRuns after Clear = %v, %v", ids(runs), err)
	}
	_, err = s.GetCall(ctx, "c1")
	wantNotFound(t, "GetCall after Clear", err)
	if e, _ := s.Edges(ctx, "run-c-sub"); len(e) != 0 {
		t.Errorf("edges after Clear: %v", e)
	}
	// The store still works, and old ids are free again.
	mustCreate(t, s, newRun("run-c", 0))
	mustPut(t, s, newCall("run-c", "c1", 0, 1))
	if l, _ := s.Logs(ctx, "run-c"); len(l) != 0 {
		t.Errorf("logs after Clear: %v", l)
	}
}

func testResolveRunID(t *testing.T, s aco.Store) {
	ctx := context.Background()
	_, err := s.ResolveRunID(ctx, "last")
	wantCode(t, "ResolveRunID(last) on an empty store", err, aco.ENOTFOUND)

	mustCreate(t, s,
		newRun("3f2a9c10-aaaa", 0),
		newRun("3f2a9c11-bbbb", 1),
		newRun("77e01d2b-cccc", 2),
		subrun("9999abcd-dddd", "77e01d2b-cccc", "newest but a subrun", 3),
		newRun("abc", 4), // shorter than a prefix may be, but a full id
	)
	tests := []struct {
		ref, want, code string
		mention         []string // words the error must contain
	}{
		{ref: "3f2a9c10-aaaa", want: "3f2a9c10-aaaa"},
		{ref: "3f2a9c10", want: "3f2a9c10-aaaa"},
		{ref: "77e0", want: "77e01d2b-cccc"},
		{ref: "9999", want: "9999abcd-dddd"},
		{ref: "abc", want: "abc"},
		{ref: "last", want: "abc"},
		{ref: "3f2a9c1", code: aco.EINVALID, mention: []string{"3f2a9c10-aaaa", "3f2a9c11-bbbb"}},
		{ref: "77e", code: aco.EINVALID, mention: []string{"4"}},
		{ref: "ffff", code: aco.ENOTFOUND},
		{ref: "", code: aco.EINVALID},
	}
	for _, tt := range tests {
		got, err := s.ResolveRunID(ctx, tt.ref)
		if tt.code == "" {
			if err != nil || got != tt.want {
				t.Errorf("ResolveRunID(%q) = %q, %v; want %q", tt.ref, got, err, tt.want)
			}
			continue
		}
		wantCode(t, fmt.Sprintf("ResolveRunID(%q)", tt.ref), err, tt.code)
		for _, m := range tt.mention {
			if err == nil || !strings.Contains(err.Error(), m) {
				t.Errorf("ResolveRunID(%q) error %v does not mention %q", tt.ref, err, m)
			}
		}
	}
	// "last" skips subruns even when they are newer.
	mustCreate(t, s, subrun("eeee0000", "abc", "sub", 9))
	if got, err := s.ResolveRunID(ctx, "last"); err != nil || got != "abc" {
		t.Errorf("ResolveRunID(last) = %q, %v; want the newest top-level run abc", got, err)
	}
}

func testPutAndGetCall(t *testing.T, s aco.Store) {
	mustCreate(t, s, newRun("run-c", 0), newRun("run-d", 1))
	full := newCall("run-c", "node-full", 7, 1)
	full.Occurrence = 2
	full.InputOverwrite = json.RawMessage(`{"input":"Add 2 to 7"}`)
	full.OutputOverwrite = json.RawMessage(`{"output_text":"nine"}`)
	full.PrevOutput = json.RawMessage(`{"output_text":"8"}`)
	full.Stream = true
	full.Origin = aco.OriginEdited
	full.DurationMS = 1234.125
	// JSON is kept byte for byte: key order, spacing and unicode as sent.
	full.Input = json.RawMessage(`{"model": "gpt-4.1",  "input": "Héllo \u00e9 ✓", "n": 1.50}`)

	bare := &aco.Call{RunID: "run-c", NodeID: "node-bare", Execution: 1}
	nullOutput := newCall("run-c", "node-null", 8, 1)
	nullOutput.Output = json.RawMessage(`null`) // JSON null is a value, unlike nil

	mustPut(t, s, full, bare, nullOutput)
	for _, want := range []*aco.Call{full, bare, nullOutput} {
		got := mustGetCall(t, s, want.NodeID)
		if !reflect.DeepEqual(normCall(*got), normCall(*want)) {
			t.Errorf("GetCall(%s) =\n%+v\nwant\n%+v", want.NodeID, normCall(*got), normCall(*want))
		}
	}

	// PutCall replaces every field, moves the node between runs if asked,
	// and drops fields the new version leaves nil.
	replaced := newCall("run-d", "node-full", 1, 1)
	replaced.Origin = aco.OriginCache
	mustPut(t, s, replaced)
	if got := mustGetCall(t, s, "node-full"); !reflect.DeepEqual(normCall(*got), normCall(*replaced)) {
		t.Errorf("after replacing, GetCall =\n%+v\nwant\n%+v", normCall(*got), normCall(*replaced))
	}
	if calls, _ := s.Calls(context.Background(), "run-c"); len(calls) != 2 {
		t.Errorf("replaced call still listed under its old run: %v", nodeIDs(calls))
	}
	_, err := s.GetCall(context.Background(), "no-such-node")
	wantNotFound(t, "GetCall(unknown)", err)
}

func testPutCallErrors(t *testing.T, s aco.Store) {
	ctx := context.Background()
	mustCreate(t, s, newRun("run-e", 0))
	bad := func(f func(c *aco.Call)) *aco.Call {
		c := newCall("run-e", "node-e", 0, 1)
		f(c)
		return c
	}
	tests := []struct {
		name string
		call *aco.Call
		code string
	}{
		{"unknown run", bad(func(c *aco.Call) { c.RunID = "no-such-run" }), aco.ENOTFOUND},
		{"no node id", bad(func(c *aco.Call) { c.NodeID = "" }), aco.EINVALID},
		{"no run id", bad(func(c *aco.Call) { c.RunID = "" }), aco.EINVALID},
		{"input not JSON", bad(func(c *aco.Call) { c.Input = json.RawMessage(`{"a":`) }), aco.EINVALID},
		{"output not JSON", bad(func(c *aco.Call) { c.Output = json.RawMessage(`pickle`) }), aco.EINVALID},
	}
	for _, tt := range tests {
		wantCode(t, tt.name, s.PutCall(ctx, tt.call), tt.code)
	}
	_, err := s.GetCall(ctx, "node-e")
	wantNotFound(t, "a rejected call was stored", err)
}

func testFindCall(t *testing.T, s aco.Store) {
	ctx := context.Background()
	mustCreate(t, s, newRun("run-a", 0), newRun("run-b", 1))
	first := newCall("run-a", "a-0", 0, 1)
	second := newCall("run-a", "a-1", 1, 1)
	second.InputHash = first.InputHash // the same input, asked again
	second.Occurrence = 1
	other := newCall("run-b", "b-0", 0, 1) // the same hash in another run
	mustPut(t, s, first, second, other)

	tests := []struct {
		run, hash string
		occ       int
		want      string
	}{
		{"run-a", "hash-0", 0, "a-0"},
		{"run-a", "hash-0", 1, "a-1"},
		{"run-a", "hash-0", 2, ""},
		{"run-a", "hash-9", 0, ""},
		{"run-b", "hash-0", 0, "b-0"},
		{"run-c", "hash-0", 0, ""},
	}
	for _, tt := range tests {
		got, err := s.FindCall(ctx, tt.run, tt.hash, tt.occ)
		what := fmt.Sprintf("FindCall(%s, %s, %d)", tt.run, tt.hash, tt.occ)
		if tt.want == "" {
			wantNotFound(t, what, err)
		} else if err != nil || got.NodeID != tt.want {
			t.Errorf("%s = %+v, %v; want %s", what, got, err, tt.want)
		}
	}

	// A later execution recorded a new node for the same key: it wins.
	if _, err := s.StartExecution(ctx, "run-a"); err != nil {
		t.Fatal(err)
	}
	newer := newCall("run-a", "a-0-new", 0, 2)
	mustPut(t, s, newer)
	if got, err := s.FindCall(ctx, "run-a", "hash-0", 0); err != nil || got.NodeID != "a-0-new" {
		t.Errorf("FindCall after a newer execution = %+v, %v; want a-0-new", got, err)
	}
}

func testEditCall(t *testing.T, s aco.Store) {
	ctx := context.Background()
	mustCreate(t, s, newRun("run-e", 0))
	raw := func(s string) json.RawMessage {
		if s == "" {
			return nil
		}
		return json.RawMessage(s)
	}
	type state struct{ inOver, out, outOver, prev string }
	start := state{out: `{"output_text":"1"}`}
	steps := []struct {
		name string
		edit aco.CallEdit
		want state
	}{
		{"set output", aco.CallEdit{Output: raw(`{"output_text":"one"}`)},
			state{out: `{"output_text":"1"}`, outOver: `{"output_text":"one"}`}},
		{"set input: output moves to prev", aco.CallEdit{Input: raw(`{"input":"Add 1 to 5"}`)},
			state{inOver: `{"input":"Add 1 to 5"}`, outOver: `{"output_text":"one"}`, prev: `{"output_text":"1"}`}},
		{"set input again: prev kept", aco.CallEdit{Input: raw(`{"input":"Add 1 to 6"}`)},
			state{inOver: `{"input":"Add 1 to 6"}`, outOver: `{"output_text":"one"}`, prev: `{"output_text":"1"}`}},
		{"clear output", aco.CallEdit{Output: raw(`null`)},
			state{inOver: `{"input":"Add 1 to 6"}`, prev: `{"output_text":"1"}`}},
		{"clear input", aco.CallEdit{Input: raw(` null `)},
			state{prev: `{"output_text":"1"}`}},
		{"nothing", aco.CallEdit{},
			state{prev: `{"output_text":"1"}`}},
		{"both", aco.CallEdit{Input: raw(`{"input":"x"}`), Output: raw(`"y"`)},
			state{inOver: `{"input":"x"}`, outOver: `"y"`, prev: `{"output_text":"1"}`}},
	}
	c := newCall("run-e", "node-e", 0, 1)
	c.Output = raw(start.out)
	mustPut(t, s, c)
	for _, st := range steps {
		if err := s.EditCall(ctx, "node-e", st.edit); err != nil {
			t.Fatalf("%s: EditCall: %v", st.name, err)
		}
		got := mustGetCall(t, s, "node-e")
		have := state{string(got.InputOverwrite), string(got.Output), string(got.OutputOverwrite), string(got.PrevOutput)}
		if have != st.want {
			t.Errorf("%s: got %+v, want %+v", st.name, have, st.want)
		}
		if !reflect.DeepEqual(got.Input, c.Input) || got.InputHash != c.InputHash {
			t.Errorf("%s: EditCall changed the recorded input: %s", st.name, got.Input)
		}
	}

	wantNotFound(t, "EditCall(unknown)", s.EditCall(ctx, "no-such", aco.CallEdit{Output: raw(`1`)}))
	wantNotFound(t, "EditCall(unknown, nothing)", s.EditCall(ctx, "no-such", aco.CallEdit{}))
	wantCode(t, "EditCall(bad JSON)", s.EditCall(ctx, "node-e", aco.CallEdit{Input: raw(`{`)}), aco.EINVALID)
	if got := mustGetCall(t, s, "node-e"); string(got.InputOverwrite) != `{"input":"x"}` {
		t.Errorf("a rejected edit changed the call: %s", got.InputOverwrite)
	}
}

func testCalls(t *testing.T, s aco.Store) {
	ctx := context.Background()
	mustCreate(t, s, newRun("run-l", 0), newRun("run-empty", 1))
	if calls, err := s.Calls(ctx, "run-empty"); err != nil || calls == nil || len(calls) != 0 {
		t.Errorf("Calls of a run without calls = %#v, %v; want an empty slice", calls, err)
	}
	// Put out of order: Calls sorts by Seq.
	mustPut(t, s, newCall("run-l", "l2", 2, 1), newCall("run-l", "l0", 0, 1), newCall("run-l", "l1", 1, 1))
	calls, err := s.Calls(ctx, "run-l")
	if err != nil {
		t.Fatal(err)
	}
	if got := nodeIDs(calls); !reflect.DeepEqual(got, []string{"l0", "l1", "l2"}) {
		t.Errorf("Calls = %v, want [l0 l1 l2]", got)
	}
	if !reflect.DeepEqual(normCall(calls[1]), normCall(*newCall("run-l", "l1", 1, 1))) {
		t.Errorf("Calls returned %+v", calls[1])
	}

	// A rerun: l0 served from cache (re-put with the new execution), a new
	// call l3, and l1, l2 not reached this time.
	if _, err := s.StartExecution(ctx, "run-l"); err != nil {
		t.Fatal(err)
	}
	l0 := newCall("run-l", "l0", 0, 2)
	l0.Origin = aco.OriginCache
	mustPut(t, s, l0, newCall("run-l", "l3", 1, 2))
	calls, err = s.Calls(ctx, "run-l")
	if err != nil {
		t.Fatal(err)
	}
	if got := nodeIDs(calls); !reflect.DeepEqual(got, []string{"l0", "l3"}) {
		t.Errorf("Calls after a rerun = %v, want [l0 l3]", got)
	}
}

// RecordCall stores a call and its edges together, or neither.
func testRecordCall(t *testing.T, s aco.Store) {
	ctx := context.Background()
	mustCreate(t, s, newRun("run-rc", 0))
	first := newCall("run-rc", "rc-1", 0, 1)
	if err := s.RecordCall(ctx, first, nil); err != nil {
		t.Fatalf("RecordCall without edges: %v", err)
	}
	second := newCall("run-rc", "rc-2", 1, 1)
	edges := []aco.Edge{{RunID: "run-rc", Source: "rc-1", Target: "rc-2", Via: aco.ViaContent}}
	if err := s.RecordCall(ctx, second, edges); err != nil {
		t.Fatalf("RecordCall: %v", err)
	}
	if got := mustGetCall(t, s, "rc-2"); got.OutputText != second.OutputText {
		t.Errorf("recorded call = %+v", got)
	}
	if got, err := s.Edges(ctx, "run-rc"); err != nil || !reflect.DeepEqual(got, edges) {
		t.Errorf("Edges = %v, %v; want %v", got, err, edges)
	}
	bad := []aco.Edge{{RunID: "run-rc", Source: "rc-2", Target: "rc-3", Via: "guess"}}
	wantCode(t, "RecordCall with a bad edge", s.RecordCall(ctx, newCall("run-rc", "rc-3", 2, 1), bad), aco.EINVALID)
	wantNotFound(t, "the call of a refused RecordCall", func() error { _, err := s.GetCall(ctx, "rc-3"); return err }())
	wantCode(t, "RecordCall into a missing run", s.RecordCall(ctx, newCall("no-such-run", "rc-4", 0, 1), nil), aco.ENOTFOUND)

	// Many at once: the one into a missing run is left out, the rest stored.
	batch := []aco.CallRecord{
		{Call: newCall("run-rc", "rc-5", 3, 1), Edges: []aco.Edge{{RunID: "run-rc", Source: "rc-2", Target: "rc-5", Via: aco.ViaTaint}}},
		{Call: newCall("no-such-run", "rc-6", 0, 1)},
		{Call: newCall("run-rc", "rc-7", 4, 1)},
	}
	if err := s.RecordCalls(ctx, batch); aco.ErrorCode(err) != aco.ENOTFOUND {
		t.Errorf("RecordCalls with one bad record = %v, want its not-found error", err)
	}
	for _, id := range []string{"rc-5", "rc-7"} {
		mustGetCall(t, s, id)
	}
	wantNotFound(t, "the failed record", func() error { _, err := s.GetCall(ctx, "rc-6"); return err }())
	if got, _ := s.Edges(ctx, "run-rc"); len(got) != 2 {
		t.Errorf("edges after RecordCalls = %v, want 2", got)
	}
	if err := s.RecordCalls(ctx, nil); err != nil {
		t.Errorf("RecordCalls(nil) = %v", err)
	}
}

func testEdges(t *testing.T, s aco.Store) {
	ctx := context.Background()
	mustCreate(t, s, newRun("run-g", 0), subrun("run-g-sub", "run-g", "s", 1))
	if err := s.AddEdges(ctx, nil); err != nil {
		t.Errorf("AddEdges(nil): %v", err)
	}
	if e, err := s.Edges(ctx, "run-g"); err != nil || e == nil || len(e) != 0 {
		t.Errorf("Edges of a run without edges = %#v, %v; want an empty slice", e, err)
	}
	steps := [][]aco.Edge{
		{
			{RunID: "run-g", Source: "a", Target: "b", Via: aco.ViaContent},
			{RunID: "run-g", Source: "b", Target: "c", Via: aco.ViaTaint},
		},
		{
			{RunID: "run-g", Source: "a", Target: "b", Via: aco.ViaTaint},   // taint outranks content
			{RunID: "run-g", Source: "b", Target: "c", Via: aco.ViaContent}, // but not the other way
			{RunID: "run-g", Source: "a", Target: "c", Via: aco.ViaContent},
			{RunID: "run-g-sub", Source: "c", Target: "d", Via: aco.ViaTaint}, // from the parent's call
		},
	}
	for i, edges := range steps {
		if err := s.AddEdges(ctx, edges); err != nil {
			t.Fatalf("step %d: AddEdges: %v", i, err)
		}
	}
	got, err := s.Edges(ctx, "run-g")
	if err != nil {
		t.Fatal(err)
	}
	want := []aco.Edge{
		{RunID: "run-g", Source: "a", Target: "b", Via: aco.ViaTaint},
		{RunID: "run-g", Source: "b", Target: "c", Via: aco.ViaTaint},
		{RunID: "run-g", Source: "a", Target: "c", Via: aco.ViaContent},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Edges =\n%v\nwant\n%v", got, want)
	}
	if got, _ := s.Edges(ctx, "run-g-sub"); len(got) != 1 || got[0].Source != "c" {
		t.Errorf("Edges of the subrun = %v", got)
	}

	// A bad edge rejects the whole batch.
	tests := []struct {
		name  string
		edges []aco.Edge
		code  string
	}{
		{"bad via", []aco.Edge{{RunID: "run-g", Source: "x", Target: "y", Via: "guess"}}, aco.EINVALID},
		{"no target", []aco.Edge{{RunID: "run-g", Source: "x", Via: aco.ViaTaint}}, aco.EINVALID},
		{"unknown run", []aco.Edge{
			{RunID: "run-g", Source: "x", Target: "y", Via: aco.ViaTaint},
			{RunID: "no-such", Source: "x", Target: "z", Via: aco.ViaTaint},
		}, aco.ENOTFOUND},
	}
	for _, tt := range tests {
		wantCode(t, "AddEdges("+tt.name+")", s.AddEdges(ctx, tt.edges), tt.code)
	}
	if got, _ := s.Edges(ctx, "run-g"); len(got) != 3 {
		t.Errorf("a rejected AddEdges left edges behind: %v", got)
	}
}

func testLogs(t *testing.T, s aco.Store) {
	ctx := context.Background()
	mustCreate(t, s, newRun("run-log", 0))
	yes, no := true, false
	entries := []aco.LogEntry{
		{RunID: "run-log", Entry: "started", Time: base},
		{RunID: "run-log", Entry: "answer was right", Success: &yes, Time: base.Add(time.Second)},
		{RunID: "run-log", Entry: "answer was wrong", Success: &no, Time: base.Add(time.Second)},
	}
	for _, e := range entries {
		if err := s.AddLog(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.Logs(ctx, "run-log")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(entries) {
		t.Fatalf("Logs = %v, want %d entries", got, len(entries))
	}
	for i := range entries {
		want := entries[i]
		want.Time = ms(want.Time)
		g := got[i]
		g.Time = ms(g.Time)
		if !reflect.DeepEqual(g, want) {
			t.Errorf("Logs[%d] = %+v, want %+v", i, g, want)
		}
	}

	before := time.Now().Add(-time.Second)
	if err := s.AddLog(ctx, aco.LogEntry{RunID: "run-log", Entry: "no time"}); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Logs(ctx, "run-log"); len(got) != 4 || got[3].Time.Before(before) {
		t.Errorf("a log without a time should get now: %+v", got)
	}
	wantNotFound(t, "AddLog(unknown run)", s.AddLog(ctx, aco.LogEntry{RunID: "no-such", Entry: "x"}))

	// Logs belong to an execution, like calls.
	if _, err := s.StartExecution(ctx, "run-log"); err != nil {
		t.Fatal(err)
	}
	if got, err := s.Logs(ctx, "run-log"); err != nil || got == nil || len(got) != 0 {
		t.Errorf("Logs after StartExecution = %#v, %v; want an empty slice", got, err)
	}
	if err := s.AddLog(ctx, aco.LogEntry{RunID: "run-log", Entry: "rerun"}); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Logs(ctx, "run-log"); len(got) != 1 || got[0].Entry != "rerun" {
		t.Errorf("Logs of the second execution = %+v", got)
	}
}

// testConcurrent writes calls of many runs from many goroutines while
// others read, as the server does with several runners attached. Under
// -race it also checks the store's own synchronisation.
func testConcurrent(t *testing.T, s aco.Store) {
	const writers, perWriter = 8, 50
	ctx := context.Background()
	for w := range writers {
		mustCreate(t, s, newRun(fmt.Sprintf("run-%d", w), w))
	}
	var wg sync.WaitGroup
	errs := make(chan error, writers*2)
	for w := range writers {
		run := fmt.Sprintf("run-%d", w)
		wg.Add(2)
		go func() {
			defer wg.Done()
			for i := range perWriter {
				c := newCall(run, fmt.Sprintf("%s-n%d", run, i), i, 1)
				if err := s.PutCall(ctx, c); err != nil {
					errs <- fmt.Errorf("PutCall %s: %w", c.NodeID, err)
					return
				}
				if i > 0 && i%10 == 0 {
					edge := aco.Edge{RunID: run, Source: fmt.Sprintf("%s-n%d", run, i-1), Target: c.NodeID, Via: aco.ViaTaint}
					if err := s.AddEdges(ctx, []aco.Edge{edge}); err != nil {
						errs <- fmt.Errorf("AddEdges: %w", err)
						return
					}
				}
			}
		}()
		go func() {
			defer wg.Done()
			for i := range perWriter {
				if _, err := s.Calls(ctx, run); err != nil {
					errs <- fmt.Errorf("Calls: %w", err)
					return
				}
				if _, err := s.FindCall(ctx, run, fmt.Sprintf("hash-%d", i), 0); err != nil && !errors.Is(err, aco.ErrNotFound) {
					errs <- fmt.Errorf("FindCall: %w", err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}

	runs, err := s.ListRuns(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range runs {
		if r.Calls != perWriter {
			t.Errorf("run %s has %d calls, want %d", r.ID, r.Calls, perWriter)
		}
		calls, err := s.Calls(ctx, r.ID)
		if err != nil {
			t.Fatal(err)
		}
		for i, c := range calls {
			if c.Seq != i || c.RunID != r.ID {
				t.Errorf("run %s: call %d is %s (seq %d, run %s)", r.ID, i, c.NodeID, c.Seq, c.RunID)
				break
			}
		}
		// One edge for every tenth call after the first.
		if e, _ := s.Edges(ctx, r.ID); len(e) != (perWriter-1)/10 {
			t.Errorf("run %s has %d edges, want %d", r.ID, len(e), (perWriter-1)/10)
		}
	}
	if len(runs) != writers {
		t.Errorf("ListRuns has %d runs, want %d", len(runs), writers)
	}
}
