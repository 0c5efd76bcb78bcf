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


def test_metrics_and_other_companion_files_are_not_offered_as_sources(tmp_path):
    root = tmp_path / "appdata"
    (root / "exp" / "metrics").mkdir(parents=True)
    (root / "exp" / "predictions").mkdir()
    (root / "vol" / "e2fnet").mkdir(parents=True)
    for name in ("exp/metrics.nc", "exp/noise_ceiling.nc", "exp/metrics/ridge.nc",
                 "exp/predictions/ridge.nc", "vol/metrics.nc", "vol/regions.nc",
                 "vol/e2fnet/roi_metrics.nc", "vol/e2fnet/volumes.nc",
                 "vol/e2fnet/roi_predictions.nc"):
        (root / name).write_bytes(b"")  # listing goes by name; nothing is opened
    assert list_results_files(root, max_depth=3) == [
        "exp/predictions/ridge.nc", "vol/e2fnet/roi_predictions.nc"]


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
    raw = one["pred"].values[:, 10].astype(float)
    np.testing.assert_allclose(app.pair_plot.sources["pred_b"].data["y"],
                               (raw - raw.mean()) / raw.std(), atol=1e-6)


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
    # The model choice and the header say "no model", never a bare None; the other choices
    # are the shipped semi-synthetic models.
    from unebolt_viz.app.sources import semisynthetic_catalog

    assert list(app.param.model.names)[0] == "No model (true data only)"
    assert list(app.param.model.names)[1:] == list(semisynthetic_catalog())
    assert "no model</b>: true data only" in app._header.object


def test_real_source_shows_the_semisynthetic_predictions_of_its_validation_scans(shared_data):
    """Real BOLD of the 5 validation scans beside the predictions of the shipped model."""
    from unebolt_viz.app.sources import semisynthetic_catalog
    from unebolt_viz.models import shipped_predictions

    catalog = semisynthetic_catalog()
    assert any(label.startswith("UnEBOLT") for label in catalog)
    label = next(label for label in catalog if label.startswith("UnEBOLT"))
    app = _explorer(None, source="real")
    app.model = label
    shipped = shipped_predictions(catalog[label], data_dir=shared_data)
    assert app.results.data_source == "semi-synthetic" and app.results.model == label
    assert app.results.scans == sorted(set(map(str, shipped.scan.values)))
    assert app.fc_pred_plot is not None and "SEMI-SYNTHETIC" in app._header.object.upper()
    # the truth is the real BOLD, the prediction the shipped one
    one = shipped.isel(time=np.flatnonzero(shipped.scan.values == app.scan))
    fc_true, fc_pred = app.results.fc(app.scan)
    np.testing.assert_allclose(fc_true.values, np.corrcoef(one["true"].values.T), atol=1e-5)
    np.testing.assert_allclose(fc_pred.values, np.corrcoef(one["pred"].values.T), atol=1e-5)
    # the other semi-synthetic model is offered for comparison
    from unebolt_viz.app.components.views import other_models

    assert set(other_models(app)) == set(catalog) - {label}


def test_selection_is_recomputed_when_the_source_changes(data_dir, shared_data):
    """Old code kept "Selected: L Visual 1 x L Visual 2, predicted r = ..." on the real data."""
    app = _explorer(data_dir)
    assert "predicted r" in app._cell_info.object
    app.source = "real"
    names = set(app.results.true.roi.values.astype(str))
    text = app._cell_info.object
    shown = [n for n in names if n in text]
    assert len(shown) >= 1 and "L Visual" not in text, text
    assert "predicted r" not in text and "no prediction" in text


def _scaled(data_dir, factor):
    """A results file whose predictions are ``factor`` times smaller than a good prediction."""
    pred = _predictions()
    pred["pred"] = pred["true"] * factor + 0.01 * factor * pred["pred"]
    uv.save(pred, data_dir / "small.nc")
    return "file:small.nc"


def test_small_predicted_traces_are_zscored_and_the_caption_says_so(data_dir):
    """A prediction 20 times smaller than the truth used to look flat beside r = 1."""
    from unebolt_viz.app.components.timeseries import network_timeseries_figure

    app = _explorer(data_dir, source=_scaled(data_dir, 0.05))
    app._on_cell(3, 10)
    true_y = np.asarray(app.pair_plot.sources["true_a"].data["y"])
    pred_y = np.asarray(app.pair_plot.sources["pred_a"].data["y"])
    assert pred_y.std() == pytest.approx(true_y.std(), rel=1e-3)
    assert np.corrcoef(true_y, pred_y)[0, 1] > 0.99
    assert "z-scored" in app.pair_plot.figure.title.text
    column = network_timeseries_figure(app.results.pred, app.scan)
    caption, panels = column.children[0], column.children[1:]
    assert "z-scored" in caption.text
    for fig in panels:
        lines = {r.name: np.asarray(r.data_source.data["y"]) for r in fig.renderers}
        assert lines["pred"].std() == pytest.approx(lines["true"].std(), rel=1e-3)
        # The legend is above the panels, never drawn over a panel's data.
        assert not fig.legend, "a legend inside a panel covers its data"


