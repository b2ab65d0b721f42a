// The HTTP API of `aco server`, as the page uses it. Every request carries
// the token; errors come back as Error with the server's message (which
// names the fix) and the HTTP status.

export class APIError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

export class API {
  constructor(token, { fetch: fetchFn = globalThis.fetch.bind(globalThis), origin = location.origin } = {}) {
    this.token = token;
    this.fetch = fetchFn;
    this.origin = origin;
  }

  async request(method, path, body) {
    const headers = { Authorization: `Bearer ${this.token}` };
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    let res;
    try {
      res = await this.fetch(this.origin + path, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        cache: 'no-store',
      });
    } catch (err) {
      throw new APIError(0, 'unavailable', `cannot reach the aco server (${err.message}): is it running? \`aco server start\``);
    }
    if (res.status === 204) return null;
    const text = await res.text();
    let data = null;
    try {
      data = text ? JSON.parse(text) : null;
    } catch {
      // A non-JSON answer (a proxy, an old server) is reported as such below.
    }
    if (!res.ok) {
      const e = data && data.error;
      throw new APIError(res.status, e ? e.code : 'http', e ? e.message : `${method} ${path}: HTTP ${res.status}`);
    }
    return data;
  }

  runs() { return this.request('GET', '/api/runs'); }
  graph(runID) { return this.request('GET', `/api/runs/${encodeURIComponent(runID)}`); }
  node(nodeID) { return this.request('GET', `/api/nodes/${encodeURIComponent(nodeID)}`); }
  updateRun(runID, update) { return this.request('PATCH', `/api/runs/${encodeURIComponent(runID)}`, update); }
  deleteRun(runID) { return this.request('DELETE', `/api/runs/${encodeURIComponent(runID)}`); }
  clear() { return this.request('POST', '/api/clear'); }
  // edit: {input?: {text}|{request}|null, output?: {text}|{type,data}|null}; null reverts.
  edit(nodeID, edit) { return this.request('POST', `/api/nodes/${encodeURIComponent(nodeID)}/edit`, edit); }
  rerun(runID) { return this.request('POST', `/api/runs/${encodeURIComponent(runID)}/rerun`); }

  eventsURL() {
    const u = new URL('/api/events', this.origin);
    u.protocol = u.protocol === 'https:' ? 'wss:' : 'ws:';
    u.searchParams.set('token', this.token);
    return u.toString();
  }
}

// takeToken reads the token from ?token= once, keeps it for this tab and
// removes it from the address bar, so it ends up in neither history nor
// screenshots; later loads of the tab find it in sessionStorage.
export function takeToken(loc = location, storage = sessionStorage, hist = history) {
  const url = new URL(loc.href);
  const fromURL = url.searchParams.get('token');
  if (fromURL) {
    storage.setItem('aco-token', fromURL);
    url.searchParams.delete('token');
    hist.replaceState(hist.state, '', url.pathname + url.search + url.hash);
    return fromURL;
  }
  return storage.getItem('aco-token') || '';
}
