"""Readers of the volumetric peers' datasets, on small synthetic files laid out as the releases.

Every file here is simulated (random EEG, empty volumes), written into ``tmp_path`` in the
folder and file layout of the public release: Oddball (legacy ds000116 tarballs), NODDI
(OSF 94c5t) and CN-EPFL (OpenNeuro ds002158, BIDS).
"""

from __future__ import annotations

from pathlib import Path

import h5py
import nibabel as nib
import numpy as np
import pybv
import pytest
import yaml
from scipy.io import savemat

from unebolt_viz.datasets import (
    PEER_DATASETS,
    PeerLayoutError,
    read_cn_epfl_run,
    read_noddi_run,
    read_oddball_run,
    read_peer_run,
)

ROOT = Path(__file__).resolve().parents[1]
SMALL = (8, 8, 4)
RNG = np.random.default_rng(0)


def _bold(path: Path, n_volumes: int, shape: tuple[int, int, int] = SMALL, tr: float = 2.0,
          dtype: type = np.float32) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    data = np.zeros((*shape, n_volumes), dtype=dtype)
    data[..., :] = np.arange(n_volumes, dtype=dtype)  # volume k holds k everywhere
    img = nib.Nifti1Image(data, np.diag([3.0, 3.0, 4.0, 1.0]))
    img.header.set_zooms((3.0, 3.0, 4.0, tr))
    nib.save(img, str(path))
    return path


def _eeg_volts(n_channels: int, n_samples: int) -> np.ndarray:
    return RNG.normal(0.0, 20e-6, (n_channels, n_samples))  # 20 uV, simulated


# ---- Oddball ---------------------------------------------------------------------------------


def _oddball(root: Path, n_volumes: int = 10, rows: int = 49, seconds: float | None = None,
             subject: str = "sub001", name: str = "task001_run001") -> np.ndarray:
    n = int((n_volumes * 2.0 if seconds is None else seconds) * 1000)
    matrix = RNG.normal(0.0, 20.0, (rows, n))  # microvolts, as the README states
    matrix[47:] = 0.0
    if rows >= 48:
        matrix[47, 1000::2500] = 125.0  # stimulus codes
    eeg = root / subject / "EEG" / name / "EEG_noGA.mat"
    eeg.parent.mkdir(parents=True)
    savemat(str(eeg), {"data_noGA": matrix})
    _bold(root / subject / "BOLD" / name / "bold.nii.gz", n_volumes)
    return matrix


def test_oddball_reads_eeg_in_volts_and_places_volumes_every_tr(tmp_path):
    matrix = _oddball(tmp_path)
    run = read_oddball_run(tmp_path, "sub001", 1, 1, expected_shape=SMALL)
    assert run.raw.ch_names == [f"BP{i:02d}" for i in range(1, 44)]
    assert run.raw.info["sfreq"] == 1000.0
    np.testing.assert_allclose(run.raw.get_data(), matrix[:43] * 1e-6)
    assert run.tr == 2.0 == PEER_DATASETS["oddball"].tr
    np.testing.assert_allclose(run.volume_onsets, 2.0 * np.arange(10))
    assert run.onset_source.startswith("rule")
    assert (run.n_volumes, run.n_usable, run.bold_shift) == (10, 4, 6)
    np.testing.assert_allclose(run.usable_onsets, [12.0, 14.0, 16.0, 18.0])
    assert run.bold.shape == (*SMALL, 10) and not run.bold.in_memory
    assert run.run == "task001_run001" and run.eeg_path.name == "EEG_noGA.mat"


def test_oddball_aux_channels_keep_their_types_and_codes(tmp_path):
    matrix = _oddball(tmp_path)
    run = read_peer_run("oddball", tmp_path, "sub001", include_aux=True, expected_shape=SMALL)
    assert run.raw.ch_names[43:] == ["HEOG", "VEOG", "ECG1", "ECG2", "STIM", "RESP"]
    assert run.raw.get_channel_types()[43:] == ["eog", "eog", "ecg", "ecg", "stim", "stim"]
    stim = run.raw.get_data(picks="STIM")[0]
    assert set(np.unique(stim)) == {0.0, 125.0}  # codes are not scaled to volts
    np.testing.assert_allclose(run.raw.get_data(picks="HEOG")[0], matrix[43] * 1e-6)


