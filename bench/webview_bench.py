"""JS -> Python -> JS round trips through asyncio_guest.webview, timed in
the page with performance.now(): a trivial coroutine awaited one call at a
time, and 100 calls kept in flight.  Both loops, each in its own process.

WebKitGTK clamps performance.now() to whole milliseconds (the "clock step"
column), so a single call's time is 0 or 1 ms: the mean (the run's total
time over the calls) is the figure to read for one call at a time; with
100 in flight each call takes several ms and the median and p99 mean
something.

    python bench/webview_bench.py [--calls 2000]     (needs a display)
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from typing import Any

PAGE_JS = """
window.bench = async (n, inflight) => {
  const lat = [];
  // warm up
  for (let i = 0; i < 50; i++) await py.noop(-1);
  const t0 = performance.now();
  if (inflight <= 1) {
    for (let i = 0; i < n; i++) {
      const t = performance.now();
      await py.noop(i);
      lat.push(performance.now() - t);
    }
  } else {
    let next = 0;
    const worker = async () => {
      while (next < n) {
        next++;
        const t = performance.now();
        await py.noop(next);
        lat.push(performance.now() - t);
      }
    };
    await Promise.all([...Array(inflight)].map(worker));
  }
  const total = performance.now() - t0;
  lat.sort((a, b) => a - b);
  const q = (p) => lat[Math.min(lat.length - 1, Math.floor(p * lat.length))];
  // the clock's resolution: the smallest non-zero step seen
  let res = Infinity, a = performance.now();
  for (let i = 0; i < 100000 && res === Infinity; i++) {
    const b = performance.now(); if (b > a) res = b - a; }
  return {median_ms: q(0.5), p99_ms: q(0.99), calls_per_s: n / total * 1000,
          clock_ms: res};
};
"""


def child(loop: str, calls: int) -> None:
    from asyncio_guest import webview

    factory = None
    if loop == "uvloop":
        import uvloop

        factory = uvloop.new_event_loop

    arrivals: list[int] = []

    async def main(window: webview.Window) -> Any:
        async def noop(i: int) -> int:
            if i >= 0:
                arrivals.append(time.perf_counter_ns())
            return i

        window.expose(noop)
        window.load_html(f"<script>{PAGE_JS}</script>")
        await window.loaded()
        one = await window.eval_js(f"bench({calls}, 1)")
        # One call at a time, the page calls again as soon as a call
        # resolves: the time between two arrivals in Python is one whole
        # round trip (reply to the page, promise resolved, next call back
        # in Python), on a clock finer than the page's.
        gaps = sorted((b - a) / 1e6 for a, b in zip(arrivals, arrivals[1:]))
        one["py_median_ms"] = gaps[len(gaps) // 2]
        one["py_p99_ms"] = gaps[min(len(gaps) - 1, int(0.99 * len(gaps)))]
        many = await window.eval_js(f"bench({calls}, 100)")
        return {"sequential": one, "100 in flight": many}

    print(json.dumps(webview.run(main, loop_factory=factory)))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--calls", type=int, default=2000)
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(args.child, args.calls)
        return
    print("Round trip per call, timed in the page (performance.now(), "
          "clamped to the clock step) and, one call at a time, in Python "
          "(the time between two successive calls arriving).\n")
    print("| loop | calls | mean ms | median ms | p99 ms | calls/s | "
          "clock step ms | Python-timed median ms | Python-timed p99 ms |")
    print("|---|---|---|---|---|---|---|---|---|")
    for loop in ("asyncio", "uvloop"):
        out = subprocess.run(
            [sys.executable, __file__, "--child", loop, "--calls",
             str(args.calls)], capture_output=True, text=True,
            env=dict(os.environ))
        try:
            res = json.loads(out.stdout.strip().splitlines()[-1])
        except (ValueError, IndexError):
            print(f"| {loop} | failed: {out.stderr.strip()[-300:]} |")
            continue
        for kind, r in res.items():
            mean = 1000 / r["calls_per_s"] * (100 if "100" in kind else 1)
            print(f"| {loop} | {kind} | {mean:.3f} | {r['median_ms']:.3f} | "
                  f"{r['p99_ms']:.3f} | {r['calls_per_s']:,.0f} | "
                  f"{r['clock_ms']:.3f} | "
                  + (f"{r['py_median_ms']:.3f} | {r['py_p99_ms']:.3f} |"
                     if "py_median_ms" in r else "- | - |"))


if __name__ == "__main__":
    main()
