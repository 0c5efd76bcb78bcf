"""Benchmark of the FC explorer at P = 256 ROIs: update latency and concurrent sessions.

Two measurements::

    python benchmarks/bench_app.py [--sessions 20] [--rounds 3] [--moves 5] [--out results.json]

1. In process (server-side work only): the explorer is rendered into a Bokeh document and the
   sparsity slider's parameter is moved; the time is that of the whole Python update (edge
   masks from ``unebolt_viz.metrics.edge_mask``, the F1 readout, both 256 x 256 matrices
   re-ordered and written into their Bokeh sources). Acceptance: p95 <= 100 ms. Also the
   CPU time the server spends building one session's document (the first build, which fills
   the caches, is left out).
2. On loopback: ``panel serve`` runs the app. One session opens and closes
   (the data are then in the process's caches): the server's RSS then is "before". Then, for
   ``--rounds`` rounds, ``--sessions`` tabs of one headless Chromium (Debian's
   ``/usr/bin/chromium``, driven by Playwright) open it at once and must all render both
   matrices (page load: navigation to the F1 readout on screen; acceptance: each within
   10 s); every tab moves its slider ``--moves`` times; the tabs close. Reported per round:
   median, p95 and max page load, the server RSS "during" (all sessions open) and "after"
   (sessions closed and destroyed; acceptance: near "before"), the server-side time of every
   update (the app is subclassed to time it), the latency seen in the browser, and the load
   average (the machine may be shared).

Data: the embedded 256-ROI predictions when shipped, else a synthetic predictions file (random
series on the embedded 256-ROI atlas, labelled simulated) in a temporary data directory. The
numbers depend on the machine and its load: report them with the machine.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
DENSITIES = (0.05, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.6, 0.75, 0.9, 0.25)
APP = """
import time

import panel as pn
import param

from unebolt_viz.app import FCExplorer

pn.extension()


class TimedExplorer(FCExplorer):
    # Server-side time of each slider update, appended to a file read by the benchmark.
    @param.depends("density", watch=True)
    def _apply_density(self):
        start = time.perf_counter()
        super()._apply_density()
        with open({timings!r}, "a") as log:
            log.write(f"{{(time.perf_counter() - start) * 1000:.3f}} ")


