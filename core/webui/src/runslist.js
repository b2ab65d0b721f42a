// The list of runs: newest first, subruns under their parent.
import { h } from './dom.js';

export function runTitle(run) {
  if (run.name) return run.name;
  if (run.argv && run.argv.length) return run.argv.join(' ');
  return run.id;
}

export function fmtTime(iso) {
  if (!iso) return '';
  const d = new Date(iso);
  const today = new Date();
  return d.toDateString() === today.toDateString() ? d.toLocaleTimeString() : d.toLocaleString();
}

// tree orders runs newest first with each run's subruns right after it;
// subruns whose parent is not listed stand on their own.
export function tree(runs) {
  const ids = new Set(runs.map((r) => r.id));
  const children = new Map();
  const top = [];
  for (const r of runs) {
    if (r.parent && ids.has(r.parent)) {
      if (!children.has(r.parent)) children.set(r.parent, []);
      children.get(r.parent).push(r);
    } else {
      top.push(r);
    }
  }
  const newest = (a, b) => (a.created_at < b.created_at ? 1 : a.created_at > b.created_at ? -1 : 0);
  const out = [];
  const walk = (r, depth) => {
    out.push({ run: r, depth });
    for (const c of (children.get(r.id) || []).sort(newest)) walk(c, depth + 1);
  };
  for (const r of top.sort(newest)) walk(r, 0);
  return out;
}

export function renderRunsList(root, runs, currentID, onOpen) {
  const items = tree(runs).map(({ run, depth }) => indent(h('li', {
    class: `run-item status-${run.status}${run.id === currentID ? ' current' : ''}${depth ? ' subrun' : ''}`,
    'data-run': run.id,
  },
  h('a', {
    href: `/runs/${encodeURIComponent(run.id)}`,
    onclick: (ev) => {
      if (ev.button !== 0 || ev.metaKey || ev.ctrlKey || ev.shiftKey) return;
      ev.preventDefault();
      onOpen(run.id);
    },
  },
  h('span', { class: `status-dot status-${run.status}`, title: run.status }),
  h('span', { class: 'run-name' }, runTitle(run)),
  run.result ? h('span', { class: `result result-${run.result}` }, run.result === 'satisfactory' ? '✓' : '✗') : null,
  h('span', { class: 'run-meta' }, `${fmtTime(run.created_at)} · ${run.calls ?? 0} call${run.calls === 1 ? '' : 's'}${run.execution > 1 ? ` · rerun ${run.execution - 1}` : ''}`))), depth));
  root.replaceChildren(...(items.length ? items : [h('li', { class: 'empty' }, 'No runs yet. Run a program with `aco-launch agent.py`.')]));
}

// indent goes through the CSSOM: the page's CSP allows no inline style attributes.
function indent(li, depth) {
  if (depth) li.style.paddingLeft = `${8 + depth * 16}px`;
  return li;
}
