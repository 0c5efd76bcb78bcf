"""Predicting BOLD and FC from EEG alone: ``uv.predict_eeg`` and ``unebolt-viz predict --eeg``.

The recordings are EDF files written with MNE, as other labs share them: a PhysioNet-EEGMMI-style
file (64 channels at 160 Hz, dotted labels ``"Fc5."``, no scanner triggers) and a 500 Hz file
with ``"EEG Fp1-REF"`` labels and volume triggers. Their signals are a few smooth sources seen
through the standard 10-05 montage, at scalp-EEG amplitudes.
"""

from __future__ import annotations

from pathlib import Path

import mne
import numpy as np
import pytest

import unebolt_viz as uv
from unebolt_viz.cli import main
from unebolt_viz.conventions import PAPER_CHANNELS

EEGMMI_CHANNELS = (
    "Fc5 Fc3 Fc1 Fcz Fc2 Fc4 Fc6 C5 C3 C1 Cz C2 C4 C6 Cp5 Cp3 Cp1 Cpz Cp2 Cp4 Cp6 Fp1 Fpz Fp2 "
    "Af7 Af3 Afz Af4 Af8 F7 F5 F3 F1 Fz F2 F4 F6 F8 Ft7 Ft8 T7 T8 T9 T10 Tp7 Tp8 P7 P5 P3 P1 Pz "
    "P2 P4 P6 P8 Po7 Po3 Poz Po4 Po8 O1 Oz O2 Iz").split()
EEGMMI_SECONDS, EEGMMI_TR = 150, 2.1
REF_SECONDS, REF_TRIGGERS = 100, np.arange(10.0, 98.0, 2.0)  # volumes every 2 s from 10 s


def _signals(names, sfreq, seconds, seed):
    """Smooth sources mixed onto the channels by distance on the template head (volts)."""
    from scipy.signal import lfilter

    from unebolt_viz.io.eeg import _standard_montage_positions

    positions, _ = _standard_montage_positions()
    xyz = np.array([positions[n.upper()] for n in names])
    rng = np.random.default_rng(seed)
    n = int(sfreq * seconds)
    sources = lfilter([1.0], [1.0, -0.95], rng.standard_normal((6, n)), axis=1)  # 1/f-like
    centres = rng.standard_normal((6, 3))
    centres *= 0.09 / np.linalg.norm(centres, axis=1, keepdims=True)
    mix = np.exp(-(np.linalg.norm(xyz[:, None] - centres[None], axis=2) / 0.05) ** 2)
    return (mix @ sources + 0.3 * rng.standard_normal((len(names), n))) * 5e-6


def _dotted(name):
    """PhysioNet's EDF labels: padded with dots to four characters."""
    return name + "." * (4 - len(name))


@pytest.fixture(scope="module")
def eegmmi_edf(tmp_path_factory):
    path = tmp_path_factory.mktemp("eegmmi") / "S001R01.edf"
    data = _signals(EEGMMI_CHANNELS, 160.0, EEGMMI_SECONDS, seed=1)
    info = mne.create_info([_dotted(c) for c in EEGMMI_CHANNELS], 160.0, "eeg")
    mne.export.export_raw(path, mne.io.RawArray(data, info, verbose="error"), fmt="edf",
                          verbose="error")
    return path


@pytest.fixture(scope="module")
def ref_edf(tmp_path_factory):
    path = tmp_path_factory.mktemp("ref") / "scanner.edf"
    data = _signals(PAPER_CHANNELS, 500.0, REF_SECONDS, seed=2)
    info = mne.create_info([f"EEG {c.capitalize()}-REF" for c in PAPER_CHANNELS], 500.0, "eeg")
    raw = mne.io.RawArray(data, info, verbose="error")
    raw.set_annotations(mne.Annotations(REF_TRIGGERS, 0.0, "R149"))
    mne.export.export_raw(path, raw, fmt="edf", verbose="error")
    return path


@pytest.fixture(scope="module")
def eegmmi_ridge(eegmmi_edf):
    return uv.predict_eeg(eegmmi_edf, "ridge-embedded-p64", tr=EEGMMI_TR, allow_upsampling=True,
                          missing="interpolate")


