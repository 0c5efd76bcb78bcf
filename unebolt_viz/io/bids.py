"""Finding the EEG and BOLD runs that belong together in a BIDS folder.

A simultaneous EEG-fMRI run appears in BIDS as ``sub-01/[ses-1/]eeg/sub-01_task-rest_run-1_eeg.vhdr``
and ``sub-01/[ses-1/]func/sub-01_task-rest_run-1_bold.nii.gz`` (or, after extraction, an ROI
table such as ``derivatives/.../sub-01_task-rest_run-1_..._timeseries.tsv``). Runs are paired by
their subject, session, task and run entities. Splits must keep all runs of a subject together:
:func:`subject_groups` gives the groups for scikit-learn's group splitters, and
:func:`runs_table` the design table that :mod:`unebolt_viz.model_selection` splits by subject.
"""

from __future__ import annotations

import json
import os
import re
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = [
    "BIDSRun",
    "parse_entities",
    "read_sidecar",
    "dataset_metadata",
    "scan_and_subject",
    "find_bids_runs",
    "subject_groups",
    "runs_table",
]

#: Entities that identify a simultaneous run (``acq``, ``desc``, ``space``... may differ).
RUN_ENTITIES = ("sub", "ses", "task", "run")
EEG_ENDINGS = (".vhdr", ".edf", ".bdf", ".set", ".fif", ".fif.gz", ".gdf", ".cnt", ".mff")
IMAGE_ENDINGS = (".nii.gz", ".nii")
TABLE_ENDINGS = (".tsv.gz", ".tsv", ".csv.gz", ".csv")
_ENTITY_RE = re.compile(r"([a-zA-Z0-9]+)-([a-zA-Z0-9]+)")
_NEUROBOLT_RE = re.compile(r"^(sub[0-9A-Za-z]+)-(scan[0-9A-Za-z]+)$")


def _split_ending(name: str, endings: Sequence[str]) -> tuple[str, str] | None:
    lower = name.lower()
    for ending in sorted(endings, key=len, reverse=True):
        if lower.endswith(ending):
            return name[: -len(ending)], ending
    return None


def parse_entities(name: str) -> tuple[dict[str, str], str]:
    """BIDS entities and suffix of a file name.

    ``"sub-01_ses-2_task-rest_run-1_bold.nii.gz"`` -> ``({"sub": "01", "ses": "2", "task":
    "rest", "run": "1"}, "bold")``. A name without entities gives ``({}, stem)``.
    """
    split = _split_ending(name, (*EEG_ENDINGS, *IMAGE_ENDINGS, *TABLE_ENDINGS, ".json", ".vmrk",
                                 ".eeg"))
    stem = split[0] if split else name.split(".")[0]
    parts = stem.split("_")
    entities, suffix = {}, ""
    for part in parts:
        match = _ENTITY_RE.fullmatch(part)
        if match:
            entities[match.group(1)] = match.group(2)
        else:
            suffix = part
    if not entities:
        return {}, stem
    return entities, suffix


def read_sidecar(path: str | os.PathLike) -> dict:
    """The BIDS JSON sidecar beside a data file (same name, ``.json``), or ``{}``."""
    path = Path(path)
    split = _split_ending(path.name, (*EEG_ENDINGS, *IMAGE_ENDINGS, *TABLE_ENDINGS, ".func.gii"))
    stem = split[0] if split else path.stem
    sidecar = path.with_name(stem + ".json")
    if not sidecar.is_file():
        return {}
    try:
        return json.loads(sidecar.read_text())
    except json.JSONDecodeError as err:
        raise ValueError(f"{sidecar}: not valid JSON ({err}); fix or remove the sidecar.") from err


def dataset_metadata(path: str | os.PathLike) -> tuple[Path | None, dict]:
    """The root and ``dataset_description.json`` of the BIDS dataset holding ``path``."""
    for parent in Path(path).resolve().parents:
        description = parent / "dataset_description.json"
        if description.is_file():
            return parent, json.loads(description.read_text())
    return None, {}


def scan_and_subject(path: str | os.PathLike) -> tuple[str, str]:
    """Scan and subject identifiers from a file name.

    BIDS names give ``("sub-01_ses-2_task-rest_run-1", "sub-01")``; NeuroBOLT tables
    (``sub01-scan01.tsv.gz``) give ``("sub01-scan01", "sub01")``; other names give their stem
    for both.
    """
    name = Path(path).name
    split = _split_ending(name, (*EEG_ENDINGS, *IMAGE_ENDINGS, *TABLE_ENDINGS))
    stem = split[0] if split else name.split(".")[0]
    match = _NEUROBOLT_RE.match(stem)
    if match:
        return stem, match.group(1)
    entities, _ = parse_entities(name)
    if "sub" in entities:
        scan = "_".join(f"{k}-{entities[k]}" for k in RUN_ENTITIES if k in entities)
        return scan, f"sub-{entities['sub']}"
    return stem, stem


@dataclass(frozen=True)
class BIDSRun:
    """One simultaneous EEG-fMRI run.

    Attributes
    ----------
    subject : str
        ``"sub-01"``.
    scan : str
        The run's identity, e.g. ``"sub-01_ses-1_task-rest_run-1"``.
    eeg : Path
        The EEG recording (for BrainVision the ``.vhdr``).
    bold : Path
        The BOLD image or ROI table.
    confounds : Path or None
        fMRIPrep confounds table of the run, when found.
    """

    subject: str
    scan: str
    eeg: Path
    bold: Path
    confounds: Path | None = None

    @property
    def bold_is_table(self) -> bool:
        """Whether :attr:`bold` is an ROI table (TSV/CSV) rather than an image."""
        return _split_ending(self.bold.name, TABLE_ENDINGS) is not None


