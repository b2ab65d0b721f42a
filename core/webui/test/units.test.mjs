// The page's pure parts, without a browser: what a call says, the layout,
// the graph kept across reruns, the diff and the markdown.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { inputMessages, inputParams, outputText, displayOutputText, usage, attachments, nodeLabel } from '../src/content.js';
import { layout, layoutEdges, place, DUMMY_BUDGET, NODE_W, NODE_H } from '../src/layout.js';
import { GraphState } from '../src/graphstate.js';
import { sideBySide } from '../src/diff.js';
import { renderMarkdown } from '../src/markdown.js';

describe('content', () => {
  const cases = [
    {
      name: 'chat completions',
      input: { model: 'm', temperature: 0, messages: [{ role: 'system', content: 'be brief' }, { role: 'user', content: [{ type: 'text', text: 'hi' }, { type: 'image_url', image_url: { url: 'data:image/png;base64,AAAA' } }] }] },
      output: { type: 'ChatCompletion', data: { choices: [{ message: { content: 'hello' } }], usage: { prompt_tokens: 5, completion_tokens: 1 } } },
      roles: ['system', 'user'], text: 'hello', usage: { input: 5, output: 1 }, params: { model: 'm', temperature: 0 }, attachments: ['image: image/png (inline)'],
    },
    {
      name: 'responses, string input and instructions',
      input: { model: 'm', input: 'Output the number 42', instructions: 'only digits' },
      output: { type: 'Response', data: { output: [{ type: 'message', content: [{ type: 'output_text', text: '42' }] }], usage: { input_tokens: 4, output_tokens: 1 } } },
      roles: ['instructions', 'user'], text: '42', usage: { input: 4, output: 1 }, params: { model: 'm' }, attachments: [],
    },
    {
      name: 'responses, item list with a file',
      input: { model: 'm', input: [{ role: 'user', content: [{ type: 'input_text', text: 'read' }, { type: 'input_file', filename: 'a.pdf' }] }] },
      output: { type: 'Response', data: { output: [{ type: 'function_call', name: 'lookup', arguments: '{"q":1}' }] } },
      roles: ['user'], text: 'lookup({\n  "q": 1\n})', usage: null, params: { model: 'm' }, attachments: ['file: a.pdf'],
    },
    {
      name: 'anthropic messages',
      input: { model: 'claude', system: 'sys', max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] },
      output: { type: 'Message', data: { content: [{ type: 'text', text: 'yo' }], usage: { input_tokens: 3, output_tokens: 2 } } },
      roles: ['system', 'user'], text: 'yo', usage: { input: 3, output: 2 }, params: { model: 'claude', max_tokens: 10 }, attachments: [],
    },
    {
      name: 'google generateContent',
      input: { model: 'gemini', contents: [{ role: 'user', parts: [{ text: 'hi' }] }] },
      output: { type: 'GenerateContentResponse', data: { candidates: [{ content: { parts: [{ text: 'hey' }] } }], usage_metadata: { prompt_token_count: 2, candidates_token_count: 1 } } },
      roles: ['user'], text: 'hey', usage: { input: 2, output: 1 }, params: { model: 'gemini' }, attachments: [],
    },
    {
      name: 'unknown SDK',
      input: { query: 'x' },
      output: { type: 'Thing', data: { answer: 1 } },
      roles: [], text: '', usage: null, params: { query: 'x' }, attachments: [],
    },
  ];
  for (const c of cases) {
    test(c.name, () => {
      assert.deepEqual(inputMessages(c.input).map((m) => m.role), c.roles);
      assert.equal(outputText(c.output), c.text);
      assert.deepEqual(usage(c.output), c.usage);
      assert.deepEqual(inputParams(c.input), c.params);
      assert.deepEqual(attachments(c.input).map((a) => `${a.kind}: ${a.name}`), c.attachments);
    });
  }

  test('an edited output is what the program got', () => {
    const call = { output: { type: 'R', data: { output_text: '42' } }, output_text: '50', output_overwrite: { text: '50' } };
    assert.equal(displayOutputText(call), '50');
    assert.equal(displayOutputText({ ...call, output_overwrite: undefined, output_text: '42' }), '42');
    // Unknown shapes fall back to the server's display text.
    assert.equal(displayOutputText({ output: { type: 'T', data: { x: 1 } }, output_text: 'x is 1' }), 'x is 1');
  });

  test('node label is the model, else the tool', () => {
    assert.equal(nodeLabel({ model: 'gpt-4o', api: 'openai.responses.create' }), 'gpt-4o');
    assert.equal(nodeLabel({ model: '', api: 'mcp.tools.call_tool' }), 'tools.call_tool');
  });
});