def test_oddball_reads_a_matlab_73_file_with_h5py(tmp_path):
    matrix = _oddball(tmp_path)
    path = tmp_path / "sub001" / "EEG" / "task001_run001" / "EEG_noGA.mat"
    path.unlink()
    with h5py.File(path, "w", userblock_size=512) as f:
        f["data_noGA"] = matrix.T  # MATLAB's column-major matrix as HDF5 holds it
    header = b"MATLAB 7.3 MAT-file, Platform: GLNXA64, Created on: simulated HDF5 schema 1.00 ."
    with open(path, "r+b") as f:
        f.write(header.ljust(116, b" ") + b"\x00" * 8 + b"\x00\x02IM")
    run = read_oddball_run(tmp_path, expected_shape=SMALL)
    np.testing.assert_allclose(run.raw.get_data(), matrix[:43] * 1e-6)


def test_oddball_refusals_name_the_file_and_the_fix(tmp_path):
    _oddball(tmp_path)
    with pytest.raises(PeerLayoutError, match=r"task002_run001.*EEG file not found.*tasks 1-2"):
        read_oddball_run(tmp_path, task=2, expected_shape=SMALL)
    with pytest.raises(PeerLayoutError, match=r"no subject folder 'sub002'.*sub001"):
        read_oddball_run(tmp_path, "sub002", expected_shape=SMALL)
    with pytest.raises(PeerLayoutError, match=r"EEG_noGA.mat: .*unit is wrong.*unit="):
        read_oddball_run(tmp_path, unit="V", expected_shape=SMALL)
    with pytest.raises(PeerLayoutError, match=r"no variable 'EEG'.*data_noGA"):
        read_oddball_run(tmp_path, variable="EEG", expected_shape=SMALL)
    with pytest.raises(PeerLayoutError, match=r"bold.nii.gz: volumes of \(8, 8, 4\).*64, 64, 32"):
        read_oddball_run(tmp_path)


def test_oddball_refuses_too_few_channels_and_short_eeg(tmp_path):
    _oddball(tmp_path / "a", rows=40)
    with pytest.raises(PeerLayoutError, match=r"at least 43 channel rows.*\(40, 20000\)"):
        read_oddball_run(tmp_path / "a", expected_shape=SMALL)
    _oddball(tmp_path / "b", seconds=10.0)
    with pytest.raises(PeerLayoutError, match=r"10.0 s of EEG at 1000 Hz.*10 volumes"):
        read_oddball_run(tmp_path / "b", expected_shape=SMALL)


def test_oddball_accepts_the_tarballs_top_folder(tmp_path):
    _oddball(tmp_path / "ds116")
    assert read_oddball_run(tmp_path, expected_shape=SMALL).n_volumes == 10


# ---- NODDI -----------------------------------------------------------------------------------


def _vhdr(folder: Path, stem: str, n_channels: int, sfreq: float, seconds: float,
          markers: np.ndarray | None = None, marker: int = 128) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    events = None
    if markers is not None:
        events = [{"onset": int(round(t * sfreq)), "description": marker, "type": "Response"}
                  for t in markers]
    names = [f"E{i:02d}" for i in range(1, n_channels)] + ["ECG"]
    pybv.write_brainvision(data=_eeg_volts(n_channels, int(seconds * sfreq)), sfreq=sfreq,
                           ch_names=names, fname_base=stem, folder_out=str(folder),
                           events=events)
    return folder / f"{stem}.vhdr"


def _noddi(root: Path, n_volumes: int = 10, n_channels: int = 64, first: float | None = 1.0,
           step: float = 2.16) -> None:
    markers = None if first is None else first + step * np.arange(n_volumes)
    _vhdr(root / "EEG" / "32" / "export", "32_rest", n_channels, 250.0,
          (first or 0.0) + n_volumes * 2.16 + 1.0, markers)
    _bold(root / "fMRI" / "32" / "3_nw_mepi_rest_with_cross.nii.gz", n_volumes, tr=2.16)


