// aco's web UI: the runs, a run's dataflow graph, a node's details, edits
// and reruns, kept live over the server's WebSocket. Plain DOM code: the
// page is a few views over one small state, which needs no framework.
import './style.css';
import { h, clear } from './dom.js';
import { API, takeToken } from './api.js';
import { Live } from './live.js';
import { GraphState } from './graphstate.js';
import { GraphView } from './graphview.js';
import { NodePanel } from './nodepanel.js';
import { renderRunsList, runTitle, fmtTime } from './runslist.js';

class App {
  constructor(api) {
    this.api = api;
    this.runs = [];
    this.runID = null;
    this.nodeID = null;
    this.logs = [];
    this.state = new GraphState();
    this.loadSeq = 0;
    this.runsTimer = 0;
    this.removals = 0; // runs erased or cleared since the page opened; see loadRuns
    this.build();
    this.view = new GraphView(this.graphEl, this.state, { onSelect: (id) => this.selectNode(id) });
    this.panel = new NodePanel(this.panelEl, {
      edit: (id, edit) => this.editNode(id, edit),
      close: () => this.selectNode(null),
    });
    window.addEventListener('popstate', () => this.route());
  }

  build() {
    this.liveEl = h('span', { class: 'live offline', 'data-testid': 'live' }, 'connecting…');
    this.runsEl = h('ul', { class: 'runs', 'data-testid': 'runs' });
    this.headEl = h('div', { class: 'run-head' });
    this.logsEl = h('div', { class: 'run-logs' });
    this.graphEl = h('div', { class: 'graph', 'data-testid': 'graph' });
    this.panelEl = h('aside', { class: 'panel', hidden: true, 'data-testid': 'panel' });
    this.toastEl = h('div', { class: 'toasts', role: 'status' });
    const toolbar = h('div', { class: 'graph-toolbar' },
      h('button', { type: 'button', title: 'Fit the graph to the window', 'data-testid': 'fit', onclick: () => this.view.fit() }, 'Fit'),
      h('button', { type: 'button', title: 'Zoom in', onclick: () => this.view.zoomBy(1.25) }, '+'),
      h('button', { type: 'button', title: 'Zoom out', onclick: () => this.view.zoomBy(0.8) }, '−'),
      h('button', { type: 'button', title: 'Lay the whole graph out again', onclick: () => { this.state.relayout(); this.view.render(); this.view.fit(); } }, 'Tidy'),
      h('span', { class: 'legend' },
        h('span', { class: 'key key-taint' }, 'taint'),
        h('span', { class: 'key key-content' }, 'content match'),
        h('span', { class: 'key key-new' }, 'new'),
        h('span', { class: 'key key-cache' }, 'cache'),
        h('span', { class: 'key key-edited' }, 'edited')));
    this.mainEl = h('main', { class: 'main' }, this.headEl, this.logsEl, h('div', { class: 'graph-wrap' }, toolbar, this.graphEl));
    document.body.append(
      h('header', { class: 'top' },
        h('a', { class: 'brand', href: '/', onclick: (ev) => { ev.preventDefault(); this.navigate('/'); } }, 'aco'),
        this.liveEl,
        h('span', { class: 'spacer' }),
        h('button', { type: 'button', class: 'danger', 'data-testid': 'clear-all', onclick: () => this.clearAll() }, 'Clear all runs')),
      h('div', { class: 'layout' },
        h('nav', { class: 'sidebar' }, h('h2', {}, 'Runs'), this.runsEl),
        this.mainEl,
        this.panelEl),
      this.toastEl);
  }

  toast(message) {
    const t = h('div', { class: 'toast' }, message);
    this.toastEl.append(t);
    setTimeout(() => t.remove(), 8000);
  }

  async start() {
    this.live = new Live(this.api.eventsURL(), {
      onEvent: (m) => this.onEvent(m),
      onState: (st) => {
        this.liveEl.className = `live ${st}`;
        this.liveEl.textContent = st === 'live' ? 'live' : 'reconnecting…';
      },
      onCatchUp: () => this.catchUp(),
    });
    await this.loadRuns();
    await this.route();
    this.live.start();
  }

  // Routes: /, /runs/ID, /runs/ID/nodes/NODE.
  async route() {
    const m = location.pathname.match(/^\/runs\/([^/]+)(?:\/nodes\/([^/]+))?\/?$/);
    if (!m) {
      const newest = this.runs.find((r) => !r.parent);
      if (newest) return this.navigate(`/runs/${encodeURIComponent(newest.id)}`, true);
      return this.openRun(null);
    }
    const runID = decodeURIComponent(m[1]);
    const nodeID = m[2] ? decodeURIComponent(m[2]) : null;
    if (runID !== this.runID) await this.openRun(runID);
    this.selectNode(nodeID, false);
  }

  navigate(path, replace = false) {
    if (replace) history.replaceState(null, '', path);
    else history.pushState(null, '', path);
    return this.route();
  }

