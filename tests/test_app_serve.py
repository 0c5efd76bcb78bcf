"""The FC explorer: data sources, path safety, the Viewer's live readouts, and serving it."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

import unebolt_viz as uv
from unebolt_viz.app.sources import (
    EMBEDDED_DIR,
    OutsideDataDirError,
    embedded_catalog,
    list_results_files,
    load_results,
    resolve_inside,
)

REPO_ROOT = Path(__file__).resolve().parents[1]


def _predictions(n_rois=64, n_scans=2, seed=0):
    rng = np.random.default_rng(seed)
    atlas = uv.load_atlas("embedded", n_rois)
    parts = []
    for k in range(n_scans):
        true = rng.standard_normal((60, n_rois))
        bold = uv.roi_timeseries(true, atlas, 2.1, scan=f"sub0{k}-scan01", subject=f"sub0{k}",
                                 data_source="simulated")
        parts.append(uv.predictions(bold, true + rng.standard_normal(true.shape), model="toy"))
    pred = xr.concat(parts, dim="time")
    pred.attrs = {**parts[0].attrs, "atlas": f"embedded{n_rois}"}
    return pred


@pytest.fixture
def data_dir(tmp_path):
    root = tmp_path / "appdata"
    (root / "run1").mkdir(parents=True)
    uv.save(_predictions(), root / "run1" / "predictions.nc")
    outside = tmp_path / "outside.nc"
    uv.save(_predictions(seed=1), outside)
    (root / "sneaky.nc").symlink_to(outside)
    return root


# ------------------------------------------------------------------------------ data sources


def test_paths_outside_the_data_directory_are_refused(data_dir):
    assert resolve_inside("run1/predictions.nc", data_dir) == \
        (data_dir / "run1" / "predictions.nc").resolve()
    for bad in ("../outside.nc", str(data_dir.parent / "outside.nc"), "sneaky.nc",
                "run1/../../outside.nc", "/etc/passwd"):
        with pytest.raises(OutsideDataDirError, match="outside"):
            resolve_inside(bad, data_dir)
    with pytest.raises(FileNotFoundError):
        resolve_inside("run1/missing.nc", data_dir)
    assert list_results_files(data_dir) == ["run1/predictions.nc"]
    with pytest.raises(OutsideDataDirError):
        load_results("file:../outside.nc", data_dir=data_dir)


def test_results_file_metrics_are_the_data_metrics(data_dir):
    res = load_results("file:run1/predictions.nc", data_dir=data_dir)
    assert res.data_source == "simulated" and res.model == "toy"
    assert res.scans == ["sub00-scan01", "sub01-scan01"]
    pred = _predictions()
    one = pred.isel(time=slice(60, 120))
    expected = [np.corrcoef(one["true"].values[:, k], one["pred"].values[:, k])[0, 1]
                for k in range(64)]
    np.testing.assert_allclose(res.metrics["temporal_r"].sel(scan="sub01-scan01"), expected,
                               atol=1e-10)
    fc_true, fc_pred = res.fc("sub01-scan01")
    np.testing.assert_allclose(fc_pred.values, np.corrcoef(one["pred"].values.T), atol=1e-10)
    assert res.fc("sub01-scan01")[0] is fc_true, "per-scan FC is computed once and shared"


def test_embedded_predictions_are_shipped_and_labelled():
    catalog = embedded_catalog()
    assert 64 in catalog, f"no embedded predictions in {EMBEDDED_DIR}"
    for n_rois, models in catalog.items():
        for path in models.values():
            pred = uv.load(path)
            assert pred.attrs["data_source"] == "simulated"
            assert pred.sizes["roi"] == n_rois
            assert pred.attrs["atlas"] == f"embedded{n_rois}"
            assert path.stat().st_size < 3_000_000


def _fresh_atlas(n_rois, folder):
    """The embedded atlas built by this checkout's code (never a cached older build)."""
    return uv.load_atlas("embedded", n_rois, data_dir=folder)


