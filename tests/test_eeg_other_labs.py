"""EEG from other labs' conventions: EEGMMI-style EDF (dotted names, 160 Hz, T0/T1/T2), TUH-style
EDF (``EEG Fp1-REF``, legacy T3/T4/T5/T6), wrong units in some or all channels, truncated files.

Every file is written here with MNE (EDF through edfio, FIF): nothing is downloaded.
"""

from __future__ import annotations

import re

import edfio  # noqa: F401  (EDF export; the [io] extra is required)
import mne
import numpy as np
import pytest

from unebolt_viz.conventions import PAPER_CHANNELS, canonical_channel_name, standard_1020_name
from unebolt_viz.io.eeg import (
    EEGFileError,
    _standard_montage_positions,
    eeg_windows_from_raw,
    prepare_eeg,
    read_eeg,
)

#: The 64 labels of PhysioNet's EEG Motor Movement/Imagery files, padded with dots to 4 chars.
EEGMMI_NAMES = [
    "Fc5.", "Fc3.", "Fc1.", "Fcz.", "Fc2.", "Fc4.", "Fc6.", "C5..", "C3..", "C1..", "Cz..",
    "C2..", "C4..", "C6..", "Cp5.", "Cp3.", "Cp1.", "Cpz.", "Cp2.", "Cp4.", "Cp6.", "Fp1.",
    "Fpz.", "Fp2.", "Af7.", "Af3.", "Afz.", "Af4.", "Af8.", "F7..", "F5..", "F3..", "F1..",
    "Fz..", "F2..", "F4..", "F6..", "F8..", "Ft7.", "Ft8.", "T7..", "T8..", "T9..", "T10.",
    "Tp7.", "Tp8.", "P7..", "P5..", "P3..", "P1..", "Pz..", "P2..", "P4..", "P6..", "P8..",
    "Po7.", "Po3.", "Poz.", "Po4.", "Po8.", "O1..", "Oz..", "O2..", "Iz..",
]  # fmt: skip
#: The paper's channels an EEGMMI cap lacks.
EEGMMI_LACKS = ("FT9", "FT10", "TP9", "TP10")
LEGACY = {"T7": "T3", "T8": "T4", "P7": "T5", "P8": "T6"}
#: TUH-style labels of the paper's 26 channels, legacy temporal names included.
TUH_NAMES = [f"EEG {LEGACY.get(c) or standard_1020_name(c)}-REF" for c in PAPER_CHANNELS]


def _montage_name(label):
    """The 10-10 name of a label written in this file (independent of the package's mapping)."""
    name = label.removeprefix("EEG ").removesuffix("-REF").rstrip(".").upper()
    return {"T3": "T7", "T4": "T8", "T5": "P7", "T6": "P8"}.get(name, name)


def _field(names, sfreq, seconds, seed=0):
    """EEG (V) that is linear in the standard electrode positions, plus 2% sensor noise."""
    positions, _ = _standard_montage_positions()
    pos = np.array([positions[_montage_name(n)] for n in names])
    rng = np.random.default_rng(seed)
    n = int(round(seconds * sfreq))
    sources = rng.standard_normal((3, n)) * 4e-4
    field = pos @ sources
    return field + rng.standard_normal(field.shape) * 0.02 * field.std()


def _write_edf(path, names, sfreq, seconds, annotations=(), seed=0):
    data = _field(names, sfreq, seconds, seed)
    raw = mne.io.RawArray(data, mne.create_info(list(names), sfreq, "eeg"), verbose="error")
    if annotations:
        onsets, durations, descriptions = zip(*annotations)
        raw.set_annotations(mne.Annotations(onsets, durations, descriptions))
    mne.export.export_raw(path, raw, fmt="edf", overwrite=True, verbose="error")
    return path, data


