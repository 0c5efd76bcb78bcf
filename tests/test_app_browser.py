"""The FC explorer in a real headless Chromium (Debian's ``chromium``, driven by Playwright).

Without ``/usr/bin/chromium`` or Playwright the test is skipped, and fails under ``CI=true``
(``.ci/run`` installs both). Playwright's own browser downloads are never used.
"""

from __future__ import annotations

import io
import time
from pathlib import Path

import numpy as np
import pytest
from test_app_serve import _predictions, free_port, serve_app, stop, wait_for_page

import unebolt_viz as uv

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
#: Results files in the served data directory (one per tab of the Open-button test).
RESULT_FILES = ("run_a.nc", "run_b.nc", "run_c.nc", "run_d.nc", "run_e.nc")
TABS = ("FC", "Connectome", "Surface R", "Network time series", "Compare models")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="module")
def sync_api(missing_input):
    """Playwright's sync API, once Debian's chromium and Playwright are both there."""
    if not CHROMIUM.exists():
        missing_input(f"headless browser tests need Debian's chromium at {CHROMIUM} "
                      "(apt-get install chromium)")
    try:
        from playwright import sync_api
    except ImportError as err:
        missing_input(f"headless browser tests need Playwright for Python ({err}; "
                      "pip install -e '.[test]')")
    return sync_api


@pytest.fixture(scope="module")
def served(sync_api, tmp_path_factory):
    """The app served as on a fresh machine (empty cache and data folders): its url."""
    data_dir = tmp_path_factory.mktemp("appdata")
    for k, name in enumerate(RESULT_FILES):
        uv.save(_predictions(seed=k), data_dir / name)
    port = free_port()
    proc = serve_app(data_dir, port, cache=tmp_path_factory.mktemp("fresh_cache"))
    url = f"http://127.0.0.1:{port}/fc_explorer"
    try:
        wait_for_page(url, proc)
        yield url
    finally:
        stop(proc)


def _colours(png: bytes) -> np.ndarray:
    import matplotlib.image as mpimg

    rgb = mpimg.imread(io.BytesIO(png), format="png")[..., :3]
    return np.unique((rgb.reshape(-1, 3) * 255).round().astype(int), axis=0)


def _wait_for_change(locator, old: str, timeout: float = 30.0) -> str:
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        text = locator.inner_text()
        if text != old:
            return text
        time.sleep(0.1)
    raise AssertionError(f"{old!r} did not change within {timeout} s")


def test_explorer_in_headless_chromium(served, sync_api, tmp_path):
    app_url = served
    origin = app_url.rsplit("/", 1)[0]
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            errors, requests = [], []
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda err: errors.append(str(err)))
            page.on("request", lambda r: requests.append(r.url))
            page.goto(app_url)
            f1 = page.locator(".f1-value")
            f1.wait_for(timeout=90_000)
            assert "SIMULATED DATA" in page.locator(".provenance").inner_text()

            # Both matrices are drawn: canvases of matrix size, painted in many colours
            # (the diverging map plus the network bars).
            for selector in (".fc-true", ".fc-pred"):
                pane = page.locator(selector).first
                pane.locator("canvas").first.wait_for(timeout=30_000)
                box = pane.bounding_box()
                assert box["width"] > 300 and box["height"] > 300, selector
                assert len(_colours(pane.screenshot())) > 50, f"{selector} looks blank"

            # Moving the sparsity slider (keyboard on its handle) changes the F1 readout.
            before = f1.inner_text()
            handle = page.locator(".density-slider .noUi-handle").first
            handle.focus()
            page.keyboard.press("ArrowRight")
            page.keyboard.press("ArrowRight")
            after = _wait_for_change(f1, before)
            start = time.monotonic()
            while "0.35" not in after and time.monotonic() - start < 30:  # both presses applied
                time.sleep(0.1)
                after = f1.inner_text()
            assert "0.35" in after, after
            assert after.split(":")[-1].strip() != before.split(":")[-1].strip()

            # Clicking a cell of the true matrix shows that ROI pair's time series.
            pair = page.locator(".roi-pair").first
            pair_before = pair.screenshot()
            box = page.locator(".fc-true").first.bounding_box()
            page.mouse.click(box["x"] + 0.55 * box["width"], box["y"] + 0.55 * box["height"])
            start = time.monotonic()
            while pair.screenshot() == pair_before and time.monotonic() - start < 20:
                time.sleep(0.2)
            assert pair.screenshot() != pair_before, "the ROI time series did not change"

            page.screenshot(path=str(tmp_path / "fc_explorer.png"), full_page=True)

            # The surface tab shows the per-ROI R map (a server-rendered image), the network
            # tab one panel per network.
            page.locator(".bk-tab", has_text="Surface R").first.click()
            surface = page.locator(".surface-map img").first
            surface.wait_for(timeout=120_000)
            assert surface.bounding_box()["width"] > 400
            assert len(_colours(page.locator(".surface-map").first.screenshot())) > 50
            page.screenshot(path=str(tmp_path / "fc_explorer_surface.png"), full_page=True)
            page.locator(".bk-tab", has_text="Network time series").first.click()
            page.get_by_text("Network signals").first.wait_for(timeout=60_000)
            assert not errors, errors
            remote = [u for u in requests if not u.startswith((origin, "ws://127.0.0.1",
                                                               "data:", "blob:"))]
            assert not remote, f"the page fetched from the network: {remote}"
        finally:
            browser.close()


