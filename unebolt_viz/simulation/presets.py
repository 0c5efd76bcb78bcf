"""Parameters of the simulated cohort: the study design, the physiology and the coupling.

Every number that shapes the simulated data lives in :class:`SimulationParams` (frozen, so a
cohort's parameters cannot drift after it is made) and its nested :class:`CouplingParams`
(the EEG-BOLD coupling a teacher turns up, down or off). :data:`PRESETS` holds the three
study sizes ``"tiny"``, ``"teaching"`` and ``"paper"`` for the two conditions ``"rest"`` and
``"task"``.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..conventions import PAPER_CHANNELS, SFREQ
from ..networks import canonical_network

__all__ = [
    "BANDS",
    "CONDITIONS",
    "PRESETS",
    "TASK_CHANNELS",
    "NEUROBOLT_REST_SCANS",
    "CouplingParams",
    "SimulationParams",
    "preset_params",
]

#: EEG bands whose amplitude envelopes the simulator drives, in this order.
BANDS: tuple[str, ...] = ("delta", "theta", "alpha", "beta", "gamma")
CONDITIONS: tuple[str, ...] = ("rest", "task")

#: The 29 resting-state scans of the NeuroBOLT / UnEBOLT dataset (22 subjects, 7 of them
#: scanned twice), named as in its cross-subject split table, so that the paper-sized
#: simulated cohort can be split exactly like the real one.
NEUROBOLT_REST_SCANS: tuple[str, ...] = (
    "sub01-scan01", "sub02-scan01", "sub03-scan02", "sub04-scan01", "sub05-scan01",
    "sub06-scan01", "sub07-scan01", "sub07-scan02", "sub08-scan01", "sub08-scan02",
    "sub09-scan01", "sub09-scan02", "sub10-scan02", "sub11-scan01", "sub12-scan01",
    "sub12-scan02", "sub13-scan01", "sub13-scan02", "sub14-scan01", "sub14-scan02",
    "sub15-scan01", "sub16-scan01", "sub17-scan02", "sub18-scan01", "sub19-scan02",
    "sub20-scan01", "sub20-scan02", "sub21-scan01", "sub22-scan01",
)  # fmt: skip

#: The cap of the simulated task site: 23 channels shared with the resting cap (FPZ, FT9 and
#: FT10 are missing) plus nine others, 32 in all. The real auditory dataset's cap is not
#: public; this one only reproduces the situation of the paper's transfer experiment
#: (23 shared channels).
TASK_CHANNELS: tuple[str, ...] = tuple(
    c for c in PAPER_CHANNELS if c not in ("FPZ", "FT9", "FT10")
) + ("FC1", "FC2", "FC5", "FC6", "CP1", "CP2", "CP5", "CP6", "AFZ")

# (band, network, gain): change of log-amplitude of a source's band oscillation per unit
# (standard deviation) of that source's latent activity. The literature behind each entry:
#   alpha - Visual: Goldman et al. 2002 (NeuroReport 13:2487); Moosmann et al. 2003
#       (NeuroImage 20:145): occipital alpha power falls when visual cortex BOLD rises.
#   alpha - Dorsal Attention / Control: Laufs et al. 2003 (NeuroImage 19:1463): alpha power
#       anticorrelated with fronto-parietal attention regions.
#   alpha / beta - Default: Laufs et al. 2003 (PNAS 100:11053, beta2 17-23 Hz positive in
#       default-mode regions); Mantini et al. 2007 (PNAS 104:13170, default network BOLD
#       positive with alpha and beta power); Jann et al. 2009 (NeuroImage 45:903).
#   beta - Somatomotor: Ritter et al. 2009 (Hum Brain Mapp 30:1168): rolandic alpha/beta
#       power anticorrelated with sensorimotor BOLD.
#   theta - Default: Scheeringa et al. 2008 (Int J Psychophysiol 67:242): frontal theta power
#       anticorrelated with default-mode BOLD. theta - Control: frontal-midline theta rises
#       with control demands (Mizuhara et al. 2004, NeuroReport 15:1233); a weak, positive
#       default gain.
#   gamma - all cortical networks: Logothetis et al. 2001 (Nature 412:150); Mukamel et al. 2005
#       (Science 309:951); Scheeringa et al. 2011 (Neuron 69:572): local high-frequency power
#       follows BOLD positively.
DEFAULT_GAINS: tuple[tuple[str, str, float], ...] = (
    ("alpha", "Visual", -0.55),
    ("alpha", "Dorsal Attention", -0.45),
    ("alpha", "Control", -0.2),
    ("alpha", "Somatomotor", -0.1),
    ("alpha", "Default", 0.15),
    ("beta", "Somatomotor", -0.5),
    ("beta", "Dorsal Attention", -0.2),
    ("beta", "Default", 0.2),
    ("theta", "Default", -0.4),
    ("theta", "Control", 0.25),
    ("theta", "Salience/Ventral Attention", 0.15),
    ("gamma", "Visual", 0.3),
    ("gamma", "Somatomotor", 0.3),
    ("gamma", "Dorsal Attention", 0.3),
    ("gamma", "Salience/Ventral Attention", 0.3),
    ("gamma", "Limbic", 0.3),
    ("gamma", "Control", 0.3),
    ("gamma", "Default", 0.3),
)


@dataclass(frozen=True)
class CouplingParams:
    """How EEG band amplitudes follow the latent neural activity (the known ground truth).

    Each cortical source (one per ROI) carries oscillations in the :data:`BANDS`; the
    log-amplitude of band ``b`` at source ``s`` at time ``t`` is
    ``log base[b, s] + strength * gain[b, network(s)] * z_s(t) + envelope_noise * xi(t)``,
    where ``z_s`` is the source's latent activity (unit variance) and ``xi`` independent
    noise. Band power therefore follows BOLD with the sign of the gain once convolved with
    the HRF.

    Attributes
    ----------
    strength : float
        Multiplies every gain: 0 switches the coupling off (the EEG then carries no
        information about BOLD), 2 doubles it.
    gains : tuple of (band, network, gain)
        Gains per band and network (missing pairs are 0). See ``DEFAULT_GAINS`` in this module
        for the literature behind each default.
    thalamic_alpha : float
        Gain of the posterior alpha log-amplitude on the latent activity of thalamic ROIs
        (ROIs whose name contains "thalam"): thalamic BOLD correlates positively with alpha
        power (Goldman et al. 2002; Moosmann et al. 2003; de Munck et al. 2007, NeuroImage
        35:1142).
    envelope_noise : float
        Standard deviation of the uncoupled log-amplitude fluctuation of every source and band
        (at TR resolution); it limits how much of BOLD any model can read from the EEG.
    """

    strength: float = 1.0
    gains: tuple[tuple[str, str, float], ...] = DEFAULT_GAINS
    thalamic_alpha: float = 0.3
    envelope_noise: float = 0.3

    def __post_init__(self) -> None:
        clean = []
        for entry in self.gains:
            if len(entry) != 3:
                raise ValueError(f"Coupling gain {entry!r} must be (band, network, gain).")
            band, network, gain = entry
            if band not in BANDS:
                raise ValueError(f"Coupling band {band!r} is not one of {BANDS}.")
            clean.append((band, canonical_network(network), float(gain)))
        object.__setattr__(self, "gains", tuple(clean))

    def gain(self, band: str, network: str) -> float:
        """The gain of one band on one network's latent activity (0 when not set)."""
        network = canonical_network(network)
        return float(sum(g for b, n, g in self.gains if b == band and n == network))

    def with_gains(self, updates: Mapping[str, Mapping[str, float]]) -> CouplingParams:
        """A copy with some gains replaced, e.g. ``{"alpha": {"Visual": -1.0}}``."""
        table = {(b, n): g for b, n, g in self.gains}
        for band, per_network in updates.items():
            if band not in BANDS:
                raise ValueError(f"Coupling band {band!r} is not one of {BANDS}.")
            for network, gain in per_network.items():
                table[(band, canonical_network(network))] = float(gain)
        return dataclasses.replace(self, gains=tuple((b, n, g) for (b, n), g in table.items()))


