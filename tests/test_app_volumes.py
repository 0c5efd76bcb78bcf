"""The FC explorer's volumes tab: true and predicted slices of a results file holding volumes.

In-process tests of the component and the explorer, then the served app in headless Chromium
(skipped without Debian's chromium and Playwright, failing under ``CI=true``).
"""

from __future__ import annotations

import time

import numpy as np
import pytest
import xarray as xr
from test_app_serve import _explorer, _predictions, free_port, serve_app, stop, wait_for_page

import unebolt_viz as uv
from unebolt_viz.app.sources import list_results_files, volumes_beside
from unebolt_viz.data.volumes import bold_volumes
from unebolt_viz.metrics.volumetric import psnr, ssim

SHAPE = (24, 20, 6)
N_VOLUMES = 4


def _volume_pair(seed: int = 0) -> tuple[xr.DataArray, xr.DataArray]:
    """True and predicted volumes of the two scans of ``_predictions``, each in [0, 1]."""
    rng = np.random.default_rng(seed)
    affine = np.diag([3.0, 3.0, 4.0, 1.0])
    mask = np.zeros(SHAPE, bool)
    mask[2:-2, 2:-2, :] = True
    n = 2 * N_VOLUMES
    true = rng.uniform(0, 1, (n, *SHAPE)).astype(np.float32)
    pred = np.clip(true + 0.2 * rng.standard_normal(true.shape), 0, 1).astype(np.float32)
    common = {"scan": np.repeat(["sub00-scan01", "sub01-scan01"], N_VOLUMES),
              "subject": np.repeat(["sub00", "sub01"], N_VOLUMES),
              "tr_index": np.tile(np.arange(N_VOLUMES), 2), "data_source": "simulated"}
    return (bold_volumes(true, affine, mask, 2.1, name="true", **common),
            bold_volumes(pred, affine, mask, 2.1, name="pred", attrs={"model": "toy-volumes"},
                         **common))


def _write_volumes(path, seed: int = 0) -> tuple[xr.DataArray, xr.DataArray]:
    true, pred = _volume_pair(seed)
    xr.Dataset({"true": true, "pred": pred}).to_netcdf(path, engine="h5netcdf")
    return true, pred


@pytest.fixture
def vol_dir(tmp_path):
    root = tmp_path / "appdata"
    for name in ("run_v", "plain", "named", "escape"):
        (root / name).mkdir(parents=True)
    uv.save(_predictions(), root / "run_v" / "roi_predictions.nc")
    _write_volumes(root / "run_v" / "volumes.nc")
    uv.save(_predictions(seed=1), root / "plain" / "predictions.nc")
    named = _predictions(seed=2)
    named.attrs["volumes_file"] = "vols_e2f.nc"
    uv.save(named, root / "named" / "pred.nc")
    _write_volumes(root / "named" / "vols_e2f.nc", seed=3)
    _write_volumes(tmp_path / "outside.nc")
    escape = _predictions(seed=4)
    escape.attrs["volumes_file"] = "../../outside.nc"
    uv.save(escape, root / "escape" / "pred.nc")
    return root


def test_volumes_are_found_beside_a_results_file_and_never_outside(vol_dir):
    attrs = dict(uv.load(vol_dir / "run_v" / "roi_predictions.nc").attrs)
    assert volumes_beside("file:run_v/roi_predictions.nc", attrs, vol_dir) == \
        vol_dir / "run_v" / "volumes.nc"
    assert volumes_beside("file:plain/predictions.nc", {}, vol_dir) is None
    listed = list_results_files(vol_dir)
    assert "run_v/roi_predictions.nc" in listed and "run_v/volumes.nc" not in listed
    assert "named/vols_e2f.nc" in listed, "only the default name is known to be volumes"
    assert volumes_beside("embedded", {}, vol_dir) is None
    assert volumes_beside("file:named/pred.nc", {"volumes_file": "vols_e2f.nc"}, vol_dir) == \
        vol_dir / "named" / "vols_e2f.nc"
    with pytest.raises(FileNotFoundError, match="volumes_file"):
        volumes_beside("file:named/pred.nc", {"volumes_file": "missing.nc"}, vol_dir)
    with pytest.raises(PermissionError, match="outside"):
        volumes_beside("file:escape/pred.nc", {"volumes_file": "../../outside.nc"}, vol_dir)


