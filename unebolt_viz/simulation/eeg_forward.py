"""EEG from latent activity: a spherical head model, band-limited sources and artifacts.

Head model
    One current dipole per ROI at its centroid (MNI), pointing outward from the head's centre
    (the pyramidal cells of the cortex are normal to its surface, and EEG sees mostly the
    radial part; each subject gets a random tilt). Electrodes sit at the positions of MNE's
    ``standard_1020`` montage, which MNE gives in the fsaverage MRI frame (MNI-like). The
    potential is that of a dipole in a homogeneous conducting sphere fitted to the electrodes
    (Frank 1952, J Appl Phys 23:1225; closed form in Mosher et al. 1999, IEEE Trans Biomed Eng
    46:245). Deeper sources are weaker by distance alone; subcortical sources also have closed
    fields (Lorente de No 1947) and get a further factor 0.3. There is no skull layer, so the
    topographies are sharper than real ones. Channels are referenced to FCz, as in the
    NeuroBOLT caps.

Sources
    Each source carries Gaussian band-limited oscillations in five bands, with a band-specific
    spatial profile (posterior alpha, fronto-central theta, rolandic beta, diffuse delta and
    gamma) and an amplitude envelope whose log follows the source's latent activity with the
    gains of :class:`~unebolt_viz.simulation.CouplingParams`; the subject's alpha peak lies
    between 8 and 12 Hz. A spatially correlated 1/f background (aperiodic exponent near 1.5),
    white sensor noise, blinks and an optional bad channel are added.

Cost
    Summing independent Gaussian sources of one band gives a Gaussian signal at the sensors
    with covariance ``L diag(a(t)^2) L^T`` (``L`` the lead field, ``a`` the envelopes). The
    simulator therefore draws as many band-limited carriers as there are channels and mixes
    them with the Cholesky factor of that covariance, interpolated between TR nodes. The cost
    grows with channels x samples, not with the number of ROIs, and a 20-minute scan is
    synthesized in float32, chunk by chunk, with one copy of the recording in memory.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from ..conventions import standard_1020_name
from .presets import BANDS

__all__ = [
    "HeadModel",
    "electrode_positions",
    "fit_sphere",
    "sphere_potential",
    "head_model",
    "band_profiles",
    "band_filters",
    "SubjectEEG",
    "subject_eeg",
    "synthesize_eeg",
    "add_blinks",
    "add_bad_channel",
    "add_evoked",
]

SIGMA = 0.33  # S/m, brain conductivity
SUBCORTICAL_FACTOR = 0.3
_BAND_EDGES = {"delta": (1.0, 4.0), "theta": (4.0, 8.0), "beta": (14.0, 28.0), "gamma": (30.0, 48.0)}
ALPHA_HALF_WIDTH = 1.5
CHUNK_NODES = 16  # TR nodes per synthesis chunk (fixed: the random streams depend on it)


# ----------------------------------------------------------------------------------------------
# geometry


@lru_cache(maxsize=8)
def _montage_positions(ch_names: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    import mne

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        montage = mne.channels.make_standard_montage("standard_1020")
    pos = montage.get_positions()
    names = [standard_1020_name(c) for c in ch_names]
    missing = [c for c, n in zip(ch_names, names) if n not in pos["ch_pos"]]
    if missing:
        raise ValueError(f"Channels {missing} have no position in MNE's standard_1020 montage.")
    all_points = np.array(list(pos["ch_pos"].values()))
    points = np.array([pos["ch_pos"][n] for n in names])
    if pos["coord_frame"] == "head":  # older MNE: convert to the fsaverage MRI (MNI-like) frame
        from pathlib import Path

        trans = mne.read_trans(Path(mne.__file__).parent / "data" / "fsaverage" /
                               "fsaverage-trans.fif")
        if trans["from"] != mne.io.constants.FIFF.FIFFV_COORD_HEAD:
            trans = mne.transforms.invert_transform(trans)
        points = mne.transforms.apply_trans(trans, points)
        all_points = mne.transforms.apply_trans(trans, all_points)
    info = mne.create_info(names, 200.0, "eeg")
    info.set_montage(montage)
    head = np.array([ch["loc"][:3] for ch in info["chs"]])
    return points, head, all_points


def electrode_positions(ch_names: tuple[str, ...] | list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Positions of channels from MNE's ``standard_1020`` montage, in metres.

    Returns
    -------
    mni : ndarray, shape (n, 3)
        In the fsaverage MRI frame (MNI-like), for the head model.
    head : ndarray, shape (n, 3)
        In MNE's head frame, for the ``ch_x/ch_y/ch_z`` coordinates of EEG containers.
    """
    mni, head, _ = _montage_positions(tuple(ch_names))
    return mni.copy(), head.copy()