def _eegmmi_task(tmp_path, seconds=125.0):
    """An EEGMMI task run: T0 (rest) alternating with T1/T2 every 4.2 s."""
    onsets = np.arange(0.0, seconds - 4.2, 4.2)
    labels = ["T0" if i % 2 == 0 else ("T1" if i % 4 == 1 else "T2") for i in range(onsets.size)]
    annotations = [(t, 4.1, d) for t, d in zip(onsets, labels)]
    path, data = _write_edf(tmp_path / "S001R03.edf", EEGMMI_NAMES, 160.0, seconds, annotations)
    return path, data, (onsets, labels)


def _eegmmi_baseline(tmp_path, seconds=61.0):
    """An EEGMMI baseline run: a single T0 at 0 s lasting the whole run."""
    return _write_edf(tmp_path / "S001R01.edf", EEGMMI_NAMES, 160.0, seconds,
                      [(0.0, seconds, "T0")])


def _save_fif(data, names, tmp_path, sfreq=500.0):
    raw = mne.io.RawArray(data, mne.create_info(list(names), sfreq, "eeg"), verbose="error")
    path = tmp_path / "rec_raw.fif"
    raw.save(path, overwrite=True, verbose="error")
    return path


# ----------------------------------------------------------------------------------------------
# names


def test_channel_names_of_other_labs_are_normalised():
    cases = {"Fc5.": "FC5", "Fp1..": "FP1", "Fpz.": "FPZ", "Cz..": "CZ", "T10.": "T10",
             "T3..": "T7", "t6": "P8", "EEG T5-LE": "P7", "EEG Fp1-REF": "FP1",
             "eeg cz-ref": "CZ", "EEG Oz": "OZ", "Poz.": "POZ"}
    assert {k: canonical_channel_name(k) for k in cases} == cases


def test_eegmmi_dotted_names_are_accepted(tmp_path):
    path, data, _ = _eegmmi_task(tmp_path)
    raw = read_eeg(path)
    assert raw.ch_names == EEGMMI_NAMES and raw.info["sfreq"] == 160.0
    have = [c for c in PAPER_CHANNELS if c not in EEGMMI_LACKS]
    with pytest.raises(EEGFileError, match="allow_upsampling=True"):
        prepare_eeg(raw, channels=have)
    prepared, report = prepare_eeg(raw, channels=have, allow_upsampling=True)
    assert prepared.ch_names == have and prepared.info["sfreq"] == 200.0
    assert report.renamed["Fc5."] == "FC5" and report.renamed["Fp1."] == "FP1"
    # Same signal, resampled 160 -> 200 Hz (independent FFT resampling by scipy).
    from scipy.signal import resample

    expected = resample(raw.get_data(picks=["Cz.."])[0], prepared.n_times)
    inner = slice(400, -400)
    got = prepared.get_data(picks=["CZ"])[0]
    assert np.corrcoef(got[inner], expected[inner])[0, 1] > 0.9999


def test_missing_channels_message_lists_file_names_and_interpolation_works(tmp_path):
    path, data, _ = _eegmmi_task(tmp_path)
    raw = read_eeg(path)
    with pytest.raises(EEGFileError) as err:
        prepare_eeg(raw, allow_upsampling=True)
    message = str(err.value)
    assert str(path) in message and "missing 4 of the 26 requested channels" in message
    assert re.search(r"missing 4 of the 26 requested channels: FT9, FT10, TP9, TP10 \(", message)
    assert "Fc5. -> FC5" in message and "Iz.. -> IZ" in message and "64 EEG channels" in message
    assert "missing='interpolate'" in message

    # The suggested fix works: the four are rebuilt from the montage positions of the others.
    prepared, report = prepare_eeg(raw, missing="interpolate", allow_upsampling=True)
    assert prepared.ch_names == list(PAPER_CHANNELS)
    assert set(report.interpolated) == set(EEGMMI_LACKS)
    truth = _field([*EEGMMI_NAMES, *EEGMMI_LACKS], 160.0, 125.0)[len(EEGMMI_NAMES):]
    from scipy.signal import resample

    for name, row in zip(EEGMMI_LACKS, truth):
        expected = resample(row, prepared.n_times)
        got = prepared.get_data(picks=[name])[0]
        assert np.corrcoef(got[400:-400], expected[400:-400])[0, 1] > 0.95, name


