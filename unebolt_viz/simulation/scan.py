"""One simulated scan: latent activity, BOLD and EEG, gathered in one xarray Dataset."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import xarray as xr

from ..atlases import Atlas
from ._random import rng_for
from .bold import simulate_bold
from .eeg_forward import (
    SubjectEEG,
    add_bad_channel,
    add_blinks,
    add_evoked,
    electrode_positions,
    subject_eeg,
    synthesize_eeg,
)
from .hrf import HRF_LENGTH_S
from .neural import latent_activity, roi_loadings
from .presets import BANDS, SimulationParams

__all__ = ["ScanSpec", "simulate_scan", "SIMULATOR_VERSION", "EEG_TAIL_S"]

SIMULATOR_VERSION = "1"
EEG_TAIL_S = 1.0  # EEG recorded after the last volume ends
AUDITORY_MM = np.array([[-52.0, -20.0, 8.0], [52.0, -20.0, 8.0]])
MOTOR_MM = np.array([[-37.0, -21.0, 58.0], [0.0, -5.0, 55.0]])  # left hand area, SMA


@dataclass(frozen=True)
class ScanSpec:
    """Who and what one scan is."""

    scan: str
    subject: str
    subject_index: int
    session: int
    n_volumes: int


def _spatial_weight(centroids: np.ndarray, centres: np.ndarray, sd_mm: float = 20.0) -> np.ndarray:
    d2 = ((centroids[:, None, :] - centres[None, :, :]) ** 2).sum(axis=-1).min(axis=1)
    return np.exp(-d2 / (2 * sd_mm**2))


def task_events(params: SimulationParams, duration: float, rng: np.random.Generator
                ) -> tuple[np.ndarray, np.ndarray]:
    """Tones at random intervals, some of them targets answered by a button press.

    Returns event times (s, scan time) and types (``"tone"``, ``"target"``, ``"press"``).
    """
    lo, hi = params.tone_interval
    times, kinds = [], []
    t = rng.uniform(lo, hi)
    while t < duration - 2.0:
        target = rng.uniform() < params.target_probability
        times.append(t)
        kinds.append("target" if target else "tone")
        if target:
            times.append(t + max(0.2, rng.normal(*params.response_time)))
            kinds.append("press")
        t += rng.uniform(lo, hi)
    order = np.argsort(times, kind="stable")
    return np.asarray(times)[order], np.asarray(kinds, dtype=object)[order]


def _event_drive(atlas: Atlas, node_times: np.ndarray, times: np.ndarray, kinds: np.ndarray,
                 amplitude: float) -> np.ndarray:
    """Latent activity evoked by the task events, on the node grid (n_nodes, n_rois)."""
    cortical = ~np.isin(atlas.network, ("Subcortical", "No network"))
    auditory = _spatial_weight(atlas.centroid, AUDITORY_MM) * cortical
    motor = _spatial_weight(atlas.centroid, MOTOR_MM) * cortical
    attention = np.isin(atlas.network, ("Salience/Ventral Attention", "Control",
                                        "Dorsal Attention")) * 0.6
    step = node_times[1] - node_times[0]
    drive = np.zeros((node_times.size, atlas.n_rois))
    for t, kind in zip(times, kinds):
        weight = {"tone": auditory, "target": auditory + attention, "press": motor}[kind]
        length = 0.5 if kind == "press" else 1.0
        # spread a boxcar of `length` seconds over the TR bins it overlaps
        edges = node_times - step / 2
        overlap = np.clip(np.minimum(edges + step, t + length) - np.maximum(edges, t), 0, None)
        drive += np.outer(overlap / step, weight)
    return amplitude * drive


def subject_traits(atlas: Atlas, params: SimulationParams, seed: int, subject_index: int
                   ) -> tuple[SubjectEEG, np.ndarray]:
    """A subject's EEG traits and HRF delays (per ROI), the same for all of its scans."""
    rng = rng_for(seed, params.condition, subject_index, "subject")
    subcortical = atlas.network == "Subcortical"
    eeg = subject_eeg(params, atlas.centroid, subcortical, rng)
    delays = rng.normal(0.0, params.hrf_delay_sd_subject) + rng.normal(
        0.0, params.hrf_delay_sd_roi, atlas.n_rois)
    return eeg, delays


