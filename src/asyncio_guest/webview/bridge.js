// The `py` object, injected at document start into every page (main frame)
// by asyncio_guest.webview.  Each page gets a token; Python's replies carry
// it, so a reply meant for a page that is gone is dropped by the next one.
// Python fills in the handler name and the token expression (placeholders).
(() => {
  if (window.py && window.py.__asyncio_guest) return;
  const post = (m) => window.webkit.messageHandlers.%(handler)s.postMessage(m);
  const token = %(token_expr)s;
  const pending = new Map();
  const listeners = new Map();
  let next = 1;
  const bridge = {
    token,
    settle(tok, id, ok, payload) {
      if (tok !== token) return;
      const p = pending.get(id);
      if (!p) return;
      pending.delete(id);
      if (ok) { p.resolve(payload); return; }
      const err = new Error(payload.message);
      err.name = payload.name;
      err.pyType = payload.type;
      p.reject(err);
    },
    emit(event, data) {
      for (const fn of Array.from(listeners.get(event) || [])) {
        try { fn(data); } catch (e) { setTimeout(() => { throw e; }); }
      }
    },
  };
  const call = (name, args) => new Promise((resolve, reject) => {
    let msg;
    const id = next++;
    try {
      msg = JSON.stringify({token, id, name, args});
    } catch (e) {
      const err = new TypeError(
        "py." + name + "(): arguments must be JSON-serializable: " + e.message);
      err.pyType = "builtins.TypeError";
      reject(err);
      return;
    }
    pending.set(id, {resolve, reject});
    post(msg);
  });
  const target = Object.assign(Object.create(null), {
    on(event, fn) {
      if (!listeners.has(event)) listeners.set(event, new Set());
      listeners.get(event).add(fn);
    },
    off(event, fn) {
      const set = listeners.get(event);
      if (set) set.delete(fn);
    },
    __asyncio_guest: bridge,
  });
  // Only py's own members are not calls: `toString`, `constructor` and the
  // rest of Object.prototype are names like any other.
  window.py = new Proxy(target, {
    get(t, prop) {
      if (Object.prototype.hasOwnProperty.call(t, prop)) return t[prop];
      if (typeof prop !== "string" || prop === "then") return undefined;
      return (...args) => call(prop, args);
    },
  });
})();