def test_tuh_style_names_at_500_hz_to_windows(tmp_path):
    path, data = _write_edf(tmp_path / "tuh.edf", TUH_NAMES, 500.0, 60.0)
    raw = read_eeg(path)
    assert raw.ch_names == TUH_NAMES
    prepared, report = prepare_eeg(raw)
    assert prepared.ch_names == list(PAPER_CHANNELS)
    assert report.renamed["EEG T3-REF"] == "T7" and report.renamed["EEG Fp1-REF"] == "FP1"
    expected = mne.filter.resample(raw.get_data(picks=["EEG T3-REF"])[0], down=2.5,
                                   verbose="error")
    np.testing.assert_allclose(prepared.get_data(picks=["T7"])[0], expected, atol=1e-12)
    # No trigger in the file: a window every TR from 16 s, the first full one.
    windows = eeg_windows_from_raw(prepared, trigger=None, tr=2.0, scan="tuh", subject="s")
    np.testing.assert_allclose(windows.onset.values, 16.0 + 2.0 * np.arange(23))
    assert windows.shape == (23, 26, 3200)


# ----------------------------------------------------------------------------------------------
# units, per channel


def test_subset_of_channels_in_volts_is_named_with_the_fix(tmp_path):
    data = _field(TUH_NAMES, 500.0, 40.0)
    wrong = list(range(0, 24, 2))  # 12 of the 26
    data[wrong] *= 1e6  # microvolt numbers declared as volts
    path = _save_fif(data, TUH_NAMES, tmp_path)
    with pytest.raises(EEGFileError) as err:
        prepare_eeg(read_eeg(path))
    message = str(err.value)
    assert str(path) in message and "12 of the 26 EEG channels" in message
    listed = message.split(": ", 2)[2].split(". ")[0]
    for i, name in enumerate(TUH_NAMES):
        assert (name in listed) == (i in wrong), name
    assert "the file stores microvolts but declares volts?" in message
    assert "'EEG Fp1-REF': 1e-6" in message and "flat" not in message
    # The fix given works: scale just those channels.
    fix = {TUH_NAMES[i]: 1e-6 for i in wrong}
    prepared, report = prepare_eeg(read_eeg(path), rescale=fix)
    np.testing.assert_allclose(prepared.get_data(picks=["FP1"])[0] * 1e6,
                               mne.filter.resample(data[0], down=2.5, verbose="error"),
                               rtol=1e-4, atol=1e-3)
    windows = eeg_windows_from_raw(prepared, trigger=None, tr=2.0, scan="s", subject="s",
                                   report=report)
    assert float(np.abs(windows.values).max()) < 1e3  # microvolts, not 1e7
    assert "FP1 x1e-06" in windows.attrs["units_conversion"]


@pytest.mark.parametrize("factor", [1e-3, 1e-6])
def test_all_channels_too_small_is_a_unit_error_not_flat(tmp_path, factor):
    data = _field(PAPER_CHANNELS, 500.0, 30.0) * factor
    path = _save_fif(data, PAPER_CHANNELS, tmp_path)
    with pytest.raises(EEGFileError) as err:
        prepare_eeg(read_eeg(path))
    message = str(err.value)
    assert str(path) in message and "all 26 EEG channels" in message
    assert "unit is wrong" in message and "flat" not in message.replace("not the EEG flat", "")
    assert f"rescale=1e{round(-np.log10(factor))}" in message
    prepared, _ = prepare_eeg(read_eeg(path), rescale=1 / factor)
    assert 5e-6 < prepared.get_data().std() < 1e-4