def _new_page(sync_api, playwright, app_url):
    browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    errors: list[str] = []
    page.on("pageerror", lambda err: errors.append(str(err)))
    page.goto(app_url)
    page.locator(".f1-value").wait_for(timeout=90_000)
    return browser, page, errors


def test_open_button_opens_a_file_from_every_tab(served, sync_api, tmp_path):
    """The Open button used to spill under the tabs, where real clicks did nothing."""
    with sync_api.sync_playwright() as playwright:
        browser, page, errors = _new_page(sync_api, playwright, served)
        try:
            header = page.locator(".provenance").first
            for tab, name in zip(TABS, RESULT_FILES):
                page.locator(".bk-tab", has_text=tab).first.click(timeout=10_000)
                page.get_by_placeholder("run1/predictions.nc").fill(name)
                button = page.get_by_role("button", name="Open", exact=True)
                box, tabs = button.bounding_box(), page.locator(".bk-header").first.bounding_box()
                assert box["x"] + box["width"] <= tabs["x"] + 1, "the button spills under the tabs"
                # A real click (Playwright refuses to click an element covered by another).
                button.click(timeout=10_000)
                start = time.monotonic()
                while name not in header.inner_text() and time.monotonic() - start < 60:
                    time.sleep(0.2)
                assert name in header.inner_text(), f"Open did nothing on the {tab} tab"
            page.screenshot(path=str(tmp_path / "opened.png"), full_page=True)
            assert not errors, errors
        finally:
            browser.close()


def test_selection_follows_a_change_of_source(served, sync_api, shared_data):
    """After switching to the real data, the old "Selected: L Visual 1 x ..." stayed."""
    with sync_api.sync_playwright() as playwright:
        browser, page, errors = _new_page(sync_api, playwright, served)
        try:
            info = page.get_by_text("Selected").locator("..").first
            info.wait_for(timeout=30_000)
            assert "predicted r" in info.inner_text()
            page.locator("select").first.select_option(label="Real shared data (DiFuMo-64 BOLD, "
                                                             "no EEG)")
            page.get_by_text("REAL RECORDINGS").first.wait_for(timeout=60_000)
            start = time.monotonic()
            while "predicted r" in info.inner_text() and time.monotonic() - start < 30:
                time.sleep(0.2)
            text = info.inner_text()
            assert "predicted r" not in text and "L Visual" not in text, text
            assert "no prediction" in text
            assert not errors, errors
        finally:
            browser.close()