def test_eegmmi_file_without_triggers_gives_one_frame_per_tr(eegmmi_ridge):
    pred, atlas = eegmmi_ridge.prediction, uv.load_atlas("embedded", 64)
    n_expected = int(np.floor((EEGMMI_SECONDS - 16.0) / EEGMMI_TR + 1e-9)) + 1
    assert pred.shape == (n_expected, 64) == (64, 64)
    np.testing.assert_allclose(pred.time.values, 16.0 + EEGMMI_TR * np.arange(n_expected))
    assert list(pred.roi.values) == list(atlas.roi)
    assert list(pred.network.values) == list(atlas.network)
    assert np.all(np.isfinite(pred.values)) and pred.values.std() > 0
    assert eegmmi_ridge.report.interpolated == ("FT9", "FT10", "TP9", "TP10")
    assert eegmmi_ridge.report.renamed["Fc5."] == "FC5"


def test_both_containers_say_what_the_eeg_and_the_model_are(eegmmi_ridge):
    for obj in (eegmmi_ridge.prediction, eegmmi_ridge.fc):
        assert obj.attrs["data_source"] == "real"
        assert obj.attrs["model_data_source"] == "simulated"
        assert obj.attrs["model"] == "ridge-embedded-p64"
        assert obj.attrs["model_atlas"] == obj.attrs["atlas"] == "embedded"
    assert eegmmi_ridge.fc.attrs["kind"] == "fc" and eegmmi_ridge.fc.shape == (64, 64)
    np.testing.assert_allclose(eegmmi_ridge.fc.values,
                               np.corrcoef(eegmmi_ridge.prediction.values.T), atol=1e-10)
    assert "simulated" in repr(eegmmi_ridge) and "real" in repr(eegmmi_ridge)


def test_saved_prediction_and_fc_load_back_unchanged(eegmmi_ridge, tmp_path):
    path = eegmmi_ridge.save(tmp_path / "pred.nc")
    loaded = uv.load(path)
    assert sorted(loaded.data_vars) == ["bold_predicted", "fc"]
    np.testing.assert_array_equal(loaded["bold_predicted"].values, eegmmi_ridge.prediction.values)
    np.testing.assert_array_equal(loaded["fc"].values, eegmmi_ridge.fc.values)
    assert list(loaded.network.values) == list(eegmmi_ridge.prediction.network.values)
    for key in ("data_source", "model_data_source", "model", "atlas"):
        assert loaded.attrs[key] == eegmmi_ridge.prediction.attrs[key]
        assert loaded["bold_predicted"].attrs[key] == eegmmi_ridge.prediction.attrs[key]
    uv.validate(loaded["bold_predicted"])
    assert [p.name for p in tmp_path.iterdir()] == ["pred.nc"]  # no temporary file left


def test_500hz_ref_named_file_is_windowed_at_its_volume_triggers(ref_edf):
    result = uv.predict_eeg(ref_edf, "ridge-embedded-p64", trigger="R149",
                            data_source="semi-synthetic")
    full = REF_TRIGGERS[REF_TRIGGERS >= 16.0]
    pred = result.prediction
    assert pred.sizes["time"] == full.size == 41
    np.testing.assert_allclose(pred.time.values, full, atol=1e-6)
    assert pred.attrs["tr"] == pytest.approx(2.0)
    assert pred.attrs["data_source"] == result.fc.attrs["data_source"] == "semi-synthetic"
    assert pred.attrs["model_data_source"] == "simulated"
    assert result.report.renamed["EEG Fp1-REF"] == "FP1" and result.report.interpolated == ()


def test_a_raw_in_memory_is_real_by_default_and_left_untouched(ref_edf):
    raw = uv.io.read_eeg(ref_edf)
    names = list(raw.ch_names)
    result = uv.predict_eeg(raw, "ridge-embedded-p64", tr=2.0)
    assert result.data_source == "real" and result.model_data_source == "simulated"
    assert result.prediction.sizes["time"] == int((REF_SECONDS - 16.0) / 2.0) + 1
    assert raw.ch_names == names


def test_too_slow_and_incomplete_recording_names_both_fixes(eegmmi_edf):
    with pytest.raises(uv.io.EEGFileError) as err:
        uv.predict_eeg(eegmmi_edf, "ridge-embedded-p64", tr=EEGMMI_TR)
    text = str(err.value)
    assert str(eegmmi_edf) in text and "160 Hz" in text and "FT9, FT10, TP9, TP10" in text
    assert "allow_upsampling=True" in text and "missing='interpolate'" in text


