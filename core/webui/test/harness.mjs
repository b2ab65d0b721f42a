// Real parts for the browser tests: the aco binaries, the mock LLM, the aco
// server on free loopback ports with a temporary ACO_HOME, programs run
// under aco-launch, and Debian's Chromium driven by playwright-core.
import { spawn } from 'node:child_process';
import { mkdtemp, mkdir, readFile, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
export const artifacts = path.join(repoRoot, 'test-artifacts', 'ui');
const binDir = process.env.ACO_BIN_DIR || path.join(repoRoot, 'bin');
const python = process.env.ACO_TEST_PYTHON || path.join(repoRoot, '.venv', 'bin', 'python');
const chromiumPath = process.env.ACO_CHROMIUM || '/usr/bin/chromium';

export const CHROMIUM_FLAGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

// Process is a child this harness started and must stop.
class Process {
  constructor(name, child) {
    this.name = name;
    this.child = child;
    this.output = '';
    child.stdout.on('data', (b) => { this.output += b; });
    child.stderr.on('data', (b) => { this.output += b; });
    this.exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  }

  // line waits for the first line of output that matches re.
  line(re, what) {
    return new Promise((resolve, reject) => {
      const check = () => {
        const m = this.output.match(re);
        if (m) {
          cleanup();
          resolve(m);
        }
      };
      const onExit = () => {
        cleanup();
        reject(new Error(`${this.name} exited before ${what}:\n${this.output}`));
      };
      const cleanup = () => {
        this.child.stdout.off('data', check);
        this.child.stderr.off('data', check);
        this.child.off('exit', onExit);
      };
      this.child.stdout.on('data', check);
      this.child.stderr.on('data', check);
      this.child.once('exit', onExit);
      check();
    });
  }

  async stop() {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGTERM');
    return this.exited;
  }
}

function start(name, cmd, args, env) {
  const child = spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'], cwd: repoRoot });
  return new Process(name, child);
}

// Stack is one test file's world: mock LLM, aco server, browser.
export class Stack {
  async start() {
    this.home = await mkdtemp(path.join(os.tmpdir(), 'aco-ui-test-'));
    this.mock = start('aco mockllm', path.join(binDir, 'aco'), ['mockllm', '--port', '0'], process.env);
    const [, mockAddr] = await this.mock.line(/OpenAI base URL (http:\/\/\S+)\)/, 'it listened');
    const [port, httpPort] = [await freePort(), await freePort()];
    this.env = {
      ...process.env,
      ACO_HOME: this.home,
      ACO_PORT: String(port),
      ACO_HTTP_PORT: String(httpPort),
      ACO_PYTHON: python,
      OPENAI_BASE_URL: mockAddr,
      OPENAI_API_KEY: 'mock-key',
    };
    delete this.env.ACO_DISABLE;
    this.server = start('aco server', path.join(binDir, 'aco'), ['server', 'run'], this.env);
    this.base = `http://127.0.0.1:${httpPort}`;
    await this.waitReady();
    this.token = (await readFile(path.join(this.home, 'token'), 'utf8')).trim();
    const page = await (await fetch(`${this.base}/`)).text();
    if (!page.includes('/assets/app-')) {
      throw new Error(`aco server does not serve the web UI at ${this.base}/ (got ${JSON.stringify(page.slice(0, 120))}): ` +
        'its server.Options.UI must be webui.Handler() (cli/root.go), and bin/ rebuilt');
    }
    await mkdir(artifacts, { recursive: true });
    this.userData = await mkdtemp(path.join(os.tmpdir(), 'aco-ui-chromium-'));
    this.context = await chromium.launchPersistentContext(this.userData, {
      executablePath: chromiumPath,
      headless: true,
      args: CHROMIUM_FLAGS,
      viewport: { width: 1400, height: 900 },
    });
    return this;
  }

  // waitReady polls the status endpoint until the server answers; the
  // server gives no other signal that both listeners are up.
  async waitReady() {
    const deadline = Date.now() + 20000;
    let last;
    while (Date.now() < deadline) {
      if (this.server.child.exitCode !== null) throw new Error(`aco server exited:\n${this.server.output}`);
      try {
        const token = (await readFile(path.join(this.home, 'token'), 'utf8')).trim();
        const res = await fetch(`${this.base}/api/status`, { headers: { Authorization: `Bearer ${token}` } });
        if (res.ok) return;
        last = `HTTP ${res.status}`;
      } catch (e) {
        last = e.message;
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`aco server did not answer at ${this.base} (${last}):\n${this.server.output}`);
  }

  // launch runs a program under aco-launch to its end.
  async launch(...args) {
    const p = start('aco-launch', path.join(binDir, 'aco-launch'), args, this.env);
    const { code } = await p.exited;
    if (code !== 0) throw new Error(`aco-launch ${args.join(' ')} exited ${code}:\n${p.output}`);
    return p.output;
  }

  async api(method, p, body) {
    const res = await fetch(this.base + p, {
      method,
      headers: { Authorization: `Bearer ${this.token}`, 'Content-Type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (!res.ok) throw new Error(`${method} ${p}: HTTP ${res.status} ${await res.text()}`);
    return res.status === 204 ? null : res.json();
  }

  url(p = '/') {
    return `${this.base}${p}?token=${encodeURIComponent(this.token)}`;
  }

  async page() {
    const page = await this.context.newPage();
    page.on('dialog', (d) => d.accept());
    page.errors = [];
    page.on('pageerror', (e) => page.errors.push(e));
    return page;
  }

  async shot(page, name) {
    await page.screenshot({ path: path.join(artifacts, `${name}.png`) });
  }

  async stop() {
    if (this.context) await this.context.close();
    if (this.server) await this.server.stop();
    if (this.mock) await this.mock.stop();
    if (this.userData) await rm(this.userData, { recursive: true, force: true });
    if (this.home) await rm(this.home, { recursive: true, force: true });
  }
}
