"""Pairing EEG windows with BOLD volumes, one-call loading, BIDS discovery, simulator round trip."""

from __future__ import annotations

import json
import warnings

import mne
import numpy as np
import pandas as pd
import pytest

import unebolt_viz as uv
from unebolt_viz.conventions import PAPER_CHANNELS
from unebolt_viz.io.bids import (
    find_bids_runs,
    parse_entities,
    runs_table,
    scan_and_subject,
    subject_groups,
)
from unebolt_viz.io.eeg import eeg_windows_from_raw, prepare_eeg, read_eeg
from unebolt_viz.io.ingest import TriggerMismatchError, load_scan_pair, pair_scan
from unebolt_viz.preprocessing import bold_targets

TR = 2.1
ROIS = {"roi": ["A", "B", "C", "D"], "network": ["Visual", "Default", "Control", "Limbic"]}


def _recording(n_triggers=60, interval=TR, first=3.0, sfreq=250.0, seed=0, extra_seconds=1.0,
               channels=PAPER_CHANNELS, trigger="Response/R149"):
    rng = np.random.default_rng(seed)
    onsets = first + interval * np.arange(n_triggers)
    seconds = onsets[-1] + extra_seconds if n_triggers else 60.0
    info = mne.create_info(list(channels), sfreq, "eeg")
    raw = mne.io.RawArray(rng.standard_normal((len(channels), int(seconds * sfreq))) * 1e-5,
                          info, verbose="error")
    raw.set_annotations(mne.Annotations(onsets, 0.0, trigger))
    return raw, onsets


def _bold(n_volumes, tr=TR, seed=1, scan="sub-01_task-rest_run-1", subject="sub-01",
          source="real"):
    rng = np.random.default_rng(seed)
    return uv.roi_timeseries(rng.standard_normal((n_volumes, 4)).cumsum(0), ROIS, tr, scan=scan,
                             subject=subject, data_source=source)


def _write_brainvision(raw, path):
    raw.export(path, fmt="brainvision", verbose="error")
    return path


# ----------------------------------------------------------------------------------------------
# pair_scan


def test_pair_scan_drops_volumes_without_a_full_window_and_aligns_targets():
    raw, onsets = _recording(n_triggers=60)
    prepared, report = prepare_eeg(raw)
    bold = _bold(60)
    pair = pair_scan(prepared, bold, report=report)

    full = onsets >= 16.0  # 16 s of EEG before the volume, recording starts at 0
    assert pair.n_windows == int(full.sum())
    assert pair.windows.attrs["n_dropped_volumes"] == int((~full).sum()) == 7
    assert pair.bold.attrs["dropped_tr_index"] == ",".join(map(str, np.flatnonzero(~full)))
    np.testing.assert_array_equal(pair.windows.tr_index.values, np.flatnonzero(full))
    np.testing.assert_allclose(pair.windows.onset.values, onsets[full])
    # Targets are computed over the whole scan, then the dropped volumes are removed.
    np.testing.assert_allclose(pair.bold.values, bold_targets(bold).values[full])
    assert "target_processing" in pair.bold.attrs
    # Window i is the 16 s before trigger i, in microvolts.
    eeg = prepared.get_data() * 1e6
    for i in (0, pair.n_windows - 1):
        end = int(round(onsets[full][i] * 200))
        np.testing.assert_allclose(pair.windows.values[i], eeg[:, end - 3200:end], rtol=1e-5,
                                   atol=1e-4)
    assert np.shares_memory(pair.windows.values[0], pair.windows.values[1])
    assert pair.windows.attrs["source_file"] == "<in-memory Raw>"

    # Windows cut beforehand pair the same way.
    windows = eeg_windows_from_raw(prepared, scan=pair.scan, subject=pair.subject)
    again = pair_scan(windows, bold)
    np.testing.assert_array_equal(again.windows.values, pair.windows.values)
    np.testing.assert_array_equal(again.bold.values, pair.bold.values)
    assert np.shares_memory(again.windows.values[0], again.windows.values[1])