def fit_sphere(points: np.ndarray) -> tuple[np.ndarray, float]:
    """Least-squares sphere through points: ``(centre, radius)``."""
    p = np.asarray(points, dtype=float)
    a = np.column_stack([2 * p, np.ones(len(p))])
    b = (p**2).sum(axis=1)
    sol, *_ = np.linalg.lstsq(a, b, rcond=None)
    centre = sol[:3]
    return centre, float(np.sqrt(sol[3] + centre @ centre))


def sphere_potential(electrodes: np.ndarray, dipoles: np.ndarray, moments: np.ndarray,
                     sigma: float = SIGMA) -> np.ndarray:
    """Potential (V) on the surface of a homogeneous sphere centred at the origin.

    Parameters
    ----------
    electrodes : ndarray, shape (n_el, 3)
        Points on the sphere (m).
    dipoles : ndarray, shape (n_dip, 3)
        Dipole positions inside it (m).
    moments : ndarray, shape (n_dip, 3)
        Dipole moments (A m).

    Returns
    -------
    ndarray, shape (n_el, n_dip)
    """
    r = np.asarray(electrodes, dtype=float)[:, None, :]
    d = r - np.asarray(dipoles, dtype=float)[None, :, :]
    dn = np.linalg.norm(d, axis=-1, keepdims=True)
    rn = np.linalg.norm(r, axis=-1, keepdims=True)
    rd = (r * d).sum(axis=-1, keepdims=True)
    field = 2.0 * d / dn**3 + (r * dn + d * rn) / (rn * dn * (rn * dn + rd))
    return (field * np.asarray(moments, dtype=float)[None, :, :]).sum(axis=-1) / (4 * np.pi * sigma)


@dataclass(frozen=True)
class HeadModel:
    """Lead field of one subject: channel potentials (re-referenced) per unit source.

    Attributes
    ----------
    leadfield : ndarray, shape (n_channels, n_sources)
    ch_names : tuple of str
    reference : str
    centre, radius
        The fitted head sphere (m, MNI-like frame).
    electrodes : ndarray, shape (n_channels + 1, 3)
        Electrode positions projected on the sphere, the reference last.
    """

    leadfield: np.ndarray
    ch_names: tuple[str, ...]
    reference: str
    centre: np.ndarray
    radius: float
    electrodes: np.ndarray

    def topography(self, position_mm: np.ndarray, orientation: np.ndarray) -> np.ndarray:
        """Channel potentials of one extra dipole (e.g. an ERP generator), reference subtracted."""
        pos = np.asarray(position_mm, dtype=float) / 1000.0 - self.centre
        v = sphere_potential(self.electrodes, pos[None], np.asarray(orientation, float)[None])[:, 0]
        return v[:-1] - v[-1]


