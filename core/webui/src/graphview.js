// The graph on screen: SVG, one <g> per node, one path per edge, panned
// and zoomed by a single transform so that 1,000 nodes stay smooth. It
// renders from a GraphState and touches only the nodes that changed.
import { s, clear } from './dom.js';
import { NODE_W, NODE_H, bounds } from './layout.js';
import { nodeLabel, shortAPI } from './content.js';

const MIN_ZOOM = 0.005;
const MAX_ZOOM = 3;
// Below this zoom the labels are too small to read; hiding them (and the
// arrow heads) keeps panning and zooming a large graph fast.
const FAR_ZOOM = 0.45;
// When fitting would make a graph this small, a run opens on its first
// calls at a readable size instead.
const READABLE_ZOOM = 0.25;

function truncate(text, n) {
  return text.length > n ? text.slice(0, n - 1) + '…' : text;
}

export class GraphView {
  constructor(root, state, { onSelect }) {
    this.root = root;
    this.state = state;
    this.onSelect = onSelect;
    this.selected = null;
    this.view = { k: 1, x: 0, y: 0 };
    this.nodeEls = new Map(); // id -> {g, sig}
    this.renderedVersion = -1;
    this.frame = 0;

    this.svg = s('svg', { class: 'graph-svg', role: 'img', 'aria-label': 'dataflow graph' });
    const defs = s('defs', {},
      s('marker', { id: 'arrow-taint', viewBox: '0 0 10 10', refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: 'auto-start-reverse' },
        s('path', { d: 'M0,0 L10,5 L0,10 z', class: 'arrow-taint' })),
      s('marker', { id: 'arrow-content', viewBox: '0 0 10 10', refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: 'auto-start-reverse' },
        s('path', { d: 'M0,0 L10,5 L0,10 z', class: 'arrow-content' })));
    this.viewport = s('g', { class: 'viewport' });
    this.edgeLayer = s('g', { class: 'edges' });
    this.nodeLayer = s('g', { class: 'nodes' });
    this.viewport.append(this.edgeLayer, this.nodeLayer);
    this.svg.append(defs, this.viewport);
    root.append(this.svg);
    this.bindPanZoom();
  }

