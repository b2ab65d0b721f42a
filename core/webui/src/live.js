// Live updates from the server's WebSocket (/api/events). The connection is
// re-opened with growing delays when it drops; while it is down the page
// polls, so it stays current against a server that is restarting or an
// older one without the endpoint.

const MIN_DELAY = 500;
const MAX_DELAY = 10000;
const POLL_EVERY = 2000;

export class Live {
  // onEvent(msg) gets each server message; onState('live'|'offline') each
  // change of connection; onCatchUp() asks the page to reload what it shows
  // (after a reconnect, and on each poll while offline).
  constructor(url, { onEvent, onState, onCatchUp, WebSocketImpl = globalThis.WebSocket }) {
    this.url = url;
    this.onEvent = onEvent;
    this.onState = onState;
    this.onCatchUp = onCatchUp;
    this.WebSocketImpl = WebSocketImpl;
    this.delay = MIN_DELAY;
    this.ws = null;
    this.stopped = false;
    this.retryTimer = null;
    this.pollTimer = null;
    this.state = '';
  }

  start() {
    this.connect();
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    clearInterval(this.pollTimer);
    if (this.ws) this.ws.close();
  }

  setState(state) {
    if (state === this.state) return;
    this.state = state;
    if (state === 'live') {
      clearInterval(this.pollTimer);
      this.pollTimer = null;
    } else if (!this.pollTimer) {
      this.pollTimer = setInterval(() => this.onCatchUp(), POLL_EVERY);
    }
    this.onState(state);
  }

  connect() {
    if (this.stopped) return;
    let ws;
    try {
      ws = new this.WebSocketImpl(this.url);
    } catch {
      this.setState('offline');
      this.retry();
      return;
    }
    this.ws = ws;
    let opened = false;
    ws.onopen = () => {
      opened = true;
      this.delay = MIN_DELAY;
      this.setState('live');
      // Whatever happened while the connection was down is not replayed.
      this.onCatchUp();
    };
    ws.onmessage = (ev) => {
      let msg;
      try {
        msg = JSON.parse(ev.data);
      } catch {
        return;
      }
      this.onEvent(msg);
    };
    ws.onclose = () => {
      if (this.ws !== ws) return;
      this.ws = null;
      this.setState('offline');
      if (!opened) this.delay = Math.min(this.delay * 2, MAX_DELAY);
      this.retry();
    };
  }

  retry() {
    if (this.stopped) return;
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => this.connect(), this.delay);
  }
}