@pytest.mark.parametrize("n_rois", [64, pytest.param(128, marks=pytest.mark.slow),
                                    pytest.param(256, marks=pytest.mark.slow)])
def test_shipped_predictions_use_the_embedded_atlas(n_rois, tmp_path):
    catalog = embedded_catalog()
    if n_rois not in catalog:
        pytest.skip(f"no embedded predictions at {n_rois} ROIs")
    atlas = _fresh_atlas(n_rois, tmp_path)
    for path in catalog[n_rois].values():
        pred = uv.load(path)
        assert list(map(str, pred.roi.values)) == list(atlas.roi), path.name
        assert list(map(str, pred.network.values)) == list(atlas.network), path.name


@pytest.mark.slow
@pytest.mark.parametrize("stem", ["ridge_p64", "unebolt_p64"])
def test_shipped_checkpoint_reproduces_its_predictions(stem, tmp_path):
    """Reloading a shipped model and predicting its first test scan gives the shipped file."""
    import json

    from unebolt_viz.models import load_model
    from unebolt_viz.simulation import simulate_cohort
    from unebolt_viz.training import predict

    if not (EMBEDDED_DIR / f"{stem}.json").is_file():
        pytest.skip(f"{stem} is not shipped in {EMBEDDED_DIR}")
    record = json.loads((EMBEDDED_DIR / f"{stem}.training.json").read_text())
    data = record["data"]
    assert data["data_source"] == "simulated"
    cohort = simulate_cohort(data["preset"], seed=data["cohort_seed"],
                             atlas=_fresh_atlas(64, tmp_path))
    scan = data["split"]["test"][0]
    again = predict(load_model(EMBEDDED_DIR / stem), cohort.pairs([scan]))
    shipped = uv.load(EMBEDDED_DIR / f"predictions_{stem}.nc")
    shipped = shipped.isel(time=np.flatnonzero(shipped.scan.values == scan))
    np.testing.assert_allclose(again["true"].values, shipped["true"].values, rtol=1e-5,
                               atol=1e-6)
    np.testing.assert_allclose(again["pred"].values, shipped["pred"].values, rtol=1e-3,
                               atol=1e-4)


# ------------------------------------------------------------------------------ the Viewer


def _explorer(data_dir, **params):
    from bokeh.document import Document

    from unebolt_viz.app import FCExplorer

    app = FCExplorer(data_dir=data_dir, **params)
    app.__panel__().get_root(Document())
    return app


def test_viewer_opens_on_the_embedded_default_and_says_so(data_dir, tmp_path):
    app = _explorer(data_dir)
    assert app.source == "embedded"
    assert "SIMULATED DATA" in app._header.object
    assert app.fc_true_plot is not None and app.fc_pred_plot is not None
    # The drawn colour bars follow the atlas's network coordinate, in the drawn order.
    atlas = _fresh_atlas(app.results.n_rois, tmp_path)
    order = app.fc_true_plot.order.values
    bars = app.fc_true_plot.bar_source.data
    drawn = [n for n, a, b in zip(bars["network"], bars["start"], bars["stop"])
             for _ in range(int(b - a))]
    assert drawn == list(atlas.network[order])


def test_slider_updates_f1_readout_live(data_dir):
    from unebolt_viz.metrics import f1_at_density

    app = _explorer(data_dir, source="file:run1/predictions.nc")
    fc_true, fc_pred = app.results.fc(app.scan)
    seen = []
    for density in (0.1, 0.25, 0.5):
        app.density = density
        expected = f1_at_density(fc_true, fc_pred, density)
        assert app.last_f1 == pytest.approx(expected)
        assert f"{expected:.3f}" in app._readout_div.text
        kept = np.count_nonzero(~np.isnan(app.fc_pred_plot.drawn_matrix))
        assert kept == 2 * int(np.floor(density * 64 * 63 / 2 + 0.5))
        seen.append(app.last_f1)
    assert len(set(seen)) == 3