def test_labels_say_what_they_mean(data_dir):
    app = _explorer(data_dir, source="file:run1/predictions.nc")
    assert app.slider.label == "Edge density (fraction of edges kept)"
    for plot in (app.fc_true_plot, app.fc_pred_plot):
        assert plot.colorbar.title == "Pearson r"
        assert float(plot.colorbar.title_text_font_size.rstrip("pt")) >= 10
    assert app.fc_diff_plot.colorbar.title.startswith("r difference")


def test_difference_matrix_is_pred_minus_true(data_dir):
    app = _explorer(data_dir, source="file:run1/predictions.nc")
    fc_true, fc_pred = app.results.fc(app.scan)
    order = app.fc_true_plot.order.values
    expected = (fc_pred.values - fc_true.values)[np.ix_(order, order)]
    np.testing.assert_allclose(app.fc_diff_plot.drawn_matrix, expected, atol=1e-6)
    app.scan = app.results.scans[1]
    fc_true, fc_pred = app.results.fc(app.scan)
    np.testing.assert_allclose(app.fc_diff_plot.drawn_matrix,
                               (fc_pred.values - fc_true.values)[np.ix_(order, order)], atol=1e-6)


def test_exports_hold_what_is_shown(data_dir, tmp_path):
    import io

    import pandas as pd

    app = _explorer(data_dir, source="file:run1/predictions.nc")
    app.density = 0.1
    assert app.export("png").startswith(b"\x89PNG")
    assert b"<svg" in app.export("svg")[:500]
    table = pd.read_csv(io.BytesIO(app.export("csv")), index_col=0)
    metrics = app.results.scan_metrics(app.scan)
    assert table.loc["toy", "Tcorr"] == pytest.approx(float(metrics["tcorr"]))
    assert table.loc["toy", "F1@0.10"] == pytest.approx(app.last_f1)
    assert table.loc["chance (edges kept at random)", "F1@0.10"] == pytest.approx(0.1)
    assert set(table["data_source"]) == {"simulated"}
    (tmp_path / "shown.nc").write_bytes(app.export("nc"))
    shown = uv.load(tmp_path / "shown.nc")
    assert set(shown.scan.values.astype(str)) == {app.scan}
    one = app.results.pred.isel(time=np.flatnonzero(app.results.pred.scan.values == app.scan))
    np.testing.assert_array_equal(shown["pred"].values, one["pred"].values)
    assert app._downloads["nc"].filename.endswith(f"{app.scan}.nc")


def test_noise_ceiling_beside_a_file_is_a_reference_row(data_dir):
    pred = uv.load(data_dir / "run1" / "predictions.nc")
    scans = list(dict.fromkeys(pred.scan.values.astype(str)))
    ceiling = xr.DataArray(np.full((len(scans), 64), 0.6), dims=("scan", "roi"),
                           coords={"scan": scans, "roi": pred.roi.values}, name="noise_ceiling")
    ds = ceiling.to_dataset()
    ds.attrs = {"data_source": "simulated", "kind": "noise_ceiling"}
    uv.save(ds, data_dir / "run1" / "noise_ceiling.nc")
    app = _explorer(data_dir, source="file:run1/predictions.nc")
    table = app.metrics()
    assert table.loc["noise ceiling (best achievable mean ROI r)", "Tcorr"] == pytest.approx(0.6)


def test_embedded_models_are_compared_and_referenced(data_dir):
    from unebolt_viz.app.components.views import compare_view, other_models

    app = _explorer(data_dir)
    others = other_models(app)
    assert others and app.results.model not in others
    table = app.metrics()
    for name, res in others.items():
        assert table.loc[name, "role"] == "reference"
        assert table.loc[name, "Tcorr"] == pytest.approx(
            float(res.scan_metrics(app.scan)["tcorr"]))
    view = compare_view(app)
    fig = view[1][0].object
    data = fig.renderers[-1].data_source.data
    other = next(iter(others.values()))
    np.testing.assert_allclose(data["a"], app.results.metrics["temporal_r"].sel(scan=app.scan))
    np.testing.assert_allclose(data["b"], other.metrics["temporal_r"].sel(scan=app.scan))


def test_a_closed_session_releases_its_figures(data_dir):
    app = _explorer(data_dir, source="file:run1/predictions.nc")
    app.release()
    assert app.results is None and app.fc_true_plot is None
    assert app._fc_true_pane.object is None


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