TimedExplorer(source={source!r}, n_rois=256).servable(title="FC explorer benchmark")
"""


def _synthetic_predictions(path: Path, n_scans: int = 3, n_times: int = 575) -> None:
    import xarray as xr

    import unebolt_viz as uv

    atlas = uv.load_atlas("embedded", 256)
    rng = np.random.default_rng(0)
    networks = np.unique(atlas.network, return_inverse=True)[1]
    parts = []
    for k in range(n_scans):
        latent = rng.standard_normal((n_times, networks.max() + 1))
        true = latent[:, networks] + rng.standard_normal((n_times, 256))
        bold = uv.roi_timeseries(true, atlas, 2.1, scan=f"sub0{k}-scan01", subject=f"sub0{k}",
                                 data_source="simulated")
        parts.append(uv.predictions(bold, 0.5 * true + rng.standard_normal(true.shape),
                                    model="synthetic"))
    pred = xr.concat(parts, dim="time")
    pred.attrs = {**parts[0].attrs, "atlas": "embedded256"}
    uv.save(pred, path)


def _source(data_dir: Path) -> str:
    from unebolt_viz.app.sources import embedded_catalog

    if 256 in embedded_catalog():
        return "embedded"
    _synthetic_predictions(data_dir / "synthetic_p256.nc")
    return "file:synthetic_p256.nc"


def _percentiles(values_ms: list[float]) -> dict[str, float]:
    arr = np.asarray(values_ms)
    return {"n": int(arr.size), "p50_ms": float(np.percentile(arr, 50)),
            "p95_ms": float(np.percentile(arr, 95)), "max_ms": float(arr.max())}


def in_process(data_dir: Path, source: str, moves: int) -> dict[str, float]:
    from bokeh.document import Document

    from unebolt_viz.app import FCExplorer

    # Server-side cost of one session (data already cached): building its Bokeh document.
    # Sessions are built one at a time on the server's thread, so n concurrent page loads
    # need at least n times this much server CPU before the last page can appear.
    build_cpu = []
    for _ in range(4):
        start_cpu = time.process_time()
        app = FCExplorer(data_dir=data_dir, source=source, n_rois=256)
        app.__panel__().get_root(Document())
        build_cpu.append((time.process_time() - start_cpu) * 1000)
    assert app.results.n_rois == 256
    app.density = 0.3  # warm-up (first edge masks, caches)
    wall, cpu = [], []
    for k in range(moves):
        density = DENSITIES[k % len(DENSITIES)]
        if density == app.density:
            density = 0.35
        start, start_cpu = time.perf_counter(), time.thread_time()
        app.density = density
        wall.append((time.perf_counter() - start) * 1000)
        cpu.append((time.thread_time() - start_cpu) * 1000)
    # Wall time includes waiting for a core on a busy machine; CPU time is the work itself.
    return {"wall": _percentiles(wall), "cpu": _percentiles(cpu),
            "session_build_cpu": _percentiles(build_cpu[1:]),
            "load_average_1min": os.getloadavg()[0], "cpu_count": os.cpu_count()}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]


async def _session(browser, url: str, moves: int, start_moving, on_loaded, index: int) -> dict:
    """One browser tab: load the app, then move the slider ``moves`` times, timing each."""
    page = await browser.new_page(viewport={"width": 1400, "height": 1000})
    errors: list[str] = []
    page.on("pageerror", lambda err: errors.append(str(err)))
    loaded = time.perf_counter()
    await page.goto(url, timeout=600_000)
    f1 = page.locator(".f1-value")
    await f1.wait_for(timeout=600_000)
    canvases = [await page.locator(f"{sel} canvas").count() for sel in (".fc-true", ".fc-pred")]
    load_s = time.perf_counter() - loaded
    on_loaded()
    await start_moving.wait()
    handle = page.locator(".density-slider .noUi-handle").first
    await handle.focus()
    latencies = []
    for k in range(moves):
        before = await f1.inner_text()
        start = time.perf_counter()
        await page.keyboard.press("ArrowRight" if (k + index) % 4 < 2 else "ArrowLeft")
        while await f1.inner_text() == before:
            if time.perf_counter() - start > 120:
                raise TimeoutError("the F1 readout did not change")
            await page.wait_for_timeout(10)
        latencies.append((time.perf_counter() - start) * 1000)
    return {"rendered": all(c > 0 for c in canvases) and not errors, "load_s": load_s,
            "latencies": latencies, "errors": errors}


async def _browser_sessions(url: str, n_sessions: int, moves: int, when_all_loaded) -> list[dict]:
    """``n_sessions`` tabs load the app at once; they start moving when all have loaded.

    ``when_all_loaded()`` is called once every tab shows the app (all sessions open).
    """
    import asyncio

    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=str(CHROMIUM),
                                                   args=CHROMIUM_ARGS)
        try:
            start_moving = asyncio.Event()
            count = {"loaded": 0}

            def on_loaded() -> None:
                count["loaded"] += 1
                if count["loaded"] == n_sessions:
                    when_all_loaded()
                    start_moving.set()

            return await asyncio.gather(*(
                _session(browser, url, moves, start_moving, on_loaded, i)
                for i in range(n_sessions)))
        finally:
            await browser.close()


def _rss_mb(server) -> float:
    """Resident memory of the server process, MiB."""
    return server.memory_info().rss / 2**20


def _settled_rss(server, seconds: float = 8.0) -> float:
    """RSS once closed sessions have been destroyed (the server checks every second here)."""
    time.sleep(seconds)
    return _rss_mb(server)


def loopback(data_dir: Path, source: str, n_sessions: int, moves: int, rounds: int) -> dict:
    import asyncio

    import psutil

    timings = data_dir / "server_update_ms.txt"
    app_file = data_dir / "bench_app_fc_explorer.py"
    app_file.write_text(APP.format(source=source, timings=str(timings)))
    port = _free_port()
    env = dict(os.environ, UNEBOLT_VIZ_APP_DATA=str(data_dir),
               PYTHONPATH=os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]))
    log = open(data_dir / "server.log", "w")  # noqa: SIM115 - closed in the finally below
    # Closed sessions are destroyed after 1 s (instead of Bokeh's 15 s) so that the memory
    # after closing can be read promptly. No --num-threads: the explorer updates raw Bokeh
    # models in place, which must happen on the server's own thread.
    proc = subprocess.Popen(
        [sys.executable, "-m", "panel", "serve", str(app_file), "--port", str(port),
         "--address", "127.0.0.1", f"--allow-websocket-origin=127.0.0.1:{port}",
         "--check-unused-sessions", "1000",
         "--unused-session-lifetime", "1000"],
        # The log goes to a file: an unread pipe fills up and blocks the server.
        cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT, text=True)
    url = f"http://127.0.0.1:{port}/{app_file.stem}"
    try:
        start = time.monotonic()
        while True:
            try:
                urllib.request.urlopen(url, timeout=120).read()
                break
            except OSError:
                if time.monotonic() - start > 180 or proc.poll() is not None:
                    raise RuntimeError("the app did not start") from None
                time.sleep(0.3)
        server = psutil.Process(proc.pid)
        rss: dict[str, float] = {"server_started": _settled_rss(server, 3.0)}

        def measure(key: str):
            def record() -> None:
                time.sleep(2.0)  # let the server finish sending the documents
                rss[key] = _rss_mb(server)
            return record

        # One session first (loads the data into the process caches), then closed: the memory
        # every later round should come back to.
        (first,) = asyncio.run(_browser_sessions(url, 1, moves, measure("one_session_open")))
        rss["before"] = _settled_rss(server)
        per_round = []
        for k in range(rounds):
            timings.write_text("")
            t0 = time.perf_counter()
            load_avg_before = os.getloadavg()
            results = asyncio.run(_browser_sessions(url, n_sessions, moves,
                                                    measure(f"during_{k}")))
            wall = time.perf_counter() - t0
            rss[f"after_{k}"] = _settled_rss(server)
            server_ms = [float(x) for x in timings.read_text().split()]
            loads = [1000 * r["load_s"] for r in results]
            per_round.append({
                "load_average_1_5_15_before": load_avg_before,
                "load_average_1_5_15_after": os.getloadavg(),
                "all_rendered": all(r["rendered"] for r in results),
                "errors": [e for r in results for e in r["errors"]],
                "page_load_s": {"median": float(np.median(loads)) / 1000,
                                "p95": float(np.percentile(loads, 95)) / 1000,
                                "max": float(np.max(loads)) / 1000},
                "server_rss_during_mb": rss[f"during_{k}"],
                "server_rss_after_mb": rss[f"after_{k}"],
                "concurrent_server_update": _percentiles(server_ms) if server_ms else {},
                "concurrent_browser_latency": _percentiles(
                    [lat for r in results for lat in r["latencies"]]) if moves else {},
                "wall_s": wall,
            })
            print(f"round {k}: page load median {per_round[-1]['page_load_s']['median']:.2f} s, "
                  f"p95 {per_round[-1]['page_load_s']['p95']:.2f} s; RSS during "
                  f"{rss[f'during_{k}']:.0f} MiB, after {rss[f'after_{k}']:.0f} MiB "
                  f"(before {rss['before']:.0f} MiB)", flush=True)
        return {
            "sessions": n_sessions,
            "cpu_count": os.cpu_count(),
            "server_rss_mb": rss,
            "single_session_browser_latency": _percentiles(first["latencies"]) if moves else {},
            "rounds": per_round,
        }
    finally:
        proc.terminate()
        try:
            proc.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", type=int, default=20)
    parser.add_argument("--moves", type=int, default=5, help="slider moves per session")
    parser.add_argument("--rounds", type=int, default=3,
                        help="rounds of --sessions simultaneous page loads")
    parser.add_argument("--out", type=Path, default=None, help="write the results as JSON")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp)
        source = _source(data_dir)
        result = {"source": source, "n_rois": 256,
                   "in_process_update": in_process(data_dir, source, max(12, 4 * args.moves))}
        print("in-process update after a slider move (P=256):", result["in_process_update"],
              flush=True)
        result["loopback"] = loopback(data_dir, source, args.sessions, args.moves, args.rounds)
    print(json.dumps(result, indent=2))
    if args.out is not None:
        args.out.write_text(json.dumps(result, indent=2) + "\n")
    return result


if __name__ == "__main__":
    main()
