"""The scans a command reads: the simulated cohort, a BIDS-like folder, or the public NeuroBOLT
dataset as published (EEGLAB + pickled DiFuMo-64 tables, converted once to netCDF)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from ._errors import CLIError

__all__ = ["data_section", "load_pairs", "scan_list", "training_highpass",
           "write_preprocessing_record"]

#: EEG high-pass (Hz) of the public NeuroBOLT data when --highpass is not given (``train`` sets
#: it for every --data folder; ``predict`` gets it here): the paper's cross-subject setting.
PUBLIC_HIGHPASS = 0.5


def scan_list(text: str | None) -> list[str] | None:
    """A comma-separated list (None stays None)."""
    return None if text is None else [s.strip() for s in text.split(",") if s.strip()]


def _is_public(args: argparse.Namespace) -> bool:
    from ..datasets.neurobolt_public import is_neurobolt_public

    return bool(args.data) and is_neurobolt_public(args.data)


def data_section(args: argparse.Namespace) -> dict[str, Any]:
    """The ``data`` section of an experiment config that the options describe."""
    if args.simulated:
        return {"source": "simulated", "preset": args.simulated, "seed": args.seed,
                "n_rois": args.n_rois, "condition": args.condition}
    if args.data:
        if not args.data.is_dir():
            raise CLIError(f"--data {args.data}: no such folder.")
        if _is_public(args):
            return {"source": "neurobolt_public", "path": str(args.data),
                    "allow_pickle": bool(getattr(args, "allow_pickle", False)),
                    "highpass": (PUBLIC_HIGHPASS if args.highpass is None
                                 else args.highpass or None)}
        return {"source": "bids", "path": str(args.data), "task": args.task, "highpass": args.highpass}
    raise CLIError("say where the data are: --simulated PRESET or --data DIR.")


def _load_public(section: dict[str, Any], scans: list[str] | None) -> tuple[list, Any]:
    import pandas as pd

    from ..datasets.neurobolt_public import load_neurobolt_public

    pairs = load_neurobolt_public(section["path"], allow_pickle=section["allow_pickle"],
                                  scans=scans, highpass=section["highpass"])
    design = pd.DataFrame({"scan": [p.scan for p in pairs], "subject": [p.subject for p in pairs]})
    return pairs, design


def load_pairs(args: argparse.Namespace, scans: list[str] | None) -> tuple[list, Any]:
    """The scan pairs (and design table) of the options, restricted to ``scans``."""
    from ..training.experiments import load_pairs as load

    section = data_section(args)
    if section["source"] == "neurobolt_public":
        from ..datasets.neurobolt_public import find_neurobolt_public

        known = set(find_neurobolt_public(section["path"]))
        missing = [s for s in scans or () if s not in known]
        if missing:
            raise CLIError(f"scans {missing} are not in the data; it has {sorted(known)}.")
        return _load_public(section, scans)
    pairs, design, _ = load(section)
    if scans is not None:
        known = {p.scan for p in pairs}
        missing = [s for s in scans if s not in known]
        if missing:
            raise CLIError(f"scans {missing} are not in the data; it has {sorted(known)}.")
        pairs = [p for p in pairs if p.scan in scans]
        design = design[design["scan"].isin(scans)]
    return pairs, design


#: Written beside a run's split.csv: the EEG preprocessing the model was trained on.
PREPROCESSING_RECORD = "preprocessing.json"


def write_preprocessing_record(run_dir: Path, highpass: float | None) -> None:
    """Record the EEG high-pass of a training run, so that ``predict`` can apply the same."""
    import json

    from .._utils import atomic_path

    with atomic_path(Path(run_dir) / PREPROCESSING_RECORD) as tmp:
        tmp.write_text(json.dumps({"eeg_highpass_hz": float(highpass or 0.0)}, indent=2))


def training_highpass(run_dir: Path) -> float | None:
    """The EEG high-pass (Hz, 0 for none) a run in ``run_dir`` trained with, if recorded."""
    import json

    record = Path(run_dir) / PREPROCESSING_RECORD
    if not record.is_file():
        return None
    try:
        return float(json.loads(record.read_text())["eeg_highpass_hz"])
    except (ValueError, KeyError, TypeError) as err:
        raise CLIError(f"{record} is damaged ({err}); delete it and pass --highpass explicitly "
                       "(the value the model was trained with).") from None