def head_model(ch_names: tuple[str, ...], reference: str, centroids_mm: np.ndarray,
               subcortical: np.ndarray, rng: np.random.Generator, tilt_sd_deg: float = 30.0
               ) -> HeadModel:
    """Lead field of ROI sources (one dipole per centroid) for the given channels.

    Dipoles point away from the sphere centre, tilted by a random angle (half-normal, SD
    ``tilt_sd_deg``) in a random direction; sources outside 80 % of the head radius are pulled
    in to it (the cortex lies about 1.5 cm below the scalp).
    """
    names = tuple(ch_names) + (reference,)
    el_mni, _, all_points = _montage_positions(names)
    centre, radius = fit_sphere(all_points)
    el = el_mni - centre
    el = radius * el / np.linalg.norm(el, axis=1, keepdims=True)
    src = np.asarray(centroids_mm, dtype=float) / 1000.0 - centre
    dist = np.linalg.norm(src, axis=1, keepdims=True)
    src = np.where(dist > 0.8 * radius, src * 0.8 * radius / dist, src)
    radial = src / np.maximum(np.linalg.norm(src, axis=1, keepdims=True), 1e-6)
    other = rng.standard_normal(src.shape)
    other -= (other * radial).sum(axis=1, keepdims=True) * radial
    other /= np.linalg.norm(other, axis=1, keepdims=True)
    tilt = np.deg2rad(np.abs(rng.normal(0.0, tilt_sd_deg, len(src))))[:, None]
    moments = np.cos(tilt) * radial + np.sin(tilt) * other
    v = sphere_potential(el, src, moments)
    lead = v[:-1] - v[-1]
    lead[:, np.asarray(subcortical, bool)] *= SUBCORTICAL_FACTOR
    return HeadModel(lead, tuple(ch_names), reference, centre, radius, el)


def band_profiles(centroids_mm: np.ndarray) -> np.ndarray:
    """Relative source amplitude of each band by location, shape (n_bands, n_sources).

    Alpha is posterior (occipito-parietal), theta fronto-central midline, beta rolandic
    (around the central sulcus), delta and gamma diffuse.
    """
    x, y, z = np.asarray(centroids_mm, dtype=float).T

    def sig(u: np.ndarray) -> np.ndarray:
        return 1.0 / (1.0 + np.exp(-u))

    profiles = {
        "delta": np.ones_like(x),
        "theta": 0.3 + np.exp(-(x**2) / (2 * 25.0**2)) * sig(y / 15.0),
        "alpha": 0.15 + sig((-y - 35.0) / 15.0),
        "beta": 0.2 + np.exp(-((y + 20.0) ** 2) / (2 * 20.0**2)) * sig((z - 30.0) / 10.0),
        "gamma": np.ones_like(x),
    }
    return np.array([profiles[b] for b in BANDS])


def band_filters(sfreq: float, alpha_peak: float) -> list[tuple[np.ndarray, float]]:
    """Band-pass filters (SOS, float32) of the carriers and their unit-variance gains."""
    from scipy.signal import butter, sosfreqz

    out = []
    nyq = sfreq / 2.0
    for band in BANDS:
        if band == "alpha":
            lo, hi = alpha_peak - ALPHA_HALF_WIDTH, alpha_peak + ALPHA_HALF_WIDTH
        else:
            lo, hi = _BAND_EDGES[band]
        hi = min(hi, 0.95 * nyq)
        sos = butter(2, [lo, hi], btype="bandpass", fs=sfreq, output="sos")
        _, h = sosfreqz(sos, worN=8192)
        gain = 1.0 / np.sqrt(np.mean(np.abs(h) ** 2))
        out.append((sos.astype(np.float32), float(gain)))
    return out


# ----------------------------------------------------------------------------------------------
# one subject's EEG characteristics


@dataclass(frozen=True)
class SubjectEEG:
    """EEG traits of one subject (drawn once, shared by the subject's scans)."""

    head: HeadModel
    alpha_peak: float
    aperiodic_exponent: float
    gain: float
    band_scale: np.ndarray  # per band, log-normal spread around 1
    base: np.ndarray  # (n_bands, n_sources) source amplitudes, scaled to the band RMS
    background_mix: np.ndarray  # (n_channels, n_channels) Cholesky factor of the 1/f background


