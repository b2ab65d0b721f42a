package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"reflect"
	"strconv"
	"sync"
	"time"

	"github.com/aco-dev/aco"
	"github.com/aco-dev/aco/core/graph"
	"github.com/aco-dev/aco/core/protocol"
	"github.com/aco-dev/aco/core/protocol/jsonl"
	"github.com/aco-dev/aco/core/redact"
)

// runnerConn is one Python runner's connection. Its messages are handled in
// order by one goroutine, so the state below needs no lock except what other
// goroutines read (top).
type runnerConn struct {
	s   *Server
	nc  net.Conn
	r   *jsonl.Reader
	w   *jsonl.Writer
	ctx context.Context

	mu  sync.Mutex
	top *runState // set by hello

	runs         map[string]*runState // the top run and its subruns
	family       graph.ContentIndex   // outputs of the whole family, for content edges
	deregistered bool

	// Writes that answer nothing (nodes, logs, run ends) are stored by one
	// goroutine in the order they arrived, so the next look-up of the runner
	// does not wait for the previous node's commit.
	writes     chan write
	writerDone chan struct{}
}

type write struct {
	what   string // the message type, for the log
	fn     func(context.Context) error
	record *aco.CallRecord // a node: stored with the nodes queued beside it
}

// maxRecordBatch bounds how many queued nodes one transaction stores.
const maxRecordBatch = 256

// runState counts what the server must number within one execution of a run.
type runState struct {
	run        *aco.Run
	seq        int
	occurrence map[string]int         // input hash → calls seen
	names      map[string]int         // subrun name → times started
	pending    map[string]pendingCall // node id → what cache_get found, until add_node
	previous   map[int]aco.Call       // the previous execution's calls by seq
	recorded   map[string]*aco.Call   // the same, by input hash and occurrence
	fresh      bool                   // a run in its first execution: nothing to look up
	open       bool                   // a subrun not ended yet
}

type pendingCall struct {
	occurrence int
	recorded   *aco.Call // nil for a new node
}

// newRunState numbers a run's execution. previous are the calls of the
// execution before (nil for a new run), which answer most look-ups of a
// rerun without reading the store.
func newRunState(r *aco.Run, previous []aco.Call) *runState {
	st := &runState{
		run:        r,
		occurrence: map[string]int{},
		names:      map[string]int{},
		pending:    map[string]pendingCall{},
		open:       true,
		fresh:      r.Execution == 1,
	}
	if len(previous) > 0 {
		st.previous = make(map[int]aco.Call, len(previous))
		st.recorded = make(map[string]*aco.Call, len(previous))
		for i := range previous {
			call := &previous[i]
			st.previous[call.Seq] = *call
			st.recorded[recordedKey(call.InputHash, call.Occurrence)] = call
		}
	}
	return st
}

func newRunnerConn(s *Server, nc net.Conn) *runnerConn {
	return &runnerConn{
		s:          s,
		nc:         nc,
		r:          jsonl.NewReader(nc, s.opts.MaxLine),
		w:          jsonl.NewWriter(nc),
		ctx:        s.ctx,
		runs:       map[string]*runState{},
		writes:     make(chan write, 1024),
		writerDone: make(chan struct{}),
	}
}

func (c *runnerConn) topRunID() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.top == nil {
		return ""
	}
	return c.top.run.ID
}

func (c *runnerConn) serve() {
	go c.writer()
	defer c.nc.Close()
	defer c.finish()
	log := c.s.log.With("remote", c.nc.RemoteAddr().String())
	for {
		line, err := c.r.ReadLine()
		if errors.Is(err, jsonl.ErrLineTooLong) {
			log.Warn("runner sent an oversized line", "max_bytes", c.s.opts.MaxLine)
			c.reply(&protocol.Error{Code: aco.EINVALID, Message: fmt.Sprintf("line longer than %d bytes: dropped", c.s.opts.MaxLine)})
			continue
		}
		if err != nil {
			if !errors.Is(err, io.EOF) && c.ctx.Err() == nil && !errors.Is(err, net.ErrClosed) {
				log.Info("runner connection ended", "err", err)
			}
			return
		}
		msg, err := protocol.Decode(line)
		if err != nil {
			var de *protocol.DecodeError
			id := int64(0)
			if errors.As(err, &de) {
				id = de.ID
			}
			log.Warn("bad runner message", "err", err)
			c.reply(&protocol.Error{ID: id, Code: aco.EINVALID, Message: err.Error()})
			continue
		}
		if err := c.handle(msg); err != nil {
			log.Warn("runner message failed", "type", msg.MessageType(), "err", err)
			c.reply(&protocol.Error{ID: requestID(msg), Code: aco.ErrorCode(err), Message: aco.ErrorMessage(err)})
		}
	}
}

