"""Simulated recordings written to files and read back; the semi-synthetic mode."""

from __future__ import annotations

import json
from collections import Counter

import numpy as np
import pandas as pd
import pytest

from unebolt_viz.simulation import semi_synthetic_cohort, simulate_cohort
from unebolt_viz.simulation.hrf import convolve_hrf, hrf_kernels
from unebolt_viz.simulation.semisynthetic import deconvolve_hrf


@pytest.fixture(scope="module")
def task_cohort():
    return simulate_cohort("tiny", seed=2, condition="task", progress=False, bad_channel="T8")


def test_written_brainvision_is_read_back_by_mne_with_one_trigger_per_volume(tmp_path, task_cohort):
    import mne

    scan = task_cohort.scans[0]
    paths = task_cohort.write(tmp_path, scans=[scan])
    assert all(p.exists() for p in paths)
    vhdr = [p for p in paths if p.suffix == ".vhdr"]
    assert [p.name for p in vhdr] == ["sub-01_ses-01_task-auditory_eeg.vhdr"]
    raw = mne.io.read_raw_brainvision(vhdr[0], preload=True, verbose="error")
    ds = task_cohort.scan_data(scan)
    assert raw.ch_names == task_cohort.ch_names
    assert raw.info["sfreq"] == 200.0
    np.testing.assert_allclose(raw.get_data(units="uV"), ds["eeg"].values, atol=1e-3)
    counts = Counter(raw.annotations.description)
    assert counts["Response/R149"] == ds.sizes["volume"]
    onsets = raw.annotations.onset[raw.annotations.description == "Response/R149"]
    np.testing.assert_allclose(onsets * 200.0, ds["volume_sample"].values)
    types = list(ds["event_type"].values)
    assert counts["Stimulus/S  1"] == types.count("tone")
    assert counts["Stimulus/S  2"] == types.count("target")
    assert counts["Response/R  1"] == types.count("press")


def test_written_bold_tables_and_sidecars(tmp_path, task_cohort):
    scan = task_cohort.scans[1]
    task_cohort.write(tmp_path, scans=[scan])
    func = tmp_path / "sub-02" / "ses-01" / "func"
    table = pd.read_csv(func / "sub-02_ses-01_task-auditory_atlas-embedded64_bold.tsv", sep="\t")
    ds = task_cohort.scan_data(scan)
    assert list(table.columns) == list(task_cohort.atlas.roi)
    np.testing.assert_allclose(table.to_numpy(), ds["bold_clean"].values, rtol=1e-5, atol=1e-5)
    sidecar = json.loads((func / "sub-02_ses-01_task-auditory_atlas-embedded64_bold.json").read_text())
    assert sidecar["RepetitionTime"] == 2.1 and sidecar["data_source"] == "simulated"
    events = pd.read_csv(func / "sub-02_ses-01_task-auditory_events.tsv", sep="\t")
    np.testing.assert_allclose(events["onset"], ds["event_time"].values, atol=1e-5)
    rois = pd.read_csv(tmp_path / "atlas-embedded64_rois.tsv", sep="\t")
    assert list(rois["roi"]) == list(task_cohort.atlas.roi)
    description = json.loads((tmp_path / "dataset_description.json").read_text())
    assert description["data_source"] == "simulated"


def test_bad_channel_is_noisier_than_its_neighbours(task_cohort):
    ds = task_cohort.scan_data(task_cohort.scans[0])
    chans = list(ds["channel"].values)
    sd = ds["eeg"].values.std(axis=1)
    assert sd[chans.index("T8")] > 2 * np.median(sd)


def test_hrf_deconvolution_recovers_a_latent_signal():
    rng = np.random.default_rng(0)
    latent = rng.standard_normal((400, 3))
    bold = convolve_hrf(latent, hrf_kernels(2.1, np.zeros(1)))
    estimate = deconvolve_hrf(bold, 2.1)
    for i in range(3):
        assert np.corrcoef(estimate[40:, i], latent[40:, i])[0, 1] > 0.6


@pytest.mark.shared_data
def test_semi_synthetic_cohort_keeps_the_real_bold(shared_data, shared_path):
    from unebolt_viz.datasets.neurobolt import load_neurobolt_rest
    from unebolt_viz.preprocessing import bold_targets

    shared_path("neurobolt_rest_difumo64", "sub01-scan01.tsv.gz")
    real = load_neurobolt_rest(shared_data, scans=["sub01-scan01"])
    cohort = semi_synthetic_cohort({k: v.isel(time=slice(0, 150)) for k, v in real.items()},
                                   seed=0, progress=False)
    pair = cohort.pair("sub01-scan01")
    assert pair.data_source == "semi-synthetic" == pair.windows.attrs["data_source"]
    expected = bold_targets(real["sub01-scan01"].isel(time=slice(0, 150)))
    np.testing.assert_allclose(pair.bold.values, expected.values[pair.bold.tr_index.values])
    assert pair.windows.sizes["channel"] == 26
    with pytest.raises(ValueError, match="noise ceiling"):
        cohort.noise_ceiling()