def log_amplitudes(atlas: Atlas, params: SimulationParams, latent: np.ndarray,
                   rng: np.random.Generator) -> np.ndarray:
    """Centred log-amplitude of every band and source at the nodes, (n_bands, n_nodes, n_rois).

    Centred so that ``exp(2 * x)`` averages 1 over the scan: coupling moves power around its
    baseline without changing the band's mean amplitude.
    """
    c = params.coupling
    gains = np.array([[c.gain(b, n) for n in atlas.network] for b in BANDS]) * c.strength
    out = gains[:, None, :] * latent[None, :, :]
    out += c.envelope_noise * rng.standard_normal(out.shape)
    thalamic = np.array(["thalam" in r.lower() for r in atlas.roi])
    if thalamic.any() and c.thalamic_alpha:
        drive = latent[:, thalamic].mean(axis=1)
        drive /= drive.std() + 1e-12
        out[BANDS.index("alpha")] += c.strength * c.thalamic_alpha * drive[:, None]
    out -= out.mean(axis=1, keepdims=True) + out.var(axis=1, keepdims=True)
    return np.clip(out, -3.0, 3.0)


_ScanKey = tuple[str, int, int]  # (condition, subject index, session): a scan's stream key


@dataclass(frozen=True)
class _ScanTiming:
    """Where the EEG and the latent node grid sit relative to the first volume."""

    lead: float  # s of EEG recorded before the first volume
    n_pad: int  # nodes before the first volume, so the HRF has a history
    node_times: np.ndarray  # s, one node per TR
    n_samples: int  # EEG samples


def _scan_timing(spec: ScanSpec, params: SimulationParams, rng: np.random.Generator
                 ) -> _ScanTiming:
    """The EEG lead (whole samples), the padded node grid and the EEG length of a scan."""
    tr, sfreq, n_vol = params.tr, params.sfreq, spec.n_volumes
    lead = round(rng.uniform(*params.eeg_lead) * sfreq) / sfreq
    n_pad = int(np.ceil(HRF_LENGTH_S / tr)) + 1
    n_after = int(np.ceil(EEG_TAIL_S / tr)) + 2
    node_times = (np.arange(n_pad + n_vol + n_after) - n_pad) * tr
    n_samples = int(round((lead + n_vol * tr + EEG_TAIL_S) * sfreq))
    return _ScanTiming(lead, n_pad, node_times, n_samples)


def _scan_latent(atlas: Atlas, params: SimulationParams, seed: int, key: _ScanKey,
                 timing: _ScanTiming, n_vol: int, latent: np.ndarray | None
                 ) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray]]:
    """The latent activity (drawn unless given) plus, for the task, the events it evokes.

    Returns
    -------
    latent : ndarray
        (n_nodes, n_rois), the task drive included.
    events : (ndarray, ndarray)
        Event times (s) and types; empty at rest.
    """
    node_times = timing.node_times
    if latent is None:
        loadings = roi_loadings(atlas.network, params.global_weight, params.network_weight,
                                params.subcortical_network_weight, rng_for(seed, "organisation"))
        latent = latent_activity(atlas.network, node_times.size, params.tr,
                                 rng_for(seed, *key, "latent"), loadings,
                                 params.dmn_dan_correlation, params.neural_exponent)
    events = (np.empty(0), np.empty(0, dtype=object))
    if params.condition == "task":
        events = task_events(params, n_vol * params.tr, rng_for(seed, *key, "events"))
        latent = latent + _event_drive(atlas, node_times, *events, params.event_drive)
    return latent, events