def test_noddi_reads_brainvision_and_scanner_markers(tmp_path):
    _noddi(tmp_path)
    run = read_noddi_run(tmp_path, 32, expected_shape=SMALL)
    assert len(run.raw.ch_names) == 64 and run.raw.ch_names[0] == "E01"
    assert run.raw.get_channel_types(picks="ECG") == ["ecg"]
    assert run.raw.info["sfreq"] == 250.0 and not run.raw.preload
    np.testing.assert_allclose(run.volume_onsets, 1.0 + 2.16 * np.arange(10), atol=1 / 250)
    assert run.onset_source == "markers: R128"
    assert (run.tr, run.n_volumes, run.n_usable, run.run) == (2.16, 10, 4, "rest")
    assert not run.bold.in_memory and run.bold_path.name == "3_nw_mepi_rest_with_cross.nii.gz"
    start = read_noddi_run(tmp_path, "32", expected_shape=SMALL, onsets="start")
    np.testing.assert_allclose(start.volume_onsets, 2.16 * np.arange(10))


def test_noddi_without_markers_uses_the_rule_unless_markers_are_required(tmp_path):
    _noddi(tmp_path, first=None)
    run = read_noddi_run(tmp_path, "32", expected_shape=SMALL)
    assert run.onset_source.startswith("rule")
    np.testing.assert_allclose(run.volume_onsets, 2.16 * np.arange(10))
    with pytest.raises(PeerLayoutError, match=r"32_rest.vhdr: no 'R128' volume marker"):
        read_noddi_run(tmp_path, "32", expected_shape=SMALL, onsets="markers")


def test_noddi_refusals(tmp_path):
    _noddi(tmp_path / "a", n_channels=63)
    with pytest.raises(PeerLayoutError, match=r"32_rest.vhdr: 63 channels.*has 64"):
        read_noddi_run(tmp_path / "a", "32", expected_shape=SMALL)
    _noddi(tmp_path / "b", step=0.5)  # markers every 0.5 s: not volume triggers
    with pytest.raises(PeerLayoutError, match=r"every 0.5 s, not every TR = 2.16 s"):
        read_noddi_run(tmp_path / "b", "32", expected_shape=SMALL)
    _noddi(tmp_path / "c")
    _vhdr(tmp_path / "c" / "EEG" / "32" / "export", "other", 64, 250.0, 2.0)
    with pytest.raises(PeerLayoutError, match=r"exactly one BrainVision header.*found 2"):
        read_noddi_run(tmp_path / "c", "32", expected_shape=SMALL)
    with pytest.raises(PeerLayoutError, match=r"EEG: no EEG folder.*EEG1.zip and EEG2.zip merged"):
        read_noddi_run(tmp_path / "c" / "EEG", "32", expected_shape=SMALL)
    with pytest.raises(PeerLayoutError, match=r"no subject folder '35'"):
        read_noddi_run(tmp_path / "c", "35", expected_shape=SMALL)
    (tmp_path / "c" / "fMRI" / "32" / "3_nw_mepi_rest_with_cross.nii.gz").unlink()
    (tmp_path / "c" / "EEG" / "32" / "export" / "other.vhdr").unlink()
    with pytest.raises(PeerLayoutError, match=r"exactly one BOLD file \(\*_cross.nii.gz\)"):
        read_noddi_run(tmp_path / "c", "32", expected_shape=SMALL)


def test_brainvision_unit_errors_and_missing_data_files_are_refused(tmp_path):
    _noddi(tmp_path)
    vhdr = tmp_path / "EEG" / "32" / "export" / "32_rest.vhdr"
    text = vhdr.read_text(encoding="utf-8")
    vhdr.write_text(text.replace(",µV", ",V"), encoding="utf-8")  # microvolts declared as volts
    with pytest.raises(PeerLayoutError, match=r"32_rest.vhdr: .* V, outside .*unit is wrong"):
        read_noddi_run(tmp_path, "32", expected_shape=SMALL)
    vhdr.write_text(text, encoding="utf-8")
    assert read_noddi_run(tmp_path, "32", expected_shape=SMALL).n_usable == 4
    vhdr.with_suffix(".eeg").unlink()
    with pytest.raises(PeerLayoutError, match=r"names the data file '32_rest.eeg'.*not beside"):
        read_noddi_run(tmp_path, "32", expected_shape=SMALL)


# ---- CN-EPFL ---------------------------------------------------------------------------------