func requestID(m protocol.Message) int64 {
	switch m := m.(type) {
	case *protocol.SubrunStart:
		return m.ID
	case *protocol.CacheGet:
		return m.ID
	case *protocol.FileTaintGet:
		return m.ID
	}
	return 0
}

func (c *runnerConn) reply(m protocol.Message) {
	b, err := protocol.Encode(m)
	if err == nil {
		err = c.w.WriteLine(b)
	}
	if err != nil && c.ctx.Err() == nil {
		c.s.log.Debug("cannot write to runner", "err", err)
	}
}

// shutdown tells the runner the server is going away and closes the
// connection; the program goes on without recording.
func (c *runnerConn) shutdown(reason string) {
	c.reply(&protocol.Shutdown{Reason: reason})
	c.nc.Close()
}

// restart asks the runner's program to stop because its run is rerun.
func (c *runnerConn) restart() { c.reply(&protocol.Restart{}) }

func (c *runnerConn) handle(m protocol.Message) error {
	if hello, ok := m.(*protocol.Hello); ok {
		return c.hello(hello)
	}
	if c.top == nil {
		return aco.Errorf(aco.EINVALID, "%s before hello: a connection must start with hello", m.MessageType())
	}
	switch m := m.(type) {
	case *protocol.SubrunStart:
		return c.subrunStart(m)
	case *protocol.SubrunEnd:
		st, err := c.run(m.RunID)
		if err != nil {
			return err
		}
		st.open = false
		c.enqueue(m, func(ctx context.Context) error {
			return c.finishRun(ctx, m.RunID, runStatus(m.Status), nil)
		})
		return nil
	case *protocol.CacheGet:
		return c.cacheGet(m)
	case *protocol.AddNode:
		return c.addNode(m)
	case *protocol.FileTaint:
		return c.fileTaint(m)
	case *protocol.FileTaintGet:
		return c.fileTaintGet(m)
	case *protocol.Log:
		if _, err := c.run(m.RunID); err != nil {
			return err
		}
		e := aco.LogEntry{RunID: m.RunID, Entry: m.Entry, Success: m.Success, Time: c.s.opts.Now()}
		c.enqueue(m, func(ctx context.Context) error {
			if err := c.s.store.AddLog(ctx, e); err != nil {
				return err
			}
			c.s.hub.Publish(Event{Type: "log", Log: &e})
			return nil
		})
		return nil
	case *protocol.Deregister:
		if _, err := c.run(m.RunID); err != nil {
			return err
		}
		code := m.ExitCode
		c.deregistered = true
		c.enqueue(m, func(ctx context.Context) error {
			return c.finishRun(ctx, m.RunID, runStatus(m.Status), &code)
		})
		return nil
	}
	return aco.Errorf(aco.EINVALID, "%s is not a message runners send", m.MessageType())
}

// finishRun records a run's end and tells the live pages.
func (c *runnerConn) finishRun(ctx context.Context, id string, status aco.RunStatus, code *int) error {
	if err := c.s.store.FinishRun(ctx, id, status, code); err != nil {
		return err
	}
	c.publishRun(ctx, id)
	return nil
}

func (c *runnerConn) publishRun(ctx context.Context, id string) {
	if r, err := c.s.store.GetRun(ctx, id); err == nil {
		c.s.hub.Publish(Event{Type: "run", Run: r})
	}
}

func runStatus(s string) aco.RunStatus {
	if s == string(aco.RunFinished) {
		return aco.RunFinished
	}
	return aco.RunCrashed
}

func (c *runnerConn) run(id string) (*runState, error) {
	st := c.runs[id]
	if st == nil {
		return nil, aco.Errorf(aco.EINVALID, "run %q was not started on this connection", id)
	}
	return st, nil
}