def _scan_eeg(subject: SubjectEEG, params: SimulationParams, seed: int, key: _ScanKey,
              timing: _ScanTiming, log_amp: np.ndarray,
              events: tuple[np.ndarray, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """The scan's EEG (channel, sample) in uV with its artifacts, and the blink times (s).

    Blink times are on the EEG clock (from its first sample).
    """
    sfreq, lead = params.sfreq, timing.lead
    rngs = {name: rng_for(seed, *key, "eeg", name) for name in (*BANDS, "background", "noise")}
    eeg = synthesize_eeg(subject, log_amp, timing.node_times, timing.n_samples, sfreq, -lead,
                         params, rngs)
    artifact_rng = rng_for(seed, *key, "artifacts")
    blinks = add_blinks(eeg, subject.head, sfreq, params.blink_rate, params.blink_uv,
                        artifact_rng)
    if params.bad_channel is not None:
        add_bad_channel(eeg, params.channels.index(params.bad_channel), sfreq, artifact_rng)
    if params.condition == "task":
        _add_task_evoked(eeg, subject, params, events, lead)
    return eeg, blinks


def simulate_scan(spec: ScanSpec, atlas: Atlas, params: SimulationParams, seed: int,
                  preset: str = "custom", data_source: str = "simulated",
                  latent: np.ndarray | None = None, include_eeg: bool = True) -> xr.Dataset:
    """Generate one scan.

    Parameters
    ----------
    spec : ScanSpec
    atlas : Atlas
    params : SimulationParams
    seed : int
        Cohort seed; the scan's streams derive from it and the scan's identity only.
    preset : str
        Recorded in the attributes.
    data_source : str
        ``"simulated"``; ``"semi-synthetic"`` when ``latent`` comes from real BOLD.
    latent : ndarray, optional
        Latent activity on the node grid to use instead of drawing it (semi-synthetic mode).
    include_eeg : bool
        False skips the EEG (the BOLD, drawn from its own streams, is the same either way).

    Returns
    -------
    xarray.Dataset
        See :meth:`unebolt_viz.simulation.SimulatedCohort.scan_data`.
    """
    key = (params.condition, spec.subject_index, spec.session)
    subject, delays = subject_traits(atlas, params, seed, spec.subject_index)
    timing = _scan_timing(spec, params, rng_for(seed, *key, "timing"))
    latent, events = _scan_latent(atlas, params, seed, key, timing, spec.n_volumes, latent)
    bold = simulate_bold(latent, timing.n_pad, spec.n_volumes, params.tr, atlas.network, params,
                         rng_for(seed, *key, "bold"), delays)
    log_amp = log_amplitudes(atlas, params, latent, rng_for(seed, *key, "envelopes"))
    if include_eeg:
        eeg, blinks = _scan_eeg(subject, params, seed, key, timing, log_amp, events)
    else:
        eeg = np.zeros((len(params.channels), 0), dtype=np.float32)
        blinks = np.empty(0)
    volume_sample = np.round((np.arange(spec.n_volumes) * params.tr + timing.lead)
                             * params.sfreq).astype(np.int64)
    volume_dims = ("volume", "roi")
    ds = xr.Dataset(
        {
            "eeg": (("channel", "sample"), eeg),
            "volume_sample": ("volume", volume_sample),
            "latent": (("node", "roi"), latent.astype(np.float32)),
            "band_log_amplitude": (("band", "node", "roi"), log_amp.astype(np.float32)),
            "bold_raw": (volume_dims, bold.raw),
            "bold_clean": (volume_dims, bold.clean),
            "bold_noiseless": (volume_dims, bold.noiseless),
            "targets": (volume_dims, bold.targets),
            "targets_noiseless": (volume_dims, bold.targets_noiseless),
            "hrf_delay": ("roi", delays),
            "event_time": ("event", events[0].astype(float)),
            "event_type": ("event", np.asarray(events[1], dtype=object)),
            "blink_time": ("blink", blinks - timing.lead),
        },
        coords=_scan_coords(atlas, params, timing, spec.n_volumes),
        attrs=_scan_attrs(spec, atlas, params, seed, subject, timing.lead, preset, data_source),
    )
    ds["eeg"].attrs["units"] = "uV"
    return ds


def _scan_coords(atlas: Atlas, params: SimulationParams, timing: _ScanTiming, n_vol: int
                 ) -> dict[str, tuple[str, np.ndarray]]:
    """Coordinates of a scan's Dataset: channels with their head positions, volumes, nodes,
    bands and the atlas ROIs."""
    _, head_pos = electrode_positions(params.channels)
    return {
        "channel": ("channel", np.array(params.channels, dtype=object)),
        "ch_x": ("channel", head_pos[:, 0]),
        "ch_y": ("channel", head_pos[:, 1]),
        "ch_z": ("channel", head_pos[:, 2]),
        "volume": ("volume", np.arange(n_vol)),
        "volume_time": ("volume", np.arange(n_vol) * params.tr),
        "node_time": ("node", timing.node_times),
        "band": ("band", np.array(BANDS, dtype=object)),
        **atlas.roi_coords(),
    }


def _scan_attrs(spec: ScanSpec, atlas: Atlas, params: SimulationParams, seed: int,
                subject: SubjectEEG, lead: float, preset: str, data_source: str
                ) -> dict[str, object]:
    """Attributes of a scan's Dataset: its identity, timing, subject traits and provenance."""
    return {
        "data_source": data_source,
        "scan": spec.scan,
        "subject": spec.subject,
        "session": spec.session,
        "site": params.site,
        "condition": params.condition,
        "tr": params.tr,
        "sfreq": params.sfreq,
        "eeg_t_start": -lead,
        "eeg_units": "uV",
        "reference": params.reference,
        "alpha_peak_hz": subject.alpha_peak,
        "aperiodic_exponent": subject.aperiodic_exponent,
        "atlas": atlas.name,
        "seed": int(seed),
        "preset": preset,
        "params": params.to_json(),
        "simulator_version": SIMULATOR_VERSION,
        "description": (
            "Simulated simultaneous EEG-fMRI scan (unebolt_viz.simulation): times in s "
            "from the first volume; eeg in uV referenced to "
            f"{params.reference}; bold_raw in scanner units; bold_clean detrended and "
            "z-scored; targets = the paper's processing of bold_clean."
        ),
    }


def _add_task_evoked(eeg: np.ndarray, subject: SubjectEEG, params: SimulationParams,
                     events: tuple[np.ndarray, np.ndarray], lead: float) -> None:
    """Auditory N1-P2 to every tone, a movement potential before every press."""
    times, kinds = events
    sfreq = params.sfreq
    # Supratemporal generators are vertical: N1 is negative at the vertex.
    up = np.array([0.0, 0.0, 1.0])
    auditory = sum(subject.head.topography(p, up) for p in AUDITORY_MM)
    auditory = auditory / np.abs(auditory).max()
    t = np.arange(int(0.5 * sfreq)) / sfreq
    n1p2 = -np.exp(-((t - 0.1) ** 2) / (2 * 0.025**2)) + 0.6 * np.exp(-((t - 0.19) ** 2) / (2 * 0.04**2))
    tones = times[np.isin(kinds, ("tone", "target"))] + lead
    add_evoked(eeg, auditory * params.evoked_uv * subject.gain * params.site_gain, tones, sfreq,
               n1p2, 0.0)
    hand = MOTOR_MM[0]
    radial = hand / 1000.0 - subject.head.centre
    motor = subject.head.topography(hand, radial / np.linalg.norm(radial))
    motor = motor / np.abs(motor).max()
    tm = np.arange(int(0.6 * sfreq)) / sfreq
    mrp = -np.exp(-((tm - 0.3) ** 2) / (2 * 0.1**2))
    presses = times[kinds == "press"] + lead
    add_evoked(eeg, motor * 0.5 * params.evoked_uv * subject.gain * params.site_gain, presses,
               sfreq, mrp, -0.3)
