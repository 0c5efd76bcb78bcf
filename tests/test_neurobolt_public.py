"""The public NeuroBOLT dataset as published: layout, pickle refusal, one-time conversion, training.

Every test runs on a small *simulated* copy of the published layout (EEGLAB via eeglabio,
pickles via pandas), written by ``write_simulated_neurobolt_public`` into a temporary folder.
"""

from __future__ import annotations

import hashlib
import pickle
import shutil
import warnings
from pathlib import Path

import mne
import numpy as np
import pandas as pd
import pytest
from scipy.signal import butter, sosfiltfilt

from unebolt_viz.conventions import PAPER_CHANNELS
from unebolt_viz.data.containers import InvalidDataError
from unebolt_viz.datasets import (
    PickleNotAllowedError,
    convert_neurobolt_public,
    find_neurobolt_public,
    is_neurobolt_public,
    load_neurobolt_public,
    neurobolt_difumo64_rois,
    read_neurobolt_public_scan,
    write_simulated_neurobolt_public,
)

N_VOLUMES = 40
FIRST_TRIGGER = 5.0
GS = ["global signal clean", "global signal raw"]
#: What the published recordings hold, as NeuroBOLT's loader drops them (EOG/EMG/ECG, CWL).
FILE_CHANNELS = ["Fp1", "Fp2", "F3", "F4", "C3", "C4", "P3", "P4", "O1", "O2", "F7", "F8", "T7",
                 "T8", "P7", "P8", "Fpz", "Fz", "Cz", "Pz", "POz", "Oz", "FT9", "FT10", "TP9",
                 "TP10", "EOG1", "EOG2", "EMG1", "EMG2", "EMG3", "ECG"]
SCANS = ["sub01-scan01", "sub06-scan01", "sub07-scan01", "sub08-scan01", "sub08-scan02"]
#: The UnEBOLT paper's split of these five scans (its 18/5/6 table).
PAPER_PARTS = {"sub01-scan01": "train", "sub06-scan01": "val", "sub07-scan01": "test",
               "sub08-scan01": "train", "sub08-scan02": "train"}


