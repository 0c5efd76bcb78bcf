"""EEG ingestion with MNE: reading, channel handling, resampling, windows and bad input."""

from __future__ import annotations

import re

import mne
import numpy as np
import pytest

import unebolt_viz as uv
from unebolt_viz.conventions import PAPER_CHANNELS
from unebolt_viz.io.eeg import (
    EEGFileError,
    _standard_montage_positions,
    eeg_windows_from_array,
    eeg_windows_from_raw,
    prepare_eeg,
    raw_to_microvolts,
    read_eeg,
    trigger_times,
)

PHYSIONET_REST = "eeg/physionet_eegmat_Subject00_1_rest.edf"


def _raw(names, sfreq=500.0, seconds=60.0, seed=0, scale=1e-5):
    rng = np.random.default_rng(seed)
    info = mne.create_info(list(names), sfreq, "eeg")
    data = rng.standard_normal((len(names), int(seconds * sfreq))) * scale
    return mne.io.RawArray(data, info, verbose="error")


def _save_fif(raw, tmp_path, name="rec_raw.fif"):
    path = tmp_path / name
    raw.save(path, overwrite=True, verbose="error")
    return path


# ----------------------------------------------------------------------------------------------
# acceptance: the real PhysioNet EDF and the BrainVision test file


@pytest.mark.shared_data
def test_physionet_rest_edf_to_windows(shared_data):
    path = shared_data / PHYSIONET_REST
    raw = read_eeg(path)
    assert raw.info["sfreq"] == 500.0 and len(raw.ch_names) == 21

    # The paper's 26: the 10-20 file has 19 of them (legacy T3/T4/T5/T6 mapped), 7 missing.
    with pytest.raises(EEGFileError) as err:
        prepare_eeg(raw)
    message = str(err.value)
    expected_missing = ["FPZ", "POZ", "OZ", "FT9", "FT10", "TP9", "TP10"]
    assert str(path) in message and "missing='interpolate'" in message
    assert f"missing {len(expected_missing)} of the 26" in message
    for name in expected_missing:
        assert re.search(rf"\b{name}\b", message.split("(found")[0]), name

    prepared, report = prepare_eeg(raw, missing="interpolate")
    assert set(report.missing) == set(expected_missing)
    assert set(report.found) == set(PAPER_CHANNELS) - set(expected_missing)
    assert {report.renamed[f"EEG {old}"] for old in ("T3", "T4", "T5", "T6")} == {
        "T7", "T8", "P7", "P8"}
    assert report.retyped == {"EEG A2-A1": "misc", "ECG ECG": "ecg"}
    assert set(report.interpolated) == set(expected_missing)
    assert prepared.ch_names == list(PAPER_CHANNELS)
    assert prepared.info["sfreq"] == 200.0
    assert prepared.n_times == round(raw.n_times * 200 / 500)

    # Legacy T3 is now T7: same signal, resampled (independent FFT resampling by scipy).
    from scipy.signal import resample

    t3 = raw.get_data(picks=["EEG T3"])[0]
    expected = resample(t3, prepared.n_times)
    got = prepared.get_data(picks=["T7"])[0]
    inner = slice(400, -400)  # edges differ with the padding strategy
    # Same sample grid: MNE's default npad="auto" would shift it by 2.5 ms (r = 0.986 here).
    assert np.corrcoef(got[inner], expected[inner])[0, 1] > 0.99999
    assert np.abs(got[inner] - expected[inner]).max() < 1e-3 * np.abs(expected).max()

    # The interpolated OZ lies between O1 and O2 (strong occipital alpha in this recording).
    oz, o1, o2 = prepared.get_data(picks=["OZ", "O1", "O2"])
    assert np.corrcoef(oz, (o1 + o2) / 2)[0, 1] > 0.9

    # Triggers every 2.1 s from the start (added here: this file has none).
    tr = 2.1
    duration = prepared.n_times / 200.0
    onsets = np.arange(0.0, duration, tr)
    prepared.set_annotations(mne.Annotations(onsets, 0.0, "Response/R149",
                                             orig_time=prepared.annotations.orig_time))
    windows = eeg_windows_from_raw(prepared, scan="Subject00_1", subject="Subject00",
                                   report=report)
    samples = np.round(onsets * 200).astype(int)
    full = (samples >= 3200) & (samples <= prepared.n_times)
    assert windows.shape == (int(full.sum()), 26, 3200)
    assert windows.attrs["n_dropped_volumes"] == int((~full).sum()) == 8  # ceil(16 / 2.1)
    assert windows.attrs["channels_interpolated"] == ",".join(report.interpolated)
    assert windows.attrs["data_source"] == "real" and windows.attrs["units"] == "uV"

    # Views on one continuous microvolt buffer.
    buffer = raw_to_microvolts(prepared)
    views = eeg_windows_from_array(buffer, prepared.ch_names, 200.0, onsets, scan="s",
                                   subject="s")
    assert np.shares_memory(views.values, buffer)
    assert not views.values.flags.owndata
    assert np.shares_memory(windows.values[0], windows.values[1])  # overlapping windows
    # Window content = the 16 s before the volume, in microvolts.
    last = samples[full][-1]
    np.testing.assert_allclose(windows.values[-1], prepared.get_data()[:, last - 3200:last] * 1e6,
                               rtol=1e-5, atol=1e-3)
    np.testing.assert_allclose(windows.onset.values, onsets[full])
    np.testing.assert_array_equal(windows.tr_index.values, np.flatnonzero(full))


