"""Ridge regression on HRF-weighted EEG band powers: the classic cheap EEG-to-BOLD baseline.

For each window (16 s of EEG before a TR) and channel, the log band power of each frequency
band is computed in consecutive segments (2 s by default), and the segments are averaged with
the weights of the canonical haemodynamic response function at each segment's lag before the
TR (a convolution with the HRF, evaluated at the TR). The resulting ``n_chans x n_bands``
features are standardised and mapped to all ROIs by one ridge regression. numpy/scipy only.

The fit streams: :meth:`RidgeBaseline.fit_chunks` reads ``(windows, targets)`` chunks (one scan,
or part of one, at a time) and keeps only their features, so fitting many scans needs the raw
windows of one chunk at a time (the paper's 18 training scans: about 10,000 windows).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from scipy import linalg, stats

from .._utils import atomic_path
from ..conventions import N_TIMES, PAPER_CHANNELS, SFREQ, canonical_channel_name
from ..data.identity import check_provenance, provenance_config
from ._files import (
    SHA256_KEY,
    base_path,
    file_sha256,
    read_payload,
    read_weights,
    with_ext,
    write_config,
)

#: Frequency bands in Hz, [low, high).
DEFAULT_BANDS: dict[str, tuple[float, float]] = {
    "delta": (1.0, 4.0),
    "theta": (4.0, 8.0),
    "alpha": (8.0, 13.0),
    "beta": (13.0, 30.0),
    "gamma": (30.0, 45.0),
}

#: Windows reduced to features together (about 40 MB of float64 at 26 x 3200 per buffer).
FEATURE_CHUNK = 64


def canonical_hrf(t: np.ndarray) -> np.ndarray:
    """SPM's canonical double-gamma HRF (peak ~5 s, undershoot ~15 s, ratio 1/6), peak = 1.

    Parameters
    ----------
    t : array
        Seconds after the neural event; zero for ``t <= 0``.
    """
    t = np.asarray(t, dtype=float)
    h = stats.gamma.pdf(t, 6.0) - stats.gamma.pdf(t, 16.0) / 6.0
    grid = np.linspace(0.0, 32.0, 3201)
    peak = np.max(stats.gamma.pdf(grid, 6.0) - stats.gamma.pdf(grid, 16.0) / 6.0)
    return np.where(t > 0, h / peak, 0.0)


class RidgeBaseline:
    """Ridge regression from HRF-weighted log band powers to ROI signals.

    Parameters
    ----------
    alpha : float
        Ridge penalty on the standardised features.
    bands : mapping of str to (low, high), or sequence of (name, low, high), optional
        Frequency bands in Hz, in feature order; default :data:`DEFAULT_BANDS`.
    sfreq : float
        Sampling rate of the windows (200 Hz).
    ch_names : sequence of str
        Channels in input order.
    segment_s : float
        Length of the band-power segments in seconds; must divide the window length.
    n_times : int
        Samples per window (3200 = 16 s).
    roi_names : sequence of str, optional
        The ROIs the outputs stand for (set by :func:`unebolt_viz.training.fit_ridge` from the
        training BOLD); None when unknown.
    atlas : str, optional
        Name of their atlas.
    training_data_source : str, optional
        ``data_source`` of the training scans.

    Attributes
    ----------
    n_outputs : int or None
        Number of ROIs, known after :meth:`fit`.
    coef_, intercept_ : ndarray
        Weights on standardised features, (n_features, n_outputs), and (n_outputs,).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> windows = rng.standard_normal((40, 26, 3200)) * 10
    >>> targets = rng.standard_normal((40, 8))
    >>> RidgeBaseline(alpha=10.0).fit(windows, targets).predict(windows).shape
    (40, 8)
    """

    name = "ridge"

    def __init__(
        self,
        alpha: float = 1.0,
        bands: Mapping[str, Sequence[float]] | Sequence[Sequence[Any]] | None = None,
        sfreq: float = SFREQ,
        ch_names: Sequence[str] = PAPER_CHANNELS,
        segment_s: float = 2.0,
        n_times: int = N_TIMES,
        roi_names: Sequence[str] | None = None,
        atlas: str | None = None,
        training_data_source: str | None = None,
    ) -> None:
        if alpha < 0:
            raise ValueError(f"alpha must be >= 0, got {alpha}")
        self.alpha = float(alpha)
        bands = DEFAULT_BANDS if bands is None else bands
        items = bands.items() if isinstance(bands, Mapping) else ((b[0], b[1:]) for b in bands)
        self.bands = {str(k): (float(v[0]), float(v[1])) for k, v in items}
        nyquist = sfreq / 2
        for band, (low, high) in self.bands.items():
            if not 0 <= low < high <= nyquist:
                raise ValueError(
                    f"band {band!r}={low, high} Hz must satisfy 0 <= low < high <= {nyquist}"
                )
        self.sfreq = float(sfreq)
        self.ch_names = tuple(canonical_channel_name(str(c)) for c in ch_names)
        self.segment_s = float(segment_s)
        self.n_times = int(n_times)
        self.segment_len = int(round(self.segment_s * self.sfreq))
        if self.segment_len <= 0 or self.n_times % self.segment_len:
            raise ValueError(
                f"segment_s={segment_s} s ({self.segment_len} samples) must divide the window of "
                f"{self.n_times} samples"
            )
        self.n_outputs: int | None = None
        self.coef_: np.ndarray | None = None
        self.intercept_: np.ndarray | None = None
        self.feature_mean_: np.ndarray | None = None
        self.feature_scale_: np.ndarray | None = None
        self.roi_names, self.atlas, self.training_data_source = check_provenance(
            None, roi_names, atlas, training_data_source)

    @property
    def n_chans(self) -> int:
        return len(self.ch_names)

    @property
    def hrf_weights(self) -> np.ndarray:
        """Weight of each segment (oldest first): the HRF at its centre's lag, summing to one."""
        n_segments = self.n_times // self.segment_len
        window_s = self.n_times / self.sfreq
        centres = (np.arange(n_segments) + 0.5) * self.segment_s - window_s  # seconds, < 0
        weights = canonical_hrf(-centres)
        return weights / weights.sum()

    def band_log_power(self, windows: np.ndarray) -> np.ndarray:
        """log10 band power per segment, (n, n_chans, n_segments, n_bands), Hann periodogram."""
        windows = self._check_windows(windows)
        n, c, t = windows.shape
        segments = windows.reshape(n, c, t // self.segment_len, self.segment_len)
        segments = segments - segments.mean(axis=-1, keepdims=True)
        taper = np.hanning(self.segment_len + 1)[:-1]  # periodic Hann, as scipy's 'hann'
        spectrum = np.abs(np.fft.rfft(segments * taper, axis=-1)) ** 2
        psd = spectrum / (self.sfreq * np.sum(taper**2))
        psd[..., 1:] *= 2  # one-sided (the Nyquist bin too: its doubling is harmless here)
        freqs = np.fft.rfftfreq(self.segment_len, 1.0 / self.sfreq)
        df = freqs[1]
        powers = [
            psd[..., (freqs >= low) & (freqs < high)].sum(axis=-1) * df
            for low, high in self.bands.values()
        ]
        return np.log10(np.stack(powers, axis=-1) + 1e-12)

    def features(self, windows: np.ndarray, chunk_size: int = FEATURE_CHUNK) -> np.ndarray:
        """HRF-weighted log band powers, (n, n_chans * n_bands), channel-major.

        The windows are reduced ``chunk_size`` at a time (each cast to float64 on its own), so
        the spectral buffers never exceed one chunk whatever the number of windows.
        """
        windows = self._check_windows_shape(windows)
        if chunk_size < 1:
            raise ValueError(f"chunk_size must be >= 1, got {chunk_size}")
        n = windows.shape[0]
        out = np.empty((n, self.n_chans * len(self.bands)))
        weights = self.hrf_weights
        for start in range(0, n, chunk_size):
            log_power = self.band_log_power(windows[start:start + chunk_size])
            weighted = np.einsum("ncsb,s->ncb", log_power, weights)
            out[start:start + chunk_size] = weighted.reshape(weighted.shape[0], -1)
        return out

    def fit(self, windows: np.ndarray, targets: np.ndarray) -> RidgeBaseline:
        """Fit on windows (n, n_chans, n_times) in microvolts and targets (n, n_outputs).

        The same fit as :meth:`fit_chunks` with one chunk.
        """
        return self.fit_chunks([(windows, targets)])

    def fit_chunks(self, chunks: Iterable[tuple[np.ndarray, np.ndarray]]) -> RidgeBaseline:
        """Fit on an iterable of ``(windows, targets)`` pairs, e.g. one per scan.

        Only the features (``n_chans * n_bands`` numbers per window) of the chunks are kept;
        each chunk's raw windows are released before the next is read, so a generator that
        yields one scan (or a part of one) at a time bounds the memory of the fit by one
        chunk. The result equals :meth:`fit` on all windows concatenated.

        Parameters
        ----------
        chunks : iterable of (ndarray, ndarray)
            Windows ``(n_k, n_chans, n_times)`` in microvolts and their targets
            ``(n_k, n_outputs)``; every chunk has the same ``n_outputs``.
            :func:`unebolt_viz.training.experiments.ridge_chunks` yields them from ScanPairs.

        Returns
        -------
        RidgeBaseline
            ``self``, fitted.
        """
        return self.fit_features(*self.chunk_features(chunks))

    def chunk_features(
        self, chunks: Iterable[tuple[np.ndarray, np.ndarray]]
    ) -> tuple[np.ndarray, np.ndarray]:
        """Features ``(n, n_features)`` and targets ``(n, n_outputs)`` of all chunks, stacked.

        Parameters
        ----------
        chunks : iterable of (ndarray, ndarray)
            As in :meth:`fit_chunks`; read once, one chunk at a time.

        Returns
        -------
        X : ndarray, (n, n_chans * n_bands)
        Y : ndarray, (n, n_outputs)
        """
        feats, targets = [], []
        for windows, y in chunks:
            x = self.features(windows)
            feats.append(x)
            targets.append(self._check_targets(y, x.shape[0], targets[0] if targets else None))
            del windows, y  # the loop variables would keep this chunk alive while the next loads
        if not feats:
            raise ValueError("No windows to fit: the chunks iterable was empty.")
        return np.concatenate(feats), np.concatenate(targets)

    def fit_features(self, X: np.ndarray, Y: np.ndarray) -> RidgeBaseline:
        """Fit on precomputed features and targets (what :meth:`fit_chunks` ends with).

        Fitting several penalties on the same data then reduces the windows only once.

        Parameters
        ----------
        X : ndarray, (n, n_chans * n_bands)
            :meth:`features` (or :meth:`chunk_features`) of the training windows.
        Y : ndarray, (n, n_outputs) or (n,)
            Targets.

        Returns
        -------
        RidgeBaseline
            ``self``, fitted.
        """
        X = np.asarray(X, dtype=float)
        if X.ndim != 2 or X.shape[1] != self.n_chans * len(self.bands):
            raise ValueError(f"features must be (n, {self.n_chans * len(self.bands)}), got "
                             f"{X.shape}: compute them with RidgeBaseline.features")
        Y = self._check_targets(Y, X.shape[0])
        check_provenance(Y.shape[1], self.roi_names, self.atlas, self.training_data_source)
        self.feature_mean_ = X.mean(axis=0)
        scale = X.std(axis=0)
        self.feature_scale_ = np.where(scale > 0, scale, 1.0)
        Z = (X - self.feature_mean_) / self.feature_scale_
        y_mean = Y.mean(axis=0)
        gram = Z.T @ Z + self.alpha * np.eye(Z.shape[1])
        self.coef_ = linalg.solve(gram, Z.T @ (Y - y_mean), assume_a="sym")
        self.intercept_ = y_mean
        self.n_outputs = Y.shape[1]
        return self

    def predict(self, windows: np.ndarray) -> np.ndarray:
        """Predicted ROI values, (n, n_outputs)."""
        self._check_fitted()
        return self.predict_features(self.features(windows))

    def predict_features(self, X: np.ndarray) -> np.ndarray:
        """Predicted ROI values, (n, n_outputs), from precomputed :meth:`features` ``X``."""
        self._check_fitted()
        Z = (np.asarray(X, dtype=float) - self.feature_mean_) / self.feature_scale_
        return Z @ self.coef_ + self.intercept_

    def get_config(self) -> dict[str, Any]:
        """JSON-serialisable settings (not the fitted weights)."""
        return {
            "name": self.name,
            "alpha": self.alpha,
            # a list, not a dict: the feature order follows the band order
            "bands": [[k, low, high] for k, (low, high) in self.bands.items()],
            "sfreq": self.sfreq,
            "ch_names": list(self.ch_names),
            "segment_s": self.segment_s,
            "n_times": self.n_times,
            "n_outputs": self.n_outputs,
            **provenance_config(self),
        }

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> RidgeBaseline:
        """An unfitted model with the settings of :meth:`get_config`."""
        config = dict(config)
        if config.pop("name", cls.name) != cls.name:
            raise ValueError("config is not a RidgeBaseline config")
        config.pop("n_outputs", None)
        return cls(**config)

    def state_arrays(self) -> dict[str, np.ndarray]:
        """The fitted arrays (for :func:`unebolt_viz.models.save_model`)."""
        if self.coef_ is None:
            raise RuntimeError("nothing to save: the RidgeBaseline is not fitted")
        return {
            "coef": self.coef_,
            "intercept": self.intercept_,
            "feature_mean": self.feature_mean_,
            "feature_scale": self.feature_scale_,
        }

    @classmethod
    def from_state(
        cls, config: Mapping[str, Any], arrays: Mapping[str, np.ndarray]
    ) -> RidgeBaseline:
        """Rebuild a fitted model from its config and :meth:`state_arrays`."""
        model = cls.from_config(config)
        n_features = model.n_chans * len(model.bands)
        expected = {
            "coef": (n_features, config.get("n_outputs")),
            "intercept": (config.get("n_outputs"),),
            "feature_mean": (n_features,),
            "feature_scale": (n_features,),
        }
        for key, shape in expected.items():
            if key not in arrays:
                raise ValueError(f"RidgeBaseline state: missing key {key} (expected shape {shape})")
            if tuple(arrays[key].shape) != shape:
                raise ValueError(
                    f"RidgeBaseline state: key {key} expected shape {shape}, found "
                    f"{tuple(arrays[key].shape)}"
                )
        extra = sorted(set(arrays) - set(expected))
        if extra:
            raise ValueError(f"RidgeBaseline state: unexpected key(s) {extra}")
        model.coef_ = np.asarray(arrays["coef"], dtype=float)
        model.intercept_ = np.asarray(arrays["intercept"], dtype=float)
        model.feature_mean_ = np.asarray(arrays["feature_mean"], dtype=float)
        model.feature_scale_ = np.asarray(arrays["feature_scale"], dtype=float)
        model.n_outputs = int(config["n_outputs"])
        check_provenance(model.n_outputs, model.roi_names, model.atlas, model.training_data_source)
        return model

    def save(self, path: str | os.PathLike) -> tuple[Path, Path]:
        """Save as ``<path>.safetensors`` (arrays) + ``<path>.json`` (config), atomically."""
        from safetensors.numpy import save_file

        base = base_path(path)
        weights_path, config_path = with_ext(base, ".safetensors"), with_ext(base, ".json")
        arrays = {
            k: np.ascontiguousarray(v, dtype=np.float64) for k, v in self.state_arrays().items()
        }
        with atomic_path(weights_path) as tmp:
            save_file(arrays, tmp)
            digest = file_sha256(tmp)
        write_config(config_path, self.get_config(), weights_sha256=digest)
        return weights_path, config_path

    @classmethod
    def load(cls, path: str | os.PathLike) -> RidgeBaseline:
        """Load a model written by :meth:`save` (no pickle involved).

        The weights are checked against the sha256 recorded in ``<path>.json`` (when there is
        one); a missing, damaged or mismatched file raises a ``ModelFileError`` naming it.
        """
        base = base_path(path)
        payload = read_payload(base)
        config = payload["config"]
        if config.get("name") != cls.name:
            raise ValueError(f"{base} holds a {config.get('name')!r} model, not a RidgeBaseline")
        arrays = read_weights(with_ext(base, ".safetensors"), "np", payload.get(SHA256_KEY),
                              recorded_in=with_ext(base, ".json"))
        return cls.from_state(config, arrays)

    def _check_windows_shape(self, windows: np.ndarray) -> np.ndarray:
        windows = np.asarray(windows)
        if windows.ndim != 3 or windows.shape[1:] != (self.n_chans, self.n_times):
            raise ValueError(
                f"windows must be (n, {self.n_chans}, {self.n_times}) in microvolts, got "
                f"{windows.shape}"
            )
        return windows

    def _check_windows(self, windows: np.ndarray) -> np.ndarray:
        windows = np.asarray(self._check_windows_shape(windows), dtype=float)
        if not np.all(np.isfinite(windows)):
            raise ValueError("windows contain NaN or infinite values")
        return windows

    @staticmethod
    def _check_targets(targets: np.ndarray, n_windows: int,
                       like: np.ndarray | None = None) -> np.ndarray:
        Y = np.asarray(targets, dtype=float)
        if Y.ndim == 1:
            Y = Y[:, None]
        if Y.ndim != 2 or Y.shape[0] != n_windows:
            raise ValueError(f"targets must be (n_windows={n_windows}, n_outputs), got {Y.shape}")
        if like is not None and Y.shape[1] != like.shape[1]:
            raise ValueError(f"every chunk's targets must have the same n_outputs: "
                             f"{like.shape[1]}, then {Y.shape[1]}")
        if not np.all(np.isfinite(Y)):
            raise ValueError("targets contain NaN or infinite values")
        return Y

    def _check_fitted(self) -> None:
        if self.coef_ is None:
            raise RuntimeError("RidgeBaseline is not fitted yet: call fit(windows, targets) first")

    def __repr__(self) -> str:
        fitted = f"n_outputs={self.n_outputs}" if self.coef_ is not None else "unfitted"
        return f"RidgeBaseline(alpha={self.alpha}, bands={list(self.bands)}, {fitted})"