def test_slice_slider_shows_that_slice_of_the_array(vol_dir):
    from bokeh.document import Document

    from unebolt_viz.app.components.volumes import VolumeSlices

    true, pred = _volume_pair()
    view = VolumeSlices(true, pred, scan="sub01-scan01", model="toy")
    view.__panel__().get_root(Document())
    assert list(view.times) == list(range(N_VOLUMES, 2 * N_VOLUMES)), "only the scan's volumes"
    for t_index, z in ((0, 0), (0, 5), (2, 3)):
        view.t_slider.value = t_index
        view.z_slider.value = z
        t = N_VOLUMES + t_index
        shown_true = view.sources["true"].data["image"][0]
        shown_pred = view.sources["pred"].data["image"][0]
        assert shown_true.shape == (SHAPE[1], SHAPE[0]), "rows are y, columns x"
        np.testing.assert_allclose(shown_true, true.values[t, :, :, z].T)
        np.testing.assert_allclose(shown_pred, pred.values[t, :, :, z].T)
        np.testing.assert_allclose(view.sources["diff"].data["image"][0],
                                   (pred.values[t, :, :, z] - true.values[t, :, :, z]).T,
                                   atol=1e-6)
        assert f"slice z = {z} of {SHAPE[2]}" in view.readout.text
        assert f"volume {t_index} of scan sub01-scan01" in view.readout.text
        # Scores of the whole volume, slices along z as channels (the papers' layout).
        a = np.moveaxis(true.values[t].astype(float), -1, 0)
        b = np.moveaxis(pred.values[t].astype(float), -1, 0)
        assert view.scores["ssim"] == pytest.approx(ssim(a, b), abs=1e-12)
        assert view.scores["psnr"] == pytest.approx(psnr(a, b), abs=1e-12)
        assert f"SSIM {ssim(a, b):.3f}" in view.readout.text
    assert "SIMULATED DATA" in view.readout.text
    # A slice the other slider did not move to is a different image.
    view.z_slider.value = 1
    assert not np.allclose(view.sources["true"].data["image"][0], true.values[6, :, :, 3].T)


def test_volumes_out_of_range_are_min_max_scaled_for_display():
    from unebolt_viz.app.components.volumes import scaled_volume, volume_scores

    vol = np.arange(24.0).reshape(2, 3, 4) * 3 - 5
    scaled, rescaled = scaled_volume(vol)
    assert rescaled and scaled.min() == 0 and scaled.max() == 1
    np.testing.assert_allclose(scaled, (vol + 5) / 69)
    unit, rescaled = scaled_volume(scaled)
    assert not rescaled and unit is not None
    same = np.random.default_rng(0).uniform(size=(16, 16, 3))
    scores = volume_scores(same, same)
    assert scores["ssim"] == pytest.approx(1.0) and scores["psnr"] == np.inf