def _cn_epfl(root: Path, n_volumes: int, shape: tuple[int, int, int] = SMALL,
             stale_header: bool = False) -> Path:
    stem = "sub-02_ses-001_task-main_run-001"
    eeg = root / "sub-02" / "ses-001" / "eeg"
    markers = 0.5 + 1.28 * np.arange(n_volumes + 2)  # two dummy-scan triggers first
    _vhdr(eeg, "recorded" if stale_header else f"{stem}_eeg", 64, 5000.0,
          0.5 + 1.28 * (n_volumes + 2) + 0.5, markers)
    if stale_header:  # renamed as a BIDS conversion does; the header still names the old files
        for ext in (".vhdr", ".vmrk", ".eeg"):
            (eeg / f"recorded{ext}").rename(eeg / f"{stem}_eeg{ext}")
    _bold(root / "sub-02" / "ses-001" / "func" / f"{stem}_bold.nii.gz", n_volumes, shape,
          tr=1.28, dtype=np.int16)
    return eeg / f"{stem}_eeg.vhdr"


def test_cn_epfl_full_size_volumes_and_dummy_triggers(tmp_path):
    _cn_epfl(tmp_path / "ds002158-download", 8, shape=(108, 108, 64))
    run = read_cn_epfl_run(tmp_path, 2, skip_markers=2)
    assert run.subject == "sub-02" and run.run == "task-main_run-001"
    assert run.bold.shape == (108, 108, 64, 8) and not run.bold.in_memory
    assert run.raw.info["sfreq"] == 5000.0 and len(run.raw.ch_names) == 64
    np.testing.assert_allclose(run.volume_onsets, 0.5 + 1.28 * np.arange(2, 10), atol=2e-4)
    assert (run.tr, run.n_volumes, run.n_usable) == (1.28, 8, 2)
    assert PEER_DATASETS["cn_epfl"].volume_shape == (108, 108, 64)


def test_cn_epfl_reads_a_header_that_names_its_files_before_renaming(tmp_path):
    vhdr = _cn_epfl(tmp_path, 8, stale_header=True)
    assert "DataFile=recorded.eeg" in vhdr.read_text()
    run = read_cn_epfl_run(tmp_path, "sub-02", expected_shape=SMALL)
    assert run.raw.n_times == int((0.5 + 1.28 * 10 + 0.5) * 5000)
    assert run.onset_source == "markers: R128"
    assert "DataFile=recorded.eeg" in vhdr.read_text()  # the user's file is left as it was


def test_cn_epfl_refusals(tmp_path):
    _cn_epfl(tmp_path, 8)
    with pytest.raises(PeerLayoutError, match=r"run-002_eeg.vhdr: EEG header not found"):
        read_cn_epfl_run(tmp_path, 2, run=2, expected_shape=SMALL)
    with pytest.raises(PeerLayoutError, match=r"volumes of \(8, 8, 4\).*108, 108, 64"):
        read_cn_epfl_run(tmp_path, 2)
    with pytest.raises(PeerLayoutError, match=r"sampled at 5000 Hz.*at 250 Hz"):
        read_cn_epfl_run(tmp_path, 2, sfreq=250.0, expected_shape=SMALL)
    with pytest.raises(PeerLayoutError, match=r"7 'R128' markers \(after skipping 3\) for 8 BOLD"):
        read_cn_epfl_run(tmp_path, 2, skip_markers=3, expected_shape=SMALL)
    with pytest.raises(ValueError, match="unknown peer dataset"):
        read_peer_run("ds002336", tmp_path)


# ---- manifest --------------------------------------------------------------------------------


def test_manifest_entries_of_the_peer_datasets():
    top = (ROOT / "data_manifest.yaml").read_text()
    assert top == (ROOT / "unebolt_viz" / "resources" / "data_manifest.yaml").read_text()
    entries = yaml.safe_load(top)["datasets"]
    for spec in PEER_DATASETS.values():
        entry = entries[spec.manifest]
        assert entry["url"].startswith("https://") and entry["license"] and entry["citation"]
    assert "osf.io/94c5t" in entries["noddi"]["url"]
    assert "ds000116" in entries["oddball_ds000116"]["homepage"]
    assert "ds002158" in entries["cn_epfl"]["url"]
    for name in ("noddi", "oddball_ds000116", "cn_epfl"):  # XP1/XP2 are not these datasets
        assert "ds002336" not in entries[name]["url"] and "ds002338" not in entries[name]["url"]
