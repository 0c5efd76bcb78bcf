"""EEG spectra per TR and (EEG, next volume) samples for the volumetric peers.

The input convention of E2fNet (Kang et al., "E2fNet: an EEG-to-fMRI translation network") and
Spec2VolCAMU-Net, made reproducible and free of test-set leakage:

1. **One spectrum per TR and channel.** The EEG of TR ``j`` is the ``round(tr * sfreq)``
   samples from the trigger of volume ``j``; its FFT magnitude, DC dropped, keeps ``n_bins``
   bins (249 by default, the papers' "first 250 bins").
2. **z-score across channels** for every (bin, TR window).
3. **Global min-max to [0, 1]** with the minimum and maximum of the *training* scans only
   (:func:`fit_spectrum_scaler`), applied unchanged to validation and test scans (the
   authors' code used test statistics; we do not).
4. **Samples.** ``n_windows`` (20) consecutive TR spectra ``j = k - 20 .. k - 1`` are the input
   channels; the target is volume ``k + bold_shift`` (the volume right after them by default),
   min-max scaled per volume to [0, 1] (:func:`minmax_volume`).

Frequency resolution: the papers take the first 250 bins of an FFT of one TR at the recording
rate (1000 Hz or more), so bin ``b`` is ``b / TR`` Hz (about 0.46 .. 115 Hz at TR 2.16 s). The
package's prepared EEG is at 200 Hz: one TR of 2.1 s is 420 samples, 210 bins above DC. When a
TR holds at least ``2 * n_bins`` samples, the papers' rule is applied as is
(``n_fft = TR samples``, resolution ``1 / TR`` Hz); otherwise the segment is zero-padded to
``n_fft = 2 * n_bins`` samples so that the ``n_bins`` bins span DC .. Nyquist with a resolution
of ``sfreq / (2 * n_bins)`` Hz (0.402 Hz at 200 Hz: 0.40 .. 100 Hz, an interpolated spectrum;
the bins then mean other frequencies than the papers'). :func:`tr_spectra` records the bin
frequencies in the ``freq`` coordinate.

Shapes (what the models take): input ``(batch, n_windows, n_channels, n_bins)``, target
``(batch, nz, nx, ny)`` (slices as channels). Nothing holds all volumes in memory:
:class:`VolumeSamples` reads each target volume when asked for it (from an in-memory or a lazily
opened ``bold_volumes`` container, see :func:`unebolt_viz.data.volumes.open_volumes`).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import xarray as xr

__all__ = [
    "N_BINS",
    "N_WINDOWS",
    "fft_plan",
    "tr_spectra",
    "scan_spectra",
    "SpectrumScaler",
    "fit_spectrum_scaler",
    "minmax_volume",
    "VolumeSamples",
]

N_BINS = 249
N_WINDOWS = 20


def fft_plan(n_tr: int, sfreq: float, n_bins: int = N_BINS) -> tuple[int, np.ndarray]:
    """FFT length and bin frequencies (Hz, DC excluded) for TR segments of ``n_tr`` samples.

    Parameters
    ----------
    n_tr : int
        Samples in one TR.
    sfreq : float
        Sampling rate (Hz).
    n_bins : int
        Bins kept above DC.

    Returns
    -------
    n_fft : int
        ``n_tr`` when it yields ``n_bins`` bins above DC (the papers' rule), else
        ``2 * n_bins`` (zero padding; the bins then span up to Nyquist).
    freqs : ndarray, shape (n_bins,)
        Frequency of each kept bin.
    """
    if n_bins < 1 or n_tr < 2:
        raise ValueError(f"n_bins={n_bins} and n_tr={n_tr} must be positive (n_tr >= 2).")
    n_fft = n_tr if n_tr // 2 >= n_bins else 2 * n_bins
    return n_fft, np.arange(1, n_bins + 1) * float(sfreq) / n_fft


def tr_spectra(eeg: np.ndarray, volume_samples: Sequence[int], sfreq: float, tr: float,
               n_bins: int = N_BINS, zscore: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """FFT magnitudes of the EEG of every TR, z-scored across channels.

    Parameters
    ----------
    eeg : ndarray, shape (n_channels, n_samples)
        Continuous EEG.
    volume_samples : sequence of int
        The EEG sample of each volume's trigger, in volume order.
    sfreq : float
        Sampling rate (Hz).
    tr : float
        Repetition time (s).
    n_bins : int
        Bins kept above DC (249: the papers').
    zscore : bool
        z-score across channels for every (TR, bin) (the papers' step 2).

    Returns
    -------
    spectra : ndarray of float32, shape (n_complete, n_channels, n_bins)
        One spectrum per TR whose EEG is complete (TR ``j`` starts at trigger ``j``; TRs are
        consecutive from the first volume, the incomplete ones at the end are dropped).
    freqs : ndarray, shape (n_bins,)
        Bin frequencies (Hz); see :func:`fft_plan`.
    """
    eeg = np.asarray(eeg)
    starts = np.asarray(volume_samples, dtype=np.int64)
    if eeg.ndim != 2:
        raise ValueError(f"eeg must be (channel, sample); got shape {eeg.shape}.")
    if starts.size and starts[0] < 0:
        raise ValueError("volume_samples must index the EEG (the first trigger is before it).")
    n_tr = int(round(tr * sfreq))
    n_fft, freqs = fft_plan(n_tr, sfreq, n_bins)
    complete = int(np.sum(starts + n_tr <= eeg.shape[1]))
    if complete == 0 or not np.all(starts[:complete] + n_tr <= eeg.shape[1]):
        raise ValueError(f"The EEG ({eeg.shape[1]} samples) holds no complete TR of {n_tr} "
                         "samples after the triggers: check volume_samples and sfreq.")
    out = np.empty((complete, eeg.shape[0], n_bins), dtype=np.float32)
    for j in range(complete):
        segment = np.asarray(eeg[:, starts[j]:starts[j] + n_tr], dtype=np.float64)
        out[j] = np.abs(np.fft.rfft(segment, n=n_fft, axis=-1))[:, 1:n_bins + 1]
    if zscore:
        mean = out.mean(axis=1, keepdims=True)
        std = out.std(axis=1, keepdims=True)
        out = (out - mean) / np.where(std > 0, std, 1.0)
    return out.astype(np.float32, copy=False), freqs


def scan_spectra(scan_data: xr.Dataset, n_bins: int = N_BINS) -> xr.DataArray:
    """:func:`tr_spectra` of one scan's Dataset (``SimulatedCohort.scan_data``).

    Parameters
    ----------
    scan_data : xarray.Dataset
        With ``eeg`` (channel, sample), ``volume_sample`` (volume) and attrs ``sfreq``, ``tr``.
    n_bins : int

    Returns
    -------
    xarray.DataArray
        ``(tr_window, channel, freq)``; ``tr_window`` is the volume index whose trigger starts
        the TR; attrs ``sfreq``, ``tr``, ``n_fft``, ``freq_resolution_hz``, ``scan``,
        ``subject`` and ``data_source``.
    """
    sfreq, tr = float(scan_data.attrs["sfreq"]), float(scan_data.attrs["tr"])
    values, freqs = tr_spectra(scan_data["eeg"].values, scan_data["volume_sample"].values,
                               sfreq, tr, n_bins)
    n_fft, _ = fft_plan(int(round(tr * sfreq)), sfreq, n_bins)
    return xr.DataArray(
        values, dims=("tr_window", "channel", "freq"),
        coords={"tr_window": np.arange(values.shape[0]), "freq": freqs,
                "channel": scan_data["channel"].values},
        name="eeg_spectra",
        attrs={"sfreq": sfreq, "tr": tr, "n_fft": n_fft, "freq_resolution_hz": sfreq / n_fft,
               "scan": str(scan_data.attrs.get("scan", "")),
               "subject": str(scan_data.attrs.get("subject", "")),
               "data_source": str(scan_data.attrs.get("data_source", "real")),
               "processing": "|FFT| per TR and channel, DC dropped; z-score across channels"},
    )


@dataclass(frozen=True)
class SpectrumScaler:
    """Global min-max scaling of z-scored spectra, with statistics of training scans only."""

    minimum: float
    maximum: float

    def transform(self, spectra: np.ndarray) -> np.ndarray:
        """``(x - min) / (max - min)``: training data land in [0, 1], others may overshoot."""
        span = self.maximum - self.minimum
        return ((np.asarray(spectra, dtype=np.float32) - self.minimum)
                / (span if span > 0 else 1.0)).astype(np.float32)

    def to_dict(self) -> dict[str, float]:
        """JSON-ready form (store it with the model)."""
        return {"minimum": float(self.minimum), "maximum": float(self.maximum)}


def fit_spectrum_scaler(train_spectra: Sequence[np.ndarray | xr.DataArray]) -> SpectrumScaler:
    """The global minimum and maximum of the training scans' spectra.

    Parameters
    ----------
    train_spectra : sequence of arrays
        Spectra of the *training* scans only (:func:`tr_spectra` / :func:`scan_spectra`).

    Returns
    -------
    SpectrumScaler
    """
    if not train_spectra:
        raise ValueError("fit_spectrum_scaler needs the spectra of at least one training scan.")
    lo = min(float(np.min(np.asarray(s))) for s in train_spectra)
    hi = max(float(np.max(np.asarray(s))) for s in train_spectra)
    return SpectrumScaler(lo, hi)


def minmax_volume(volume: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
    """Min-max scale each volume to [0, 1] (the papers' target scaling).

    Parameters
    ----------
    volume : ndarray, shape (..., nx, ny, nz) or any shape whose last three axes are space
        One volume or a stack; each volume is scaled on its own.
    mask : ndarray of bool, shape (nx, ny, nz), optional
        Compute the minimum and maximum over these voxels only and set the others to 0
        (default: all voxels, as in the papers).

    Returns
    -------
    ndarray of float32
    """
    v = np.asarray(volume, dtype=np.float32)
    axes = (-3, -2, -1)
    if mask is None:
        lo, hi = v.min(axis=axes, keepdims=True), v.max(axis=axes, keepdims=True)
    else:
        inside = np.broadcast_to(np.asarray(mask, bool), v.shape)
        lo = np.where(inside, v, np.inf).min(axis=axes, keepdims=True)
        hi = np.where(inside, v, -np.inf).max(axis=axes, keepdims=True)
    span = np.where(hi > lo, hi - lo, 1.0)
    out = (v - lo) / span
    return out if mask is None else np.where(inside, out, 0.0).astype(np.float32)


class VolumeSamples:
    """Lazy (20 TR spectra, next volume) samples of several scans, for training or prediction.

    Spectra are small and kept in memory; each target volume is read from its container only
    when its sample is asked for, so a lazily opened file is never read whole.

    Parameters
    ----------
    spectra : sequence of arrays or DataArrays, each (n_tr, n_channels, n_bins)
        Per scan, from :func:`tr_spectra` or :func:`scan_spectra` (TR ``j`` after trigger
        ``j``).
    volumes : sequence of xarray.DataArray
        Per scan, a ``bold_volumes`` container of that scan (in memory or from
        :func:`~unebolt_viz.data.volumes.open_volumes`); volume ``k`` is found by its
        ``tr_index``.
    scaler : SpectrumScaler
        From :func:`fit_spectrum_scaler` on the training scans.
    n_windows : int
        Consecutive TRs per sample (20).
    bold_shift : int
        Target = volume ``k + bold_shift`` for TRs ``k - n_windows .. k - 1`` (0: the volume
        right after them).
    mask_scaling : bool
        Min-max the targets within the brain mask (outside set to 0) instead of the whole grid.

    Notes
    -----
    ``samples[i]`` is ``(x, y)``: ``x`` float32 ``(n_windows, n_channels, n_bins)``, ``y``
    float32 ``(nz, nx, ny)`` in [0, 1]. It works as a ``torch.utils.data.Dataset`` (wrap the
    arrays with ``torch.from_numpy``). :meth:`batches` yields stacked numpy batches;
    :meth:`to_xarray` labels a few samples.
    """

    def __init__(self, spectra: Sequence[np.ndarray | xr.DataArray],
                 volumes: Sequence[xr.DataArray], scaler: SpectrumScaler,
                 n_windows: int = N_WINDOWS, bold_shift: int = 0,
                 mask_scaling: bool = False) -> None:
        if len(spectra) != len(volumes):
            raise ValueError(f"{len(spectra)} spectra but {len(volumes)} volume containers: "
                             "give one of each per scan, in the same order.")
        self.scaler, self.n_windows, self.bold_shift = scaler, int(n_windows), int(bold_shift)
        self.mask_scaling = mask_scaling
        self._spectra = [scaler.transform(np.asarray(s)) for s in spectra]
        self._volumes = list(volumes)
        self._freqs = [np.asarray(s["freq"]) if isinstance(s, xr.DataArray) else None
                       for s in spectra]
        self._channels = (np.asarray(spectra[0]["channel"]) if isinstance(spectra[0], xr.DataArray)
                          and "channel" in spectra[0].coords else None)
        index = []
        for i, (spec, vol) in enumerate(zip(self._spectra, self._volumes)):
            position = {int(t): p for p, t in enumerate(vol["tr_index"].values)}
            for k in range(self.n_windows, spec.shape[0] + 1):
                if k + self.bold_shift in position:
                    index.append((i, k, position[k + self.bold_shift]))
        if not index:
            raise ValueError(f"No sample: every scan needs more than {self.n_windows} complete "
                             "TRs of EEG with their volumes.")
        self._index = np.array(index, dtype=np.int64)

    def __len__(self) -> int:
        return int(self._index.shape[0])

    def __getitem__(self, item: int) -> tuple[np.ndarray, np.ndarray]:
        scan, k, position = self._index[item]
        x = self._spectra[scan][k - self.n_windows:k]
        vol = self._volumes[scan]
        values = np.asarray(vol.isel(time=int(position)).values)
        mask = vol.coords["mask"].values if self.mask_scaling else None
        y = np.moveaxis(minmax_volume(values, mask), -1, 0)
        return np.ascontiguousarray(x), np.ascontiguousarray(y, dtype=np.float32)

    def sample_info(self) -> list[tuple[int, int]]:
        """``(scan position, target tr_index)`` of every sample, in order."""
        return [(int(s), int(k) + self.bold_shift) for s, k, _ in self._index]

    def batches(self, batch_size: int = 32, shuffle: bool = False,
                rng: np.random.Generator | None = None) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Stacked ``(x, y)`` batches: ``(b, n_windows, C, n_bins)`` and ``(b, nz, nx, ny)``."""
        order = np.arange(len(self))
        if shuffle:
            (rng or np.random.default_rng()).shuffle(order)
        for start in range(0, len(order), batch_size):
            pairs = [self[int(i)] for i in order[start:start + batch_size]]
            yield np.stack([p[0] for p in pairs]), np.stack([p[1] for p in pairs])

    def to_xarray(self, items: Sequence[int] | slice = slice(None)) -> xr.Dataset:
        """Some samples as a Dataset: ``eeg (sample, window, channel, freq)`` and
        ``volume (sample, z, x, y)``, with the scan position and target ``tr_index``."""
        chosen = np.arange(len(self))[items]
        pairs = [self[int(i)] for i in chosen]
        info = np.array(self.sample_info(), dtype=np.int64).reshape(-1, 2)[chosen]
        coords = {"sample": np.arange(len(chosen)), "scan_position": ("sample", info[:, 0]),
                  "tr_index": ("sample", info[:, 1]), "window": np.arange(self.n_windows)}
        if self._freqs[0] is not None:
            coords["freq"] = self._freqs[0]
        if self._channels is not None:
            coords["channel"] = self._channels
        return xr.Dataset(
            {"eeg": (("sample", "window", "channel", "freq"), np.stack([p[0] for p in pairs])),
             "volume": (("sample", "z", "x", "y"), np.stack([p[1] for p in pairs]))},
            coords=coords,
            attrs={"data_source": str(self._volumes[0].attrs.get("data_source", "real")),
                   **{f"scaler_{k}": v for k, v in self.scaler.to_dict().items()}},
        )