def test_cell_click_shows_both_rois(data_dir):
    app = _explorer(data_dir, source="file:run1/predictions.nc")
    app._on_cell(3, 10)
    names = app.results.true.roi.values.astype(str)
    assert names[3] in app.pair_plot.figure.title.text
    assert names[10] in app.pair_plot.figure.title.text
    one = app.results.pred.isel(time=np.flatnonzero(app.results.pred.scan.values == app.scan))
    np.testing.assert_allclose(app.pair_plot.sources["pred_b"].data["y"],
                               one["pred"].values[:, 10])


def test_opening_a_file_outside_is_refused_in_the_app(data_dir):
    app = _explorer(data_dir)
    app._file_input.value = "../outside.nc"
    app._open_file()
    assert app._alert.visible and "outside" in app._alert.object
    assert app.source == "embedded"
    app._file_input.value = "run1/predictions.nc"
    app._open_file()
    assert app.source == "file:run1/predictions.nc" and app.results.model == "toy"
    # Links set the source through the parameter, which accepts only the sources offered.
    for bad in ("file:../outside.nc", "file:sneaky.nc", "/etc/passwd"):
        with pytest.raises(ValueError):
            app.source = bad
    assert app.source == "file:run1/predictions.nc"


def test_real_shared_data_shows_true_fc_only(shared_data):
    app = _explorer(None, source="real")
    assert "REAL RECORDINGS" in app._header.object
    assert app.fc_pred_plot is None and app.results.pred is None
    assert "No predictions" in app._readout_div.text


# ------------------------------------------------------------------------------ panel serve


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def serve_app(data_dir: Path, port: int, cache: Path | None = None) -> subprocess.Popen:
    """``panel serve apps/fc_explorer.py`` on loopback, reading only ``data_dir``.

    ``cache`` replaces the unebolt_viz cache folder (an empty one: a fresh machine).
    """
    env = dict(os.environ, UNEBOLT_VIZ_APP_DATA=str(data_dir),
               PYTHONPATH=os.pathsep.join([str(REPO_ROOT), os.environ.get("PYTHONPATH", "")]))
    if cache is not None:
        env["UNEBOLT_VIZ_DATA"] = str(cache)
    return subprocess.Popen(
        [sys.executable, "-m", "panel", "serve", "apps/fc_explorer.py", "--port", str(port),
         "--address", "127.0.0.1", f"--allow-websocket-origin=127.0.0.1:{port}"],
        cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def wait_for_page(url: str, proc: subprocess.Popen, timeout: float = 60.0) -> tuple[int, str]:
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if proc.poll() is not None:
            raise RuntimeError(f"panel serve exited:\n{proc.stdout.read()}")
        try:
            with urllib.request.urlopen(url, timeout=timeout) as response:
                return response.status, response.read().decode()
        except OSError:
            time.sleep(0.25)
    raise TimeoutError(f"{url} did not answer within {timeout} s")


def stop(proc: subprocess.Popen) -> str:
    proc.terminate()
    try:
        return proc.communicate(timeout=15)[0]
    except subprocess.TimeoutExpired:
        proc.kill()
        return proc.communicate()[0]


def test_panel_serve_answers_with_the_app(tmp_path):
    port = free_port()
    proc = serve_app(tmp_path, port, cache=tmp_path / "fresh_cache")
    try:
        status, body = wait_for_page(f"http://127.0.0.1:{port}/fc_explorer", proc)
    finally:
        log = stop(proc)
    assert status == 200
    assert "<title>UnEBOLT FC explorer</title>" in body
    assert "bokeh" in body.lower()
    assert "http://" not in body.replace(f"http://127.0.0.1:{port}", ""), \
        "the page must not load resources from the network"
    assert "Traceback" not in log, log