class _Touch:
    """Unpickling this creates ``path``: proof that a pickle was (or was not) read."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __reduce__(self):
        return (Path.touch, (self.path,))


def _booby_trap(pkl: Path, marker: Path) -> None:
    pkl.write_bytes(pickle.dumps(_Touch(marker)))


@pytest.fixture(scope="module")
def published(tmp_path_factory) -> Path:
    return write_simulated_neurobolt_public(tmp_path_factory.mktemp("nb") / "NeuroBOLT",
                                           n_volumes=N_VOLUMES, first_trigger=FIRST_TRIGGER)


@pytest.fixture
def copy(published, tmp_path) -> Path:
    return Path(shutil.copytree(published, tmp_path / "NeuroBOLT"))


def _pkl(root: Path, scan: str) -> Path:
    return root / "fMRI_difumo64" / f"{scan}_difumo64_roi.pkl"


def test_the_copy_is_laid_out_like_the_published_dataset(published, shared_path):
    names = pd.read_csv(shared_path("difumo_labels",
                                    "labels_64_dictionary_osf_names_with_centroids.csv"))
    assert sorted(p.name for p in published.iterdir()) == [
        "EEG_set", "dataset_description.json", "fMRI_difumo64"]
    assert sorted(p.name for p in (published / "EEG_set").iterdir()) == sorted(
        f"{s}_eeg.{e}" for s in SCANS for e in ("set", "fdt"))
    table = pd.read_pickle(_pkl(published, "sub01-scan01"))  # our own file
    assert list(table.columns) == list(names["Difumo_names"]) + GS
    assert table.shape == (N_VOLUMES, 66)
    raw = mne.io.read_raw_eeglab(published / "EEG_set" / "sub01-scan01_eeg.set", verbose="error")
    assert raw.ch_names == FILE_CHANNELS and raw.info["sfreq"] == 250.0
    assert set(raw.annotations.description) == {"R149"}
    np.testing.assert_allclose(raw.annotations.onset, FIRST_TRIGGER + 2.1 * np.arange(N_VOLUMES),
                               atol=1 / 250)
    cwl = mne.io.read_raw_eeglab(published / "EEG_set" / "sub08-scan02_eeg.set", verbose="error")
    assert cwl.ch_names == FILE_CHANNELS + ["CWL1", "CWL2", "CWL3", "CWL4"]
    assert 5e-6 < np.std(raw.get_data(picks="O1")) < 50e-6  # microvolt-scale EEG, in volts


def test_without_shared_labels_the_shipped_difumo64_table_is_the_same(shared_path, monkeypatch,
                                                                         tmp_path):
    from unebolt_viz.datasets import difumo_roi_table

    csv = shared_path("difumo_labels", "labels_64_dictionary_osf_names_with_centroids.csv")
    monkeypatch.setenv("UNEBOLT_VIZ_SHARED_DATA", str(tmp_path / "absent"))
    shipped = neurobolt_difumo64_rois()  # the table the package ships with its DiFuMo-64 models
    pd.testing.assert_frame_equal(shipped, difumo_roi_table(csv), check_dtype=False)


def test_pickles_are_refused_by_default_and_never_opened(copy, tmp_path):
    marker = tmp_path / "unpickled"
    _booby_trap(_pkl(copy, "sub07-scan01"), marker)
    assert is_neurobolt_public(copy)
    with pytest.raises(PickleNotAllowedError) as err:
        convert_neurobolt_public(copy, out_dir=tmp_path / "nc")
    text = str(err.value)
    assert "arbitrary code" in text and "allow_pickle=True" in text and "--allow-pickle" in text
    assert "sub07-scan01_difumo64_roi.pkl" in text
    assert not marker.exists()
    assert not (tmp_path / "nc").exists() or not list((tmp_path / "nc").glob("*.nc"))
    pd.read_pickle(_pkl(copy, "sub07-scan01"))  # the trap is live: unpickling would have shown
    assert marker.exists()


def test_conversion_runs_once_and_later_reads_never_unpickle(copy, tmp_path):
    out = tmp_path / "nc"
    original = _pkl(copy, "sub06-scan01")
    table = pd.read_pickle(original)
    # Shuffle the columns: ROIs must be matched by name, not by position.
    shuffled = table[list(np.random.default_rng(1).permutation(table.columns))]
    shuffled.to_pickle(original)
    sha = hashlib.sha256(original.read_bytes()).hexdigest()
    paths = convert_neurobolt_public(copy, allow_pickle=True, out_dir=out)
    assert sorted(paths) == SCANS and all(p.parent == out and p.is_file() for p in paths.values())

    ds = read_neurobolt_public_scan(paths["sub06-scan01"])
    rois = neurobolt_difumo64_rois()
    assert list(ds.bold.roi.values) == list(rois["roi"]) and ds.bold.sizes["roi"] == 64
    np.testing.assert_array_equal(ds.bold.values, table[list(rois["roi"])].to_numpy())
    np.testing.assert_array_equal(ds.global_signal.values, table[GS].to_numpy())
    assert list(ds.global_signal.signal.values) == GS
    assert ds.attrs["source_sha256"] == sha and ds.bold.attrs["source_sha256"] == sha
    assert ds.bold.attrs["atlas"] == "difumo64" and ds.bold.attrs["data_source"] == "simulated"

    # Replace the pickle by one that would create a file if it were unpickled, then delete it.
    marker = tmp_path / "unpickled"
    _booby_trap(original, marker)
    with pytest.warns(UserWarning, match="changed since it was converted"):
        again = convert_neurobolt_public(copy, out_dir=out)  # no allow_pickle needed now
    assert not marker.exists() and again == paths
    original.unlink()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert "sub06-scan01" in find_neurobolt_public(copy, out)
        pairs = load_neurobolt_public(copy, out_dir=out, scans=["sub06-scan01"])
    assert not marker.exists()
    assert pairs[0].scan == "sub06-scan01" and pairs[0].data_source == "simulated"


def test_the_published_folder_is_real_data_and_the_code_layout_is_read_too(tmp_path):
    code = write_simulated_neurobolt_public(tmp_path / "code", scans=["sub01-scan01"],
                                            n_volumes=30, layout="neurobolt_code")
    assert (code / "EEG" / "sub01-scan01_eeg_pp.set").is_file()
    assert (code / "fMRI_difumo" / "sub01-scan01_difumo_roi.pkl").is_file()
    (code / "dataset_description.json").unlink()  # as downloaded: nothing declares it simulated
    (path,) = convert_neurobolt_public(code, allow_pickle=True, out_dir=tmp_path / "nc").values()
    assert read_neurobolt_public_scan(path).bold.attrs["data_source"] == "real"


def test_a_table_whose_columns_are_not_difumo64_is_refused(copy, tmp_path):
    pkl = _pkl(copy, "sub01-scan01")
    table = pd.read_pickle(pkl).rename(columns={"Thalamus": "ROI_47"})
    table.to_pickle(pkl)
    with pytest.raises(InvalidDataError, match=r"not the DiFuMo-64 components.*ROI_47.*Thalamus"):
        convert_neurobolt_public(copy, allow_pickle=True, out_dir=tmp_path / "nc",
                                 scans=["sub01-scan01"])
    assert not (tmp_path / "nc" / "sub01-scan01.nc").exists()


def test_typographic_variants_of_a_name_match_and_are_recorded(copy, tmp_path):
    pkl = _pkl(copy, "sub01-scan01")
    table = pd.read_pickle(pkl)
    table.rename(columns={"Heschl\u2019s gyrus": "Heschl's gyrus"}).to_pickle(pkl)
    (path,) = convert_neurobolt_public(copy, allow_pickle=True, out_dir=tmp_path / "nc",
                                       scans=["sub01-scan01"]).values()
    bold = read_neurobolt_public_scan(path).bold
    assert "Heschl's gyrus" in bold.attrs["columns_renamed"]
    np.testing.assert_array_equal(bold.sel(roi="Heschl\u2019s gyrus").values,
                                  table["Heschl\u2019s gyrus"].to_numpy())


def _paper_targets(values: np.ndarray) -> np.ndarray:
    """0.15 Hz 5th-order Butterworth low-pass (zero phase), demean, / 95th percentile of |x|."""
    sos = butter(5, 0.15 / (0.5 / 2.1), btype="low", output="sos")
    x = sosfiltfilt(sos, values, axis=0)
    x = x - x.mean(axis=0)
    return x / (np.percentile(np.abs(x), 95, axis=0) + 1e-8)


def test_scans_pair_into_the_papers_windows_and_targets(published, tmp_path):
    pairs = load_neurobolt_public(published, allow_pickle=True, out_dir=tmp_path / "nc",
                                  scans=["sub07-scan01", "sub08-scan02"])
    assert [p.scan for p in pairs] == ["sub07-scan01", "sub08-scan02"]
    n_dropped = int(np.sum(FIRST_TRIGGER + 2.1 * np.arange(N_VOLUMES) < 16.0))  # no full 16 s
    for pair in pairs:
        w = pair.windows
        assert list(w.channel.values) == list(PAPER_CHANNELS)
        assert w.shape == (N_VOLUMES - n_dropped, 26, 3200) and w.attrs["sfreq"] == 200.0
        assert w.attrs["highpass_hz"] == 0.5
        assert list(w.tr_index.values) == list(range(n_dropped, N_VOLUMES))
        table = pd.read_pickle(_pkl(published, pair.scan))
        expected = _paper_targets(table[list(pair.bold.roi.values)].to_numpy())[n_dropped:]
        np.testing.assert_allclose(pair.bold.values, expected, atol=1e-8)
    assert "CWL1" in pairs[1].windows.attrs["channels_dropped"]
    assert "ECG" in pairs[0].windows.attrs["channels_dropped"]


def test_train_runs_the_unseen_subject_experiment_on_the_copy(copy, tmp_path, monkeypatch, capsys):
    from unebolt_viz.cli import main
    from unebolt_viz.training.experiment_data import resolve_split

    monkeypatch.setenv("UNEBOLT_VIZ_DATA", str(tmp_path / "cache"))
    base = ["train", "--data", str(copy), "--model", "unebolt", "--preset", "tiny", "--epochs", "1",
            "--batch-size", "8", "--warmup-epochs", "0", "--device", "cpu", "--no-progress"]
    assert main([*base, "--out", str(tmp_path / "refused")]) == 2
    err = capsys.readouterr().err
    assert "arbitrary code" in err and "--allow-pickle" in err
    # The copy is simulated, so the default split ("auto") would deal its subjects at random;
    # "--split paper" asks for the paper's table, the default for the real download (below).
    assert main([*base, "--allow-pickle", "--split", "paper", "--out", str(tmp_path / "run")]) == 0
    out = capsys.readouterr().out
    assert "simulated data" in out
    split = pd.read_csv(tmp_path / "run" / "split.csv")
    assert dict(zip(split["scan"], split["split"])) == PAPER_PARTS
    design = split[["scan", "subject"]]
    assert resolve_split({"kind": "auto"}, design, "real").train == tuple(
        s for s in design["scan"] if PAPER_PARTS[s] == "train")
    assert (tmp_path / "run" / "best.json").is_file()
    # A later run reads the netCDF files: the pickles are never opened again.
    marker = tmp_path / "unpickled"
    for scan in SCANS:
        _booby_trap(_pkl(copy, scan), marker)
    with pytest.warns(UserWarning, match="changed since it was converted"):
        assert main([*base, "--split", "paper", "--max-steps", "1",
                     "--out", str(tmp_path / "again")]) == 0
    assert not marker.exists()


def test_experiment_configs_read_the_published_layout(published, tmp_path, monkeypatch):
    from unebolt_viz.training.experiment_data import load_pairs

    monkeypatch.setenv("UNEBOLT_VIZ_DATA", str(tmp_path / "cache"))
    section = {"source": "neurobolt_public", "path": str(published), "scans": ["sub07-scan01"]}
    with pytest.raises(PickleNotAllowedError, match="arbitrary code"):
        load_pairs(section, "cross_subject")
    pairs, design, cohort = load_pairs({**section, "allow_pickle": True}, "cross_subject")
    assert cohort is None and list(design["scan"]) == ["sub07-scan01"]
    assert list(design["subject"]) == [pairs[0].subject]
    assert pairs[0].windows.attrs["highpass_hz"] == 0.5  # the cross-subject default
    (intrascan,), _, _ = load_pairs({**section, "allow_pickle": True}, "intrascan")
    assert intrascan.windows.attrs["highpass_hz"] == 0.0