describe('layout', () => {
  const chain = (n) => Array.from({ length: n }, (_, i) => ({ id: `n${i}`, seq: i }));

  test('top to bottom along the edges', () => {
    const nodes = chain(4);
    const edges = [{ source: 'n0', target: 'n1' }, { source: 'n0', target: 'n2' }, { source: 'n1', target: 'n3' }, { source: 'n2', target: 'n3' }];
    const pos = layout(nodes, edges);
    for (const e of edges) assert.ok(pos.get(e.source).y < pos.get(e.target).y, `${e.source} not above ${e.target}`);
    assert.equal(pos.get('n1').y, pos.get('n2').y);
    assert.ok(Math.abs(pos.get('n1').x - pos.get('n2').x) >= NODE_W);
  });

  test('long edges beyond the budget are drawn but not laid out', () => {
    const nodes = chain(400);
    const edges = [];
    for (let i = 1; i < 400; i++) {
      edges.push({ source: `n${i - 1}`, target: `n${i}` });
      edges.push({ source: 'n0', target: `n${i}` });
    }
    const small = layoutEdges(chain(10), edges.filter((e) => +e.target.slice(1) < 10));
    assert.equal(small.reduced, false);
    const big = layoutEdges(nodes, edges);
    assert.equal(big.reduced, true, `400-long chain with edges from the root exceeds ${DUMMY_BUDGET} dummies`);
    assert.equal(big.edges.length, 399);
    const t = performance.now();
    layout(nodes, edges);
    assert.ok(performance.now() - t < 20000);
  });

  test('a late node goes under its source and moves nothing', () => {
    const pos = layout(chain(2), [{ source: 'n0', target: 'n1' }]);
    const before = new Map([...pos].map(([k, v]) => [k, { ...v }]));
    const a = place(pos, 'n2', ['n1']);
    const b = place(pos, 'n3', ['n1']);
    assert.ok(a.y > pos.get('n1').y);
    assert.equal(a.y, b.y);
    assert.ok(Math.abs(a.x - b.x) >= NODE_W, 'siblings overlap');
    for (const [k, v] of before) assert.deepEqual(pos.get(k), v);
    const root = place(pos, 'r', []);
    assert.ok(Math.abs(root.y - pos.get('n0').y) < NODE_H && Math.abs(root.x - pos.get('n0').x) >= NODE_W);
  });
});

