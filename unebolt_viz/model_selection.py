"""Train / validation / test splits of the paper's two protocols, and generic grouped ones.

Intrascan (within one scan, in time)
    8:1:1 in time order over the scan's ``N`` windows, with a gap of ``g = ceil(20 s / TR)``
    windows (10 at TR = 2.1 s) carved out of the *start* of validation and test, so that no
    validation or test target shares its 16-s EEG window or its low-passed BOLD with the
    windows just before it::

        train [0, 0.8 N)    val [0.8 N + g, 0.9 N)    test [0.9 N + g, N)

    The bounds are real numbers; a window ``i`` belongs to ``[a, b)`` when ``a <= i < b``
    (computed with exact fractions, so ``0.8 N`` is never off by a rounding error).
Cross-subject (unseen subjects)
    Whole scans go to one set and all scans of a subject go to the same set. The paper's split
    (18/5/6 scans) comes from a table (:func:`read_neurobolt_split`); :func:`subject_split`
    draws a 3:1:1 one at random, :func:`group_kfold` and :func:`leave_one_subject_out` give
    cross-validation folds.

Scan-level splits are :class:`ScanSplit` objects: ``split.train``, ``split.val``,
``split.test`` are tuples of scan names. A "design" is a table with one row per scan and the
columns ``scan`` and ``subject`` (``cohort.design`` of the simulator, or
:func:`design_table` of a list of :class:`~unebolt_viz.io.pairing.ScanPair`).
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np
import pandas as pd

from .data.containers import InvalidDataError
from .datasets.neurobolt import read_neurobolt_split

__all__ = [
    "SPLIT_NAMES",
    "ScanSplit",
    "gap_windows",
    "intrascan_indices",
    "intrascan_split",
    "design_table",
    "cross_subject_split",
    "subject_split",
    "group_kfold",
    "leave_one_subject_out",
    "check_split",
    "read_neurobolt_split",
]

SPLIT_NAMES = ("train", "val", "test")
GAP_SECONDS = 20.0


@dataclass(frozen=True)
class ScanSplit:
    """Scans assigned to training, validation and test.

    Attributes
    ----------
    train, val, test : tuple of str
        Scan names.
    name : str
        A label (e.g. ``"fold0"``, ``"paper"``).
    """

    train: tuple[str, ...]
    val: tuple[str, ...]
    test: tuple[str, ...]
    name: str = ""

    def __post_init__(self) -> None:
        for key in SPLIT_NAMES:
            object.__setattr__(self, key, tuple(str(s) for s in getattr(self, key)))
        seen: dict[str, str] = {}
        for key in SPLIT_NAMES:
            for scan in getattr(self, key):
                if scan in seen:
                    raise InvalidDataError(f"Scan {scan!r} is in both {seen[scan]!r} and {key!r}.")
                seen[scan] = key

    def __getitem__(self, key: str) -> tuple[str, ...]:
        if key not in SPLIT_NAMES:
            raise KeyError(f"{key!r}; a split has {SPLIT_NAMES}")
        return getattr(self, key)

    def as_dict(self) -> dict[str, list[str]]:
        """``{"train": [...], "val": [...], "test": [...]}`` (JSON-friendly)."""
        return {key: list(getattr(self, key)) for key in SPLIT_NAMES}

    def as_table(self, design: pd.DataFrame | None = None) -> pd.DataFrame:
        """One row per scan with columns ``scan``, ``split`` (and ``subject`` from ``design``)."""
        rows = [{"scan": s, "split": key} for key in SPLIT_NAMES for s in getattr(self, key)]
        table = pd.DataFrame(rows, columns=["scan", "split"])
        if design is not None:
            subjects = dict(zip(design["scan"].astype(str), design["subject"].astype(str)))
            table.insert(1, "subject", [subjects.get(s, "") for s in table["scan"]])
        return table


# ----------------------------------------------------------------------------------------------
# intrascan


def gap_windows(tr: float, gap_seconds: float = GAP_SECONDS) -> int:
    """Number of windows in a gap of ``gap_seconds``: ``ceil(gap_seconds / tr)`` (10 at 2.1 s)."""
    if tr <= 0:
        raise ValueError(f"tr={tr}: the repetition time must be positive (seconds).")
    # round first so that e.g. 20 / 2.0 is exactly 10, not 10.000000000000002 -> 11
    return int(math.ceil(round(gap_seconds / tr, 9)))


def intrascan_indices(n_windows: int, tr: float, ratios: Sequence[float] = (0.8, 0.1, 0.1),
                      gap_seconds: float = GAP_SECONDS) -> dict[str, np.ndarray]:
    """Window positions of the intrascan train / val / test sets of one scan.

    Parameters
    ----------
    n_windows : int
        Number of (window, volume) pairs ``N`` of the scan.
    tr : float
        Repetition time (s).
    ratios : three floats
        Fractions of the scan before the gaps (8:1:1 in the paper); they must sum to 1.
    gap_seconds : float
        Length of the gap carved out of the start of validation and of test.

    Returns
    -------
    dict
        ``{"train": idx, "val": idx, "test": idx}``, increasing int arrays.
    """
    if len(ratios) != 3 or any(r < 0 for r in ratios):
        raise ValueError(f"ratios={tuple(ratios)}: give three non-negative fractions (train, val, test).")
    fr = [Fraction(r).limit_denominator(10_000) for r in ratios]
    if sum(fr) != 1:
        raise ValueError(f"ratios={tuple(ratios)} must sum to 1.")
    g = gap_windows(tr, gap_seconds)
    b1 = fr[0] * n_windows
    b2 = (fr[0] + fr[1]) * n_windows

    def ceil(x: Fraction) -> int:
        return -((-x.numerator) // x.denominator)

    bounds = {"train": (0, ceil(b1)), "val": (ceil(b1 + g), ceil(b2)), "test": (ceil(b2 + g), n_windows)}
    out = {key: np.arange(lo, max(lo, hi)) for key, (lo, hi) in bounds.items()}
    empty = [key for key, idx in out.items() if idx.size == 0 and fr[SPLIT_NAMES.index(key)] > 0]
    if empty:
        raise InvalidDataError(
            f"A scan of {n_windows} windows is too short for the intrascan split: {empty} would "
            f"be empty after the {g}-window gaps. Use longer scans or a smaller gap_seconds."
        )
    return out


def intrascan_split(pair: Any, ratios: Sequence[float] = (0.8, 0.1, 0.1),
                    gap_seconds: float = GAP_SECONDS) -> dict[str, Any]:
    """Split one :class:`~unebolt_viz.io.pairing.ScanPair` in time (see the module docstring).

    Returns
    -------
    dict
        ``{"train": ScanPair, "val": ScanPair, "test": ScanPair}``; their ``tr_index``
        coordinates keep the original volume numbers.
    """
    if not hasattr(pair, "subset") or not hasattr(pair, "bold"):
        raise TypeError(f"intrascan_split takes a ScanPair, got {type(pair).__name__}.")
    idx = intrascan_indices(pair.n_windows, float(pair.bold.attrs["tr"]), ratios, gap_seconds)
    return {key: pair.subset(i) for key, i in idx.items()}


# ----------------------------------------------------------------------------------------------
# cross-subject


def design_table(items: Any) -> pd.DataFrame:
    """A design table (``scan``, ``subject``) from ScanPairs, a cohort or a DataFrame."""
    if isinstance(items, pd.DataFrame):
        table = items
    elif hasattr(items, "design") and isinstance(items.design, pd.DataFrame):
        table = items.design
    elif isinstance(items, Mapping):
        table = pd.DataFrame({"scan": list(items), "subject": [_subject_of(v) for v in items.values()]})
    else:
        pairs = list(items)
        table = pd.DataFrame({"scan": [p.scan for p in pairs], "subject": [p.subject for p in pairs]})
    missing = sorted({"scan", "subject"} - set(table.columns))
    if missing:
        raise InvalidDataError(f"The design table lacks the columns {missing} (one row per scan).")
    table = table[["scan", "subject"] + [c for c in table.columns if c not in ("scan", "subject")]]
    table = table.astype({"scan": str, "subject": str}).drop_duplicates("scan").reset_index(drop=True)
    return table


def _subject_of(value: Any) -> str:
    if hasattr(value, "subject"):
        subject = value.subject
        return str(subject if isinstance(subject, str) else np.asarray(subject).ravel()[0])
    return str(value)


def check_split(split: ScanSplit, design: pd.DataFrame | Any) -> ScanSplit:
    """Check that every scan is known and that no subject is in two sets; return ``split``."""
    design = design_table(design)
    subjects = dict(zip(design["scan"], design["subject"]))
    unknown = sorted(s for key in SPLIT_NAMES for s in split[key] if s not in subjects)
    if unknown:
        raise InvalidDataError(f"Split {split.name!r} names scans that are not in the data: {unknown}.")
    where: dict[str, set[str]] = {}
    for key in SPLIT_NAMES:
        for scan in split[key]:
            where.setdefault(subjects[scan], set()).add(key)
    leaks = {subj: sorted(keys) for subj, keys in where.items() if len(keys) > 1}
    if leaks:
        raise InvalidDataError(
            f"Split {split.name!r} puts subjects in more than one set (information leak): {leaks}."
        )
    return split


def cross_subject_split(table: pd.DataFrame | str | os.PathLike, design: Any = None,
                        name: str = "table") -> ScanSplit:
    """The scan-level split of a split table (e.g. the paper's ``split_cross_subject.csv``).

    Parameters
    ----------
    table : DataFrame or path
        Columns ``scan``, ``subject``, ``split`` (train/val/test).
    design : optional
        The scans actually available (design table, ScanPairs or cohort). Scans of the table
        that are not available are dropped (the shared data hold 23 of the 29 scans); a
        available scan that the table does not name is an error.
    name : str
        Label of the split.
    """
    if not isinstance(table, pd.DataFrame):
        table = read_neurobolt_split(table)
    missing = sorted({"scan", "subject", "split"} - set(table.columns))
    if missing:
        raise InvalidDataError(f"The split table lacks the columns {missing}.")
    table = table.astype({"scan": str, "subject": str, "split": str})
    if design is not None:
        available = set(design_table(design)["scan"])
        unnamed = sorted(available - set(table["scan"]))
        if unnamed:
            raise InvalidDataError(f"The split table does not assign the scans {unnamed}.")
        table = table[table["scan"].isin(available)]
    split = ScanSplit(*(tuple(table.loc[table["split"] == k, "scan"]) for k in SPLIT_NAMES), name=name)
    return check_split(split, table[["scan", "subject"]])


def _subjects(design: pd.DataFrame) -> list[str]:
    return list(dict.fromkeys(design["subject"]))  # first-appearance order


def _scans_of(design: pd.DataFrame, subjects: Iterable[str]) -> tuple[str, ...]:
    keep = set(subjects)
    return tuple(design.loc[design["subject"].isin(keep), "scan"])


def subject_split(design: Any, ratios: Sequence[float] = (3, 1, 1), seed: int = 0) -> ScanSplit:
    """A random split of subjects in the ratio train:val:test (3:1:1 in the paper).

    Subjects are shuffled with ``seed`` and dealt out by their cumulative share of the
    subjects; every set gets at least one subject when there are at least three.
    """
    design = design_table(design)
    subjects = _subjects(design)
    if len(subjects) < 3:
        raise InvalidDataError(f"A train/val/test split by subject needs >= 3 subjects; got {len(subjects)}.")
    order = np.random.default_rng(seed).permutation(len(subjects))
    shuffled = [subjects[i] for i in order]
    w = np.asarray(ratios, dtype=float)
    if w.shape != (3,) or np.any(w < 0) or w.sum() <= 0:
        raise ValueError(f"ratios={tuple(ratios)}: give three non-negative weights.")
    n = len(shuffled)
    n_val = max(1, int(round(n * w[1] / w.sum()))) if w[1] > 0 else 0
    n_test = max(1, int(round(n * w[2] / w.sum()))) if w[2] > 0 else 0
    n_train = n - n_val - n_test
    if n_train < 1:
        raise InvalidDataError(f"{n} subjects are too few for ratios {tuple(ratios)}.")
    parts = (shuffled[:n_train], shuffled[n_train:n_train + n_val], shuffled[n_train + n_val:])
    split = ScanSplit(*(_scans_of(design, p) for p in parts), name=f"subject_split_seed{seed}")
    return check_split(split, design)


def group_kfold(design: Any, n_splits: int = 5, seed: int = 0,
                val_folds: int = 1) -> list[ScanSplit]:
    """K-fold cross-validation over subjects.

    Subjects are shuffled with ``seed`` and dealt round-robin into ``n_splits`` folds. Split
    ``k`` tests on fold ``k``, validates on the next ``val_folds`` folds (cyclically) and trains
    on the rest. Every subject is tested exactly once.
    """
    design = design_table(design)
    subjects = _subjects(design)
    if not 2 <= n_splits <= len(subjects):
        raise ValueError(f"n_splits={n_splits}: need 2 <= n_splits <= number of subjects ({len(subjects)}).")
    if not 0 <= val_folds <= n_splits - 2:
        raise ValueError(f"val_folds={val_folds}: need 0 <= val_folds <= n_splits - 2.")
    order = np.random.default_rng(seed).permutation(len(subjects))
    folds = [[subjects[i] for i in order[k::n_splits]] for k in range(n_splits)]
    splits = []
    for k in range(n_splits):
        val_ids = [(k + 1 + j) % n_splits for j in range(val_folds)]
        train_ids = [j for j in range(n_splits) if j != k and j not in val_ids]
        split = ScanSplit(
            _scans_of(design, [s for j in train_ids for s in folds[j]]),
            _scans_of(design, [s for j in val_ids for s in folds[j]]),
            _scans_of(design, folds[k]),
            name=f"fold{k}",
        )
        splits.append(check_split(split, design))
    return splits


def leave_one_subject_out(design: Any, n_val_subjects: int = 1, seed: int = 0) -> list[ScanSplit]:
    """One split per subject: test on its scans, validate on ``n_val_subjects`` others.

    The validation subjects of each split are drawn at random (``seed``) among the others.
    """
    design = design_table(design)
    subjects = _subjects(design)
    if len(subjects) < n_val_subjects + 2:
        raise InvalidDataError(
            f"Leave-one-subject-out with {n_val_subjects} validation subject(s) needs at least "
            f"{n_val_subjects + 2} subjects; got {len(subjects)}."
        )
    rng = np.random.default_rng(seed)
    splits = []
    for subject in subjects:
        others = [s for s in subjects if s != subject]
        val = [others[i] for i in sorted(rng.choice(len(others), n_val_subjects, replace=False))]
        train = [s for s in others if s not in val]
        split = ScanSplit(_scans_of(design, train), _scans_of(design, val),
                          _scans_of(design, [subject]), name=f"loso_{subject}")
        splits.append(check_split(split, design))
    return splits