@dataclass(frozen=True)
class SimulationParams:
    """Everything that shapes a simulated cohort besides the seed and the atlas.

    Attributes are grouped below; all amplitudes of the EEG are in microvolts, all times in
    seconds. Build one with :func:`preset_params` and change fields with
    :meth:`replace` (or pass them as keyword arguments to ``simulate_cohort``).

    Design
        ``condition`` ("rest" or "task"), ``site``, ``n_subjects``, ``n_scans`` (subjects
        ``1 .. n_scans - n_subjects`` are scanned twice), ``scan_names`` (explicit names,
        overriding the two counts), ``n_volumes`` per scan, ``tr``, ``sfreq`` (EEG),
        ``channels`` and ``reference`` (the cap), ``eeg_lead`` (range of the time the EEG
        recording starts before the first volume).
    Latent neural activity
        ``global_weight``, ``network_weight`` (shares of each cortical ROI's variance carried by
        a whole-brain factor and its network's factor; the rest is ROI-specific),
        ``subcortical_network_weight`` (subcortical ROIs are loosely coupled),
        ``dmn_dan_correlation`` (correlation of the Default and Dorsal Attention factors),
        ``neural_exponent`` (the latent spectrum falls as 1/f^exponent).
    BOLD
        ``bold_percent`` (% signal change per unit latent activity), ``hrf_delay_sd_subject``,
        ``hrf_delay_sd_roi`` (HRF onset jitter), ``physio_noise`` (spatially correlated
        cardiac/respiratory fluctuations, relative to the neural BOLD), ``thermal_noise``
        (white, independent per ROI), ``drift_percent`` (slow scanner drift).
    EEG
        ``alpha_peak_mean``, ``alpha_peak_sd`` (individual alpha frequency, clipped to
        8-12 Hz), ``aperiodic_exponent`` (1/f background), ``band_uv`` (RMS of each band at
        the sensors, in :data:`BANDS` order), ``background_uv`` (RMS of the 1/f background),
        ``sensor_noise_uv``, ``subject_gain_sd`` (log-normal amplitude spread between
        subjects), ``site_gain``, ``blink_rate`` (blinks per minute; 0 switches them off),
        ``blink_uv``, ``bad_channel`` (a channel name to corrupt, or None), ``coupling``.
    Task (``condition="task"`` only)
        ``tone_interval`` (range of the interval between tones), ``target_probability`` (share
        of tones that ask for a button press), ``response_time`` (mean, sd),
        ``evoked_uv`` (amplitude of the auditory N1), ``event_drive`` (latent activity
        evoked by a tone or a press, in standard deviations).
    """

    # design
    condition: str = "rest"
    site: str = "A"
    n_subjects: int = 22
    n_scans: int = 29
    scan_names: tuple[str, ...] = ()
    n_volumes: int = 575
    tr: float = 2.1
    sfreq: float = SFREQ
    channels: tuple[str, ...] = PAPER_CHANNELS
    reference: str = "FCZ"
    eeg_lead: tuple[float, float] = (0.5, 2.0)
    # latent neural activity
    global_weight: float = 0.42
    network_weight: float = 0.42
    subcortical_network_weight: float = 0.15
    dmn_dan_correlation: float = -0.4
    neural_exponent: float = 0.2
    # BOLD
    bold_percent: float = 1.0
    hrf_delay_sd_subject: float = 0.5
    hrf_delay_sd_roi: float = 0.5
    physio_noise: float = 0.9
    thermal_noise: float = 0.65
    drift_percent: float = 1.0
    # EEG
    alpha_peak_mean: float = 10.0
    alpha_peak_sd: float = 0.8
    aperiodic_exponent: float = 1.75
    band_uv: tuple[float, ...] = (3.0, 2.5, 9.0, 2.0, 0.8)
    background_uv: float = 9.0
    sensor_noise_uv: float = 0.5
    subject_gain_sd: float = 0.2
    site_gain: float = 1.0
    blink_rate: float = 1.0
    blink_uv: float = 120.0
    bad_channel: str | None = None
    coupling: CouplingParams = field(default_factory=CouplingParams)
    # task
    tone_interval: tuple[float, float] = (3.0, 9.0)
    target_probability: float = 0.2
    response_time: tuple[float, float] = (0.55, 0.1)
    evoked_uv: float = 6.0
    event_drive: float = 1.5

    def __post_init__(self) -> None:
        if self.condition not in CONDITIONS:
            raise ValueError(f"condition={self.condition!r}; use one of {CONDITIONS}.")
        if not self.scan_names and not 1 <= self.n_subjects <= self.n_scans <= 2 * self.n_subjects:
            raise ValueError(
                f"n_subjects={self.n_subjects}, n_scans={self.n_scans}: every subject has one or "
                "two scans, so n_subjects <= n_scans <= 2 * n_subjects."
            )
        if self.n_volumes * self.tr < 60:
            raise ValueError(
                f"n_volumes={self.n_volumes} at TR={self.tr} s is under a minute: the BOLD "
                "low-pass and the 16 s EEG windows need longer scans."
            )
        if len(self.band_uv) != len(BANDS):
            raise ValueError(f"band_uv needs one RMS per band {BANDS}; got {self.band_uv}.")
        if min(self.global_weight, self.network_weight) < 0 or \
                self.global_weight + self.network_weight > 1:
            raise ValueError("global_weight and network_weight are variance shares: both >= 0 "
                             "and their sum <= 1.")
        if not -1 < self.dmn_dan_correlation < 1:
            raise ValueError("dmn_dan_correlation must lie strictly between -1 and 1.")
        channels = tuple(str(c).upper() for c in self.channels)
        object.__setattr__(self, "channels", channels)
        object.__setattr__(self, "reference", str(self.reference).upper())
        if self.bad_channel is not None:
            bad = str(self.bad_channel).upper()
            if bad not in channels:
                raise ValueError(f"bad_channel={self.bad_channel!r} is not one of the channels.")
            object.__setattr__(self, "bad_channel", bad)
        if self.reference in channels:
            raise ValueError(f"The reference {self.reference} cannot be a recorded channel.")
        if isinstance(self.coupling, Mapping):
            object.__setattr__(self, "coupling", _coupling_from(self.coupling))
        for name in ("eeg_lead", "tone_interval", "response_time", "band_uv", "scan_names"):
            object.__setattr__(self, name, tuple(getattr(self, name)))

    def replace(self, **overrides: Any) -> SimulationParams:
        """A copy with some fields changed (``coupling`` may be a dict of its fields).

        Raises
        ------
        TypeError
            For a name that is not a parameter; the message lists the valid names.
        """
        valid = {f.name for f in dataclasses.fields(self)}
        unknown = sorted(set(overrides) - valid)
        if unknown:
            raise TypeError(f"Unknown simulation parameters {unknown}; valid names: {sorted(valid)}.")
        if "coupling" in overrides and isinstance(overrides["coupling"], Mapping):
            overrides["coupling"] = _coupling_from(overrides["coupling"], base=self.coupling)
        return dataclasses.replace(self, **overrides)

    def to_dict(self) -> dict[str, Any]:
        """Plain dict (JSON-compatible) of every parameter."""
        out = dataclasses.asdict(self)
        out["coupling"]["gains"] = [list(g) for g in self.coupling.gains]
        for key, value in out.items():
            if isinstance(value, tuple):
                out[key] = list(value)
        return out

    def to_json(self) -> str:
        """The parameters as a JSON string (stored with every simulated scan)."""
        return json.dumps(self.to_dict(), sort_keys=True)