@pytest.mark.shared_data
def test_brainvision_test_file_with_markers(shared_data):
    folder = shared_data / "eeg" / "brainvision_format_test"
    raw = read_eeg(folder / "test.vhdr")
    assert raw.info["sfreq"] == 1000.0 and len(raw.ch_names) == 32
    # Independent parse of the marker file: Mk<n>=<type>,<description>,<position (1-based)>,...
    markers = []
    for line in (folder / "test.vmrk").read_text().splitlines():
        match = re.match(r"Mk\d+=([^,]*),([^,]*),(\d+),", line)
        if match and match.group(1) != "New Segment":
            markers.append((match.group(1), match.group(2), int(match.group(3))))
    got = sorted(zip(raw.annotations.description, np.round(raw.annotations.onset * 1000)))
    assert got == sorted((f"{t}/{d}", float(pos - 1)) for t, d, pos in markers)
    s255 = [pos - 1 for t, d, pos in markers if d == "S255"]
    np.testing.assert_allclose(trigger_times(raw, "S255"), np.array(s255) / 1000.0)
    np.testing.assert_allclose(trigger_times(raw, "S 255"), np.array(s255) / 1000.0)

    # The channels the header types misc are not EEG; the 26 EEG ones are kept, in file order.
    types = dict(zip(raw.ch_names, raw.get_channel_types()))
    prepared, report = prepare_eeg(raw, channels=None)
    assert prepared.ch_names == [c.upper() for c, k in types.items() if k == "eeg"]
    assert set(report.dropped) == {c for c, k in types.items() if k != "eeg"}
    assert prepared.info["sfreq"] == 200.0
    assert len(prepared.annotations) == len(markers)


# ----------------------------------------------------------------------------------------------
# formats, names and types


@pytest.mark.parametrize("ext", [".vhdr", ".edf", ".fif"])
def test_formats_read_back(tmp_path, ext):
    raw = _raw(["Fp1", "Cz", "O1"], sfreq=250.0, seconds=10)
    raw.set_annotations(mne.Annotations([1.0, 3.1], [0, 0], ["Response/R149"] * 2))
    path = tmp_path / (("rec_raw" if ext == ".fif" else "rec") + ext)
    if ext == ".fif":
        raw.save(path, verbose="error")
    else:
        raw.export(path, verbose="error")
    back = read_eeg(path)
    assert back.ch_names == ["Fp1", "Cz", "O1"]
    # EDF stores 16-bit integers: compare within its quantisation step.
    np.testing.assert_allclose(back.get_data(), raw.get_data(), atol=2e-8)
    np.testing.assert_allclose(trigger_times(back, "R149"), [1.0, 3.1], atol=1e-3)


