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
    "simulate_volumes",
    "write_recordings",
]

from .cohort import SimulatedCohort, scan_pair, simulate_cohort
from .presets import BANDS, PRESETS, TASK_CHANNELS, CouplingParams, SimulationParams, preset_params
from .semisynthetic import semi_synthetic_cohort
from .volumes import simulate_volumes
from .writer import write_recordings