def _scale_to_rms(lead: np.ndarray, amplitude: np.ndarray, rms: float) -> np.ndarray:
    mean_var = float(np.mean((lead**2) @ (amplitude**2)))
    return amplitude * (rms / np.sqrt(mean_var)) if mean_var > 0 else amplitude


def subject_eeg(params, centroids_mm: np.ndarray, subcortical: np.ndarray,
                rng: np.random.Generator) -> SubjectEEG:
    """Draw a subject's head model, alpha peak, background and amplitudes."""
    head = head_model(params.channels, params.reference, centroids_mm, subcortical, rng)
    alpha_peak = float(np.clip(rng.normal(params.alpha_peak_mean, params.alpha_peak_sd), 8.0, 12.0))
    exponent = float(rng.normal(params.aperiodic_exponent, 0.1))
    gain = float(np.exp(rng.normal(0.0, params.subject_gain_sd)))
    band_scale = np.exp(rng.normal(0.0, 0.15, len(BANDS)))
    profiles = band_profiles(centroids_mm)
    base = np.array([
        _scale_to_rms(head.leadfield, profiles[i], params.band_uv[i] * band_scale[i])
        for i in range(len(BANDS))
    ])
    n_ch = head.leadfield.shape[0]
    bg = _scale_to_rms(head.leadfield, np.ones(head.leadfield.shape[1]), params.background_uv)
    cov = (head.leadfield * bg**2) @ head.leadfield.T
    cov += 1e-6 * np.trace(cov) / n_ch * np.eye(n_ch)
    return SubjectEEG(head, alpha_peak, exponent, gain, band_scale, base, np.linalg.cholesky(cov))


# ----------------------------------------------------------------------------------------------
# synthesis


def _cholesky_nodes(lead: np.ndarray, power: np.ndarray) -> np.ndarray:
    """Cholesky factors of ``L diag(power[k]) L^T`` for every node k, float32."""
    n_ch = lead.shape[0]
    out = np.empty((power.shape[0], n_ch, n_ch), dtype=np.float32)
    for start in range(0, power.shape[0], 64):
        p = power[start:start + 64]
        cov = np.einsum("cs,ks,ds->kcd", lead, p, lead, optimize=True)
        ridge = 1e-6 * np.trace(cov, axis1=1, axis2=2)[:, None, None] / n_ch + 1e-12
        cov += ridge * np.eye(n_ch)
        out[start:start + 64] = np.linalg.cholesky(cov)
    return out


def _aperiodic_rows(out: np.ndarray, rng: np.random.Generator, sfreq: float, exponent: float,
                    f_knee: float = 0.5) -> None:
    """Fill each row of ``out`` with unit-variance 1/f^exponent noise (one FFT per row)."""
    from scipy import fft

    n = out.shape[1]
    n_fft = fft.next_fast_len(n, real=True)  # then cut: any length costs the same
    freqs = np.fft.rfftfreq(n_fft, 1.0 / sfreq).astype(np.float32)
    amplitude = (freqs**2 + np.float32(f_knee**2)) ** np.float32(-exponent / 4.0)
    amplitude[0] = 0.0
    for row in out:
        spectrum = rng.standard_normal(freqs.size, dtype=np.float32) + 1j * rng.standard_normal(
            freqs.size, dtype=np.float32)
        spectrum *= amplitude
        row[:] = fft.irfft(spectrum, n=n_fft)[:n]
        row /= row.std() + np.float32(1e-12)