def test_unknown_format_names_file_and_supported_endings(tmp_path):
    path = tmp_path / "recording.xyz"
    path.write_text("not eeg")
    with pytest.raises(EEGFileError, match=r"recording\.xyz.*unknown EEG file type '\.xyz'.*\.vhdr"):
        read_eeg(path)
    with pytest.raises(FileNotFoundError, match="absent.edf"):
        read_eeg(tmp_path / "absent.edf")


def test_binary_brainvision_part_points_to_header(tmp_path):
    raw = _raw(["Cz"], seconds=2)
    raw.export(tmp_path / "a.vhdr", verbose="error")
    with pytest.raises(EEGFileError, match=r"a\.vhdr"):
        read_eeg(tmp_path / "a.eeg")


def test_legacy_names_case_and_affixes_and_channel_types():
    names = ["fp1", "EEG T3-REF", "t4", "EEG T5", "T6", "Cz", "ECG", "EOG1", "EMG2", "CWL1"]
    raw = _raw(names, seconds=5)
    prepared, report = prepare_eeg(raw, channels=["T8", "T7", "P8", "P7", "FP1", "CZ"])
    assert prepared.ch_names == ["T8", "T7", "P8", "P7", "FP1", "CZ"]
    assert report.retyped == {"ECG": "ecg", "EOG1": "eog", "EMG2": "emg", "CWL1": "misc"}
    assert set(report.dropped) == {"ECG", "EOG1", "EMG2", "CWL1"}
    # Order and identity of the data follow the requested list.
    src = raw.get_data()
    for new, old in (("T8", "t4"), ("T7", "EEG T3-REF"), ("P7", "EEG T5")):
        expected = mne.filter.resample(src[names.index(old)], down=2.5, verbose="error")
        np.testing.assert_allclose(prepared.get_data(picks=[new])[0], expected, atol=1e-12)


def test_duplicate_after_legacy_mapping_is_an_error():
    raw = _raw(["T3", "T7", "Cz"], seconds=2)
    with pytest.raises(EEGFileError, match="T3 and T7 -> T7"):
        prepare_eeg(raw, channels=None)


# ----------------------------------------------------------------------------------------------
# signal processing


def test_resampling_is_exact_for_a_band_limited_signal():
    sfreq, seconds = 1000.0, 20.0
    t = np.arange(int(seconds * sfreq)) / sfreq
    info = mne.create_info(["Cz"], sfreq, "eeg")
    raw = mne.io.RawArray(1e-5 * np.sin(2 * np.pi * 10.0 * t)[None], info, verbose="error")
    prepared, _ = prepare_eeg(raw, channels=["CZ"])
    t200 = np.arange(prepared.n_times) / 200.0
    inner = slice(200, -200)
    np.testing.assert_allclose(prepared.get_data()[0][inner],
                               1e-5 * np.sin(2 * np.pi * 10.0 * t200)[inner], atol=2e-8)


def test_highpass_removes_offset_and_drift_keeps_alpha():
    sfreq = 200.0
    t = np.arange(int(120 * sfreq)) / sfreq
    slow = 20e-6 + 10e-6 * np.sin(2 * np.pi * 0.05 * t)
    alpha = 5e-6 * np.sin(2 * np.pi * 10.0 * t)
    raw = mne.io.RawArray((slow + alpha)[None], mne.create_info(["Oz"], sfreq, "eeg"),
                          verbose="error")
    filtered, report = prepare_eeg(raw, channels=["OZ"], highpass=0.5)
    plain, _ = prepare_eeg(raw, channels=["OZ"])
    inner = slice(2000, -2000)
    x = filtered.get_data()[0][inner]
    np.testing.assert_allclose(plain.get_data()[0], slow + alpha, atol=1e-12)
    assert abs(x.mean()) < 0.05e-6
    # The 0.05 Hz drift lies in the filter's transition band: attenuated > 30-fold, not removed.
    residual = x - alpha[inner]
    assert residual.std() < (slow[inner] - slow[inner].mean()).std() / 30
    assert abs(x.std() / alpha[inner].std() - 1) < 0.01
    assert report.highpass == 0.5 and report.as_attrs()["highpass_hz"] == 0.5


