"""E2fNet inputs: per-TR spectra, z-score across channels, training-only scaling, lazy samples."""

from __future__ import annotations

import numpy as np
import pytest

from unebolt_viz.data.volumes import bold_volumes, open_volumes, save_volumes
from unebolt_viz.preprocessing_spectra import (
    VolumeSamples,
    fft_plan,
    fit_spectrum_scaler,
    minmax_volume,
    tr_spectra,
)


def test_fft_plan_papers_rule_and_padding():
    # 1000 Hz, TR 2.16 s: the papers' rule, bins are k / TR Hz
    n_fft, freqs = fft_plan(2160, 1000.0)
    assert n_fft == 2160 and freqs.size == 249
    assert freqs[0] == pytest.approx(1 / 2.16) and freqs[-1] == pytest.approx(249 / 2.16)
    # 200 Hz, TR 2.1 s: 420 samples give 210 bins, so zero-pad to 498 (0.4016 Hz .. Nyquist)
    n_fft, freqs = fft_plan(420, 200.0)
    assert n_fft == 498 and freqs[-1] == pytest.approx(100.0)
    assert freqs[1] - freqs[0] == pytest.approx(200 / 498)
    n_fft, freqs = fft_plan(420, 200.0, n_bins=100)
    assert n_fft == 420 and freqs[0] == pytest.approx(1 / 2.1)


def _eeg(sfreq, tr, n_vol, n_ch, rng, freq_of_channel):
    n_tr = int(round(tr * sfreq))
    lead = 37
    t = np.arange(lead + (n_vol + 1) * n_tr) / sfreq
    eeg = 0.01 * rng.standard_normal((n_ch, t.size))
    for c, f in enumerate(freq_of_channel):
        eeg[c] += np.sin(2 * np.pi * f * t)
    return eeg, lead + np.arange(n_vol) * n_tr


def test_spectra_peaks_and_zscore(rng):
    sfreq, tr = 1000.0, 2.0
    freqs_in = [10.0, 20.0, 40.5, 7.5]
    eeg, starts = _eeg(sfreq, tr, 5, 4, rng, freqs_in)
    raw, freqs = tr_spectra(eeg, starts, sfreq, tr, zscore=False)
    assert raw.shape == (5, 4, 249) and raw.dtype == np.float32
    for c, f in enumerate(freqs_in):  # each channel's peak sits at its frequency
        assert freqs[np.argmax(raw[2, c])] == pytest.approx(f)
    # the magnitude of a unit sine over 2000 samples at an exact bin is 1000
    assert raw[0, 0].max() == pytest.approx(1000.0, rel=1e-3)
    z, _ = tr_spectra(eeg, starts, sfreq, tr)
    np.testing.assert_allclose(z.mean(axis=1), 0, atol=1e-5)
    np.testing.assert_allclose(z.std(axis=1), 1, atol=1e-4)
    manual = (raw[3, :, 19] - raw[3, :, 19].mean()) / raw[3, :, 19].std()
    np.testing.assert_allclose(z[3, :, 19], manual, rtol=1e-4, atol=1e-5)


def test_spectra_at_200_hz_use_padding(rng):
    eeg, starts = _eeg(200.0, 2.1, 4, 3, rng, [10.0, 30.0, 50.0])
    raw, freqs = tr_spectra(eeg, starts, 200.0, 2.1, zscore=False)
    assert raw.shape == (4, 3, 249)
    for c, f in enumerate([10.0, 30.0, 50.0]):
        assert abs(freqs[np.argmax(raw[1, c])] - f) < 200 / 498
    # an incomplete last TR is dropped
    raw, _ = tr_spectra(eeg[:, : starts[-1] + 10], starts, 200.0, 2.1)
    assert raw.shape[0] == 3


def test_scaler_uses_training_statistics_only(rng):
    train = [rng.normal(0, 1, (30, 4, 249)), rng.normal(0, 2, (30, 4, 249))]
    test = rng.normal(5, 1, (30, 4, 249))
    scaler = fit_spectrum_scaler(train)
    assert scaler.minimum == pytest.approx(min(t.min() for t in train))
    assert scaler.maximum == pytest.approx(max(t.max() for t in train))
    scaled = scaler.transform(test)
    # test data are scaled with the training numbers, so they are not squeezed into [0, 1]
    assert scaled.max() > 1.0
    np.testing.assert_allclose(scaled, (test - scaler.minimum) / (scaler.maximum - scaler.minimum),
                               rtol=1e-5)
    with pytest.raises(ValueError, match="training"):
        fit_spectrum_scaler([])


