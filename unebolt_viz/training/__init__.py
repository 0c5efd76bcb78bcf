"""Training, inference and experiments (imports PyTorch; load it on demand).

- :class:`Trainer` / :func:`train_model`: the paper's training recipe, resumable, DDP-ready.
- :func:`predict`: whole scans to a predictions Dataset.
- :func:`run_experiment`: the paper's experiments from a config (YAML or dict).
"""

from __future__ import annotations

import importlib
from typing import Any

_LAZY = {
    "TrainConfig": "trainer",
    "TrainResult": "trainer",
    "Trainer": "trainer",
    "train_model": "trainer",
    "lr_factor": "trainer",
    "predict": "inference",
    "predict_scan": "inference",
    "WindowDataset": "datasets",
    "ConsecutiveBatchSampler": "datasets",
    "init_distributed": "distributed",
    "cleanup_distributed": "distributed",
    "latest_checkpoint": "checkpoint",
    "load_checkpoint": "checkpoint",
    "run_experiment": "experiments",
    "load_experiment_config": "experiments",
    "ExperimentConfig": "experiments",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
