"""The scans a command reads: the simulated cohort or a BIDS-like folder."""

from __future__ import annotations

import argparse
from typing import Any

from ._errors import CLIError

__all__ = ["data_section", "load_pairs", "scan_list"]


def scan_list(text: str | None) -> list[str] | None:
    """A comma-separated list (None stays None)."""
    return None if text is None else [s.strip() for s in text.split(",") if s.strip()]


def data_section(args: argparse.Namespace) -> dict[str, Any]:
    """The ``data`` section of an experiment config that the options describe."""
    if args.simulated:
        return {"source": "simulated", "preset": args.simulated, "seed": args.seed,
                "n_rois": args.n_rois, "condition": args.condition}
    if args.data:
        if not args.data.is_dir():
            raise CLIError(f"--data {args.data}: no such folder.")
        return {"source": "bids", "path": str(args.data), "task": args.task, "highpass": args.highpass}
    raise CLIError("say where the data are: --simulated PRESET or --data DIR.")


def load_pairs(args: argparse.Namespace, scans: list[str] | None) -> tuple[list, Any]:
    """The scan pairs (and design table) of the options, restricted to ``scans``."""
    from ..training.experiments import load_pairs as load

    pairs, design, _ = load(data_section(args))
    if scans is not None:
        known = {p.scan for p in pairs}
        missing = [s for s in scans if s not in known]
        if missing:
            raise CLIError(f"scans {missing} are not in the data; it has {sorted(known)}.")
        pairs = [p for p in pairs if p.scan in scans]
        design = design[design["scan"].isin(scans)]
    return pairs, design