def test_interpolation_of_a_smooth_field():
    """A field linear in the electrode positions is rebuilt almost exactly at missing sites."""
    positions, _ = _standard_montage_positions()
    rng = np.random.default_rng(3)
    sources = rng.standard_normal((2, 2000)) * 2e-4
    pos = np.array([positions[c] for c in PAPER_CHANNELS])
    field = pos[:, :1] * sources[0] + pos[:, 1:2] * sources[1]
    gone = ["OZ", "FT9", "CZ"]
    have = [c for c in PAPER_CHANNELS if c not in gone]
    raw = mne.io.RawArray(field[[PAPER_CHANNELS.index(c) for c in have]],
                          mne.create_info(have, 200.0, "eeg"), verbose="error")
    prepared, report = prepare_eeg(raw, missing="interpolate")
    assert report.interpolated == tuple(c for c in PAPER_CHANNELS if c in gone)
    for name in gone:
        est = prepared.get_data(picks=[name])[0]
        assert np.corrcoef(est, field[PAPER_CHANNELS.index(name)])[0, 1] > 0.99, name
    # Channels that were present are untouched.
    np.testing.assert_allclose(prepared.get_data(picks=["O1"])[0],
                               field[PAPER_CHANNELS.index("O1")], atol=1e-15)


def test_stim_channel_codes_become_triggers():
    sfreq = 250.0
    raw = _raw(["Cz", "Pz", "STI"], sfreq=sfreq, seconds=30)
    raw.set_channel_types({"STI": "stim"})
    stim = np.zeros(raw.n_times)
    pulses = np.arange(500, raw.n_times - 10, 525)  # every 2.1 s
    stim[pulses] = 149
    raw._data[2] = stim
    prepared, _ = prepare_eeg(raw, channels=["CZ", "PZ"])
    np.testing.assert_allclose(trigger_times(prepared, "149"), pulses / sfreq)
    np.testing.assert_allclose(trigger_times(prepared, "R149"), pulses / sfreq)


def test_trigger_times_after_crop_count_from_the_first_sample(tmp_path):
    raw = _raw(["Cz"], sfreq=200.0, seconds=60)
    raw.set_meas_date(1_600_000_000)
    raw.set_annotations(mne.Annotations([30.0, 32.1], [0, 0], ["R149", "R149"],
                                        orig_time=raw.info["meas_date"]))
    back = read_eeg(_save_fif(raw, tmp_path))
    cropped = back.copy().crop(tmin=10.0)
    assert cropped.first_samp == 2000
    np.testing.assert_allclose(trigger_times(cropped, "R149"), [20.0, 22.1])
    windows = eeg_windows_from_raw(prepare_eeg(cropped, ["CZ"])[0], scan="s", subject="s")
    np.testing.assert_allclose(windows.values[0, 0], back.get_data()[0, 2800:6000] * 1e6,
                               rtol=1e-5)


def test_missing_trigger_lists_markers_and_fix():
    raw = _raw(["Cz"], seconds=20)
    raw.set_annotations(mne.Annotations([1.0], [0], ["Stimulus/S  1"]))
    with pytest.raises(EEGFileError, match=r"no 'R149' volume trigger.*S  1.*trigger=None"):
        trigger_times(raw, "R149")


def test_tr_grid_without_triggers():
    prepared, _ = prepare_eeg(_raw(["Cz", "Pz"], sfreq=200.0, seconds=60), ["CZ", "PZ"])
    windows = eeg_windows_from_raw(prepared, trigger=None, tr=2.0, first_volume=3.0, scan="a",
                                   subject="b")
    grid = 3.0 + 2.0 * np.arange(29)  # up to 59 s
    full = grid >= 16.0
    np.testing.assert_allclose(windows.onset.values, grid[full])
    assert windows.attrs["n_volumes"] == 29
    assert windows.attrs["dropped_tr_index"] == ",".join(map(str, np.flatnonzero(~full)))