def test_explorer_adds_the_volumes_tab_only_for_files_holding_volumes(vol_dir):
    from unebolt_viz.app.explorer import TAB_NAMES

    app = _explorer(vol_dir, source="file:plain/predictions.nc")
    assert [app._tabs._names[k] for k in range(len(app._tabs))] == list(TAB_NAMES)
    app.source = "file:run_v/roi_predictions.nc"
    assert len(app._tabs) == len(TAB_NAMES) + 1 and app._tabs._names[-1] == "Volumes"
    app._tabs.active = len(TAB_NAMES)
    view = app.volume_slices
    assert view is not None and view.scan == app.scan
    true, _ = _volume_pair()
    scan_times = np.flatnonzero(true.scan.values == app.scan)
    np.testing.assert_allclose(view.sources["true"].data["image"][0],
                               true.values[scan_times[0], :, :, SHAPE[2] // 2].T)
    # A change of scan redraws the tab with that scan's volumes.
    other = [s for s in app.results.scans if s != app.scan][0]
    app.scan = other
    assert app.volume_slices is not view and app.volume_slices.scan == other
    assert set(true.scan.values[app.volume_slices.times]) == {other}
    # Back to a file without volumes: the tab goes, the first tab is shown.
    app.source = "file:plain/predictions.nc"
    assert len(app._tabs) == len(TAB_NAMES) and app._tabs.active == 0
    # A file naming its volumes file elsewhere in its folder.
    app.source = "file:named/pred.nc"
    app._tabs.active = len(TAB_NAMES)
    named_true, _ = _volume_pair(seed=3)
    assert app.volume_slices.true.shape == named_true.shape
    t0 = app.volume_slices.times[0]
    np.testing.assert_allclose(app.volume_slices.sources["true"].data["image"][0],
                               named_true.values[t0, :, :, SHAPE[2] // 2].T)


def test_a_volumes_file_outside_the_data_directory_is_refused(vol_dir):
    from unebolt_viz.app.explorer import TAB_NAMES

    app = _explorer(vol_dir, source="file:escape/pred.nc")
    app._tabs.active = len(TAB_NAMES)
    (note,) = app._tab_panes["Volumes"].objects
    assert "is outside the app" in note.object and "outside.nc" in note.object
    assert getattr(app, "volume_slices", None) is None, "nothing outside was read"


# ------------------------------------------------------------------------------ served app


@pytest.mark.browser
def test_volumes_tab_in_headless_chromium(vol_dir, missing_input, tmp_path):
    """Served with ``panel serve``: the tab renders, the slice slider changes the slice shown."""
    from test_app_browser import CHROMIUM, CHROMIUM_ARGS

    if not CHROMIUM.exists():
        missing_input(f"headless browser tests need Debian's chromium at {CHROMIUM}")
    try:
        from playwright import sync_api
    except ImportError as err:
        missing_input(f"headless browser tests need Playwright for Python ({err})")
    port = free_port()
    proc = serve_app(vol_dir, port, cache=tmp_path / "fresh_cache")
    url = f"http://127.0.0.1:{port}/fc_explorer?source=file:run_v/roi_predictions.nc"
    try:
        wait_for_page(url, proc)
        with sync_api.sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM),
                                                 args=CHROMIUM_ARGS)
            try:
                page = browser.new_page(viewport={"width": 1400, "height": 1000})
                errors: list[str] = []
                page.on("pageerror", lambda err: errors.append(str(err)))
                page.goto(url)
                page.locator(".f1-value").wait_for(timeout=90_000)
                page.locator(".bk-tab", has_text="Volumes").first.click(timeout=30_000)
                where = page.locator(".volume-where").first
                where.wait_for(timeout=60_000)
                assert f"slice z = {SHAPE[2] // 2} of {SHAPE[2]}" in where.inner_text()
                pane = page.locator(".volume-pred").first
                pane.locator("canvas").first.wait_for(timeout=30_000)
                before = pane.screenshot()
                handle = page.locator(".volume-slice-slider .noUi-handle").first
                handle.focus()
                page.keyboard.press("ArrowRight")
                wanted = f"slice z = {SHAPE[2] // 2 + 1} of {SHAPE[2]}"
                start = time.monotonic()
                while wanted not in where.inner_text() and time.monotonic() - start < 30:
                    time.sleep(0.1)
                assert wanted in where.inner_text(), where.inner_text()
                start = time.monotonic()
                while pane.screenshot() == before and time.monotonic() - start < 20:
                    time.sleep(0.2)
                assert pane.screenshot() != before, "the predicted slice image did not change"
                assert page.locator(".volume-source").first.inner_text() == "SIMULATED DATA"
                page.screenshot(path=str(tmp_path / "volumes_tab.png"), full_page=True)
                assert not errors, errors
            finally:
                browser.close()
    finally:
        log = stop(proc)
    assert "Traceback" not in log, log