def _mix_chunk(block: np.ndarray, carrier: np.ndarray, q_now: np.ndarray, q_next: np.ndarray,
               lengths: np.ndarray, lam: np.ndarray) -> None:
    """Add ``(q_now[i] + lam * (q_next[i] - q_now[i])) @ carrier`` over consecutive segments.

    Segment ``i`` covers ``lengths[i]`` samples of ``block``; ``lam`` (one value per sample)
    is the position between node ``i`` and the next one.
    """
    n_ch, n = block.shape
    pair = np.concatenate([q_now, q_next - q_now], axis=1)  # (n_nodes, 2 n_ch, n_ch)
    if lengths.size and np.all(lengths == lengths[0]):  # all alike: one batched product
        m, k = int(lengths[0]), lengths.size
        out = pair @ carrier.reshape(n_ch, k, m).transpose(1, 0, 2)
        mixed = out[:, :n_ch] + out[:, n_ch:] * lam.reshape(k, 1, m)
        block += mixed.transpose(1, 0, 2).reshape(n_ch, n)
        return
    stops = np.cumsum(lengths)
    for i, (a, e) in enumerate(zip(stops - lengths, stops)):
        if e > a:
            out = pair[i] @ carrier[:, a:e]
            block[:, a:e] += out[:n_ch] + out[n_ch:] * lam[a:e]


def synthesize_eeg(subject: SubjectEEG, log_amplitude: np.ndarray, node_times: np.ndarray,
                   n_samples: int, sfreq: float, t_start: float, params,
                   rngs: dict[str, np.random.Generator]) -> np.ndarray:
    """Continuous EEG of one scan, shape (n_channels, n_samples), float32, in microvolts.

    Parameters
    ----------
    subject : SubjectEEG
    log_amplitude : ndarray, shape (n_bands, n_nodes, n_sources)
        Centred log-amplitude of every band and source at the TR nodes.
    node_times : ndarray, shape (n_nodes,)
        Times of the nodes (s, scan time), evenly spaced, the first at or before ``t_start``.
    n_samples : int
    sfreq : float
    t_start : float
        Scan time of the first EEG sample (negative: the EEG starts before the first volume).
    params : SimulationParams
    rngs : dict
        Generators ``"background"``, ``"noise"`` and one per band name.
    """
    from scipy.signal import sosfilt

    lead = subject.head.leadfield
    n_ch = lead.shape[0]
    n_nodes = len(node_times)
    step = float(node_times[1] - node_times[0])
    out = np.empty((n_ch, n_samples), dtype=np.float32)
    _aperiodic_rows(out, rngs["background"], sfreq, subject.aperiodic_exponent)
    mix_bg = subject.background_mix.astype(np.float32)
    power = [subject.base[b] ** 2 * np.exp(2.0 * log_amplitude[b]) for b in range(len(BANDS))]

    filters = band_filters(sfreq, subject.alpha_peak)
    states = []
    for b, band in enumerate(BANDS):  # burn in each filter on 2 s of noise
        sos, _ = filters[b]
        zi = np.zeros((sos.shape[0], n_ch, 2), dtype=np.float32)
        warm = rngs[band].standard_normal((n_ch, int(2 * sfreq)), dtype=np.float32)
        _, zi = sosfilt(sos, warm, axis=1, zi=zi)
        states.append(zi)

    # Node k drives samples [bounds[k], bounds[k + 1]); the last node takes the rest.
    bounds = np.ceil((node_times - t_start) * sfreq - 1e-6).astype(np.int64)
    bounds = np.append(np.clip(bounds, 0, n_samples), n_samples)
    bounds[n_nodes - 1] = min(bounds[n_nodes - 1], n_samples)
    first = int(np.flatnonzero(bounds[:n_nodes] <= 0)[-1])
    noise_sd = np.float32(params.sensor_noise_uv)
    for c0 in range(first, n_nodes, CHUNK_NODES):
        c1 = min(c0 + CHUNK_NODES, n_nodes)
        s0, s1 = int(bounds[c0]), int(bounds[c1])
        if s1 <= s0:
            continue
        lengths = np.diff(bounds[c0:c1 + 1])
        nodes = np.arange(c0, c1)
        t = t_start + np.arange(s0, s1) / sfreq
        lam = np.clip((t - np.repeat(node_times[nodes], lengths)) / step, 0.0, 1.0).astype(np.float32)
        block = out[:, s0:s1]
        block[:] = mix_bg @ block
        for b, band in enumerate(BANDS):
            sos, g = filters[b]
            white = rngs[band].standard_normal((n_ch, s1 - s0), dtype=np.float32)
            carrier, states[b] = sosfilt(sos, white, axis=1, zi=states[b])
            carrier *= np.float32(g)
            q = _cholesky_nodes(lead, power[b][c0:min(c1 + 1, n_nodes)])
            q_next = np.concatenate([q[1:], q[-1:]]) if c1 == n_nodes else q[1:]
            _mix_chunk(block, carrier, q[:c1 - c0], q_next, lengths, lam)
        block += noise_sd * rngs["noise"].standard_normal(block.shape, dtype=np.float32)
    out *= np.float32(subject.gain * params.site_gain)
    return out


