// The web UI in a real browser against the real aco server, mock LLM and
// Python programs under aco-launch. Screenshots of each step go to
// test-artifacts/ui/.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Stack, artifacts } from './harness.mjs';

const stack = new Stack();
before(async () => { await stack.start(); });
after(async () => { await stack.stop(); });

// graphHas waits until the graph shows n nodes and e edges.
async function graphHas(page, n, e) {
  await page.waitForFunction(([n, e]) => {
    const g = document.querySelector('[data-testid=graph]');
    return g && g.dataset.nodes === String(n) && g.dataset.edges === String(e);
  }, [n, e]);
}

function node(page, seq) {
  return page.locator(`g.node[data-seq="${seq}"]`);
}

async function lastRun(name) {
  const runs = await stack.api('GET', '/api/runs');
  const run = runs.find((r) => r.name === name && !r.parent);
  assert.ok(run, `run ${name} not listed: ${JSON.stringify(runs.map((r) => r.name))}`);
  return run;
}

describe('demo agent', () => {
  let page;
  let run;
  before(async () => {
    await stack.launch('examples/demo/agent.py');
    run = await lastRun('agent.py');
    page = await stack.page();
  });
  after(async () => { await page.close(); });

  test('opens with its 4 nodes and 4 edges, and forgets the token in the address', async () => {
    await page.goto(stack.url('/'));
    await graphHas(page, 4, 4);
    assert.equal(await page.locator('g.node').count(), 4);
    assert.equal(await page.locator('path.edge').count(), 4);
    assert.equal(new URL(page.url()).searchParams.get('token'), null, 'token left in the address bar');
    assert.match(new URL(page.url()).pathname, new RegExp(`^/runs/${run.id}`));
    const labels = await page.locator('g.node .label').allTextContents();
    assert.deepEqual(labels, ['gpt-4o-mini', 'gpt-4o-mini', 'gpt-4o-mini', 'gpt-4o-mini']);
    // Top to bottom: the first call above the two that read it, above the last.
    const y = async (seq) => (await node(page, seq).boundingBox()).y;
    assert.ok(await y(0) < await y(1) && await y(1) < await y(3), 'graph is not laid out top to bottom');
    await page.locator('[data-testid=live].live').waitFor();
    await stack.shot(page, '01-demo-graph');
  });

  test('a node shows its input, output, model, latency, tokens and location', async () => {
    await node(page, 0).click();
    const panel = page.locator('[data-testid=panel]');
    await panel.waitFor();
    await panel.locator('.message', { hasText: 'Output the number 42' }).waitFor();
    assert.equal((await panel.locator('[data-testid=output-text]').innerText()).trim(), '42');
    assert.equal(await panel.locator('[data-fact=model]').innerText(), 'gpt-4o-mini');
    assert.equal(await panel.locator('[data-fact=api]').innerText(), 'openai.responses.create');
    assert.match(await panel.locator('[data-fact=location]').innerText(), /examples\/demo\/agent\.py:\d+$/);
    assert.match(await panel.locator('[data-fact=latency]').innerText(), /\d+(\.\d+)? m?s$/);
    assert.match(await panel.locator('[data-fact=tokens]').innerText(), /^\d+ in · \d+ out$/);
    await node(page, 2).click();
    await panel.locator('.message.role-user', { hasText: 'Add 2 to 42' }).waitFor();
    assert.equal(await panel.locator('[data-fact=api]').innerText(), 'openai.chat.completions.create');
    await stack.shot(page, '02-node-panel');
  });

  test('edit an output, rerun, and the downstream input changes', async () => {
    await node(page, 0).click();
    const panel = page.locator('[data-testid=panel]');
    await panel.locator('[data-testid=edit-output]').click();
    await panel.locator('[data-testid=output-editor]').fill('50');
    await panel.locator('[data-testid=output-editor-save]').click();
    await panel.locator('h3 .mark-edited').last().waitFor();
    assert.equal((await panel.locator('[data-testid=output-text]').innerText()).trim(), '50');
    await page.locator('g.node.edited[data-seq="0"]').waitFor();
    await stack.shot(page, '03-output-edited');

    const before = await node(page, 1).getAttribute('data-id');
    await page.locator('[data-testid=rerun]').click();
    // The call that read the edited output is made anew, with a new input.
    await page.waitForFunction((old) => {
      const n = document.querySelector('g.node[data-seq="1"]');
      return n && n.dataset.id !== old && !n.classList.contains('stale');
    }, before);
    await page.locator('[data-testid=status]', { hasText: 'finished' }).waitFor();
    await graphHas(page, 4, 4);
    assert.equal(await node(page, 0).getAttribute('data-origin'), 'edited');
    assert.equal(await node(page, 1).getAttribute('data-origin'), 'new');
    // The open panel narrowed the graph; fit it to what is left.
    await page.locator('[data-testid=fit]').click();
    await node(page, 1).click();
    await panel.locator('.message', { hasText: 'Add 1 to 50' }).waitFor();
    assert.equal((await panel.locator('[data-testid=output-text]').innerText()).trim(), '51');
    // What changed: the previous execution's output beside this one's.
    const diff = panel.locator('[data-testid=diff]');
    await diff.waitFor();
    assert.equal(await diff.locator('td.del').innerText(), '43');
    assert.equal(await diff.locator('td.ins').innerText(), '51');
    await stack.shot(page, '04-after-rerun');

    const graph = await stack.api('GET', `/api/runs/${run.id}`);
    assert.equal(graph.run.execution, 2);
    assert.equal(graph.nodes.find((n) => n.seq === 1).input_text, 'Add 1 to 50');
  });

  test('revert the edit', async () => {
    await node(page, 0).click();
    const panel = page.locator('[data-testid=panel]');
    await panel.locator('[data-testid=revert-output]').click();
    await panel.locator('[data-testid=revert-output]').waitFor({ state: 'detached' });
    const call = await stack.api('GET', `/api/nodes/${await node(page, 0).getAttribute('data-id')}`);
    assert.equal(call.output_overwrite, undefined);
  });

  test('LLM output is rendered as markdown and cannot inject HTML', async () => {
    await node(page, 3).click();
    const panel = page.locator('[data-testid=panel]');
    await panel.locator('[data-testid=edit-output]').click();
    const evil = '**bold** <img src=x onerror="window.__pwned=1"> <script>window.__pwned=2</script> [link](javascript:window.__pwned=3)';
    await panel.locator('[data-testid=output-editor]').fill(evil);
    await panel.locator('[data-testid=output-editor-save]').click();
    const out = panel.locator('[data-testid=output-text]');
    await out.locator('strong', { hasText: 'bold' }).waitFor();
    assert.equal(await out.locator('img, script').count(), 0);
    assert.match(await out.innerText(), /<img src=x onerror=/);
    assert.equal(await out.locator('a[href^="javascript"]').count(), 0);
    assert.equal(await page.evaluate(() => window.__pwned), undefined);
    await stack.shot(page, '05-markdown-safe');
    await panel.locator('[data-testid=revert-output]').click();
    await panel.locator('[data-testid=revert-output]').waitFor({ state: 'detached' });
    assert.deepEqual(page.errors, []);
  });
});