def _coupling_from(values: Mapping[str, Any], base: CouplingParams | None = None) -> CouplingParams:
    base = CouplingParams() if base is None else base
    values = dict(values)
    gains = values.pop("gains", None)
    valid = {f.name for f in dataclasses.fields(CouplingParams)}
    unknown = sorted(set(values) - valid)
    if unknown:
        raise TypeError(f"Unknown coupling parameters {unknown}; valid names: {sorted(valid)}.")
    out = dataclasses.replace(base, **values)
    if isinstance(gains, Mapping):
        out = out.with_gains(gains)
    elif gains is not None:
        out = dataclasses.replace(out, gains=tuple(tuple(g) for g in gains))
    return out


# Study sizes. "paper" follows the NeuroBOLT / UnEBOLT datasets: rest 22 subjects / 29 scans of
# 20 min (575 volumes at TR 2.1 s); task (auditory, another site) 10 subjects / 16 scans. The task
# scans' length is not reported in the papers; 10 minutes is an assumption.
PRESETS: dict[str, dict[str, dict[str, Any]]] = {
    "tiny": {
        "rest": {"n_subjects": 4, "n_scans": 4, "n_volumes": 86},
        "task": {"n_subjects": 4, "n_scans": 4, "n_volumes": 86},
    },
    "teaching": {
        "rest": {"n_subjects": 8, "n_scans": 10, "n_volumes": 200},
        "task": {"n_subjects": 6, "n_scans": 8, "n_volumes": 200},
    },
    "paper": {
        "rest": {"n_subjects": 22, "n_scans": 29, "n_volumes": 575,
                 "scan_names": NEUROBOLT_REST_SCANS},
        "task": {"n_subjects": 10, "n_scans": 16, "n_volumes": 286},
    },
}