  async loadRuns() {
    // A list fetched before a run was erased may arrive after it and would
    // bring the run back: such a list is dropped, and a fresh one asked for.
    const removals = this.removals;
    let runs;
    try {
      runs = await this.api.runs();
    } catch (e) {
      this.toast(e.message);
      return;
    } finally {
      this.runsEl.dataset.loads = String(Number(this.runsEl.dataset.loads || 0) + 1);
    }
    if (removals !== this.removals) {
      this.refreshRuns();
      return;
    }
    this.runs = runs;
    this.renderRuns();
    const cur = this.runs.find((r) => r.id === this.runID);
    if (cur) this.renderHead(cur);
  }

  // refreshRuns reloads the list at most once a second while events pour in.
  refreshRuns() {
    if (this.runsTimer) return;
    this.runsTimer = setTimeout(() => {
      this.runsTimer = 0;
      this.loadRuns();
    }, 1000);
  }

  renderRuns() {
    renderRunsList(this.runsEl, this.runs, this.runID, (id) => this.navigate(`/runs/${encodeURIComponent(id)}`));
  }

  async openRun(runID) {
    this.runID = runID;
    this.nodeID = null;
    this.panel.show(null);
    this.renderRuns();
    if (!runID) {
      this.state.reset(null);
      this.view.render();
      clear(this.headEl).append(h('p', { class: 'muted' }, 'No run selected. Run a program with `aco-launch agent.py` and it appears here.'));
      clear(this.logsEl);
      return;
    }
    clear(this.headEl).append(h('p', { class: 'muted' }, 'Loading…'));
    this.graphEl.dataset.loading = 'true';
    await this.loadGraph(true);
    delete this.graphEl.dataset.loading;
  }

  // loadGraph fetches the open run's graph; a newer request wins.
  async loadGraph(fresh = false) {
    const runID = this.runID;
    if (!runID) return;
    const seq = ++this.loadSeq;
    let g;
    try {
      g = await this.api.graph(runID);
    } catch (e) {
      if (seq !== this.loadSeq) return;
      if (e.status === 404) {
        this.toast(`Run ${runID} no longer exists.`);
        return this.navigate('/', true);
      }
      this.toast(e.message);
      return;
    }
    if (seq !== this.loadSeq || runID !== this.runID) return;
    if (fresh) this.state.reset(null);
    const laidOut = this.state.load(g);
    this.logs = g.logs || [];
    this.renderHead(g.run);
    this.renderLogs();
    this.view.render();
    if (laidOut) this.view.open();
    this.refreshPanel();
  }

  catchUp() {
    this.loadRuns();
    this.loadGraph();
  }

  onEvent(m) {
    switch (m.type) {
      case 'run': {
        const run = m.run;
        const i = this.runs.findIndex((r) => r.id === run.id);
        if (i >= 0) this.runs[i] = { ...this.runs[i], ...run, calls: run.calls || this.runs[i].calls };
        else this.runs.unshift(run);
        this.renderRuns();
        this.refreshRuns();
        if (run.id === this.runID) {
          this.state.setRun(run);
          this.renderHead(this.runs.find((r) => r.id === run.id));
          this.view.schedule();
          // The end of an execution settles which calls are gone.
          if (run.status !== 'running') this.loadGraph();
        }
        break;
      }
      case 'node':
        if (this.state.upsertNode(m.node)) {
          this.view.schedule();
          if (m.node.id === this.nodeID) this.refreshPanel();
        }
        break;
      case 'edge':
        if (this.state.addEdge(m.edge)) this.view.schedule();
        break;
      case 'log':
        if (m.log.run_id === this.runID) {
          this.logs.push(m.log);
          this.renderLogs();
        }
        break;
      case 'removed':
        this.removals++;
        this.runs = this.runs.filter((r) => r.id !== m.run_id && r.parent !== m.run_id);
        this.renderRuns();
        if (m.run_id === this.runID || !this.runs.some((r) => r.id === this.runID)) this.navigate('/', true);
        break;
      case 'cleared':
        this.removals++;
        this.runs = [];
        this.renderRuns();
        this.navigate('/', true);
        break;
      default:
    }
  }

  selectNode(id, push = true) {
    if (id === this.nodeID) return;
    this.nodeID = id;
    this.view.setSelected(id);
    if (push && this.runID) {
      const path = `/runs/${encodeURIComponent(this.runID)}${id ? `/nodes/${encodeURIComponent(id)}` : ''}`;
      if (location.pathname !== path) history.pushState(null, '', path);
    }
    this.refreshPanel();
  }

  refreshPanel() {
    const id = this.nodeID;
    if (!id) {
      this.panel.show(null);
      return;
    }
    const call = this.state.nodes.get(id);
    if (call) {
      this.panel.show(call, this.state.previousCall(id));
      this.view.ensureVisible(id);
    } else if (this.state.external.has(id)) {
      this.panel.show({ id, external: true });
    } else {
      this.panel.show(null);
    }
  }

  async editNode(id, edit) {
    await this.api.edit(id, edit);
    // The live event brings the same; the fetch makes the panel current
    // even without a WebSocket.
    const call = await this.api.node(id);
    if (this.state.upsertNode(call)) this.view.schedule();
    if (id === this.nodeID) this.refreshPanel();
  }