describe('runs list', () => {
  let page;
  before(async () => {
    await stack.launch('core/webui/test/fixtures/subruns.py');
    page = await stack.page();
  });
  after(async () => { await page.close(); });

  test('groups subruns under their parent and shows log entries', async () => {
    const run = await lastRun('subruns.py');
    await page.goto(stack.url(`/runs/${run.id}`));
    const items = page.locator('[data-testid=runs] li');
    await page.locator(`[data-testid=runs] li[data-run="${run.id}"]`).waitFor();
    const order = await items.evaluateAll((lis) => lis.map((li) => [li.dataset.run, li.classList.contains('subrun'), li.querySelector('.run-name').textContent]));
    const at = order.findIndex(([id]) => id === run.id);
    assert.deepEqual(order.slice(at + 1, at + 3).map(([, sub, name]) => [sub, name]).sort(), [[true, 'sample 1'], [true, 'sample 2']]);
    const logs = page.locator('[data-testid=logs]');
    await logs.waitFor();
    assert.match(await logs.innerText(), /all samples done/);
    await page.locator(`[data-testid=runs] li.subrun a`, { hasText: 'sample 1' }).click();
    await graphHas(page, 1, 0);
    await page.locator('[data-testid=logs]', { hasText: 'sample 1: answer 7' }).waitFor();
    assert.equal(await page.locator('[data-testid=logs] li.ok').count(), 1);
    await stack.shot(page, '06-subruns');
  });

  test('name, result and notes are saved', async () => {
    const run = await lastRun('subruns.py');
    await page.goto(stack.url(`/runs/${run.id}`));
    await page.locator('[data-testid=run-name]').fill('my experiment');
    await page.locator('[data-testid=run-name]').press('Enter');
    await page.locator('[data-testid=run-result]').selectOption('satisfactory');
    await page.locator('[data-testid=run-notes]').fill('looks right');
    await page.locator('[data-testid=run-notes]').blur();
    await page.locator(`[data-testid=runs] li[data-run="${run.id}"] .result-satisfactory`).waitFor();
    await page.locator(`[data-testid=runs] li[data-run="${run.id}"] .run-name`, { hasText: 'my experiment' }).waitFor();
    await page.waitForFunction(async ([base, id]) => {
      const tok = sessionStorage.getItem('aco-token');
      const r = await (await fetch(`${base}/api/runs/${id}`, { headers: { Authorization: `Bearer ${tok}` } })).json();
      return r.run.notes === 'looks right';
    }, [stack.base, run.id]);
    const { run: saved } = await stack.api('GET', `/api/runs/${run.id}`);
    assert.deepEqual([saved.name, saved.result, saved.notes], ['my experiment', 'satisfactory', 'looks right']);
    await stack.shot(page, '07-run-edited');
  });

  test('a new run appears live, and erase removes one', async () => {
    await page.goto(stack.url('/'));
    await page.locator('[data-testid=live].live').waitFor();
    const count = await page.locator('[data-testid=runs] li').count();
    await stack.launch('core/webui/test/fixtures/subruns.py');
    await page.waitForFunction((n) => document.querySelectorAll('[data-testid=runs] li').length === n + 3, count);
    const run = await lastRun('subruns.py');
    await page.locator(`[data-testid=runs] li[data-run="${run.id}"] a`).click();
    await page.locator('[data-testid=erase]').click();
    await page.locator(`[data-testid=runs] li[data-run="${run.id}"]`).waitFor({ state: 'detached' });
    const runs = await stack.api('GET', '/api/runs');
    assert.ok(!runs.some((r) => r.id === run.id || r.parent === run.id), 'erased run still listed by the API');
  });

  test('an erased run stays gone when a list fetched before the erase arrives after it', async () => {
    await stack.launch('core/webui/test/fixtures/subruns.py');
    const run = await lastRun('subruns.py');
    const other = (await stack.api('GET', '/api/runs')).find((r) => r.id !== run.id && !r.parent);
    await page.goto(stack.url(`/runs/${run.id}`));
    await page.locator('[data-testid=live].live').waitFor();
    await page.locator('[data-testid=erase]').waitFor();
    // The next list request is answered with what the server holds now,
    // which still has the run, but only once the run has been erased.
    let requested;
    const asked = new Promise((resolve) => { requested = resolve; });
    let release;
    const held = new Promise((resolve) => { release = resolve; });
    let first = true;
    await page.route('**/api/runs', async (route) => {
      if (!first || route.request().method() !== 'GET') return route.continue();
      first = false;
      const response = await route.fetch();
      requested();
      await held;
      await route.fulfill({ response });
    });
    // Another run's change makes the page reload its list.
    await stack.api('PATCH', `/api/runs/${other.id}`, { notes: 'touched' });
    await asked;
    await page.locator('[data-testid=erase]').click();
    const item = page.locator(`[data-testid=runs] li[data-run="${run.id}"]`);
    await item.waitFor({ state: 'detached' });
    const loads = Number(await page.locator('[data-testid=runs]').getAttribute('data-loads'));
    await page.evaluate((id) => {
      window.reappeared = false;
      const list = document.querySelector('[data-testid=runs]');
      new MutationObserver(() => {
        if (list.querySelector(`li[data-run="${id}"]`)) window.reappeared = true;
      }).observe(list, { childList: true, subtree: true });
    }, run.id);
    release();
    await page.waitForFunction((n) => Number(document.querySelector('[data-testid=runs]').dataset.loads) > n, loads);
    await page.unroute('**/api/runs');
    assert.equal(await page.evaluate(() => window.reappeared), false, 'the erased run came back with the late list');
    assert.equal(await item.count(), 0);
  });
});