describe('graph state', () => {
  const run = (execution, status) => ({ id: 'r', execution, status });
  const call = (id, seq, execution, extra = {}) => ({ run_id: 'r', id, seq, execution, origin: 'new', output: { text: `out ${id}` }, ...extra });
  const edge = (s, t) => ({ run_id: 'r', source: s, target: t, via: 'taint' });
  const first = () => {
    const st = new GraphState();
    st.load({ run: run(1, 'finished'), nodes: [call('a', 0, 1), call('b', 1, 1), call('c', 2, 1)], edges: [edge('a', 'b'), edge('b', 'c')] });
    return st;
  };

  test('a rerun keeps cached nodes in place and puts new calls where the old ones were', () => {
    const st = first();
    const pos = new Map([...st.pos].map(([k, v]) => [k, { ...v }]));
    st.setRun(run(2, 'running'));
    assert.deepEqual([...st.stale.keys()].sort(), ['a', 'b', 'c']);
    st.upsertNode(call('a', 0, 2, { origin: 'edited' }));
    st.upsertNode(call('b2', 1, 2));
    st.addEdge(edge('a', 'b2'));
    st.settle();
    assert.deepEqual(st.pos.get('a'), pos.get('a'));
    assert.deepEqual(st.pos.get('b2'), pos.get('b'), 'new call did not take the place of the one it replaced');
    assert.equal(st.previousCall('b2').id, 'b');
    assert.ok(st.stale.has('c'), 'c may still come back while the rerun runs');
    st.setRun(run(2, 'finished'));
    assert.deepEqual([...st.nodes.keys()].sort(), ['a', 'b2']);
  });

  test('a node of an old execution or another run is ignored', () => {
    const st = first();
    st.setRun(run(2, 'running'));
    assert.equal(st.upsertNode(call('z', 5, 1)), false);
    assert.equal(st.upsertNode({ ...call('y', 5, 2), run_id: 'other' }), false);
    assert.equal(st.nodes.has('z') || st.nodes.has('y'), false);
  });

  test('live nodes are placed under their sources once their edges are known', () => {
    const st = first();
    st.upsertNode(call('d', 3, 1));
    st.addEdge(edge('c', 'd'));
    st.settle();
    assert.ok(st.pos.get('d').y > st.pos.get('c').y);
  });

  test('a full reload of the same run merges instead of laying out again', () => {
    const st = first();
    const pos = new Map(st.pos);
    const relaid = st.load({ run: run(1, 'finished'), nodes: [call('a', 0, 1), call('b', 1, 1)], edges: [edge('a', 'b')] });
    assert.equal(relaid, false);
    assert.deepEqual(st.pos.get('a'), pos.get('a'));
    assert.equal(st.nodes.has('c'), false);
  });

  test('sources in other runs get a placeholder', () => {
    const st = new GraphState();
    st.load({ run: run(1, 'finished'), nodes: [call('a', 0, 1)], edges: [{ run_id: 'r', source: 'elsewhere', target: 'a', via: 'content' }] });
    assert.ok(st.external.has('elsewhere'));
    assert.ok(st.pos.get('elsewhere').y < st.pos.get('a').y);
  });
});

describe('diff', () => {
  test('pairs changed lines and marks the changed words', () => {
    const rows = sideBySide('a\nthe answer is 42\nc', 'a\nthe answer is 50\nc\nd');
    assert.deepEqual(rows.map((r) => r.kind), ['same', 'changed', 'same', 'added']);
    const changed = rows[1];
    assert.deepEqual(changed.left.filter((p) => p.changed).map((p) => p.text), ['42']);
    assert.deepEqual(changed.right.filter((p) => p.changed).map((p) => p.text), ['50']);
    assert.equal(rows[3].left, null);
  });
  test('equal texts have no changes', () => {
    assert.ok(sideBySide('x\ny', 'x\ny').every((r) => r.kind === 'same'));
  });
});

describe('markdown', () => {
  const cases = [
    ['raw HTML is escaped', '<img src=x onerror=alert(1)><script>alert(2)</script>', /&lt;img src=x onerror=alert\(1\)&gt;&lt;script&gt;/, /<img|<script/],
    ['javascript: links are not links', '[x](javascript:alert(1))', /\[x\]\(javascript:alert\(1\)\)/, /href/],
    ['images are not loaded, only linked', '![t](http://example.com/t.png)', /<a href="http:\/\/example.com\/t.png"/, /<img/],
    ['links open apart, without referrer', '[docs](https://example.com)', /<a href="https:\/\/example.com" target="_blank" rel="noopener noreferrer">docs<\/a>/, /javascript/],
    ['markdown renders', '# T\n\n**b** `c`', /<h1>T<\/h1>[\s\S]*<strong>b<\/strong> <code>c<\/code>/, /<script/],
  ];
  for (const [name, src, want, never] of cases) {
    test(name, () => {
      const html = renderMarkdown(src);
      assert.match(html, want);
      assert.doesNotMatch(html, never);
    });
  }
});
