"""The coupling lab's science: a small simulated study rebuilt from the lab's settings.

A teacher turns the EEG-BOLD coupling, the haemodynamic response and the noise; the lab
re-simulates a small study (:func:`unebolt_viz.simulation.simulate_cohort`: four 4-minute
scans, the embedded 64-ROI atlas, 12 EEG channels at 100 Hz, no blinks), refits a ridge model
(:class:`~unebolt_viz.models.ridge.RidgeBaseline`) on three scans and scores it on the fourth.

Only what a setting changes is recomputed, and every stage is cached for all sessions:

- the coupling and the EEG noise change the EEG (the slow part, about a second);
- the HRF and the BOLD noise change the BOLD only (the same latent activity, HRF jitter and
  noise draws as the simulator's own scans, so a setting's effect is never confused with a
  new random draw; with the default HRF and noise the lab's BOLD is the simulator's);
- the ridge penalty only refits the model.

The coupling acts on the EEG alone: the BOLD follows the latent neural activity through the
HRF, and the coupling decides how much of that activity the EEG band envelopes carry. No Panel
or Bokeh import here; the app is :class:`unebolt_viz.app.CouplingLab`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np

from ...conventions import WINDOW_SECONDS
from ...models.ridge import RidgeBaseline
from ...networks import YEO7_NAMES, canonical_network
from ...preprocessing import bold_targets
from ...simulation import (
    BANDS,
    CouplingParams,
    SimulatedCohort,
    preset_params,
    scan_pair,
    simulate_cohort,
)
from ...simulation._random import rng_for
from ...simulation.bold import detrend_standardize, noise_ceiling, simulate_bold
from ...simulation.hrf import convolve_hrf, hrf_kernels
from ...simulation.scan import ScanSpec, simulate_scan

__all__ = ["LAB_CHANNELS", "LabSettings", "LabResult", "run_lab", "lab_cohort", "lab_hrf",
           "hrf_predictor"]

#: The lab's EEG cap: 12 channels of the paper's cap covering frontal, central, parietal and
#: occipital sites (alpha is posterior, beta rolandic, theta frontal-midline).
LAB_CHANNELS: tuple[str, ...] = ("F3", "F4", "C3", "C4", "P3", "P4", "O1", "O2",
                                 "FZ", "CZ", "PZ", "OZ")
LAB_SFREQ = 100.0  # Hz: the gamma band (30-45 Hz) still lies below Nyquist
LAB_N_SCANS = 4  # the last one is held out
LAB_N_VOLUMES = 120  # 4.2 min at TR 2.1 s
LAB_ATLAS_ROIS = 64
DATA_SOURCE = "simulated"

_DEFAULT_PARAMS = preset_params("tiny")
_DEFAULT_COUPLING = CouplingParams()


def _canonical_gains(gains: Any) -> tuple[tuple[str, str, float], ...]:
    table: dict[tuple[str, str], float] = {}
    for band, network, gain in gains:
        if band not in BANDS:
            raise ValueError(f"Coupling band {band!r} is not one of {BANDS}.")
        table[(band, canonical_network(network))] = float(gain)
    return tuple(sorted((b, n, g) for (b, n), g in table.items() if g != 0.0))


@dataclass(frozen=True)
class LabSettings:
    """Every knob of the coupling lab (hashable: results are cached per settings).

    Attributes
    ----------
    gains : tuple of (band, network, gain)
        Coupling of each EEG band's log-amplitude to each network's latent activity
        (:class:`~unebolt_viz.simulation.CouplingParams`); missing pairs are 0.
    strength : float
        Multiplies every gain (0 switches the coupling off).
    thalamic_alpha : float
        Gain of the posterior alpha envelope on the thalamic ROIs' activity (positive: de Munck
        et al. 2007); it reaches every source's alpha, whatever its network's gain.
    envelope_noise : float
        Uncoupled fluctuation of the band envelopes (EEG noise that is not about BOLD).
    sensor_noise_uv : float
        White noise at the EEG electrodes (uV).
    hrf_delay : float
        Shift of every ROI's HRF (s), on top of the simulator's subject and ROI jitter.
    hrf_peak : float
        Time to peak of the HRF before the shift (s); the canonical HRF peaks at 5 s.
    hrf_undershoot : float
        Size of the post-stimulus undershoot relative to the peak response (canonical 1/6).
    physio_noise, thermal_noise : float
        BOLD noise relative to the neural BOLD: spatially correlated physiological
        fluctuations and white thermal noise.
    ridge_alpha : float
        Penalty of the ridge model.
    seed : int
        Seed of the simulated study.
    """

    gains: tuple[tuple[str, str, float], ...] = _DEFAULT_COUPLING.gains
    strength: float = _DEFAULT_COUPLING.strength
    thalamic_alpha: float = _DEFAULT_COUPLING.thalamic_alpha
    envelope_noise: float = _DEFAULT_COUPLING.envelope_noise
    sensor_noise_uv: float = _DEFAULT_PARAMS.sensor_noise_uv
    hrf_delay: float = 0.0
    hrf_peak: float = 5.0
    hrf_undershoot: float = 1.0 / 6.0
    physio_noise: float = _DEFAULT_PARAMS.physio_noise
    thermal_noise: float = _DEFAULT_PARAMS.thermal_noise
    ridge_alpha: float = 1000.0
    seed: int = 0

    def __post_init__(self) -> None:
        object.__setattr__(self, "gains", _canonical_gains(self.gains))
        checks = {"strength": self.strength >= 0, "envelope_noise": self.envelope_noise >= 0,
                  "sensor_noise_uv": self.sensor_noise_uv >= 0,
                  "hrf_peak": 1.0 <= self.hrf_peak <= 12.0,
                  "hrf_undershoot": 0.0 <= self.hrf_undershoot < 1.0,
                  "hrf_delay": -4.0 <= self.hrf_delay <= 8.0,
                  "physio_noise": self.physio_noise >= 0, "thermal_noise": self.thermal_noise >= 0,
                  "ridge_alpha": self.ridge_alpha > 0}
        bad = [name for name, ok in checks.items() if not ok]
        if bad:
            values = {name: getattr(self, name) for name in bad}
            raise ValueError(f"Coupling lab settings out of range: {values}. Noise levels and "
                             "the coupling strength are >= 0, the ridge penalty > 0, the HRF "
                             "peak 1-12 s, its undershoot ratio in [0, 1), its shift -4 to 8 s.")

    def gain(self, band: str, network: str) -> float:
        """The gain of one band on one network (0 when not set)."""
        network = canonical_network(network)
        return next((g for b, n, g in self.gains if b == band and n == network), 0.0)

    def with_gain(self, band: str, network: str, gain: float) -> LabSettings:
        """A copy with one gain replaced."""
        return self.replace(gains=(*self.gains, (band, network, float(gain))))

    def replace(self, **changes: Any) -> LabSettings:
        """A copy with some settings changed."""
        return dataclasses.replace(self, **changes)

    @property
    def hrf_shape(self) -> dict[str, float]:
        """Arguments of :func:`~unebolt_viz.simulation.hrf.hrf_kernels` for this HRF."""
        return {"peak_shape": self.hrf_peak + 1.0, "ratio": self.hrf_undershoot}

    def coupling(self) -> CouplingParams:
        """The simulator's coupling parameters for these settings."""
        return CouplingParams(strength=self.strength, gains=self.gains,
                              thalamic_alpha=self.thalamic_alpha,
                              envelope_noise=self.envelope_noise)


