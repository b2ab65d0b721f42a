// The panel of one node: its input and output in full, what it cost, where
// the program made it, its edits, and what changed since the previous run.
import { h } from './dom.js';
import { renderMarkdown } from './markdown.js';
import { sideBySide } from './diff.js';
import {
  inputMessages, inputParams, outputText, effectiveOutput, displayOutputText, usage, attachments, nodeLabel,
} from './content.js';

// Texts longer than this start folded.
const FOLD_CHARS = 1500;
const FOLD_LINES = 24;

function pretty(v) {
  return JSON.stringify(v, null, 2);
}

// collapsible folds long content behind a button that says how long it is.
function collapsible(el, text) {
  const lines = text.split('\n').length;
  if (text.length <= FOLD_CHARS && lines <= FOLD_LINES) return el;
  const box = h('div', { class: 'collapsible folded' }, el);
  const button = h('button', { class: 'link fold-toggle', type: 'button' });
  const label = () => {
    button.textContent = box.classList.contains('folded') ? `Show all (${lines} lines, ${text.length} characters)` : 'Show less';
  };
  button.addEventListener('click', () => {
    box.classList.toggle('folded');
    label();
  });
  label();
  return h('div', {}, box, button);
}

function plainText(text) {
  return collapsible(h('pre', { class: 'text' }, text), text);
}

function markdownText(text) {
  const div = h('div', { class: 'markdown' });
  // renderMarkdown escapes HTML and drops unsafe links: see markdown.js.
  div.innerHTML = renderMarkdown(text);
  return collapsible(div, text);
}

function jsonBlock(v) {
  const text = pretty(v);
  return collapsible(h('pre', { class: 'json' }, text), text);
}

function messagesView(messages) {
  return h('div', { class: 'messages' }, messages.map((m) => h('div', { class: `message role-${String(m.role).replace(/[^a-z_]/gi, '')}` },
    h('div', { class: 'role' }, m.role),
    m.parts.map((p) => {
      if (p.attachment) return h('div', { class: 'attachment' }, `📎 ${p.attachment.kind}: ${p.attachment.name}`);
      if (p.json) return collapsible(h('pre', { class: 'json' }, p.text), p.text);
      return plainText(p.text);
    }))));
}

function section(title, marks, ...body) {
  return h('section', { class: 'panel-section' }, h('h3', {}, title, marks), body);
}

function mark(text, cls, title) {
  return h('span', { class: `mark ${cls}`, title }, text);
}

