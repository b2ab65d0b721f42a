// Where the graph's nodes go. A full layout (dagre, top to bottom) is made
// when a run is opened or the user asks to tidy up; nodes that arrive later
// are placed beside what is there, without moving anything the user is
// looking at.
import dagre from '@dagrejs/dagre';

export const NODE_W = 176;
export const NODE_H = 48;
const NODE_SEP = 24;
const RANK_SEP = 56;
const RANK_STEP = NODE_H + RANK_SEP;

// dagre draws an edge that spans k ranks through k-1 dummy nodes, and its
// ordering phase grows much faster than linearly in them: 1,000 calls
// each reading a random earlier one take minutes. Past this many dummies
// only the edge that fixes each node's rank is laid out; the others are
// still drawn.
export const DUMMY_BUDGET = 3000;

// ranks gives each node 1 + the highest rank among its sources (longest
// path), taking nodes in call order so that sources come first.
function ranks(nodes, edges) {
  const bySeq = [...nodes].sort((a, b) => a.seq - b.seq);
  const sources = new Map();
  for (const e of edges) {
    if (!sources.has(e.target)) sources.set(e.target, []);
    sources.get(e.target).push(e.source);
  }
  const rank = new Map();
  const parent = new Map();
  for (const n of bySeq) {
    let r = 0;
    for (const src of sources.get(n.id) || []) {
      const sr = rank.get(src);
      if (sr !== undefined && sr + 1 > r) {
        r = sr + 1;
        parent.set(n.id, src);
      }
    }
    rank.set(n.id, r);
  }
  return { rank, parent };
}

// layoutEdges are the edges dagre is given: all of them, unless their
// dummy nodes would exceed the budget.
export function layoutEdges(nodes, edges) {
  const ids = new Set(nodes.map((n) => n.id));
  const seen = new Set();
  const inside = edges.filter((e) => {
    const k = `${e.source}>${e.target}`;
    if (!ids.has(e.source) || !ids.has(e.target) || e.source === e.target || seen.has(k)) return false;
    seen.add(k);
    return true;
  });
  const { rank, parent } = ranks(nodes, inside);
  let dummies = 0;
  for (const e of inside) {
    const span = rank.get(e.target) - rank.get(e.source);
    if (span > 1) dummies += span - 1;
  }
  if (dummies <= DUMMY_BUDGET) return { edges: inside, reduced: false };
  const keep = inside.filter((e) => parent.get(e.target) === e.source);
  return { edges: keep, reduced: true };
}

// layout places every node; nodes are [{id, seq}], edges [{source, target}].
// It returns a Map id -> {x, y} of node centres.
export function layout(nodes, edges) {
  const g = new dagre.graphlib.Graph({ multigraph: false });
  g.setGraph({ rankdir: 'TB', nodesep: NODE_SEP, ranksep: RANK_SEP, marginx: 20, marginy: 20 });
  g.setDefaultEdgeLabel(() => ({}));
  // Call order keeps siblings left to right in the order they ran.
  for (const n of [...nodes].sort((a, b) => a.seq - b.seq)) g.setNode(n.id, { width: NODE_W, height: NODE_H });
  for (const e of layoutEdges(nodes, edges).edges) g.setEdge(e.source, e.target);
  dagre.layout(g);
  const pos = new Map();
  for (const id of g.nodes()) {
    const n = g.node(id);
    pos.set(id, { x: n.x, y: n.y });
  }
  return pos;
}

function overlaps(a, b) {
  return Math.abs(a.x - b.x) < NODE_W + NODE_SEP && Math.abs(a.y - b.y) < NODE_H + NODE_SEP / 2;
}

// place finds a spot for a node that arrived after the layout: one rank
// below its lowest source, under their middle, or in the top row when it
// has none; then to the right until it overlaps nothing. Nodes already
// placed never move.
export function place(pos, id, sources) {
  const placed = sources.map((s) => pos.get(s)).filter(Boolean);
  let want;
  if (placed.length) {
    want = {
      x: placed.reduce((sum, p) => sum + p.x, 0) / placed.length,
      y: Math.max(...placed.map((p) => p.y)) + RANK_STEP,
    };
  } else if (pos.size) {
    let minY = Infinity;
    for (const p of pos.values()) minY = Math.min(minY, p.y);
    want = { x: 20 + NODE_W / 2, y: minY };
  } else {
    want = { x: 20 + NODE_W / 2, y: 20 + NODE_H / 2 };
  }
  const row = [...pos.values()].filter((p) => Math.abs(p.y - want.y) < NODE_H + NODE_SEP / 2).sort((a, b) => a.x - b.x);
  for (const p of row) {
    if (overlaps(p, want)) want.x = p.x + NODE_W + NODE_SEP;
  }
  pos.set(id, want);
  return want;
}

// bounds is the box around all nodes.
export function bounds(pos) {
  let minX = Infinity;
  let minY = Infinity;
  let maxX = -Infinity;
  let maxY = -Infinity;
  for (const p of pos.values()) {
    minX = Math.min(minX, p.x - NODE_W / 2);
    maxX = Math.max(maxX, p.x + NODE_W / 2);
    minY = Math.min(minY, p.y - NODE_H / 2);
    maxY = Math.max(maxY, p.y + NODE_H / 2);
  }
  if (minX === Infinity) return { x: 0, y: 0, width: 0, height: 0 };
  return { x: minX, y: minY, width: maxX - minX, height: maxY - minY };
}