func (c *runnerConn) hello(m *protocol.Hello) error {
	if c.top != nil {
		return aco.Errorf(aco.EINVALID, "second hello on one connection")
	}
	if m.Protocol != protocol.Version {
		return aco.Errorf(aco.EINVALID, "runner speaks protocol %d, this server speaks %d: use the aco-launch of the same aco version as `aco server`", m.Protocol, protocol.Version)
	}
	var r *aco.Run
	var previous []aco.Call
	if m.RunID != "" {
		got, prev, err := c.startExecution(m.RunID)
		switch {
		case err == nil:
			r, previous = got, prev
		case !errors.Is(err, aco.ErrNotFound):
			return err
		}
	}
	if r == nil {
		now := c.s.opts.Now()
		r = &aco.Run{
			ID:          newID(8),
			Name:        m.Name,
			Cwd:         m.Cwd,
			Argv:        m.Argv,
			Interpreter: m.Interpreter,
			Env:         redact.Env(m.Env),
			Status:      aco.RunRunning,
			Execution:   1,
			CreatedAt:   now,
			UpdatedAt:   now,
		}
		if err := c.s.store.CreateRun(c.ctx, r); err != nil {
			return err
		}
	}
	st := newRunState(r, previous)
	c.mu.Lock()
	c.top = st
	c.mu.Unlock()
	c.runs[r.ID] = st
	c.reply(&protocol.Session{RunID: r.ID, Execution: r.Execution})
	c.s.hub.Publish(Event{Type: "run", Run: r})
	if w := c.s.opts.Watcher; w != nil && m.ProjectRoot != "" && m.Interpreter != "" {
		// After the answer: the program need not wait for the first walk.
		// A root the watcher refuses (a home directory) only loses the
		// cache warming; the import hook still rewrites on the spot.
		if err := w.Watch(m.ProjectRoot, m.Interpreter); err != nil {
			c.s.log.Info("not watching a project root", "root", m.ProjectRoot, "err", err)
		}
	}
	return nil
}

// startExecution starts a new execution of an existing run and returns the
// previous execution's calls: they answer the rerun's look-ups, and a call
// whose input changed (a new node) can still show what the same step
// answered last time.
func (c *runnerConn) startExecution(runID string) (*aco.Run, []aco.Call, error) {
	calls, err := c.s.store.Calls(c.ctx, runID)
	if err != nil && !errors.Is(err, aco.ErrNotFound) {
		return nil, nil, err
	}
	r, err := c.s.store.StartExecution(c.ctx, runID)
	if err != nil {
		return nil, nil, err
	}
	return r, calls, nil
}

func recordedKey(inputHash string, occurrence int) string {
	return inputHash + "\x00" + strconv.Itoa(occurrence)
}

func (c *runnerConn) subrunStart(m *protocol.SubrunStart) error {
	parent, err := c.run(m.Parent)
	if err != nil {
		return err
	}
	// A name used twice in one execution gets a number, in the order the
	// subruns start, so reruns find the same subrun again.
	parent.names[m.Name]++
	name := m.Name
	if n := parent.names[m.Name]; n > 1 {
		name = fmt.Sprintf("%s #%d", m.Name, n)
	}
	r, err := c.s.store.FindSubrun(c.ctx, m.Parent, name)
	var previous []aco.Call
	switch {
	case err == nil:
		if r, previous, err = c.startExecution(r.ID); err != nil {
			return err
		}
	case errors.Is(err, aco.ErrNotFound):
		now := c.s.opts.Now()
		r = &aco.Run{
			ID:          newID(8),
			ParentID:    m.Parent,
			Name:        name,
			Cwd:         parent.run.Cwd,
			Interpreter: parent.run.Interpreter,
			Status:      aco.RunRunning,
			Execution:   1,
			CreatedAt:   now,
			UpdatedAt:   now,
		}
		if err := c.s.store.CreateRun(c.ctx, r); err != nil {
			return err
		}
	default:
		return err
	}
	c.runs[r.ID] = newRunState(r, previous)
	c.reply(&protocol.Subrun{ID: m.ID, RunID: r.ID, Execution: r.Execution})
	c.s.hub.Publish(Event{Type: "run", Run: r})
	return nil
}