def test_subset_too_small_or_too_noisy_is_named_and_each_fix_works(tmp_path):
    names = list(PAPER_CHANNELS)
    data = _field(names, 500.0, 30.0)
    data[names.index("O1")] *= 1e-3  # e.g. volts declared as millivolts, one channel
    data[names.index("C4")] *= 150  # not a unit factor: a broken electrode
    path = _save_fif(data, names, tmp_path)
    with pytest.raises(EEGFileError) as err:
        prepare_eeg(read_eeg(path))
    message = str(err.value)
    assert "2 of the 26 EEG channels" in message and re.search(r"\bC4: ", message)
    assert re.search(r"\bO1: ", message) and "rescale={'O1': 1e3}" in message
    assert "C4: " in message and "not a unit factor" in message.split("O1: ")[0]
    assert "mark C4 bad (raw.info['bads'] += ['C4']) and pass missing='interpolate'" in message
    # Both fixes given work together: rescale O1, mark C4 bad and interpolate it.
    raw = read_eeg(path)
    raw.info["bads"] += ["C4"]
    prepared, report = prepare_eeg(raw, rescale={"O1": 1000}, missing="interpolate")
    assert report.interpolated == ("C4",)
    assert 0.5 < prepared.get_data(picks=["O1"]).std() / prepared.get_data(picks=["O2"]).std() < 2


def test_constant_channel_is_flat_and_only_that(tmp_path):
    names = list(PAPER_CHANNELS)
    data = _field(names, 500.0, 30.0)
    data[names.index("PZ")] = 4e-6
    path = _save_fif(data, names, tmp_path)
    with pytest.raises(EEGFileError, match=r"flat \(constant\): PZ \(found"):
        prepare_eeg(read_eeg(path))


# ----------------------------------------------------------------------------------------------
# reading and triggers


def test_truncated_edf_warning_names_the_file(tmp_path):
    path, _ = _eegmmi_baseline(tmp_path)
    whole = path.read_bytes()
    header = 256 * (len(EEGMMI_NAMES) + 2)  # fixed header + 64 EEG + 1 annotation signal
    path.write_bytes(whole[: header + (len(whole) - header) // 3])
    with pytest.warns(RuntimeWarning) as record:
        raw = read_eeg(path)
    texts = [str(w.message) for w in record]
    truncated = [t for t in texts if "does not match the file size" in t]
    assert truncated and truncated[0].startswith(f"{path}: ")
    assert f"Only {raw.n_times / 160:.1f} s of data could be read" in truncated[0]
    assert raw.n_times < 61 * 160 / 2
    # Asked for silence, MNE's verbosity is respected.
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        read_eeg(path, verbose="error")


def test_trigger_without_a_full_window_lists_the_triggers_and_the_fix(tmp_path):
    path, _ = _eegmmi_baseline(tmp_path)
    prepared, _ = prepare_eeg(read_eeg(path), channels=None, allow_upsampling=True)
    with pytest.raises(EEGFileError) as err:
        eeg_windows_from_raw(prepared, trigger="T0", scan="R01", subject="S001")
    message = str(err.value)
    assert str(path) in message and "none of the 1 'T0' triggers (at 0.00 s)" in message
    assert "'T0' x1 (0 with a full window)" in message and "trigger=None, tr=" in message
    # The fix given works: a window every TR from the first full one.
    windows = eeg_windows_from_raw(prepared, trigger=None, tr=2.0, scan="R01", subject="S001")
    np.testing.assert_allclose(windows.onset.values, 16.0 + 2.0 * np.arange(23))
    assert windows.shape == (23, 64, 3200)


def test_eegmmi_task_triggers_window_and_unknown_trigger_lists_counts(tmp_path):
    path, _, (onsets, labels) = _eegmmi_task(tmp_path)
    prepared, _ = prepare_eeg(read_eeg(path), channels=None, allow_upsampling=True)
    with pytest.raises(EEGFileError) as err:
        eeg_windows_from_raw(prepared, scan="R03", subject="S001")  # default "R149"
    counts = {d: labels.count(d) for d in ("T0", "T1", "T2")}
    for d, n in counts.items():
        assert f"'{d}' x{n}" in str(err.value)
    windows = eeg_windows_from_raw(prepared, trigger="T1", scan="R03", subject="S001")
    t1 = onsets[np.array(labels) == "T1"]
    np.testing.assert_allclose(windows.onset.values, t1[t1 >= 16.0], atol=1 / 160)
    assert windows.sizes["channel"] == 64 and windows.channel.values[0] == "FC5"