# What distinguishes the task site from the resting one: another cap, other amplifier gains and
# noise, eyes open (more blinks, less alpha).
_TASK_SITE: dict[str, Any] = {
    "site": "B",
    "channels": TASK_CHANNELS,
    "site_gain": 0.8,
    "sensor_noise_uv": 1.5,
    "blink_rate": 8.0,
    "band_uv": (3.0, 2.5, 4.0, 2.5, 1.0),
}


def preset_params(preset: str = "tiny", condition: str = "rest", **overrides: Any) -> SimulationParams:
    """The parameters of a preset for a condition, with optional overrides.

    Parameters
    ----------
    preset : {"tiny", "teaching", "paper"}
    condition : {"rest", "task"}
    **overrides
        Any :class:`SimulationParams` field.
    """
    if preset not in PRESETS:
        raise ValueError(f"Unknown preset {preset!r}; choose one of {tuple(PRESETS)}.")
    if condition not in CONDITIONS:
        raise ValueError(f"condition={condition!r}; use one of {CONDITIONS}.")
    base = dict(PRESETS[preset][condition])
    if condition == "task":
        base.update(_TASK_SITE)
    if ("n_subjects" in overrides or "n_scans" in overrides) and "scan_names" not in overrides:
        base.pop("scan_names", None)
    return SimulationParams(condition=condition).replace(**base).replace(**overrides)