def test_fewer_triggers_than_volumes(tmp_path):
    raw, _ = _recording(n_triggers=50)
    eeg_path = _write_brainvision(raw, tmp_path / "sub-01_task-rest_run-1_eeg.vhdr")
    prepared, _ = prepare_eeg(read_eeg(eeg_path))
    bold = _bold(60).assign_attrs(source_file="sub-01_task-rest_run-1_bold.tsv")
    with pytest.raises(TriggerMismatchError) as err:
        pair_scan(prepared, bold)
    message = str(err.value)
    assert str(eeg_path) in message and "sub-01_task-rest_run-1_bold.tsv" in message
    assert "50 'R149' triggers" in message and "60 volumes" in message
    assert "fewer triggers than volumes" in message and "bold.isel(time=slice(0, 50))" in message
    # The fix it proposes works.
    pair = pair_scan(prepared, bold.isel(time=slice(0, 50)))
    assert pair.windows.attrs["n_volumes"] == 50


def test_tr_mismatch_between_triggers_and_bold(tmp_path):
    raw, _ = _recording(n_triggers=60, interval=2.0)
    eeg_path = _write_brainvision(raw, tmp_path / "rec.vhdr")
    prepared, _ = prepare_eeg(read_eeg(eeg_path))
    bold = _bold(60).assign_attrs(source_file="bold.tsv")
    with pytest.raises(TriggerMismatchError) as err:
        pair_scan(prepared, bold)
    message = str(err.value)
    assert message.startswith("TR mismatch") and str(eeg_path) in message and "bold.tsv" in message
    assert "every 2 s" in message and "TR = 2.1 s" in message and "RepetitionTime" in message
    # Same check for a TR grid without triggers.
    with pytest.raises(TriggerMismatchError, match="tr=2 s was given"):
        pair_scan(prepared, bold, trigger=None, tr=2.0, first_volume=3.0)


def test_extra_triggers_need_an_offset_and_gaps_are_refused():
    raw, onsets = _recording(n_triggers=64)
    prepared, _ = prepare_eeg(raw)
    bold = _bold(60)
    with pytest.raises(TriggerMismatchError, match="pass trigger_offset=4"):
        pair_scan(prepared, bold)
    pair = pair_scan(prepared, bold, trigger_offset=4)
    kept = onsets[4:][onsets[4:] >= 16.0]
    np.testing.assert_allclose(pair.windows.onset.values, kept)
    assert pair.windows.tr_index.values[0] == int(np.argmax(onsets[4:] >= 16.0))

    gappy, _ = _recording(n_triggers=64)
    annot = gappy.annotations
    gappy.set_annotations(annot[np.r_[0:30, 33:64]])
    with pytest.raises(TriggerMismatchError, match=r"gap\(s\).*after trigger 29"):
        pair_scan(prepare_eeg(gappy)[0], _bold(61))


def test_tr_grid_without_triggers_pairs_by_time():
    raw, onsets = _recording(n_triggers=60, trigger="unrelated")
    prepared, _ = prepare_eeg(raw)
    pair = pair_scan(prepared, _bold(60), trigger=None, first_volume=3.0)
    np.testing.assert_allclose(pair.windows.onset.values, onsets[onsets >= 16.0])


def test_data_source_must_agree():
    raw, _ = _recording(n_triggers=40)
    prepared, _ = prepare_eeg(raw)
    with pytest.raises(uv.InvalidDataError, match="semi-synthetic pair must say so"):
        pair_scan(prepared, _bold(40, source="simulated"))
    pair = pair_scan(prepared, _bold(40, source="simulated"), data_source="simulated")
    assert pair.data_source == "simulated"


# ----------------------------------------------------------------------------------------------
# load_scan_pair: files to ScanPair in one call


