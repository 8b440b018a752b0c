// The `py` object, injected at document start into the main frame of the
// pages Python trusts (asyncio_guest.webview: the app's own, and the
// allowed origins).  Python issues each page a token on its hello: a call
// carries it (Python serves only the current page's), and so do the
// replies (a reply meant for a page that is gone is dropped by the next
// one).  Python fills in the handler name and the trusted URL prefixes.
(() => {
  if (window.py && window.py.__asyncio_guest) return;
  // A redirect may have brought another origin's page here: no py for it.
  const trusted = %(prefixes)s;
  if (!trusted.some((p) => location.href === p ||
                           (p.endsWith("/") && location.href.startsWith(p))))
    return;
  const post = (m) => window.webkit.messageHandlers.%(handler)s.postMessage(m);
  // Python sends the token into this (the main) frame once it has the
  // hello; the nonce tells this page's welcome from another's.
  const nonce = Array.from(crypto.getRandomValues(new Uint8Array(16)),
                           (b) => b.toString(16).padStart(2, "0")).join("");
  let token = null;
  const waiting = [];  // calls made before the welcome
  const pending = new Map();
  const listeners = new Map();
  let next = 1;
  const bridge = {
    get token() { return token; },
    welcome(n, t) {
      if (n !== nonce || token !== null) return;
      token = t;
      for (const send of waiting.splice(0)) send();
    },
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
    let argsText;
    const id = next++;
    try {
      argsText = JSON.stringify(args);
    } catch (e) {
      const err = new TypeError(
        "py." + name + "(): arguments must be JSON-serializable: " + e.message);
      err.pyType = "builtins.TypeError";
      reject(err);
      return;
    }
    pending.set(id, {resolve, reject});
    // The head as Python reads it first: token, id, name, then args.
    const send = () => post('{"token":' + JSON.stringify(token) + ',"id":' +
                            id + ',"name":' + JSON.stringify(name) +
                            ',"args":' + argsText + '}');
    if (token === null) waiting.push(send); else send();
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
  post(JSON.stringify({hello: nonce}));
})();