describe('1,000 calls', () => {
  test('render from open to graph within the budget and stay responsive', async () => {
    await stack.launch('core/webui/test/fixtures/many_calls.py', '1000');
    const run = await lastRun('many_calls.py');
    const page = await stack.page();
    try {
      await page.goto(stack.url(`/runs/${run.id}`));
      await graphHas(page, 1000, 999);
      // Milliseconds from the start of navigation to the first full render.
      const rendered = await page.evaluate(() => {
        const m = performance.getEntriesByName('aco-graph-rendered').find((e) => e.detail.nodes === 1000);
        return m.startTime;
      });
      // Too wide to read when fitted, so it opens on its first call.
      assert.ok((await node(page, 0).boundingBox()).width > 100, 'first call not shown at a readable size');
      // Responsiveness: a zoom or pan step over 1,000 nodes takes a frame, not seconds.
      const step = (kind) => page.evaluate(async (kind) => {
        const svg = document.querySelector('.graph-svg');
        const r = svg.getBoundingClientRect();
        const at = { clientX: r.left + r.width / 2, clientY: r.top + r.height / 2, bubbles: true, cancelable: true };
        const times = [];
        for (let i = 0; i < 12; i++) {
          const t0 = performance.now();
          if (kind === 'zoom') {
            svg.dispatchEvent(new WheelEvent('wheel', { ...at, deltaY: 120 }));
          } else {
            svg.dispatchEvent(new PointerEvent('pointerdown', { ...at, pointerId: 7, button: 0 }));
            svg.dispatchEvent(new PointerEvent('pointermove', { ...at, pointerId: 7, clientX: at.clientX + 40 }));
            svg.dispatchEvent(new PointerEvent('pointerup', { ...at, pointerId: 7, clientX: at.clientX + 40 }));
          }
          // Two frames: the second starts once the first, with the new view, is painted.
          await new Promise((res) => requestAnimationFrame(() => requestAnimationFrame(res)));
          times.push(performance.now() - t0);
        }
        times.sort((a, b) => a - b);
        return times[Math.floor(times.length / 2)];
      }, kind);
      const zoom = await step('zoom');
      const pan = await step('pan');
      await page.locator('[data-testid=fit]').click();
      await node(page, 0).click();
      await page.locator('[data-testid=panel] .message', { hasText: 'Output the number 1000000' }).waitFor();
      await stack.shot(page, '08-thousand-nodes');
      const report = { nodes: 1000, edges: 999, openToRenderedMS: Math.round(rendered), medianZoomStepMS: Math.round(zoom), medianPanStepMS: Math.round(pan) };
      await writeFile(path.join(artifacts, 'thousand-nodes.json'), JSON.stringify(report, null, 2) + '\n');
      console.log(`1,000-node run: open to rendered graph ${report.openToRenderedMS} ms (target 2000); zoom step ${report.medianZoomStepMS} ms, pan step ${report.medianPanStepMS} ms (median, two frames each)`);
      // The target is 2 s; the bound leaves room for a loaded CI machine.
      assert.ok(rendered < 6000, `1,000 nodes took ${Math.round(rendered)} ms to render`);
      assert.ok(zoom < 250 && pan < 250, `a zoom step took ${zoom} ms, a pan step ${pan} ms`);
    } finally {
      await page.close();
    }
  });
});

describe('clear all', () => {
  test('empties the list', async () => {
    const page = await stack.page();
    try {
      await page.goto(stack.url('/'));
      await page.locator('[data-testid=runs] li[data-run]').first().waitFor();
      await page.locator('[data-testid=clear-all]').click();
      await page.locator('[data-testid=runs] li.empty').waitFor();
      assert.deepEqual(await stack.api('GET', '/api/runs'), []);
    } finally {
      await page.close();
    }
  });
});