def test_load_scan_pair_from_brainvision_and_roi_table(tmp_path):
    raw, onsets = _recording(n_triggers=40, sfreq=500.0,
                             channels=[*PAPER_CHANNELS, "ECG", "EOG1"])
    eeg_path = _write_brainvision(raw, tmp_path / "sub-03_task-rest_run-2_eeg.vhdr")
    bold = _bold(40, scan="x", subject="y")
    bold_path = tmp_path / "sub-03_task-rest_run-2_bold.tsv"
    pd.DataFrame(bold.values, columns=ROIS["roi"]).to_csv(bold_path, sep="\t", index=False)
    (tmp_path / "sub-03_task-rest_run-2_bold.json").write_text(json.dumps({"RepetitionTime": TR}))

    pair = load_scan_pair(eeg_path, bold_path, rois=ROIS, highpass=0.5)
    assert pair.scan == "sub-03_task-rest_run-2" and pair.subject == "sub-03"
    assert list(pair.windows.channel.values) == list(PAPER_CHANNELS)
    assert pair.windows.attrs["channels_dropped"] == "ECG,EOG1"
    assert pair.windows.attrs["highpass_hz"] == 0.5
    assert pair.windows.attrs["source_file"] == str(eeg_path)
    full = onsets >= 16.0
    np.testing.assert_allclose(pair.bold.values, bold_targets(bold.values, tr=TR)[full],
                               atol=1e-9)

    assert pair.data_source == "real"  # nothing declared otherwise

    # The same steps by hand give the same windows.
    prepared, _ = prepare_eeg(read_eeg(eeg_path), highpass=0.5)
    by_hand = eeg_windows_from_raw(prepared, scan="s", subject="t")
    np.testing.assert_array_equal(pair.windows.values, by_hand.values)

    # Real EEG with simulated BOLD, as the sidecars declare, is semi-synthetic.
    (tmp_path / "sub-03_task-rest_run-2_eeg.json").write_text(json.dumps({"data_source": "real"}))
    (tmp_path / "sub-03_task-rest_run-2_bold.json").write_text(
        json.dumps({"RepetitionTime": TR, "data_source": "simulated"}))
    mixed = load_scan_pair(eeg_path, bold_path, rois=ROIS)
    assert mixed.data_source == "semi-synthetic" == mixed.windows.attrs["data_source"]
    with pytest.raises(uv.InvalidDataError, match="semi-synthetic, not 'real'"):
        load_scan_pair(eeg_path, bold_path, rois=ROIS, data_source="real")


# ----------------------------------------------------------------------------------------------
# BIDS discovery


def _touch(path):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("")
    return path


def test_entities_and_names():
    assert parse_entities("sub-01_ses-2_task-rest_run-1_bold.nii.gz") == (
        {"sub": "01", "ses": "2", "task": "rest", "run": "1"}, "bold")
    assert scan_and_subject("sub-01_ses-2_task-rest_acq-x_run-1_eeg.vhdr") == (
        "sub-01_ses-2_task-rest_run-1", "sub-01")
    assert scan_and_subject("sub13-scan02.tsv.gz") == ("sub13-scan02", "sub13")
    assert scan_and_subject("my_recording.edf") == ("my_recording", "my_recording")


def test_find_bids_runs_pairs_by_run_and_groups_subjects(tmp_path):
    root = tmp_path / "ds"
    layout = {}
    for sub, ses, run in [("01", "1", "1"), ("01", "1", "2"), ("02", "1", "1"), ("03", "2", "1")]:
        stem = f"sub-{sub}_ses-{ses}_task-rest_run-{run}"
        base = root / f"sub-{sub}" / f"ses-{ses}"
        eeg = _touch(base / "eeg" / f"{stem}_eeg.vhdr")
        _touch(base / "eeg" / f"{stem}_eeg.vmrk")
        _touch(base / "eeg" / f"{stem}_eeg.eeg")
        img = _touch(base / "func" / f"{stem}_bold.nii.gz")
        _touch(base / "func" / f"{stem}_bold.json")
        deriv = root / "derivatives" / "fmriprep" / f"sub-{sub}" / f"ses-{ses}" / "func"
        table = _touch(deriv / f"{stem}_atlas-DiFuMo64_timeseries.tsv")
        conf = _touch(deriv / f"{stem}_desc-confounds_timeseries.tsv")
        layout[f"sub-{sub}_ses-{ses}_task-rest_run-{run}"] = (eeg, img, table, conf)
    _touch(root / "sub-04" / "eeg" / "sub-04_task-rest_eeg.edf")  # EEG without BOLD
    _touch(root / "sub-01" / "ses-1" / "func" / "sub-01_ses-1_task-motor_bold.nii.gz")

    with pytest.warns(UserWarning, match=r"EEG sub-04_task-rest has no BOLD.*BOLD "
                                         r"sub-01_ses-1_task-motor has no EEG"):
        runs = find_bids_runs(root)
    assert [r.scan for r in runs] == sorted(layout)
    for run in runs:
        eeg, img, table, conf = layout[run.scan]
        assert (run.eeg, run.bold, run.confounds) == (eeg, table, conf)
        assert run.bold_is_table
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        images = find_bids_runs(root, bold="image", task="rest")
    assert [r.bold for r in images] == [layout[s][1] for s in sorted(layout)]

    # Subjects group the runs: both runs of sub-01 fall in the same split set.
    np.testing.assert_array_equal(subject_groups(runs),
                                  ["sub-01", "sub-01", "sub-02", "sub-03"])
    from sklearn.model_selection import GroupKFold

    for train, test in GroupKFold(n_splits=3).split(runs, groups=subject_groups(runs)):
        assert not set(subject_groups(runs)[train]) & set(subject_groups(runs)[test])
    table = runs_table(runs)
    assert list(table.columns[:2]) == ["scan", "subject"]
    from unebolt_viz import model_selection as splits

    split = splits.subject_split(table, seed=3)
    for name in ("train", "val", "test"):
        subjects = set(table.set_index("scan").loc[list(split[name]), "subject"])
        for other in {"train", "val", "test"} - {name}:
            assert not subjects & set(table.set_index("scan").loc[list(split[other]), "subject"])