  renderHead(run) {
    if (!run) return;
    const name = h('input', { class: 'run-title', value: run.name || '', placeholder: runTitle(run), 'aria-label': 'run name', 'data-testid': 'run-name' });
    const save = async (field, value) => {
      try {
        await this.api.updateRun(run.id, { [field]: value });
        const r = this.runs.find((x) => x.id === run.id);
        if (r) r[field] = value;
        this.renderRuns();
      } catch (e) {
        this.toast(e.message);
      }
    };
    name.addEventListener('change', () => save('name', name.value));
    name.addEventListener('keydown', (ev) => { if (ev.key === 'Enter') name.blur(); });
    const result = h('select', { 'aria-label': 'result', 'data-testid': 'run-result', onchange: (ev) => save('result', ev.target.value) },
      [['', 'result: unset'], ['satisfactory', 'satisfactory'], ['failed', 'failed']].map(([v, label]) => h('option', { value: v, selected: run.result === v }, label)));
    const notes = h('textarea', { class: 'notes', placeholder: 'Notes', rows: 2, 'aria-label': 'notes', 'data-testid': 'run-notes' });
    notes.value = run.notes || '';
    notes.addEventListener('change', () => save('notes', notes.value));
    const running = run.status === 'running';
    const rerun = h('button', {
      type: 'button', class: 'primary', 'data-testid': 'rerun', disabled: running,
      title: 'Run the program again: unchanged calls come from the cache, edits take effect',
      onclick: () => this.rerun(run.id, rerun),
    }, running ? 'Running…' : 'Rerun');
    const erase = h('button', { type: 'button', class: 'danger', 'data-testid': 'erase', onclick: () => this.erase(run) }, 'Erase');
    const exit = run.exit_code !== undefined && run.exit_code !== null ? ` (exit ${run.exit_code})` : '';
    // Keep what the user is typing: a live update must not wipe it.
    const active = this.headEl.contains(document.activeElement) ? document.activeElement.dataset.testid : null;
    if (active && this.headRun === run.id) {
      const st = this.headEl.querySelector('[data-testid=status]');
      if (st) st.textContent = `${run.status}${exit}`;
      const btn = this.headEl.querySelector('[data-testid=rerun]');
      if (btn) btn.disabled = running;
      return;
    }
    this.headRun = run.id;
    clear(this.headEl).append(
      h('div', { class: 'run-line' },
        name,
        h('span', { class: `status-chip status-${run.status}`, 'data-testid': 'status' }, `${run.status}${exit}`),
        result,
        rerun,
        erase),
      h('div', { class: 'run-line meta' },
        h('span', {}, `started ${fmtTime(run.created_at)}`),
        h('span', {}, `execution ${run.execution}`),
        h('code', { title: run.cwd }, [run.interpreter ? run.interpreter.split('/').pop() : 'python', ...(run.argv || [])].join(' ')),
        h('span', { class: 'muted' }, run.id)),
      notes);
  }

  renderLogs() {
    clear(this.logsEl);
    if (!this.logs.length) return;
    this.logsEl.append(h('details', { class: 'logs', open: this.logs.length <= 5, 'data-testid': 'logs' },
      h('summary', {}, `Log (${this.logs.length})`),
      h('ul', {}, this.logs.map((l) => h('li', { class: l.success === true ? 'ok' : l.success === false ? 'fail' : '' },
        h('span', { class: 'log-mark' }, l.success === true ? '✓' : l.success === false ? '✗' : '•'),
        h('span', { class: 'log-time' }, fmtTime(l.time)),
        h('span', { class: 'log-entry' }, l.entry))))));
  }

  async rerun(runID, button) {
    button.disabled = true;
    button.textContent = 'Starting…';
    try {
      await this.api.rerun(runID);
    } catch (e) {
      this.toast(e.message);
      button.disabled = false;
      button.textContent = 'Rerun';
    }
  }

  async erase(run) {
    if (!confirm(`Erase run "${runTitle(run)}" and its subruns? This cannot be undone.`)) return;
    try {
      await this.api.deleteRun(run.id);
    } catch (e) {
      this.toast(e.message);
      return;
    }
    this.removals++;
    this.runs = this.runs.filter((r) => r.id !== run.id && r.parent !== run.id);
    this.navigate('/', true);
  }

  async clearAll() {
    if (!confirm('Erase every recorded run? This cannot be undone.')) return;
    try {
      await this.api.clear();
    } catch (e) {
      this.toast(e.message);
      return;
    }
    this.removals++;
    this.runs = [];
    this.navigate('/', true);
  }
}

const token = takeToken();
if (!token) {
  document.body.append(h('div', { class: 'no-token' },
    h('h1', {}, 'aco'),
    h('p', {}, 'This page needs the access token. Open the address that `aco server start` prints (it ends in ?token=…), or add ?token= with the contents of $ACO_HOME/token.')));
} else {
  const app = new App(new API(token));
  app.start();
}
