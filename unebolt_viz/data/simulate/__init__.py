"""The embedded simulated simultaneous EEG-fMRI cohort, with a known EEG-BOLD coupling.

Nothing real can be downloaded here, and a student's laptop has no network: this simulator is
the package's default data. Its ground truth is known (latent neural activity, noiseless BOLD,
the coupling of each EEG band to each network), so a tutorial can show what a model can and
cannot recover; its statistics are checked against real recordings by
``benchmarks/simulator_realism.py``. Everything it makes says ``data_source="simulated"``
(``"semi-synthetic"`` when the BOLD is real).

>>> from unebolt_viz.data.simulate import simulate_cohort  # doctest: +SKIP
>>> cohort = simulate_cohort("tiny", seed=0)  # doctest: +SKIP
>>> pairs = cohort.pairs()  # doctest: +SKIP
"""

from __future__ import annotations

from .cohort import SimulatedCohort, scan_pair, simulate_cohort
from .presets import (
    BANDS,
    PRESETS,
    TASK_CHANNELS,
    CouplingParams,
    SimulationParams,
    preset_params,
)

__all__ = [
    "BANDS",
    "PRESETS",
    "TASK_CHANNELS",
    "CouplingParams",
    "SimulatedCohort",
    "SimulationParams",
    "preset_params",
    "scan_pair",
    "semi_synthetic_cohort",
    "simulate_cohort",
    "write_recordings",
]


def __getattr__(name: str):
    if name == "semi_synthetic_cohort":
        from .semisynthetic import semi_synthetic_cohort

        return semi_synthetic_cohort
    if name == "write_recordings":
        from .writer import write_recordings

        return write_recordings
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
