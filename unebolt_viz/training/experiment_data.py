"""Data of an experiment: its ScanPairs, channels, and the train / val / test parts of each run."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from ..conventions import PAPER_CHANNELS, canonical_channel_name

__all__ = ["SHARED_23_CHANNELS", "load_pairs", "resolve_split", "resolve_channels", "experiment_jobs"]

#: The channels the resting cap shares with the task cap of the paper's transfer experiment as
#: simulated (the 26 paper channels without FPZ, FT9, FT10), in the paper's order. With real
#: task data, list the channels both caps have instead.
SHARED_23_CHANNELS: tuple[str, ...] = tuple(c for c in PAPER_CHANNELS if c not in ("FPZ", "FT9", "FT10"))

#: One training run of a model: ``(tag, train, val, test)``; the tag ends its file names.
Job = tuple[str, list[Any], list[Any], list[Any]]


def load_pairs(data: Mapping[str, Any]) -> tuple[list[Any], pd.DataFrame, Any]:
    """ScanPairs of a data section: ``(pairs, design, cohort or None)``."""
    data = dict(data)
    source = data.pop("source", "simulated")
    if source == "simulated":
        from ..atlases import load_atlas
        from ..simulation import simulate_cohort

        n_rois = int(data.pop("n_rois", 64))
        preset = data.pop("preset", "tiny")
        seed = int(data.pop("seed", 0))
        cohort = simulate_cohort(preset, seed=seed, atlas=load_atlas("embedded", n_rois),
                                 progress=data.pop("progress", False), **data)
        pairs = cohort.pairs()
        return pairs, cohort.design[["scan", "subject"]].copy(), cohort
    if source == "bids":
        from ..io.bids import find_bids_runs
        from ..io.ingest import load_scan_pair

        if "path" not in data:
            raise ValueError("data.source 'bids' needs data.path (the BIDS folder).")
        runs = find_bids_runs(data["path"], task=data.get("task"),
                              bold_entities=data.get("bold_entities"))
        if not runs:
            raise FileNotFoundError(f"No EEG + BOLD runs found under {data['path']}.")
        rois = data.get("atlas_rois")
        if isinstance(rois, str):
            rois = pd.read_csv(rois, sep=None, engine="python")
        pairs = [load_scan_pair(r.eeg, r.bold, highpass=data.get("highpass"), rois=rois,
                                scan=r.scan, subject=r.subject) for r in runs]
        design = pd.DataFrame({"scan": [p.scan for p in pairs], "subject": [p.subject for p in pairs]})
        return pairs, design, None
    raise ValueError(f"data.source={source!r}; use 'simulated' or 'bids'.")


def resolve_split(split: Mapping[str, Any], design: pd.DataFrame) -> Any:
    """The cross-subject :class:`~unebolt_viz.model_selection.ScanSplit` a split section names."""
    from .. import model_selection as splits

    split = dict(split)
    kind = split.pop("kind", "subject")
    if kind == "subject":
        return splits.subject_split(design, ratios=split.get("ratios", (3, 1, 1)), seed=split.get("seed", 0))
    if kind == "table":
        if "path" not in split:
            raise ValueError("split kind 'table' needs split.path (a CSV with scan, subject, split).")
        return splits.cross_subject_split(split["path"], design=design)
    if kind == "kfold":
        folds = splits.group_kfold(design, n_splits=split.get("n_splits", 5), seed=split.get("seed", 0))
        return folds[int(split.get("fold", 0))]
    if kind == "loso":
        runs = splits.leave_one_subject_out(design, seed=split.get("seed", 0))
        subject = split.get("subject")
        if subject is None:
            return runs[0]
        for run in runs:
            if run.name == f"loso_{subject}":
                return run
        raise ValueError(f"split.subject={subject!r} is not a subject of the data.")
    if kind == "explicit":
        return splits.check_split(splits.ScanSplit(split["train"], split.get("val", ()), split["test"],
                                                   name="explicit"), design)
    raise ValueError(f"split.kind={kind!r}; use subject, table, kfold, loso or explicit.")


def resolve_channels(spec: Any, pairs: Sequence[Any]) -> tuple[str, ...]:
    """Channels a model reads: ``"shared23"``, a list, or (None) the paper's 26 when present."""
    if spec == "shared23":
        return SHARED_23_CHANNELS
    if spec is not None:
        return tuple(canonical_channel_name(str(c)) for c in spec)
    have = [canonical_channel_name(str(c)) for c in pairs[0].windows.channel.values]
    if set(PAPER_CHANNELS) <= set(have):
        return PAPER_CHANNELS
    return tuple(have)


def experiment_jobs(cfg: Mapping[str, Any], pairs: Sequence[Any],
                    design: pd.DataFrame) -> tuple[list[Job], pd.DataFrame, list[str]]:
    """The training runs of each model of an experiment, and what the test set is.

    Parameters
    ----------
    cfg : ExperimentConfig
        The experiment (its ``protocol`` and ``split`` sections).
    pairs : sequence of ScanPair
        Its scans (:func:`load_pairs`).
    design : pandas.DataFrame
        Their ``scan`` and ``subject`` columns.

    Returns
    -------
    jobs : list of (tag, train, val, test)
        One run (tag ``""``) cross-subject, or intrascan with ``per_scan``, one per scan
        (tag ``"__<scan>"``).
    split_table : pandas.DataFrame
        The content of ``split.csv``.
    test_scans : list of str
        The scans predicted (intrascan: their test parts).
    """
    by_scan = {p.scan: p for p in pairs}
    if cfg["protocol"] == "cross_subject":
        split = resolve_split(cfg["split"], design)
        jobs = [("", [by_scan[s] for s in split.train], [by_scan[s] for s in split.val],
                 [by_scan[s] for s in split.test])]
        return jobs, split.as_table(design), list(split.test)
    from ..model_selection import intrascan_split

    options = dict(cfg["split"])
    parts = {p.scan: intrascan_split(p, ratios=options.get("ratios", (0.8, 0.1, 0.1)),
                                     gap_seconds=options.get("gap_seconds", 20.0)) for p in pairs}
    scans = options.get("scans") or [p.scan for p in pairs]
    if options.get("per_scan", True):
        jobs = [(f"__{s}", [parts[s]["train"]], [parts[s]["val"]], [parts[s]["test"]]) for s in scans]
    else:
        jobs = [("", [parts[s]["train"] for s in scans], [parts[s]["val"] for s in scans],
                 [parts[s]["test"] for s in scans])]
    rows = [{"scan": s, "subject": by_scan[s].subject, "split": k,
             "tr_index_first": int(parts[s][k].bold.tr_index.values[0]),
             "tr_index_last": int(parts[s][k].bold.tr_index.values[-1])}
            for s in scans for k in ("train", "val", "test")]
    return jobs, pd.DataFrame(rows), list(scans)