def test_a_saved_model_without_rois_takes_them_from_the_atlas_argument(ref_edf, tmp_path):
    model = uv.load_pretrained("ridge-embedded-p64")
    model.roi_names = model.atlas = model.training_data_source = None  # as saved by 0.1.0
    uv.save_model(model, tmp_path / "ridge")
    with pytest.warns(UserWarning, match="records neither its ROIs nor its atlas"):
        anonymous = uv.predict_eeg(ref_edf, tmp_path / "ridge", tr=2.0)
    assert anonymous.prediction.roi.values[0] == "output_000"
    assert anonymous.model_data_source == "unknown"
    named = uv.predict_eeg(ref_edf, tmp_path / "ridge", tr=2.0, atlas="embedded")
    assert list(named.prediction.roi.values) == list(uv.load_atlas("embedded", 64).roi)
    np.testing.assert_array_equal(named.prediction.values, anonymous.prediction.values)


# --- the command line ----------------------------------------------------------------------


def test_cli_acceptance_eegmmi_with_the_shipped_unebolt(eegmmi_edf, tmp_path, capsys):
    out = tmp_path / "pred.nc"
    code = main(["predict", "--eeg", str(eegmmi_edf), "--model", "unebolt-embedded-p64",
                 "--allow-upsampling", "--missing", "interpolate", "--tr", "2.1",
                 "--out", str(out)])
    assert code == 0 and out.is_file()
    assert "trained on simulated data" in capsys.readouterr().out
    loaded = uv.load(out)
    pred = loaded["bold_predicted"]
    assert pred.shape == (64, 64)
    assert list(pred.roi.values) == list(uv.load_atlas("embedded", 64).roi)
    assert loaded.attrs["model"] == "unebolt-embedded-p64"
    assert (loaded.attrs["data_source"], loaded.attrs["model_data_source"]) == ("real", "simulated")


def test_cli_error_names_both_options_in_their_cli_spelling(eegmmi_edf, tmp_path, capsys):
    out = tmp_path / "pred.nc"
    code = main(["predict", "--eeg", str(eegmmi_edf), "--model", "ridge-embedded-p64",
                 "--tr", "2.1", "--out", str(out)])
    assert code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("unebolt-viz predict: error: ")
    assert "Traceback" not in err
    assert "--allow-upsampling" in err and "--missing interpolate" in err
    assert "allow_upsampling=True" not in err and "missing='interpolate'" not in err
    assert list(tmp_path.iterdir()) == []


def test_cli_eeg_options_without_eeg_are_refused(tmp_path, capsys):
    assert main(["predict", "--model", "ridge-embedded-p64", "--simulated", "tiny",
                 "--tr", "2.1", "--out", str(tmp_path / "p.nc")]) == 2
    err = capsys.readouterr().err
    assert "--tr" in err and "--eeg FILE only" in err and err.count("\n") == 1
    assert list(tmp_path.iterdir()) == []


def test_predict_with_eeg_alone_points_to_predict_eeg():
    from unebolt_viz.data import eeg_windows
    from unebolt_viz.training import predict

    model = uv.load_pretrained("ridge-embedded-p64")
    windows = eeg_windows(np.zeros((2, 26, 3200)), list(model.ch_names), sfreq=200.0,
                          scan="s1", subject="sub1", data_source="real")
    with pytest.raises(TypeError, match=r"EEG alone, use unebolt_viz\.predict_eeg"):
        predict(model, windows)


def test_precision_is_recorded_for_torch_models_and_checked_before_reading(ref_edf, monkeypatch):
    result = uv.predict_eeg(ref_edf, "unebolt-embedded-p64", tr=2.0, device="cpu")
    assert result.prediction.attrs["precision"] == "fp32"
    ridge = uv.predict_eeg(ref_edf, "ridge-embedded-p64", tr=2.0)
    assert "precision" not in ridge.prediction.attrs  # ridge is float64 numpy, not autocast
    from unebolt_viz.training import inference

    monkeypatch.setattr(inference, "cpu_has_native_bf16", lambda: False)
    with pytest.raises(ValueError, match="no bf16 instructions"):
        uv.predict_eeg(Path("/nonexistent/recording.edf"), "unebolt-embedded-p64", tr=2.0,
                       device="cpu", precision="bf16")