func (c *runnerConn) cacheGet(m *protocol.CacheGet) error {
	st, err := c.run(m.RunID)
	if err != nil {
		return err
	}
	occ := st.occurrence[m.InputHash]
	st.occurrence[m.InputHash]++
	res := &protocol.CacheResult{ID: m.ID}
	call, err := c.lookUp(st, m.InputHash, occ)
	switch {
	case errors.Is(err, aco.ErrNotFound):
		res.NodeID = newID(6)
		call = nil
	case err != nil:
		return err
	default:
		res.NodeID = call.NodeID
		switch {
		case !isNull(call.OutputOverwrite):
			res.Hit = true
			res.Output = applyOutputOverwrite(call.Output, call.OutputOverwrite)
		case !isNull(call.Output):
			res.Hit = true
			res.Output = call.Output
		}
		if !res.Hit && !isNull(call.InputOverwrite) {
			res.InputOverwrite = call.InputOverwrite
		}
	}
	st.pending[res.NodeID] = pendingCall{occurrence: occ, recorded: call}
	c.reply(res)
	return nil
}

// lookUp finds the recorded call for (inputHash, occurrence): none in a
// run's first execution, usually the previous execution's (read when the
// run started), else any older one from the store.
func (c *runnerConn) lookUp(st *runState, inputHash string, occ int) (*aco.Call, error) {
	if st.fresh {
		return nil, aco.ErrNotFound
	}
	if call, ok := st.recorded[recordedKey(inputHash, occ)]; ok {
		return call, nil
	}
	return c.s.store.FindCall(c.ctx, st.run.ID, inputHash, occ)
}

// applyOutputOverwrite gives the runner what to return for an edited output.
// A text overwrite ({"text": …}) travels with the recorded output, so the
// shim can set the text into the SDK's own response type; a full overwrite
// ({"type","data"}) replaces the output.
func applyOutputOverwrite(recorded, overwrite json.RawMessage) json.RawMessage {
	var ow map[string]json.RawMessage
	if err := json.Unmarshal(overwrite, &ow); err != nil {
		return overwrite
	}
	text, ok := ow["text"]
	if !ok || isNull(recorded) {
		return overwrite
	}
	var out map[string]json.RawMessage
	if err := json.Unmarshal(recorded, &out); err != nil {
		return overwrite
	}
	out["text"] = text
	b, err := json.Marshal(out)
	if err != nil {
		return overwrite
	}
	return b
}

func (c *runnerConn) addNode(m *protocol.AddNode) error {
	st, err := c.run(m.RunID)
	if err != nil {
		return err
	}
	p, ok := st.pending[m.NodeID]
	if ok {
		delete(st.pending, m.NodeID)
	} else {
		// A node recorded without a look-up first (e.g. a tool call that is
		// never served from the cache) still counts for its hash.
		p.occurrence = st.occurrence[m.InputHash]
		st.occurrence[m.InputHash]++
		if !st.fresh {
			// A rerun's node may be recorded already; a first
			// execution's, named by the runner, cannot be.
			var err error
			if p.recorded, err = c.s.store.GetCall(c.ctx, m.NodeID); err != nil && !errors.Is(err, aco.ErrNotFound) {
				return err
			}
		}
	}
	occ, prev := p.occurrence, p.recorded
	call := &aco.Call{
		RunID:      m.RunID,
		NodeID:     m.NodeID,
		Seq:        st.seq,
		API:        m.API,
		Kind:       m.Kind,
		Model:      m.Model,
		Input:      m.Input,
		InputHash:  m.InputHash,
		Occurrence: occ,
		Output:     m.Output,
		InputText:  m.InputText,
		OutputText: m.OutputText,
		Location:   m.Location,
		StartedAt:  unixTime(m.StartedAt),
		DurationMS: m.DurationMS,
		Stream:     m.Stream,
		Execution:  st.run.Execution,
		Origin:     aco.OriginNew,
	}
	st.seq++
	if call.Kind == "" {
		call.Kind = "llm"
	}
	switch {
	case m.Edited:
		call.Origin = aco.OriginEdited
	case m.Cached:
		call.Origin = aco.OriginCache
	}
	if before, ok := st.previous[call.Seq]; ok && prev == nil && before.API == call.API &&
		!isNull(before.Output) && !sameOutput(before.Output, call.Output) {
		// A new node at the place of an old one: its input changed
		// upstream, and the page shows the old answer beside the new.
		call.PrevOutput = before.Output
	}
	if prev != nil {
		call.InputOverwrite = prev.InputOverwrite
		call.OutputOverwrite = prev.OutputOverwrite
		call.PrevOutput = prev.PrevOutput
		if m.Cached {
			// The runner returned the recorded output (or its overwrite);
			// keep the recording itself, so an overwrite can be reverted.
			call.Output = prev.Output
			call.Input = prev.Input
		} else if !isNull(prev.Output) && !sameOutput(prev.Output, m.Output) {
			call.PrevOutput = prev.Output
		}
	}
	var edges []aco.Edge
	fromTaint := map[string]bool{}
	for _, src := range m.Origins {
		if src == m.NodeID || fromTaint[src] {
			continue
		}
		fromTaint[src] = true
		edges = append(edges, aco.Edge{RunID: m.RunID, Source: src, Target: m.NodeID, Via: aco.ViaTaint})
	}
	for _, src := range c.family.Sources(m.InputText, m.NodeID) {
		if !fromTaint[src] {
			edges = append(edges, aco.Edge{RunID: m.RunID, Source: src, Target: m.NodeID, Via: aco.ViaContent})
		}
	}
	c.family.Add(m.NodeID, m.OutputText)
	c.writes <- write{what: m.MessageType(), record: &aco.CallRecord{Call: call, Edges: edges}}
	return nil
}