def test_find_bids_runs_ambiguous_bold_names_the_fix(tmp_path):
    root = tmp_path / "ds"
    _touch(root / "sub-01" / "eeg" / "sub-01_task-rest_eeg.vhdr")
    deriv = root / "derivatives" / "roi" / "sub-01" / "func"
    _touch(deriv / "sub-01_task-rest_atlas-A_timeseries.tsv")
    chosen = _touch(deriv / "sub-01_task-rest_atlas-B_timeseries.tsv")
    with pytest.raises(ValueError, match=r"several BOLD candidates.*bold_entities"):
        find_bids_runs(root)
    (run,) = find_bids_runs(root, bold_entities={"atlas": "B"})
    assert run.bold == chosen and run.subject == "sub-01" and run.scan == "sub-01_task-rest"


# ----------------------------------------------------------------------------------------------
# simulator round trip: files written by the simulator read back through this path


@pytest.fixture(scope="module")
def written_cohort(tmp_path_factory):
    """A tiny simulated cohort, two scans written as BIDS-like files by the simulator."""
    import importlib.util

    if importlib.util.find_spec("unebolt_viz.simulation.writer") is None:
        pytest.skip("the simulator's file writer (unebolt_viz.simulation.writer) is absent")
    from unebolt_viz.simulation import simulate_cohort

    cohort = simulate_cohort(preset="tiny", seed=7, progress=False)
    root = tmp_path_factory.mktemp("sim")
    scans = cohort.scans[:2]
    cohort.write(root, scans=scans)
    return cohort, scans, root


def test_simulated_recording_round_trip(written_cohort):
    """Files written by the simulator, read back through ingestion = the in-memory pairs."""
    cohort, scans, root = written_cohort
    runs = find_bids_runs(root)
    assert [r.subject for r in runs] == [f"sub-{s[3:5]}" for s in scans]
    for run, scan in zip(runs, scans):
        memory = cohort.pair(scan)
        pair = load_scan_pair(run.eeg, run.bold)  # data source and ROI table from the sidecars
        assert pair.data_source == "simulated" == memory.data_source
        assert pair.windows.shape == memory.windows.shape
        assert list(pair.windows.channel.values) == list(memory.windows.channel.values)
        np.testing.assert_array_equal(pair.windows.tr_index.values, memory.windows.tr_index.values)
        np.testing.assert_allclose(pair.windows.onset.values, memory.windows.onset.values)
        # EEG went through float32 microvolts on disk: equal to float32 rounding.
        np.testing.assert_allclose(pair.windows.values, memory.windows.values, rtol=1e-6,
                                   atol=1e-4)
        assert np.shares_memory(pair.windows.values[0], pair.windows.values[1])
        # BOLD went through a TSV with 6 significant digits before the target processing.
        np.testing.assert_allclose(pair.bold.values, memory.bold.values, rtol=0, atol=1e-4)
        assert list(pair.bold.roi.values) == list(memory.bold.roi.values)
        assert list(pair.bold.network.values) == list(memory.bold.network.values)


def test_simulated_files_cannot_be_relabelled_real(written_cohort):
    _, _, root = written_cohort
    run = find_bids_runs(root)[0]
    with pytest.raises(uv.InvalidDataError, match="contradicts the files.*simulated"):
        load_scan_pair(run.eeg, run.bold, data_source="real")