# ----------------------------------------------------------------------------------------------
# artifacts and evoked responses (added in place)

EYES_MM = np.array([0.0, 60.0, -40.0])


def add_blinks(eeg: np.ndarray, head: HeadModel, sfreq: float, rate_per_min: float,
               amplitude_uv: float, rng: np.random.Generator) -> np.ndarray:
    """Add blinks at Poisson times; returns their onsets (s since the first sample).

    A blink is a 0.4 s monophasic deflection, largest at the frontopolar channels and falling
    off with distance from the eyes (the cornea-retina dipole moving with the lid).
    """
    n_ch, n = eeg.shape
    if rate_per_min <= 0:
        return np.empty(0)
    n_blinks = rng.poisson(rate_per_min * n / sfreq / 60.0)
    onsets = np.sort(rng.uniform(0, n / sfreq - 0.5, n_blinks))
    eyes = EYES_MM / 1000.0 - head.centre
    dist = np.linalg.norm(head.electrodes - eyes, axis=1)
    topo = np.exp(-dist / 0.035)
    topo = (topo[:-1] - topo[-1]) / topo[:-1].max()
    t = np.arange(int(0.4 * sfreq)) / sfreq
    shape = (t / 0.1) ** 2 * np.exp(2.0 - 2.0 * t / 0.1)  # gamma-like bump peaking at 100 ms
    for onset in onsets:
        i = int(onset * sfreq)
        seg = eeg[:, i:i + shape.size]
        seg += (amplitude_uv * rng.uniform(0.6, 1.2) * topo[:, None] * shape[None, :seg.shape[1]]
                ).astype(np.float32)
    return onsets


def add_bad_channel(eeg: np.ndarray, index: int, sfreq: float, rng: np.random.Generator) -> None:
    """Corrupt one channel: a loose electrode (slow wandering, 50 Hz line noise, extra noise)."""
    n = eeg.shape[1]
    walk = np.cumsum(rng.standard_normal(n // 50 + 2))
    walk -= np.linspace(walk[0], walk[-1], walk.size)
    slow = np.interp(np.arange(n) / 50.0, np.arange(walk.size), walk)
    slow *= 40.0 / (slow.std() + 1e-12)
    t = np.arange(n) / sfreq
    line = 20.0 * np.sin(2 * np.pi * 50.0 * t + rng.uniform(0, 2 * np.pi))
    eeg[index] += (slow + line + 10.0 * rng.standard_normal(n)).astype(np.float32)


def add_evoked(eeg: np.ndarray, topography: np.ndarray, onsets: np.ndarray, sfreq: float,
               waveform: np.ndarray, t0: float) -> None:
    """Add a fixed evoked waveform (starting ``t0`` s from each onset) with a topography."""
    topo = topography.astype(np.float32)[:, None]
    wave = waveform.astype(np.float32)[None, :]
    n = eeg.shape[1]
    for onset in onsets:
        i = int(round((onset + t0) * sfreq))
        a, b = max(i, 0), min(i + wave.shape[1], n)
        if b > a:
            eeg[:, a:b] += topo * wave[:, a - i:b - i]