def test_minmax_volume_per_volume(rng):
    vols = rng.normal(0, 1, (3, 5, 6, 4)) * np.array([1, 10, 100])[:, None, None, None]
    out = minmax_volume(vols)
    np.testing.assert_allclose(out.min(axis=(1, 2, 3)), 0)
    np.testing.assert_allclose(out.max(axis=(1, 2, 3)), 1)
    mask = np.zeros((5, 6, 4), bool)
    mask[1:3, 2:5, 1:3] = True
    masked = minmax_volume(vols, mask)
    assert np.all(masked[:, ~mask] == 0)
    np.testing.assert_allclose(masked[:, mask].max(axis=1), 1)


def test_samples_are_lazy_and_aligned(rng, tmp_path):
    n_vol, shape = 30, (12, 12, 5)
    spectra = [rng.normal(size=(n_vol - 1, 3, 249)).astype(np.float32) for _ in range(2)]
    volumes = []
    for s in range(2):
        data = rng.normal(size=(n_vol, *shape)).astype(np.float32)
        data[:, 0, 0, 0] = np.arange(n_vol) + 100 * s  # marker: the volume's index
        data[:, 0, 0, 1] = -1000.0  # fixed minimum
        v = bold_volumes(data, np.eye(4), None, 2.0, scan=f"sub0{s}-scan01", subject=f"sub0{s}",
                         data_source="simulated")
        volumes.append(open_volumes(save_volumes(v, tmp_path / f"v{s}.nc")))
    scaler = fit_spectrum_scaler(spectra[:1])  # scan 0 is the training scan
    samples = VolumeSamples(spectra, volumes, scaler)
    try:
        # TRs 0..28 are complete: targets k = 20 .. 29 in each scan
        assert len(samples) == 2 * 10
        assert samples.sample_info()[0] == (0, 20) and samples.sample_info()[-1] == (1, 29)
        x, y = samples[3]
        assert x.shape == (20, 3, 249) and y.shape == (5, 12, 12)
        np.testing.assert_allclose(x, scaler.transform(spectra[0][3:23]))
        vol = np.asarray(volumes[0].isel(time=23).values)
        np.testing.assert_allclose(y, np.moveaxis(minmax_volume(vol), -1, 0), rtol=1e-6)
        xb, yb = next(samples.batches(batch_size=4))
        assert xb.shape == (4, 20, 3, 249) and yb.shape == (4, 5, 12, 12)
        ds = samples.to_xarray(slice(10, 12))
        assert ds["eeg"].dims == ("sample", "window", "channel", "freq")
        assert list(ds["tr_index"].values) == [20, 21] and list(ds["scan_position"].values) == [1, 1]
        shifted = VolumeSamples(spectra, volumes, scaler, bold_shift=2)
        assert len(shifted) == 2 * 8 and shifted.sample_info()[0] == (0, 22)
    finally:
        for v in volumes:
            v.close()


def test_samples_from_simulated_scan():
    from unebolt_viz.preprocessing_spectra import scan_spectra
    from unebolt_viz.simulation import simulate_cohort
    from unebolt_viz.simulation.volumes import VolumeGrid, simulate_volumes

    cohort = simulate_cohort("tiny", seed=1, progress=False)
    scan = cohort.scans[0]
    spec = scan_spectra(cohort.scan_data(scan))
    assert spec.dims == ("tr_window", "channel", "freq") and spec.attrs["n_fft"] == 498
    assert spec.attrs["freq_resolution_hz"] == pytest.approx(200 / 498)
    shape = (16, 16, 8)
    grid = VolumeGrid(shape, np.diag([12.0, 14.0, 22.0, 1.0]) + np.array(
        [[0, 0, 0, -90], [0, 0, 0, -110], [0, 0, 0, -70], [0, 0, 0, 0]]), np.ones(shape, bool))
    vols = simulate_volumes(cohort, scan, grid=grid)
    samples = VolumeSamples([spec], [vols["bold"]], fit_spectrum_scaler([spec]))
    x, y = samples[0]
    assert x.shape == (20, len(cohort.ch_names), 249) and y.shape == (8, 16, 16)
    assert 0.0 <= x.min() and x.max() <= 1.0 and y.min() == 0.0 and y.max() == 1.0
