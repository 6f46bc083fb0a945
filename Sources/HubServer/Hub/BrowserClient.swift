// `GET /v1/client.js`: the browser client, a dependency-free ES module (no build step).
//
//   import { awaitOutcome, subscribe } from "http://hub:8080/v1/client.js";
//   const outcome = await awaitOutcome(key, { token, timeoutMs: 60000, onOutcome: o => ... });
//
// WebSocket first (`/v1/outcomes/{key}?follow=1&after=N&token=T`), reconnecting with jittered
// back-off and resuming after the last seq; Server-Sent Events when WebSocket cannot open
// (EventSource resumes by itself with Last-Event-ID). Duplicates are dropped by seq.
enum BrowserClient {
    static let script = #"""
// AffinityHub browser client (served by the hub at /v1/client.js). No dependencies.
const scriptOrigin = new URL(import.meta.url).origin;

/** Opens a live subscription to `key`. Calls onOutcome(outcome) for each new outcome, in order,
 *  once per seq, across reconnects. Returns { close() }. */
export function subscribe(key, { hub = scriptOrigin, token, after = 0, onOutcome = () => {}, onError = () => {},
                                 transport = "auto", maxBackoffMs = 10000 } = {}) {
  let lastSeq = after, closed = false, failures = 0, socket = null, source = null, opened = false, timer = null;
  const useSSE = () => transport === "sse" || (transport === "auto" && (typeof WebSocket === "undefined" || (!opened && failures >= 2)));
  const url = (scheme) => {
    const u = new URL(`/v1/outcomes/${encodeURIComponent(key)}`, hub);
    if (scheme) u.protocol = u.protocol === "https:" ? "wss:" : "ws:";
    u.searchParams.set("follow", "1");
    if (lastSeq > 0) u.searchParams.set("after", String(lastSeq));
    if (token) u.searchParams.set("token", token);
    return u.toString();
  };
  const deliver = (text) => {
    let o;
    try { o = JSON.parse(text); } catch { return; }
    if (o.type === "error") { onError(new Error(`${o.code}: ${o.message}`)); return; }
    if (o.type !== "outcome" || o.seq <= lastSeq) return;
    lastSeq = o.seq;
    onOutcome(o);
  };
  const retry = () => {
    if (closed) return;
    failures += 1;
    const ceiling = Math.min(maxBackoffMs, 100 * 2 ** Math.min(failures, 10));
    timer = setTimeout(connect, 50 + Math.random() * ceiling);
  };
  const connect = () => {
    if (closed) return;
    if (useSSE()) {
      // EventSource reconnects by itself and sends Last-Event-ID (= seq).
      source = new EventSource(url(false));
      // The hub names its events "outcome" (errors come as HTTP answers, which end the source).
      source.addEventListener("outcome", (e) => deliver(e.data));
      source.onmessage = (e) => deliver(e.data);
      source.onerror = () => { if (source.readyState === EventSource.CLOSED) { source = null; retry(); } };
      return;
    }
    socket = new WebSocket(url(true));
    socket.onopen = () => { opened = true; failures = 0; };
    socket.onmessage = (e) => deliver(e.data);
    socket.onclose = (e) => {
      socket = null;
      if (e.code === 1008 || e.code === 4401 || e.code === 4403) { onError(new Error(`refused: ${e.code} ${e.reason}`)); return; }
      retry();
    };
  };
  connect();
  return {
    close() {
      closed = true;
      clearTimeout(timer);
      if (socket) socket.close(1000, "done");
      if (source) source.close();
    },
    get lastSeq() { return lastSeq; },
  };
}

/** Resolves with the key's terminal outcome (completed or failed); rejects after timeoutMs.
 *  onOutcome sees every outcome, progress included. */
export function awaitOutcome(key, { timeoutMs = 0, signal, onOutcome, ...options } = {}) {
  return new Promise((resolve, reject) => {
    let timeout = null;
    const sub = subscribe(key, {
      ...options,
      onOutcome: (o) => {
        if (onOutcome) onOutcome(o);
        if (o.status !== "progress") { finish(); resolve(o); }
      },
      onError: (e) => { finish(); reject(e); },
    });
    const finish = () => { clearTimeout(timeout); sub.close(); };
    if (timeoutMs > 0) timeout = setTimeout(() => { finish(); reject(new Error(`no outcome for ${key} within ${timeoutMs} ms`)); }, timeoutMs);
    if (signal) signal.addEventListener("abort", () => { finish(); reject(signal.reason); }, { once: true });
  });
}
"""#
}
