// The graph of the run on screen, kept current from full loads and live
// events, with every node's position. Reruns replace a run's calls: a call
// that comes back (served from the cache) keeps its node; a call made anew
// at the same place in the program (same seq) takes over the position of
// the one it replaces and remembers it, so the page can show what changed.
import { layout, place } from './layout.js';

export class GraphState {
  constructor() {
    this.reset(null);
  }

  reset(run) {
    this.run = run;
    this.runID = run ? run.id : null;
    this.execution = run ? run.execution : 0;
    this.nodes = new Map(); // id -> Call
    this.edges = new Map(); // "source>target" -> Edge
    this.pos = new Map(); // id -> {x, y}, for nodes and external sources
    this.stale = new Map(); // id -> Call of the previous execution, not seen again yet
    this.previous = new Map(); // id -> Call it replaced in the previous execution
    this.external = new Set(); // sources in other runs of the family
    this.pending = new Set(); // nodes to place once their edges are known
    this.version = 0;
  }

  // load takes a full graph from the API. It returns true when it laid
  // the graph out afresh (a different run), false when it merged.
  load(graph) {
    if (graph.run.id !== this.runID) {
      this.reset(graph.run);
      for (const n of graph.nodes) this.nodes.set(n.id, n);
      for (const e of graph.edges) this.edges.set(edgeKey(e), e);
      this.addExternal();
      this.pos = layout(this.layoutNodes(), [...this.edges.values()]);
      this.version++;
      return true;
    }
    if (graph.run.execution < this.execution) return false;
    if (graph.run.execution > this.execution) this.beginExecution(graph.run.execution);
    for (const e of graph.edges) this.edges.set(edgeKey(e), e);
    for (const n of graph.nodes) this.upsertNode(n);
    this.setRun(graph.run);
    const present = new Set(graph.nodes.map((n) => n.id));
    for (const id of [...this.nodes.keys()]) {
      // While a rerun goes on, calls of the previous execution may still come back.
      if (!present.has(id) && !this.stale.has(id)) this.removeNode(id);
    }
    const keys = new Set(graph.edges.map(edgeKey));
    for (const k of [...this.edges.keys()]) if (!keys.has(k)) this.edges.delete(k);
    this.settle();
    this.version++;
    return false;
  }

  // layoutNodes are the nodes plus placeholders for external sources,
  // which go first so that they sit at the top.
  layoutNodes() {
    return [...[...this.external].map((id) => ({ id, seq: -1 })), ...this.nodes.values()];
  }

  relayout() {
    this.pos = layout(this.layoutNodes(), [...this.edges.values()]);
    this.pending.clear();
    this.version++;
  }

  setRun(run) {
    if (run.id !== this.runID) return false;
    if (run.execution > this.execution) this.beginExecution(run.execution);
    this.run = run;
    if (run.status !== 'running') {
      // The execution is over: what did not come back is gone.
      for (const id of [...this.stale.keys()]) this.removeNode(id);
    }
    this.version++;
    return true;
  }

  beginExecution(execution) {
    this.execution = execution;
    this.previous.clear();
    this.stale = new Map(this.nodes);
    // Edges are found anew in each execution.
    this.edges.clear();
  }

  // upsertNode applies a node event; it returns false for other runs'.
  upsertNode(call) {
    if (call.run_id !== this.runID || call.execution < this.execution) return false;
    if (call.execution > this.execution) this.beginExecution(call.execution);
    if (this.stale.has(call.id)) {
      this.stale.delete(call.id);
    } else if (!this.nodes.has(call.id)) {
      const old = [...this.stale.values()].find((c) => c.seq === call.seq);
      if (old) {
        this.pos.set(call.id, this.pos.get(old.id));
        this.previous.set(call.id, old);
        this.removeNode(old.id);
      } else {
        this.pending.add(call.id);
      }
    }
    this.nodes.set(call.id, call);
    this.version++;
    return true;
  }

  addEdge(edge) {
    if (edge.run_id !== this.runID) return false;
    this.edges.set(edgeKey(edge), edge);
    this.version++;
    return true;
  }

  removeNode(id) {
    this.nodes.delete(id);
    this.stale.delete(id);
    this.pos.delete(id);
    this.pending.delete(id);
    for (const [k, e] of this.edges) if (e.source === id || e.target === id) this.edges.delete(k);
  }

  addExternal() {
    for (const e of this.edges.values()) {
      if (!this.nodes.has(e.source) && !this.external.has(e.source)) {
        this.external.add(e.source);
        if (this.pos.size) this.pending.add(e.source);
      }
    }
  }

  // settle places the nodes that arrived since the last render, in call
  // order, under their sources.
  settle() {
    this.addExternal();
    for (const id of [...this.external]) {
      if (![...this.edges.values()].some((e) => e.source === id)) {
        this.external.delete(id);
        this.pos.delete(id);
        this.pending.delete(id);
      }
    }
    if (!this.pending.size) return;
    const sources = new Map();
    for (const e of this.edges.values()) {
      if (!sources.has(e.target)) sources.set(e.target, []);
      sources.get(e.target).push(e.source);
    }
    const order = [...this.pending].sort((a, b) => seqOf(this, a) - seqOf(this, b));
    for (const id of order) {
      const srcs = (sources.get(id) || []).filter((s) => !this.pending.has(s));
      place(this.pos, id, srcs);
      this.pending.delete(id);
    }
  }

  // previousOutput is the output of the previous execution at this node,
  // when it differed: the server's record for a call made anew, or the
  // replaced call's output.
  previousCall(id) {
    return this.previous.get(id) || null;
  }
}

function seqOf(state, id) {
  const n = state.nodes.get(id);
  return n ? n.seq : -1;
}

export function edgeKey(e) {
  return `${e.source}>${e.target}`;
}