function fmtMS(ms) {
  if (ms === undefined || ms === null) return '';
  return ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${Math.round(ms)} ms`;
}

function diffView(before, after) {
  const rows = sideBySide(before, after);
  const seg = (side) => (side ? side.map((p) => (p.changed ? h('mark', {}, p.text) : p.text)) : '');
  return h('table', { class: 'diff' },
    h('thead', {}, h('tr', {}, h('th', {}, 'previous run'), h('th', {}, 'this run'))),
    h('tbody', {}, rows.map((r) => h('tr', { class: `diff-${r.kind}` },
      h('td', { class: r.left ? 'del' : 'empty' }, seg(r.left)),
      h('td', { class: r.right ? 'ins' : 'empty' }, seg(r.right))))));
}

// editor is a textarea with save and cancel; onSave(value) returns a
// promise and errors are shown beside the buttons.
function editor(initial, { onSave, onCancel, hint, testid }) {
  const area = h('textarea', { class: 'editor', spellcheck: 'false', 'data-testid': testid });
  area.value = initial;
  area.rows = Math.min(20, Math.max(4, initial.split('\n').length + 1));
  const err = h('span', { class: 'error' });
  const save = h('button', { type: 'button', class: 'primary', 'data-testid': `${testid}-save` }, 'Save');
  save.addEventListener('click', async () => {
    save.disabled = true;
    err.textContent = '';
    try {
      await onSave(area.value);
    } catch (e) {
      err.textContent = e.message;
      save.disabled = false;
    }
  });
  const cancel = h('button', { type: 'button', onclick: onCancel }, 'Cancel');
  return h('div', { class: 'edit-box' }, area, h('div', { class: 'edit-actions' }, save, cancel, h('span', { class: 'hint' }, hint), err));
}

// NodePanel renders into root; actions: edit(nodeID, edit), close().
export class NodePanel {
  constructor(root, actions) {
    this.root = root;
    this.actions = actions;
    this.call = null;
    this.editing = null; // 'input' | 'input-json' | 'output'
  }

  show(call, previous) {
    if (!this.call || !call || this.call.id !== call.id) this.editing = null;
    this.call = call;
    this.previous = previous;
    this.render();
  }

  render() {
    const call = this.call;
    this.root.replaceChildren();
    if (!call) {
      this.root.hidden = true;
      return;
    }
    this.root.hidden = false;
    if (call.external) {
      this.root.append(h('div', { class: 'panel-head' }, h('h2', {}, 'A call in another run'),
        h('button', { class: 'close', type: 'button', title: 'Close', onclick: () => this.actions.close() }, '×')),
      h('p', {}, `Node ${call.id} belongs to another run of this family; its output flowed into this run.`));
      return;
    }
    const u = usage(effectiveOutput(call)) || usage(call.output);
    const facts = [
      ['model', call.model || '—'],
      ['api', call.api],
      ['kind', call.kind],
      ['origin', call.origin],
      ['latency', fmtMS(call.duration_ms)],
      ['tokens', u ? `${u.input ?? '?'} in · ${u.output ?? '?'} out` : '—'],
      ['location', call.location || '—'],
      ['started', call.started_at ? new Date(call.started_at).toLocaleString() : '—'],
      ['stream', call.stream ? 'yes' : 'no'],
      ['node', call.id],
    ];
    // append() would print a null section as the text "null".
    this.root.append(...[
      h('div', { class: 'panel-head' },
        h('h2', {}, `#${call.seq} ${nodeLabel(call)}`),
        h('button', { class: 'close', type: 'button', title: 'Close', onclick: () => this.actions.close() }, '×')),
      h('dl', { class: 'facts' }, facts.map(([k, v]) => [h('dt', {}, k), h('dd', { 'data-fact': k }, v)])),
      this.inputSection(call),
      this.outputSection(call),
      this.changeSection(call),
    ].filter(Boolean));
  }

  inputSection(call) {
    const edited = call.input_overwrite && typeof call.input_overwrite === 'object';
    const marks = [];
    if (edited) marks.push(mark('edited', 'mark-edited', 'the next rerun sends the edited input'));
    const actions = h('div', { class: 'section-actions' });
    if (this.editing !== 'input' && this.editing !== 'input-json') {
      actions.append(
        h('button', { type: 'button', 'data-testid': 'edit-input', onclick: () => this.edit('input') }, 'Edit text'),
        h('button', { type: 'button', onclick: () => this.edit('input-json') }, 'Edit request JSON'));
      if (edited) actions.append(h('button', { type: 'button', 'data-testid': 'revert-input', onclick: () => this.save({ input: null }) }, 'Revert'));
    }
    const body = [];
    if (this.editing === 'input') {
      const initial = edited && typeof call.input_overwrite.text === 'string' ? call.input_overwrite.text : call.input_text || '';
      body.push(editor(initial, {
        testid: 'input-editor',
        hint: 'replaces the prompt text at the next rerun',
        onSave: (v) => this.save({ input: { text: v } }),
        onCancel: () => this.edit(null),
      }));
    } else if (this.editing === 'input-json') {
      const initial = pretty(edited && call.input_overwrite.request ? call.input_overwrite.request : call.input);
      body.push(editor(initial, {
        testid: 'input-json-editor',
        hint: 'the whole request, as JSON',
        onSave: (v) => {
          let request;
          try {
            request = JSON.parse(v);
          } catch (e) {
            throw new Error(`not JSON: ${e.message}`);
          }
          return this.save({ input: { request } });
        },
        onCancel: () => this.edit(null),
      }));
    }
    if (edited) {
      const ow = call.input_overwrite;
      body.push(h('div', { class: 'overwrite' }, h('div', { class: 'caption' }, 'edited input'),
        typeof ow.text === 'string' ? plainText(ow.text) : jsonBlock(ow.request ?? ow)));
    }
    const messages = inputMessages(call.input);
    body.push(h('div', { class: 'caption' }, edited ? 'recorded input' : ''));
    if (messages.length) body.push(messagesView(messages));
    else if (call.input_text) body.push(plainText(call.input_text));
    const atts = attachments(call.input);
    if (atts.length) {
      body.push(h('div', { class: 'caption' }, 'attachments'),
        h('ul', { class: 'attachments' }, atts.map((a) => h('li', {}, `${a.kind}: ${a.name} (${a.role})`))));
    }
    const params = inputParams(call.input);
    if (Object.keys(params).length) body.push(h('details', { class: 'params' }, h('summary', {}, 'parameters'), jsonBlock(params)));
    body.push(h('details', { class: 'raw' }, h('summary', {}, 'request JSON'), jsonBlock(call.input)));
    return section('Input', marks, actions, h('div', { class: 'input-view', 'data-testid': 'input-view' }, body));
  }

  outputSection(call) {
    const edited = call.output_overwrite && typeof call.output_overwrite === 'object';
    const marks = [];
    if (edited) marks.push(mark('edited', 'mark-edited', call.origin === 'edited' ? 'the program got the edited output' : 'the next rerun returns the edited output'));
    const actions = h('div', { class: 'section-actions' });
    if (this.editing !== 'output') {
      actions.append(h('button', { type: 'button', 'data-testid': 'edit-output', onclick: () => this.edit('output') }, 'Edit'));
      if (edited) actions.append(h('button', { type: 'button', 'data-testid': 'revert-output', onclick: () => this.save({ output: null }) }, 'Revert'));
    }
    const body = [];
    const text = displayOutputText(call);
    if (this.editing === 'output') {
      body.push(editor(text, {
        testid: 'output-editor',
        hint: 'the program gets this text at the next rerun',
        onSave: (v) => this.save({ output: { text: v } }),
        onCancel: () => this.edit(null),
      }));
    }
    body.push(h('div', { class: 'output-text', 'data-testid': 'output-text' }, text ? markdownText(text) : h('p', { class: 'muted' }, 'no text in this output')));
    if (edited) {
      const recorded = outputText(call.output) || call.output_text || '';
      body.push(h('details', { class: 'recorded' }, h('summary', {}, 'recorded output (before the edit)'), plainText(recorded)));
    }
    body.push(h('details', { class: 'raw' }, h('summary', {}, 'response JSON'), jsonBlock(effectiveOutput(call))));
    return section('Output', marks, actions, body);
  }

  // changeSection shows the previous execution's output beside this one's
  // when they differ.
  changeSection(call) {
    let before = null;
    if (call.prev_output) before = outputText(call.prev_output);
    else if (this.previous) before = displayOutputText(this.previous);
    const after = displayOutputText(call);
    if (before === null || before === after) return null;
    return section('Changed since the previous run', [mark('changed', 'mark-changed', 'the output differs from the previous execution')],
      h('div', { 'data-testid': 'diff' }, diffView(before, after)));
  }

  edit(what) {
    this.editing = what;
    this.render();
  }

  async save(edit) {
    await this.actions.edit(this.call.id, edit);
    this.editing = null;
    this.render();
  }
}