def _overrides(settings: LabSettings) -> dict[str, Any]:
    """The simulation parameters of the lab's study for ``settings``."""
    return {"n_subjects": LAB_N_SCANS, "n_scans": LAB_N_SCANS, "n_volumes": LAB_N_VOLUMES,
            "sfreq": LAB_SFREQ, "channels": LAB_CHANNELS, "blink_rate": 0.0,
            "sensor_noise_uv": settings.sensor_noise_uv, "physio_noise": settings.physio_noise,
            "thermal_noise": settings.thermal_noise, "coupling": settings.coupling()}


def lab_cohort(settings: LabSettings) -> SimulatedCohort:
    """The simulated cohort behind the lab's scans for ``settings`` (its HRF aside).

    With the default HRF the lab's BOLD targets are this cohort's; the lab's other HRFs change
    only the HRF of the same scans.
    """
    return simulate_cohort("tiny", seed=settings.seed, atlas=_atlas(), progress=False,
                           **_overrides(settings))


@lru_cache(maxsize=1)
def _atlas():
    from ...atlases import load_atlas

    return load_atlas("embedded", LAB_ATLAS_ROIS)


@dataclass(frozen=True)
class _ScanEEG:
    """What the lab keeps of one scan's EEG side."""

    windows: np.ndarray  # (n_kept, channel, time), uV
    kept: np.ndarray  # volume index of each window
    band_log_amplitude: np.ndarray  # (band, node, roi)


