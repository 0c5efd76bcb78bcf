"""The coupling lab: its science (coupling, noise and HRF move r the way they should), its
``panel serve`` page, and the app in a real headless Chromium.

The science tests compare medians over seeds 0-2 of the lab's small simulated study (a
held-out scan of 4 minutes gives r a spread of about 0.1); each stage is cached, so the seeds
are simulated once for all tests.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from test_app_browser import CHROMIUM, CHROMIUM_ARGS, _colours, _wait_for_change
from test_app_serve import free_port, stop, wait_for_page

from unebolt_viz.app.lab.model import (
    LabSettings,
    hrf_predictor,
    lab_cohort,
    lab_hrf,
    run_lab,
)
from unebolt_viz.simulation import BANDS

REPO_ROOT = Path(__file__).resolve().parents[1]
SEEDS = (0, 1, 2)


def _all_r(result) -> float:
    return float(result.ridge_r.mean())


def _median(values) -> float:
    return float(np.median(list(values)))


@pytest.fixture(scope="module")
def defaults():
    return {seed: run_lab(LabSettings(seed=seed)) for seed in SEEDS}


# ------------------------------------------------------------------------------ the science


def test_settings_refuse_bad_values_and_name_them():
    with pytest.raises(ValueError, match="physio_noise"):
        LabSettings(physio_noise=-1.0)
    with pytest.raises(ValueError, match="hrf_peak"):
        LabSettings(hrf_peak=30.0)
    with pytest.raises(ValueError, match="band 'mu'"):
        LabSettings().with_gain("mu", "Visual", 1.0)
    with pytest.raises(ValueError, match="Unknown network"):
        LabSettings().with_gain("alpha", "Occipital", 1.0)
    s = LabSettings().with_gain("alpha", "Vis", 0.0)  # aliases name the same network
    assert s.gain("alpha", "Visual") == 0.0 and s.gain("beta", "Somatomotor") == -0.5
    assert hash(s) == hash(LabSettings().with_gain("alpha", "Visual", 0.0))


def test_the_labs_default_scans_are_the_simulators(defaults):
    result = defaults[0]
    cohort = lab_cohort(result.settings)
    pair = cohort.pair(result.test_scan)
    assert result.test_scan == cohort.scans[-1]
    assert list(result.train_scans) == cohort.scans[:-1]
    np.testing.assert_array_equal(pair.bold.tr_index.values, result.kept)
    np.testing.assert_allclose(result.target, pair.bold.values, atol=1e-5)
    assert result.data_source == "simulated"


def test_coupling_off_takes_ridge_r_to_zero_and_the_ceiling_bounds_it(defaults):
    off = {seed: run_lab(LabSettings(seed=seed, strength=0.0)) for seed in SEEDS}
    coupled, uncoupled = _median(map(_all_r, defaults.values())), _median(map(_all_r, off.values()))
    assert coupled > 0.2, coupled
    assert abs(uncoupled) < 0.15, uncoupled
    assert coupled - uncoupled > 0.2
    for result in (*defaults.values(), *off.values()):
        # the coupling acts on the EEG only: the BOLD and its ceiling are the same
        np.testing.assert_array_equal(result.target, defaults[result.settings.seed].target)
        assert result.noise_ceiling.mean() > _all_r(result)


def test_alpha_visual_gain_drives_the_visual_predictions(defaults):
    zero = {seed: run_lab(LabSettings(seed=seed).with_gain("alpha", "Visual", 0.0))
            for seed in SEEDS}

    def visual_r(result) -> float:
        return float(result.network_mean(result.ridge_r, "Visual"))

    def predictor_r(result) -> float:
        return hrf_predictor(result, "alpha", "Visual")["r"]

    # alpha power falls when visual BOLD rises: the HRF-convolved envelope anticorrelates
    assert _median(map(predictor_r, defaults.values())) < -0.3
    assert _median(map(predictor_r, zero.values())) > \
        _median(map(predictor_r, defaults.values())) + 0.3
    assert _median(map(visual_r, zero.values())) < _median(map(visual_r, defaults.values()))
    for seed in SEEDS:
        np.testing.assert_array_equal(zero[seed].target, defaults[seed].target)
        alpha = BANDS.index("alpha")
        assert not np.allclose(zero[seed].envelopes[alpha, :, 0],
                               defaults[seed].envelopes[alpha, :, 0])


def test_more_noise_means_lower_r(defaults):
    noisy_bold = {seed: run_lab(LabSettings(seed=seed, physio_noise=2.7, thermal_noise=1.95))
                  for seed in SEEDS}
    noisy_eeg = {seed: run_lab(LabSettings(seed=seed, envelope_noise=0.9)) for seed in SEEDS}
    for seed in SEEDS:
        base = defaults[seed]
        assert noisy_bold[seed].noise_ceiling.mean() < base.noise_ceiling.mean() - 0.1
        # EEG noise leaves the BOLD alone
        np.testing.assert_array_equal(noisy_eeg[seed].noise_ceiling, base.noise_ceiling)
    base_r = _median(map(_all_r, defaults.values()))
    assert _median(map(_all_r, noisy_bold.values())) < base_r - 0.05
    assert _median(map(_all_r, noisy_eeg.values())) < base_r - 0.05


def test_hrf_settings_change_the_bold_not_the_eeg(defaults):
    late = run_lab(LabSettings(hrf_delay=3.0, hrf_peak=6.0))
    base = defaults[0]
    np.testing.assert_array_equal(late.envelopes, base.envelopes)
    assert not np.allclose(late.target, base.target)
    tr = base.tr
    shift = (np.argmax(lab_hrf(late.settings)) - np.argmax(lab_hrf(base.settings))) * tr
    assert 2 * tr - 1e-9 <= shift <= 3 * tr + 1e-9, shift  # 4 s later, on the TR grid
    # the predictor goes through the lab's HRF, so it follows the BOLD wherever the HRF peaks
    for result in (base, late):
        assert hrf_predictor(result, "alpha", "Visual")["r"] < -0.3


# ------------------------------------------------------------------------------ the app


def _release(slider, value: float) -> None:
    """What a browser does when a slider is let go: ``value_throttled`` moves."""
    import param

    with param.edit_constant(slider):
        slider.param.update(value=value, value_throttled=value)


def test_app_sliders_drive_the_readout_and_the_figures(defaults):
    from bokeh.document import Document

    from unebolt_viz.app import CouplingLab

    lab = CouplingLab()
    lab.__panel__().get_root(Document())
    assert lab.readout["ridge_r"] == pytest.approx(_all_r(defaults[0]))
    assert "simulated data" in lab.figures.predictor.title.text
    assert "SIMULATED DATA" in lab._header.object
    # the network menu shows that network's gains; releasing a gain slider sets that gain only
    lab.network_select.value = "Default"
    assert {b: s.value for b, s in lab.gain_sliders.items()} == \
        {b: LabSettings().gain(b, "Default") for b in BANDS}
    _release(lab.gain_sliders["theta"], 0.0)
    assert lab.settings == LabSettings().with_gain("theta", "Default", 0.0)
    assert lab.readout["ridge_r"] == pytest.approx(_all_r(run_lab(lab.settings)))
    _release(lab.sliders["physio_noise"], 2.7)
    assert lab.readout["noise_ceiling"] < defaults[0].noise_ceiling.mean()
    lab.reset()
    assert lab.settings == LabSettings() and lab.sliders["physio_noise"].value == 0.9
    assert lab.gain_sliders["theta"].value == LabSettings().gain("theta", "Default")


# ------------------------------------------------------------------------------ panel serve


def serve_lab(port: int, cache: Path) -> subprocess.Popen:
    """``panel serve apps/coupling_lab.py`` on loopback, with an empty unebolt_viz cache."""
    env = dict(os.environ, UNEBOLT_VIZ_DATA=str(cache),
               PYTHONPATH=os.pathsep.join([str(REPO_ROOT), os.environ.get("PYTHONPATH", "")]))
    return subprocess.Popen(
        [sys.executable, "-m", "panel", "serve", "apps/coupling_lab.py", "--port", str(port),
         "--address", "127.0.0.1", f"--allow-websocket-origin=127.0.0.1:{port}"],
        cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


@pytest.fixture(scope="module")
def served_lab(tmp_path_factory):
    """The lab served as on a fresh machine: ``(url, first page)``; its log is checked last."""
    port = free_port()
    proc = serve_lab(port, tmp_path_factory.mktemp("fresh_cache"))
    url = f"http://127.0.0.1:{port}/coupling_lab"
    try:
        yield url, wait_for_page(url, proc, timeout=120.0)
    finally:
        log = stop(proc)
    assert "Traceback" not in log, log


def test_panel_serve_answers_with_the_lab(served_lab):
    url, (status, body) = served_lab
    port = url.split(":")[-1].split("/")[0]
    assert status == 200
    assert "<title>UnEBOLT coupling lab</title>" in body
    assert "bokeh" in body.lower()
    assert "http://" not in body.replace(f"http://127.0.0.1:{port}", ""), \
        "the page must not load resources from the network"


# ------------------------------------------------------------------------------ browser


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


@pytest.mark.browser
def test_lab_in_headless_chromium(sync_api, served_lab, tmp_path):
    url = served_lab[0]
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            _drive_lab(browser.new_page(viewport={"width": 1500, "height": 1100}), url,
                       tmp_path)
        finally:
            browser.close()


def _ridge_value(text: str) -> float:
    match = re.search(r"(-?\d+\.\d+)", text)
    assert match, text
    return float(match.group(1))


def _drive_lab(page, url: str, tmp_path: Path) -> None:
    errors = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda err: errors.append(str(err)))
    page.goto(url)
    ridge = page.locator(".ridge-r")
    ridge.wait_for(timeout=120_000)
    assert "SIMULATED DATA" in page.locator(".provenance").inner_text()
    for selector in (".lab-envelopes", ".lab-predictor", ".lab-ceiling", ".lab-hrf"):
        pane = page.locator(selector).first
        pane.locator("canvas").first.wait_for(timeout=30_000)
        assert pane.bounding_box()["width"] > 300, selector
        assert len(_colours(pane.screenshot())) > 20, f"{selector} looks blank"
    before = ridge.inner_text()
    _ridge_value(before)
    # Switching the coupling off (keyboard on the strength slider's handle) changes r.
    handle = page.locator(".strength-slider .noUi-handle").first
    handle.focus()
    page.keyboard.press("Home")
    after = _wait_for_change(ridge, before, timeout=120.0)
    assert _ridge_value(after) != _ridge_value(before), (before, after)
    page.screenshot(path=str(tmp_path / "coupling_lab.png"), full_page=True)
    assert not errors, errors