def _run_key(entities: Mapping[str, str]) -> tuple[str, ...]:
    return tuple(entities.get(k, "") for k in RUN_ENTITIES)


def _classify(path: Path) -> tuple[str, dict[str, str]] | None:
    entities, suffix = parse_entities(path.name)
    if "sub" not in entities:
        return None
    if suffix == "eeg" and _split_ending(path.name, EEG_ENDINGS):
        return "eeg", entities
    is_table = _split_ending(path.name, TABLE_ENDINGS) is not None
    if entities.get("desc", "").lower() == "confounds" or suffix == "regressors":
        return ("confounds", entities) if is_table else None
    if suffix == "bold" and (is_table or _split_ending(path.name, IMAGE_ENDINGS)):
        return "bold", entities
    if suffix == "timeseries" and is_table:
        return "bold", entities
    return None


def find_bids_runs(
    root: str | os.PathLike,
    *,
    task: str | None = None,
    bold: str = "auto",
    bold_entities: Mapping[str, str] | None = None,
) -> list[BIDSRun]:
    """Pair the EEG and BOLD files of a BIDS folder (derivatives included) by run.

    Parameters
    ----------
    root : path-like
        The BIDS dataset root.
    task : str, optional
        Only runs of this task.
    bold : {"auto", "table", "image"}
        Which BOLD file to take when a run has both an ROI table and an image: ``"auto"``
        prefers the table (already extracted).
    bold_entities : mapping, optional
        Entities a BOLD file must carry, e.g. ``{"atlas": "DiFuMo64"}`` or ``{"space":
        "MNI152NLin2009cAsym"}``, to choose among several derivatives.

    Returns
    -------
    list of BIDSRun
        Sorted by scan. EEG runs without BOLD (and the reverse) are left out with a warning.
    """
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"BIDS folder not found: {root}")
    if bold not in ("auto", "table", "image"):
        raise ValueError(f"bold={bold!r}; use 'auto', 'table' or 'image'.")
    found: dict[str, dict[tuple[str, ...], list[Path]]] = {"eeg": {}, "bold": {}, "confounds": {}}
    for path in sorted(root.rglob("sub-*")):
        if not path.is_file() and not path.name.lower().endswith(".mff"):
            continue
        cls = _classify(path)
        if cls is None:
            continue
        kind, entities = cls
        if task is not None and entities.get("task") != task:
            continue
        if kind == "bold" and bold_entities and any(
                entities.get(k) != v for k, v in bold_entities.items()):
            continue
        found[kind].setdefault(_run_key(entities), []).append(path)

    runs, lonely = [], []
    for key, eeg_files in sorted(found["eeg"].items()):
        name = "_".join(f"{k}-{v}" for k, v in zip(RUN_ENTITIES, key) if v)
        if len(eeg_files) > 1:
            raise ValueError(f"{root}: run {name} has several EEG files {eeg_files}; keep one.")
        candidates = found["bold"].get(key, [])
        tables = [p for p in candidates if _split_ending(p.name, TABLE_ENDINGS)]
        images = [p for p in candidates if p not in tables]
        pick = {"table": tables, "image": images, "auto": tables or images}[bold]
        if not pick:
            lonely.append(f"EEG {name} has no BOLD")
            continue
        if len(pick) > 1:
            raise ValueError(
                f"{root}: run {name} has several BOLD candidates "
                f"{[str(p.relative_to(root)) for p in pick]}; pass bold_entities={{...}} (e.g. "
                "atlas, space, desc) to choose one."
            )
        confounds = found["confounds"].get(key, [])
        runs.append(BIDSRun(subject=f"sub-{key[0]}", scan=name, eeg=eeg_files[0], bold=pick[0],
                            confounds=confounds[0] if len(confounds) == 1 else None))
    lonely += [
        "BOLD " + "_".join(f"{k}-{v}" for k, v in zip(RUN_ENTITIES, key) if v) + " has no EEG"
        for key in sorted(set(found["bold"]) - set(found["eeg"]))
    ]
    if lonely:
        warnings.warn(f"{root}: unpaired runs left out: {'; '.join(lonely)}.", stacklevel=2)
    return runs


def subject_groups(runs: Sequence[BIDSRun]) -> np.ndarray:
    """The subject of each run, as groups for ``sklearn.model_selection.GroupKFold`` and the like."""
    return np.array([r.subject for r in runs], dtype=object)


def runs_table(runs: Sequence[BIDSRun]):
    """A design table of the runs: one row per run, columns ``scan``, ``subject``, ``eeg``,
    ``bold``, ``confounds``.

    It is what :mod:`unebolt_viz.model_selection` takes (``subject_split(runs_table(runs))``,
    ``group_kfold(...)``): every subject's runs then land in one set.
    """
    import pandas as pd

    return pd.DataFrame({
        "scan": [r.scan for r in runs],
        "subject": [r.subject for r in runs],
        "eeg": [str(r.eeg) for r in runs],
        "bold": [str(r.bold) for r in runs],
        "confounds": ["" if r.confounds is None else str(r.confounds) for r in runs],
    })