  // schedule renders at the next frame; many events in one frame cost one render.
  schedule() {
    if (this.frame) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = 0;
      this.render();
    });
  }

  render() {
    const st = this.state;
    st.settle();
    if (this.renderedVersion === st.version) return;
    this.renderedVersion = st.version;

    const seen = new Set();
    const changedPrev = (id, call) => !!(call.prev_output || st.previousCall(id));
    for (const [id, call] of st.nodes) {
      const p = st.pos.get(id);
      if (!p) continue;
      seen.add(id);
      const edited = !!(call.input_overwrite || call.output_overwrite);
      const classes = ['node', `origin-${call.origin || 'new'}`];
      if (edited) classes.push('edited');
      if (changedPrev(id, call)) classes.push('changed');
      if (st.stale.has(id)) classes.push('stale');
      if (id === this.selected) classes.push('selected');
      const label = nodeLabel(call);
      const sub = `#${call.seq} · ${shortAPI(call.api)}`;
      const sig = [p.x, p.y, classes.join(' '), label, sub].join('|');
      let entry = this.nodeEls.get(id);
      if (entry && entry.sig === sig) continue;
      const g = this.nodeElement(id, call, p, classes, label, sub, edited);
      if (entry) entry.g.replaceWith(g);
      else this.nodeLayer.append(g);
      this.nodeEls.set(id, { g, sig });
    }
    for (const id of st.external) {
      const p = st.pos.get(id);
      if (!p) continue;
      seen.add(id);
      const sig = `ext|${p.x}|${p.y}|${id === this.selected}`;
      const entry = this.nodeEls.get(id);
      if (entry && entry.sig === sig) continue;
      const g = s('g', { class: `node external${id === this.selected ? ' selected' : ''}`, transform: `translate(${p.x - NODE_W / 2},${p.y - NODE_H / 2})`, 'data-id': id },
        s('title', {}, `a call in another run of this family (${id})`),
        s('rect', { width: NODE_W, height: NODE_H, rx: 8 }),
        s('text', { x: 12, y: 29, class: 'label' }, 'from another run'));
      if (entry) entry.g.replaceWith(g);
      else this.nodeLayer.append(g);
      this.nodeEls.set(id, { g, sig });
    }
    for (const [id, entry] of this.nodeEls) {
      if (!seen.has(id)) {
        entry.g.remove();
        this.nodeEls.delete(id);
      }
    }

    // Edges are cheap to redraw whole, and any node move can bend them.
    const paths = [];
    for (const e of st.edges.values()) {
      const a = st.pos.get(e.source);
      const b = st.pos.get(e.target);
      if (!a || !b) continue;
      const via = e.via === 'taint' ? 'taint' : 'content';
      const x1 = a.x;
      const y1 = a.y + NODE_H / 2;
      const x2 = b.x;
      const y2 = b.y - NODE_H / 2;
      const bend = Math.max(30, Math.abs(y2 - y1) / 2);
      const path = s('path', {
        class: `edge via-${via}`,
        d: `M${x1},${y1} C${x1},${y1 + bend} ${x2},${y2 - bend} ${x2},${y2}`,
        'marker-end': `url(#arrow-${via})`,
        'data-source': e.source,
        'data-target': e.target,
        'data-via': via,
      });
      paths.push(path);
    }
    clear(this.edgeLayer).append(...paths);

    this.root.dataset.nodes = String(st.nodes.size);
    this.root.dataset.edges = String(paths.length);
    performance.mark('aco-graph-rendered', { detail: { nodes: st.nodes.size, edges: paths.length } });
  }

  nodeElement(id, call, p, classes, label, sub, edited) {
    const badges = [];
    let bx = NODE_W - 10;
    const badge = (text, cls, title) => {
      badges.push(s('text', { x: bx, y: 18, class: `badge ${cls}`, 'text-anchor': 'end' }, s('title', {}, title), text));
      bx -= 16;
    };
    if (call.origin === 'cache') badge('⟲', 'badge-cache', 'served from the cache');
    if (call.origin === 'edited') badge('✎', 'badge-edited', 'an edit took effect in this execution');
    else if (edited) badge('✎', 'badge-edited', 'edited: takes effect at the next rerun');
    if (classes.includes('changed')) badge('Δ', 'badge-changed', 'output differs from the previous execution');
    const g = s('g', {
      class: classes.join(' '),
      transform: `translate(${p.x - NODE_W / 2},${p.y - NODE_H / 2})`,
      'data-id': id,
      'data-seq': call.seq,
      'data-origin': call.origin || 'new',
    },
    s('title', {}, `${label} · ${call.api} · ${call.location || ''}`),
    s('rect', { width: NODE_W, height: NODE_H, rx: 8 }),
    s('text', { x: 12, y: 20, class: 'label' }, truncate(label, badges.length ? 18 : 22)),
    s('text', { x: 12, y: 37, class: 'sub' }, truncate(sub, 26)),
    badges);
    return g;
  }

  setSelected(id) {
    if (this.selected === id) return;
    this.selected = id;
    // Force the two affected nodes to redraw.
    for (const e of this.nodeEls.values()) e.g.classList.toggle('selected', e.g.dataset.id === id);
  }

  applyView() {
    const { k, x, y } = this.view;
    this.viewport.setAttribute('transform', `translate(${x},${y}) scale(${k})`);
    const far = k < FAR_ZOOM;
    if (far !== this.far) {
      this.far = far;
      this.svg.classList.toggle('far', far);
    }
  }

  // open shows a freshly opened run: all of it when that is readable,
  // else its first calls.
  open() {
    this.fit();
    if (this.view.k >= READABLE_ZOOM || !this.state.nodes.size) return;
    const first = [...this.state.nodes.values()].reduce((a, b) => (b.seq < a.seq ? b : a));
    const p = this.state.pos.get(first.id);
    const k = 0.8;
    this.view = { k, x: this.svg.clientWidth / 2 - p.x * k, y: 40 - (p.y - NODE_H / 2) * k };
    this.applyView();
  }

  fit() {
    const b = bounds(this.state.pos);
    const w = this.svg.clientWidth || this.root.clientWidth || 800;
    const h = this.svg.clientHeight || this.root.clientHeight || 600;
    if (!b.width) {
      this.view = { k: 1, x: 0, y: 0 };
    } else {
      const pad = 24;
      const k = Math.max(MIN_ZOOM, Math.min(1.25, (w - 2 * pad) / b.width, (h - 2 * pad) / b.height));
      this.view = { k, x: (w - b.width * k) / 2 - b.x * k, y: pad - b.y * k };
      if (b.height * k < h - 2 * pad) this.view.y = (h - b.height * k) / 2 - b.y * k;
    }
    this.applyView();
  }

  zoomAt(factor, cx, cy) {
    const { k, x, y } = this.view;
    const nk = Math.max(MIN_ZOOM, Math.min(MAX_ZOOM, k * factor));
    const f = nk / k;
    this.view = { k: nk, x: cx - (cx - x) * f, y: cy - (cy - y) * f };
    this.applyView();
  }

  zoomBy(factor) {
    this.zoomAt(factor, this.svg.clientWidth / 2, this.svg.clientHeight / 2);
  }

  // centerOn scrolls a node into the middle without changing the zoom.
  centerOn(id) {
    const p = this.state.pos.get(id);
    if (!p) return;
    const { k } = this.view;
    this.view = { k, x: this.svg.clientWidth / 2 - p.x * k, y: this.svg.clientHeight / 2 - p.y * k };
    this.applyView();
  }

  // ensureVisible brings a node into view when it is off screen (the
  // panel that opens beside the graph narrows it).
  ensureVisible(id) {
    const p = this.state.pos.get(id);
    if (!p) return;
    const { k, x, y } = this.view;
    const sx = p.x * k + x;
    const sy = p.y * k + y;
    const w = this.svg.clientWidth;
    const h = this.svg.clientHeight;
    const mx = (NODE_W / 2) * k;
    const my = (NODE_H / 2) * k;
    if (sx - mx < 0 || sx + mx > w || sy - my < 0 || sy + my > h) this.centerOn(id);
  }

  bindPanZoom() {
    let drag = null;
    this.svg.addEventListener('pointerdown', (ev) => {
      if (ev.button !== 0) return;
      drag = { x: ev.clientX, y: ev.clientY, vx: this.view.x, vy: this.view.y, moved: false, id: ev.pointerId };
    });
    this.svg.addEventListener('pointermove', (ev) => {
      if (!drag || ev.pointerId !== drag.id) return;
      const dx = ev.clientX - drag.x;
      const dy = ev.clientY - drag.y;
      if (!drag.moved && Math.hypot(dx, dy) < 4) return;
      if (!drag.moved) this.svg.setPointerCapture(ev.pointerId);
      drag.moved = true;
      this.view.x = drag.vx + dx;
      this.view.y = drag.vy + dy;
      this.svg.classList.add('panning');
      this.applyView();
    });
    const end = (ev) => {
      if (!drag || ev.pointerId !== drag.id) return;
      const wasClick = !drag.moved;
      drag = null;
      this.svg.classList.remove('panning');
      if (wasClick && ev.type === 'pointerup') {
        const g = ev.target.closest && ev.target.closest('g.node');
        this.onSelect(g ? g.dataset.id : null);
      }
    };
    this.svg.addEventListener('pointerup', end);
    this.svg.addEventListener('pointercancel', end);
    this.svg.addEventListener('wheel', (ev) => {
      ev.preventDefault();
      const r = this.svg.getBoundingClientRect();
      this.zoomAt(Math.exp(-ev.deltaY * (ev.ctrlKey ? 0.01 : 0.0015)), ev.clientX - r.left, ev.clientY - r.top);
    }, { passive: false });
  }
}