def test_window_attrs_survive_netcdf(tmp_path):
    raw = _raw([c for c in PAPER_CHANNELS if c != "OZ"], sfreq=200.0, seconds=40)
    raw.set_annotations(mne.Annotations(np.arange(0, 40, 2.1), 0, "R149"))
    prepared, report = prepare_eeg(raw, missing="interpolate")
    windows = eeg_windows_from_raw(prepared, scan="s", subject="t", report=report)
    back = uv.data.load(uv.data.save(windows, tmp_path / "w.nc"))
    assert back.attrs["channels_interpolated"] == "OZ"
    assert back.attrs["units_conversion"] == "V -> uV (x1e6)"
    np.testing.assert_array_equal(back.values, windows.values)


# ----------------------------------------------------------------------------------------------
# bad input: each message names the file and the fix


def test_nan_stretch_is_refused_with_its_location(tmp_path):
    raw = _raw(list(PAPER_CHANNELS[:4]), sfreq=500.0, seconds=20)
    raw._data[2, 1000:1500] = np.nan
    raw._data[3, 4000] = np.inf
    path = _save_fif(raw, tmp_path)
    with pytest.raises(EEGFileError) as err:
        prepare_eeg(read_eeg(path), channels=PAPER_CHANNELS[:4])
    message = str(err.value)
    assert str(path) in message and "501 NaN or infinite samples" in message
    assert "F3, F4" in message and "2.00-3.00 s in F3" in message and "raw.crop" in message

    # NaN in a channel the model does not use is no reason to refuse the recording.
    extra = _raw([*PAPER_CHANNELS[:4], "FC1"], sfreq=500.0, seconds=20)
    extra._data[4, 100:200] = np.nan
    prepared, _ = prepare_eeg(extra, channels=PAPER_CHANNELS[:4])
    assert np.all(np.isfinite(prepared.get_data()))


def test_flat_channel_raises_or_is_interpolated(tmp_path):
    names = ["FP1", "FP2", "F3", "F4", "C3", "C4", "P3", "P4", "O1", "O2", "CZ", "PZ"]
    raw = _raw(names, sfreq=200.0, seconds=20)
    raw._data[names.index("C3")] = 3e-6  # a constant: disconnected electrode
    path = _save_fif(raw, tmp_path)
    with pytest.raises(EEGFileError) as err:
        prepare_eeg(read_eeg(path), channels=names)
    assert str(path) in str(err.value) and "flat (constant): C3" in str(err.value)
    assert "missing='interpolate'" in str(err.value)
    prepared, report = prepare_eeg(read_eeg(path), channels=names, missing="interpolate")
    assert report.flat == ("C3",) and report.interpolated == ("C3",)
    assert prepared.get_data(picks=["C3"]).std() > 1e-7


def test_microvolts_declared_as_volts(tmp_path):
    raw = _raw(["Cz", "Pz", "Oz"], sfreq=200.0, seconds=20, scale=1e-5)
    in_uv = raw.get_data() * 1e6
    wrong = mne.io.RawArray(in_uv, raw.info, verbose="error")  # uV numbers, declared volts
    path = _save_fif(wrong, tmp_path)
    with pytest.raises(EEGFileError) as err:
        prepare_eeg(read_eeg(path), channels=["CZ", "PZ", "OZ"])
    assert str(path) in str(err.value) and "rescale=1e-6" in str(err.value)
    assert "declares volts" in str(err.value)
    fixed, report = prepare_eeg(read_eeg(path), channels=["CZ", "PZ", "OZ"], rescale=1e-6)
    np.testing.assert_allclose(raw_to_microvolts(fixed, np.float64), in_uv, rtol=1e-6)
    assert "rescale x1e-06" in report.as_attrs()["units_conversion"]


def test_sampling_rate_below_200_hz(tmp_path):
    raw = _raw(["Cz", "Pz"], sfreq=128.0, seconds=30)
    path = _save_fif(raw, tmp_path)
    with pytest.raises(EEGFileError) as err:
        prepare_eeg(read_eeg(path), channels=["CZ", "PZ"])
    assert str(path) in str(err.value) and "128 Hz" in str(err.value)
    assert "allow_upsampling=True" in str(err.value)
    prepared, _ = prepare_eeg(read_eeg(path), channels=["CZ", "PZ"], allow_upsampling=True)
    assert prepared.info["sfreq"] == 200.0 and prepared.n_times == 6000