def _specs(cohort: SimulatedCohort) -> list[ScanSpec]:
    """The identity of each scan of the cohort (as ``SimulatedCohort`` generates them)."""
    subjects = cohort.subjects
    return [ScanSpec(row["scan"], row["subject"], subjects.index(row["subject"]),
                     int(row["session"]), int(row["n_volumes"]))
            for _, row in cohort.design.iterrows()]


@lru_cache(maxsize=8)
def _eeg_scans(seed: int, gains: tuple, strength: float, thalamic_alpha: float,
               envelope_noise: float, sensor_noise_uv: float
               ) -> tuple[tuple[str, ...], tuple[_ScanEEG, ...]]:
    """Scan names and the EEG of every scan for one coupling and EEG noise (the slow stage)."""
    settings = LabSettings(gains=gains, strength=strength, thalamic_alpha=thalamic_alpha,
                           envelope_noise=envelope_noise, sensor_noise_uv=sensor_noise_uv,
                           seed=seed)
    cohort = lab_cohort(settings)
    scans = []
    for spec in _specs(cohort):
        ds = simulate_scan(spec, cohort.atlas, cohort.params, seed, preset="coupling-lab")
        pair = scan_pair(ds, cohort.atlas)
        # read-only views on the continuous EEG: 16 s windows overlap, copies would not
        scans.append(_ScanEEG(pair.windows.values,
                              np.asarray(pair.bold.tr_index.values),
                              ds["band_log_amplitude"].values.astype(np.float64)))
    return tuple(cohort.scans), tuple(scans)


@dataclass(frozen=True)
class _ScanBold:
    targets: np.ndarray  # (volume, roi), the paper's processing
    targets_noiseless: np.ndarray
    n_pad: int  # latent nodes before the first volume


@lru_cache(maxsize=16)
def _bold_scans(seed: int, hrf_delay: float, hrf_peak: float, hrf_undershoot: float,
                physio_noise: float, thermal_noise: float) -> tuple[_ScanBold, ...]:
    """The BOLD of every scan for one HRF and BOLD noise, from the simulator's latent activity.

    The latent activity, HRF jitter and noise streams are the simulator's own for each scan
    (its ``"bold"`` stream), so only the settings differ from the cohort's scans.
    """
    settings = LabSettings(hrf_delay=hrf_delay, hrf_peak=hrf_peak, hrf_undershoot=hrf_undershoot,
                           physio_noise=physio_noise, thermal_noise=thermal_noise, seed=seed)
    cohort = lab_cohort(settings)
    params, atlas = cohort.params, cohort.atlas
    out = []
    for spec in _specs(cohort):
        ds = simulate_scan(spec, atlas, params, seed, include_eeg=False)
        n_pad = int((ds["node_time"].values < 0).sum())
        rng = rng_for(seed, params.condition, spec.subject_index, spec.session, "bold")
        bold = simulate_bold(ds["latent"].values.astype(np.float64), n_pad, params.n_volumes,
                             params.tr, atlas.network, params, rng,
                             ds["hrf_delay"].values + hrf_delay, settings.hrf_shape)
        out.append(_ScanBold(bold.targets, bold.targets_noiseless, n_pad))
    return tuple(out)


