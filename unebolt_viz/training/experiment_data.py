"""Data of an experiment: its ScanPairs, channels, and the train / val / test parts of each run."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from ..conventions import PAPER_CHANNELS, canonical_channel_name

__all__ = ["SHARED_23_CHANNELS", "PAPER_SPLIT", "CROSS_SUBJECT_HIGHPASS", "load_pairs",
           "resolve_split", "resolve_channels", "experiment_jobs", "scan_count_split",
           "is_paper_data"]

#: The 23 channels the resting cap shares with the task cap of the paper's transfer experiment,
#: in the order of NeuroBOLT's code (the 26 paper channels without FPZ, FT9 and FT10, POZ
#: last). Models read channels by name, so the order of a recording's channels is irrelevant.
SHARED_23_CHANNELS: tuple[str, ...] = (
    "FP1", "FP2", "F3", "F4", "C3", "C4", "P3", "P4", "O1", "O2", "F7", "F8", "T7", "T8", "P7",
    "P8", "FZ", "CZ", "PZ", "OZ", "TP9", "TP10", "POZ")  # fmt: skip

#: The UnEBOLT paper's cross-subject split of the 29 NeuroBOLT resting scans (18 train, 5 val,
#: 6 test; both scans of a subject in one set): the default split of data with these scans.
PAPER_SPLIT: dict[str, tuple[str, ...]] = {
    "train": ("sub01-scan01", "sub02-scan01", "sub03-scan02", "sub04-scan01", "sub05-scan01",
              "sub08-scan01", "sub08-scan02", "sub09-scan01", "sub09-scan02", "sub10-scan02",
              "sub12-scan01", "sub12-scan02", "sub14-scan01", "sub14-scan02", "sub17-scan02",
              "sub19-scan02", "sub20-scan01", "sub20-scan02"),
    "val": ("sub06-scan01", "sub13-scan01", "sub13-scan02", "sub15-scan01", "sub22-scan01"),
    "test": ("sub07-scan01", "sub07-scan02", "sub11-scan01", "sub16-scan01", "sub18-scan01",
             "sub21-scan01"),
}
#: EEG high-pass (Hz) of the cross-subject setting, applied when recordings are ingested.
CROSS_SUBJECT_HIGHPASS = 0.5

#: One training run of a model: ``(tag, train, val, test)``; the tag ends its file names.
Job = tuple[str, list[Any], list[Any], list[Any]]


def load_pairs(data: Mapping[str, Any], protocol: str | None = None
               ) -> tuple[list[Any], pd.DataFrame, Any]:
    """ScanPairs of a data section: ``(pairs, design, cohort or None)``.

    Recordings read from files (``source: bids`` or ``neurobolt_public``, the public NeuroBOLT
    dataset as published) are high-passed at ``data.highpass`` Hz;
    without that key, at :data:`CROSS_SUBJECT_HIGHPASS` (0.5 Hz) when ``protocol`` is
    ``"cross_subject"`` (the paper's setting) and not at all otherwise. ``highpass: null``
    switches it off.
    """
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
        highpass = data.get("highpass", CROSS_SUBJECT_HIGHPASS if protocol == "cross_subject"
                            else None)
        pairs = [load_scan_pair(r.eeg, r.bold, highpass=highpass, rois=rois,
                                scan=r.scan, subject=r.subject) for r in runs]
        design = pd.DataFrame({"scan": [p.scan for p in pairs], "subject": [p.subject for p in pairs]})
        return pairs, design, None
    if source == "neurobolt_public":
        return _public_pairs(data, protocol)
    raise ValueError(f"data.source={source!r}; use 'simulated', 'bids' or 'neurobolt_public'.")


def _public_pairs(data: Mapping[str, Any], protocol: str | None) -> tuple[list[Any], pd.DataFrame, None]:
    """The public NeuroBOLT dataset as published (``path``; ``allow_pickle`` for the first,
    one-time conversion of its pickled ROI tables; ``scans``; ``highpass``)."""
    from ..datasets.neurobolt_public import load_neurobolt_public

    if "path" not in data:
        raise ValueError("data.source 'neurobolt_public' needs data.path (the downloaded folder).")
    highpass = data.get("highpass", CROSS_SUBJECT_HIGHPASS if protocol == "cross_subject"
                        else None)
    pairs = load_neurobolt_public(data["path"], allow_pickle=bool(data.get("allow_pickle", False)),
                                  scans=data.get("scans"), highpass=highpass)
    design = pd.DataFrame({"scan": [p.scan for p in pairs], "subject": [p.subject for p in pairs]})
    return pairs, design, None


def _paper_table() -> pd.DataFrame:
    rows = [(scan, scan.split("-")[0], part) for part, scans in PAPER_SPLIT.items() for scan in scans]
    return pd.DataFrame(rows, columns=["scan", "subject", "split"])


def is_paper_data(design: pd.DataFrame, data_source: str | None = None) -> bool:
    """True when every scan of ``design`` is one of the paper's 29 NeuroBOLT resting scans and
    the data are not simulated (simulated cohorts reuse the ``subXX-scanYY`` names)."""
    known = {scan for scans in PAPER_SPLIT.values() for scan in scans}
    scans = set(map(str, design["scan"]))
    return bool(scans) and scans <= known and data_source != "simulated"


def scan_count_split(design: pd.DataFrame, counts: Sequence[int] = (9, 3, 4),
                     seed: int = 0) -> Any:
    """Whole subjects dealt into train / val / test to reach scan counts (9/3/4 in the paper).

    Subjects are shuffled with ``seed``; test, then validation, take each subject whose scans
    still fit their count (first fit); the rest train. The counts are scaled to the number of
    scans when it differs from their sum (each set keeps at least one scan).
    """
    import numpy as np

    from ..model_selection import ScanSplit, check_split, design_table

    design = design_table(design)
    n_scans = len(design)
    target = np.maximum(1, np.round(np.asarray(counts, float) * n_scans / sum(counts))).astype(int)
    subjects = list(dict.fromkeys(design["subject"]))
    order = [subjects[i] for i in np.random.default_rng(seed).permutation(len(subjects))]
    sizes = design.groupby("subject")["scan"].count().to_dict()
    parts: dict[str, list[str]] = {"test": [], "val": []}
    for name, want in (("test", target[2]), ("val", target[1])):
        have = 0
        for subject in list(order):
            if have + sizes[subject] <= want and len(order) > 1:
                parts[name].append(subject)
                have += sizes[subject]
                order.remove(subject)

    def scans(subs: Sequence[str]) -> tuple[str, ...]:
        return tuple(design.loc[design["subject"].isin(set(subs)), "scan"])

    split = ScanSplit(scans(order), scans(parts["val"]), scans(parts["test"]),
                      name=f"scan_counts_{'_'.join(map(str, counts))}_seed{seed}")
    return check_split(split, design)


def resolve_split(split: Mapping[str, Any], design: pd.DataFrame,
                  data_source: str | None = None) -> Any:
    """The cross-subject :class:`~unebolt_viz.model_selection.ScanSplit` a split section names.

    Kinds: ``auto`` (the default: ``paper`` for the NeuroBOLT scans, real or semi-synthetic
    (``data_source``), else ``subject``),
    ``paper`` (the paper's 18/5/6 table, :data:`PAPER_SPLIT`), ``subject`` (``ratios`` by
    subject, ``seed``), ``scans`` (``counts`` of scans, whole subjects: :func:`scan_count_split`),
    ``table`` (``path`` of a CSV), ``kfold``, ``loso`` and ``explicit``.
    """
    from .. import model_selection as splits

    split = dict(split)
    kind = split.pop("kind", "subject")
    if kind == "auto":
        kind = "paper" if is_paper_data(design, data_source) else "subject"
    if kind == "paper":
        return splits.cross_subject_split(_paper_table(), design=design, name="paper_18_5_6")
    if kind == "scans":
        return scan_count_split(design, split.get("counts", (9, 3, 4)), seed=split.get("seed", 0))
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
    raise ValueError(f"split.kind={kind!r}; use auto, paper, subject, scans, table, kfold, loso or "
                     "explicit.")


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
        split = resolve_split(cfg["split"], design, pairs[0].data_source)
        jobs = [("", [by_scan[s] for s in split.train], [by_scan[s] for s in split.val],
                 [by_scan[s] for s in split.test])]
        table = split.as_table(design)
        table.attrs["split"] = split.name
        return jobs, table, list(split.test)
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