func (c *runnerConn) enqueue(m protocol.Message, fn func(context.Context) error) {
	c.writes <- write{what: m.MessageType(), fn: fn}
}

// writer stores the queued writes in order. Writes are not cancelled when
// the server stops: what a runner sent is stored before the server exits.
//
// Nodes that queued up while the previous write was committing are stored
// together in one transaction: a runner makes calls faster than one commit
// per call allows.
func (c *runnerConn) writer() {
	defer close(c.writerDone)
	var batch []aco.CallRecord
	for w := range c.writes {
		for w.record != nil {
			batch = append(batch, *w.record)
			next, more := c.nextQueued()
			if !more || len(batch) == maxRecordBatch {
				c.storeRecords(batch)
				batch = batch[:0]
				if !more {
					break
				}
			}
			w = next
		}
		if w.fn != nil {
			// In order: the nodes queued before this write go first.
			if len(batch) > 0 {
				c.storeRecords(batch)
				batch = batch[:0]
			}
			c.storeWrite(w)
		}
	}
}

// nextQueued returns the next queued write without waiting for one.
func (c *runnerConn) nextQueued() (write, bool) {
	select {
	case w, ok := <-c.writes:
		return w, ok
	default:
		return write{}, false
	}
}

func (c *runnerConn) storeWrite(w write) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := w.fn(ctx); err != nil {
		c.s.log.Error("storing runner message failed", "type", w.what, "err", err)
	}
}

func (c *runnerConn) storeRecords(batch []aco.CallRecord) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := c.s.store.RecordCalls(ctx, batch); err != nil {
		c.s.log.Error("storing nodes failed", "count", len(batch), "err", err)
	}
	for _, r := range batch {
		c.s.hub.Publish(Event{Type: "node", Node: r.Call})
		for i := range r.Edges {
			c.s.hub.Publish(Event{Type: "edge", Edge: &r.Edges[i]})
		}
	}
}

// finish marks what the runner left open as crashed: a program killed, or a
// connection lost, never sent its deregister.
func (c *runnerConn) finish() {
	close(c.writes)
	<-c.writerDone
	if c.top == nil || c.deregistered {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for id, st := range c.runs {
		if st == c.top || st.open {
			if err := c.finishRun(ctx, id, aco.RunCrashed, nil); err != nil {
				c.s.log.Error("cannot mark run crashed", "run", id, "err", err)
			}
		}
	}
}

func unixTime(sec float64) time.Time {
	if sec == 0 {
		return time.Time{}
	}
	return time.UnixMicro(int64(sec * 1e6))
}

func isNull(b json.RawMessage) bool {
	b = bytes.TrimSpace(b)
	return len(b) == 0 || bytes.Equal(b, []byte("null"))
}

// sameOutput reports whether two recorded outputs say the same: equal JSON
// values, where an object field holding null counts as absent. The shim
// records the fields the API set; recordings made before it did name every
// field, unset ones as null, and one answer recorded both ways must not be
// shown as changed.
func sameOutput(a, b json.RawMessage) bool {
	if bytes.Equal(a, b) {
		return true
	}
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	return reflect.DeepEqual(withoutNullFields(x), withoutNullFields(y))
}

// withoutNullFields drops, in place, the fields holding null from every
// object in a decoded JSON value; nulls in arrays keep their places.
func withoutNullFields(v any) any {
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			if x == nil {
				delete(v, k)
			} else {
				v[k] = withoutNullFields(x)
			}
		}
	case []any:
		for i, x := range v {
			v[i] = withoutNullFields(x)
		}
	}
	return v
}