def _pearson_columns(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pearson r of each column pair (0 where one column is constant)."""
    a = a - a.mean(axis=0)
    b = b - b.mean(axis=0)
    denom = np.sqrt((a * a).sum(axis=0) * (b * b).sum(axis=0))
    return np.where(denom > 0, (a * b).sum(axis=0) / np.where(denom > 0, denom, 1.0), 0.0)


@dataclass(frozen=True)
class LabResult:
    """What the lab shows for one :class:`LabSettings` (all of it simulated data).

    Attributes
    ----------
    settings : LabSettings
    train_scans : tuple of str
        The scans the ridge model was fitted on.
    test_scan : str
        The held-out scan every number and trace below is about.
    roi, network : ndarray of str
        The ROIs of the embedded 64-ROI atlas and their networks.
    tr : float
    volume_time : ndarray, (n_kept,)
        Time (s) of each held-out volume with a full 16 s EEG window.
    target, prediction : ndarray, (n_kept, n_roi)
        Measured BOLD target and the ridge prediction.
    ridge_r, noise_ceiling : ndarray, (n_roi,)
        Pearson r of the prediction with the target, and of the noiseless with the measured
        target (no model can do better on average).
    envelopes : ndarray, (n_band, n_node, n_yeo7)
        Band log-amplitude at the EEG sources (the simulator's ground truth), mean over each
        Yeo-7 network's ROIs, on the TR grid ``node_time``.
    node_time : ndarray
        Time (s) of each node; node ``n_pad + k`` is volume ``k``.
    n_pad : int
    kept : ndarray
        Volume index of each held-out volume shown.
    data_source : str
        Always ``"simulated"``.
    """

    settings: LabSettings
    train_scans: tuple[str, ...]
    test_scan: str
    roi: np.ndarray
    network: np.ndarray
    tr: float
    volume_time: np.ndarray
    target: np.ndarray
    prediction: np.ndarray
    ridge_r: np.ndarray
    noise_ceiling: np.ndarray
    envelopes: np.ndarray
    node_time: np.ndarray
    n_pad: int
    kept: np.ndarray
    data_source: str = DATA_SOURCE

    def __post_init__(self) -> None:
        # results are shared by every session through the cache: nobody may edit them
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if isinstance(value, np.ndarray):
                value.setflags(write=False)

    def network_mean(self, values: np.ndarray, network: str) -> np.ndarray:
        """Mean over one network's ROIs of a per-ROI array (last axis)."""
        mask = self.network == canonical_network(network)
        if not mask.any():
            raise ValueError(f"The lab's atlas has no ROI in network {network!r}.")
        return np.asarray(values)[..., mask].mean(axis=-1)

    def network_table(self):
        """Ridge r and noise ceiling per network (means over ROIs), then all ROIs.

        Returns
        -------
        pandas.DataFrame
            Columns ``network, n_rois, ridge_r, noise_ceiling``.
        """
        import pandas as pd

        rows = []
        for net in (*YEO7_NAMES, "Subcortical"):
            mask = self.network == net
            if mask.any():
                rows.append((net, int(mask.sum()), float(self.ridge_r[mask].mean()),
                             float(self.noise_ceiling[mask].mean())))
        rows.append(("all ROIs", self.roi.size, float(self.ridge_r.mean()),
                     float(self.noise_ceiling.mean())))
        return pd.DataFrame(rows, columns=["network", "n_rois", "ridge_r", "noise_ceiling"])


@lru_cache(maxsize=32)
def run_lab(settings: LabSettings) -> LabResult:
    """Simulate the lab's study for ``settings``, fit the ridge model, score the held-out scan.

    Cached: the same settings return the same (read-only) result; the EEG and BOLD stages are
    cached separately, so a change of the HRF or of the BOLD noise does not re-simulate the EEG.

    Parameters
    ----------
    settings : LabSettings

    Returns
    -------
    LabResult
    """
    s = settings
    names, eeg = _eeg_scans(s.seed, s.gains, s.strength, s.thalamic_alpha, s.envelope_noise,
                            s.sensor_noise_uv)
    bold = _bold_scans(s.seed, s.hrf_delay, s.hrf_peak, s.hrf_undershoot, s.physio_noise,
                       s.thermal_noise)
    atlas = _atlas()
    model = RidgeBaseline(alpha=s.ridge_alpha, sfreq=LAB_SFREQ, ch_names=LAB_CHANNELS,
                          n_times=int(round(WINDOW_SECONDS * LAB_SFREQ)),
                          roi_names=list(atlas.roi), atlas=atlas.name,
                          training_data_source=DATA_SOURCE)
    model.fit(np.concatenate([e.windows for e in eeg[:-1]]),
              np.concatenate([b.targets[e.kept] for e, b in zip(eeg[:-1], bold[:-1])]))
    test_eeg, test_bold = eeg[-1], bold[-1]
    target = test_bold.targets[test_eeg.kept]
    prediction = model.predict(test_eeg.windows)
    networks = np.asarray(atlas.network).astype(str)
    envelopes = np.stack([test_eeg.band_log_amplitude[..., networks == net].mean(axis=-1)
                          for net in YEO7_NAMES], axis=-1)
    n_nodes = test_eeg.band_log_amplitude.shape[1]
    tr = float(_DEFAULT_PARAMS.tr)
    return LabResult(
        settings=s, train_scans=names[:-1], test_scan=names[-1],
        roi=np.asarray(atlas.roi).astype(str), network=networks, tr=tr,
        volume_time=test_eeg.kept * tr, target=target, prediction=prediction,
        ridge_r=_pearson_columns(prediction, target),
        noise_ceiling=noise_ceiling(test_bold.targets_noiseless[test_eeg.kept], target),
        envelopes=envelopes, node_time=(np.arange(n_nodes) - test_bold.n_pad) * tr,
        n_pad=test_bold.n_pad, kept=test_eeg.kept)


def lab_hrf(settings: LabSettings, tr: float | None = None) -> np.ndarray:
    """The lab's HRF at TR resolution (taps sum to 1), without the subject and ROI jitter."""
    tr = float(_DEFAULT_PARAMS.tr) if tr is None else tr
    return hrf_kernels(tr, np.array([settings.hrf_delay]), **settings.hrf_shape)[:, 0]


def hrf_predictor(result: LabResult, band: str, network: str) -> dict[str, Any]:
    """One band's envelope convolved with the lab's HRF, against the network's measured BOLD.

    The envelope (mean over the network's ROIs, held-out scan) goes through the lab's HRF and
    the same processing as the BOLD targets, so the two traces are directly comparable.

    Returns
    -------
    dict
        ``time`` (s), ``predictor`` and ``bold`` (both z-scored, kept volumes), ``r`` (their
        Pearson r: its sign is the gain's), ``band``, ``network``.
    """
    if band not in BANDS:
        raise ValueError(f"Band {band!r} is not one of {BANDS}.")
    network = canonical_network(network)
    if network not in YEO7_NAMES:
        raise ValueError(f"Network {network!r} is not one of the Yeo-7 networks {YEO7_NAMES}.")
    envelope = result.envelopes[BANDS.index(band), :, YEO7_NAMES.index(network)]
    convolved = convolve_hrf(envelope, lab_hrf(result.settings, result.tr))[:, 0]
    volumes = convolved[result.n_pad:result.n_pad + LAB_N_VOLUMES]
    predictor = bold_targets(detrend_standardize(volumes[:, None]), result.tr)[result.kept, 0]
    bold = result.network_mean(result.target, network)
    r = float(_pearson_columns(predictor[:, None], bold[:, None])[0])

    def z(x: np.ndarray) -> np.ndarray:
        return (x - x.mean()) / (x.std() + 1e-12)

    return {"time": result.volume_time, "predictor": z(predictor), "bold": z(bold), "r": r,
            "band": band, "network": network}
