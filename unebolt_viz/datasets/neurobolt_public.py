"""The public NeuroBOLT dataset as published: EEGLAB recordings beside pickled DiFuMo-64 tables.

The dataset of Li et al., "NeuroBOLT: Resting-state EEG-to-fMRI Synthesis with
Multi-dimensional Feature Mapping" (NeurIPS 2024), shared on the Hugging Face hub as
``NeurdyLab/NeuroBOLT`` (CC-BY-4.0): 29 resting scans of 22 subjects, laid out as

- ``EEG_set/subXX-scanYY_eeg.set`` + ``.fdt``: EEGLAB, 32 channels (26 EEG, EOG1-2, EMG1-3,
  ECG; CWL1-4 in some), one ``R149`` scanner trigger per fMRI volume (TR = 2.1 s);
- ``fMRI_difumo64/subXX-scanYY_difumo64_roi.pkl``: a pickled pandas table per scan, one row per
  volume, the 64 DiFuMo-64 components plus ``global signal clean`` and ``global signal raw``.

NeuroBOLT's own code names the folders ``EEG/`` (or ``EEG_set/``) and ``fMRI_difumo/`` (files
``..._eeg_pp.set`` and ``..._difumo_roi.pkl``); both spellings are found.

Reading a pickle can run arbitrary code, so :func:`convert_neurobolt_public` unpickles only
when called with ``allow_pickle=True``, and then once: each table becomes a netCDF file of this
package (ROIs matched by name to the DiFuMo-64 labels, the global signals as a separate
variable, the pickle's sha256 recorded), which every later read uses instead.
:func:`load_neurobolt_public` then pairs each scan's EEG windows with its BOLD volumes through
the package's own EEG preparation and pairing (:mod:`unebolt_viz.io`).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import unicodedata
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from ..conventions import PAPER_CHANNELS
from ..data.containers import InvalidDataError, roi_timeseries
from .neurobolt import GLOBAL_SIGNAL_COLUMNS, NEUROBOLT_TR, difumo_roi_table, shared_data_dir

__all__ = [
    "EEG_FOLDERS",
    "ROI_FOLDERS",
    "PickleNotAllowedError",
    "PublicScan",
    "neurobolt_difumo64_rois",
    "find_neurobolt_public",
    "is_neurobolt_public",
    "neurobolt_public_cache",
    "convert_neurobolt_public",
    "read_neurobolt_public_scan",
    "load_neurobolt_public",
]

#: EEG folder names: as published, and as NeuroBOLT's code expects them.
EEG_FOLDERS: tuple[str, ...] = ("EEG_set", "EEG")
#: ROI-table folder names: as published, and as NeuroBOLT's code expects them.
ROI_FOLDERS: tuple[str, ...] = ("fMRI_difumo64", "fMRI_difumo")
_EEG_RE = re.compile(r"^(sub\d+)-(scan\d+)_eeg(?:_pp)?\.set$", re.IGNORECASE)
_ROI_RE = re.compile(r"^(sub\d+)-(scan\d+)_difumo(?:64)?_roi\.pkl$", re.IGNORECASE)
_FORMAT = "unebolt_viz neurobolt_public scan, version 1"

class PickleNotAllowedError(InvalidDataError):
    """ROI tables are pickles and reading them was not allowed (``allow_pickle=False``)."""


@dataclass(frozen=True)
class PublicScan:
    """One scan of the layout: its EEG, its pickled table (if present) and its netCDF.

    Attributes
    ----------
    scan, subject : str
        ``"sub01-scan01"``, ``"sub01"``.
    eeg : Path or None
        The EEGLAB header (``.set``); its samples are in the ``.fdt`` beside it.
    pickle : Path or None
        The pickled ROI table, or None once only the netCDF is left.
    netcdf : Path
        Where the converted scan is (or will be) written.
    """

    scan: str
    subject: str
    eeg: Path | None
    pickle: Path | None
    netcdf: Path


def _normalise(name: str) -> str:
    """A ROI name for matching: NFKC, typographic apostrophes as ``'``, case and spaces folded."""
    text = unicodedata.normalize("NFKC", str(name)).replace("\u2019", "'").replace("\u2018", "'")
    return re.sub(r"\s+", " ", text).strip().casefold()


def neurobolt_difumo64_rois(labels: str | os.PathLike | pd.DataFrame | None = None) -> pd.DataFrame:
    """The DiFuMo-64 ROI table (roi, network, hemisphere, x, y, z) the tables are matched to.

    Parameters
    ----------
    labels : path, DataFrame or None
        ``labels_64_dictionary_osf_names_with_centroids.csv`` (see
        :func:`~unebolt_viz.datasets.difumo_roi_table`), or such a ROI table. ``None``: that
        file in the shared data folder when there is one, else the DiFuMo-64 ROI table the
        package ships with its DiFuMo-64 models (the same names, networks and centroids).
    """
    if isinstance(labels, pd.DataFrame):
        if "roi" not in labels.columns or len(labels) != 64:
            raise InvalidDataError("labels: a DataFrame needs a 'roi' column and 64 rows (one per "
                                   f"DiFuMo-64 component); got {len(labels)} rows, columns "
                                   f"{list(labels.columns)}.")
        return labels.reset_index(drop=True)
    if labels is not None:
        return difumo_roi_table(labels)
    shared = shared_data_dir()
    csv = None if shared is None else (
        shared / "difumo_labels" / "labels_64_dictionary_osf_names_with_centroids.csv")
    if csv is not None and csv.is_file():
        return difumo_roi_table(csv)
    from ..models.pretrained import PRETRAINED_DIR

    path = PRETRAINED_DIR / "predictions_unebolt_difumo64_semisynthetic.nc"
    if not path.is_file():
        raise FileNotFoundError(
            f"No DiFuMo-64 label table: {path} is missing from this installation. Pass "
            "labels=<labels_64_dictionary_osf_names_with_centroids.csv>, or reinstall unebolt_viz.")
    with xr.open_dataset(path, engine="h5netcdf") as ds:
        return pd.DataFrame({k: ds[k].values
                             for k in ("roi", "network", "hemisphere", "x", "y", "z")})


def neurobolt_public_cache(root: str | os.PathLike) -> Path:
    """The default folder of a layout's netCDF files (in the package cache, one per folder)."""
    from .._utils import cache_dir

    resolved = Path(root).expanduser().resolve()
    key = hashlib.sha256(str(resolved).encode()).hexdigest()[:12]
    return cache_dir("neurobolt_public") / f"{resolved.name}-{key}"


def _folder(root: Path, names: Sequence[str], pattern: re.Pattern) -> Path | None:
    """The first of ``names`` under ``root`` that holds a file matching ``pattern``."""
    for name in names:
        folder = root / name
        if folder.is_dir() and any(pattern.match(f.name) for f in folder.iterdir()):
            return folder
    return None


def is_neurobolt_public(root: str | os.PathLike) -> bool:
    """Whether ``root`` is laid out as the public NeuroBOLT dataset (EEGLAB + ROI folders)."""
    root = Path(root)
    return root.is_dir() and _folder(root, EEG_FOLDERS, _EEG_RE) is not None and (
        _folder(root, ROI_FOLDERS, _ROI_RE) is not None
        or any(name in os.listdir(root) for name in ROI_FOLDERS))


def _files(folder: Path | None, pattern: re.Pattern) -> dict[str, Path]:
    if folder is None:
        return {}
    found = {}
    for f in sorted(folder.iterdir()):
        m = pattern.match(f.name)
        if m:
            found[f"{m.group(1).lower()}-{m.group(2).lower()}"] = f
    return found


def find_neurobolt_public(root: str | os.PathLike, out_dir: str | os.PathLike | None = None,
                          ) -> dict[str, PublicScan]:
    """The scans of a public-NeuroBOLT folder, by name (``"sub01-scan01"``).

    A scan needs its EEG and either its pickle or a netCDF converted earlier (the pickle may
    then be gone). Scans with only one of the two are left out with a warning.

    Parameters
    ----------
    root : path
        The folder holding ``EEG_set/`` (or ``EEG/``) and ``fMRI_difumo64/`` (or
        ``fMRI_difumo/``).
    out_dir : path, optional
        Where the netCDF files are (default :func:`neurobolt_public_cache` of ``root``).
    """
    root = Path(root).expanduser()
    if not root.is_dir():
        raise FileNotFoundError(f"{root}: no such folder.")
    eeg = _files(_folder(root, EEG_FOLDERS, _EEG_RE), _EEG_RE)
    if not eeg:
        raise FileNotFoundError(
            f"{root} holds no EEGLAB recordings named like 'sub01-scan01_eeg.set' in "
            f"{' or '.join(EEG_FOLDERS)}/: is it the NeuroBOLT dataset folder (as downloaded "
            "from NeurdyLab/NeuroBOLT)?")
    pickles = _files(_folder(root, ROI_FOLDERS, _ROI_RE), _ROI_RE)
    cache = Path(out_dir) if out_dir is not None else neurobolt_public_cache(root)
    converted = {p.stem for p in cache.glob("sub*-scan*.nc")} if cache.is_dir() else set()
    paired = sorted(set(eeg) & (set(pickles) | converted))
    lonely = sorted(set(eeg) ^ (set(pickles) | converted))
    if lonely:
        warnings.warn(f"{root}: scans {lonely} have EEG or an ROI table but not both; they are "
                      "left out.", stacklevel=2)
    return {s: PublicScan(s, s.split("-")[0], eeg[s], pickles.get(s), cache / f"{s}.nc")
            for s in paired}


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _declared_source(root: Path) -> str:
    """``data_source`` of ``root/dataset_description.json`` (simulated copies), else real."""
    path = root / "dataset_description.json"
    if not path.is_file():
        return "real"
    return str(json.loads(path.read_text(encoding="utf-8")).get("data_source", "real"))


def _match_columns(columns: Iterable[Any], rois: Sequence[str], source: Path) -> dict[str, str]:
    """Table column -> atlas ROI (or global-signal column) name, matched by name only."""
    wanted = {_normalise(r): r for r in [*rois, *GLOBAL_SIGNAL_COLUMNS]}
    mapping, unknown = {}, []
    for col in map(str, columns):
        target = wanted.get(_normalise(col))
        if target is None:
            unknown.append(col)
        elif target in mapping.values():
            raise InvalidDataError(f"{source}: two columns are the ROI {target!r}.")
        else:
            mapping[col] = target
    missing = [r for r in rois if r not in mapping.values()]
    if unknown or missing:
        raise InvalidDataError(
            f"{source}: its columns are not the DiFuMo-64 components: "
            + (f"{len(unknown)} unknown column(s), e.g. {unknown[:3]}; " if unknown else "")
            + (f"{len(missing)} DiFuMo-64 ROI(s) missing, e.g. {missing[:3]}. " if missing else "")
            + "This reader takes the DiFuMo-64 tables of the NeuroBOLT dataset (64 components "
            "named as in DiFuMo's labels, plus 'global signal clean' and 'global signal raw'). "
            "For other atlases, write the tables as TSV in a BIDS-like folder (see "
            "unebolt_viz.io.read_roi_table), or pass labels=<the matching DiFuMo label table>.")
    return mapping


def _scan_dataset(table: pd.DataFrame, scan: PublicScan, rois: pd.DataFrame, sha: str,
                  data_source: str) -> xr.Dataset:
    """The netCDF content of one unpickled table: ``bold`` and ``global_signal``."""
    mapping = _match_columns(table.columns, list(rois["roi"]), scan.pickle)
    by_target = {v: k for k, v in mapping.items()}
    values = table[[by_target[r] for r in rois["roi"]]].to_numpy(dtype=np.float64)
    if values.shape[0] < 2 or not np.all(np.isfinite(values)):
        raise InvalidDataError(f"{scan.pickle}: expected one finite row per volume; got "
                               f"{values.shape[0]} rows with {int((~np.isfinite(values)).sum())} "
                               "NaN/Inf values.")
    renamed = {k: v for k, v in mapping.items() if k != v}
    attrs = {"atlas": "difumo64", "source_file": scan.pickle.name, "source_sha256": sha,
             "columns_renamed": json.dumps(renamed, ensure_ascii=False)}
    bold = roi_timeseries(values, rois.to_dict("list"), NEUROBOLT_TR, scan=scan.scan,
                          subject=scan.subject, data_source=data_source, attrs=attrs)
    gs_cols = [c for c in GLOBAL_SIGNAL_COLUMNS if c in by_target]
    gs = xr.DataArray(table[[by_target[c] for c in gs_cols]].to_numpy(dtype=np.float64)
                      .reshape(values.shape[0], len(gs_cols)),
                      dims=("time", "signal"), coords={"time": bold.time, "signal": gs_cols},
                      attrs={"description": "the table's global-signal columns, kept apart from "
                                            "the ROIs (not part of the model's targets)"})
    return xr.Dataset({"bold": bold, "global_signal": gs}, attrs={
        "format": _FORMAT, "source_file": scan.pickle.name, "source_sha256": sha,
        "scan": scan.scan, "subject": scan.subject, "data_source": data_source,
        "converted_by": "unebolt_viz.datasets.convert_neurobolt_public"})


def _refusal(root: Path, todo: Sequence[PublicScan], cache: Path) -> PickleNotAllowedError:
    shown = ", ".join(str(s.pickle.relative_to(root)) for s in todo[:3])
    more = f" and {len(todo) - 3} more" if len(todo) > 3 else ""
    return PickleNotAllowedError(
        f"{root}: the ROI tables of {len(todo)} scan(s) are Python pickles ({shown}{more}). "
        "Reading a pickle can run arbitrary code hidden in the file, so unebolt_viz does not "
        "unpickle unless you allow it. If the files come from a source you trust (the "
        "NeurdyLab/NeuroBOLT repository on the Hugging Face hub), pass allow_pickle=True "
        f"(command line: --allow-pickle): each table is then read once and converted to netCDF "
        f"in {cache}, and later runs read those files without unpickling anything.")


def convert_neurobolt_public(root: str | os.PathLike, *, allow_pickle: bool = False,
                             out_dir: str | os.PathLike | None = None,
                             labels: str | os.PathLike | pd.DataFrame | None = None,
                             scans: Sequence[str] | None = None,
                             overwrite: bool = False) -> dict[str, Path]:
    """Convert the pickled ROI tables to netCDF, once; return ``{scan: netCDF path}``.

    Parameters
    ----------
    root : path
        The dataset folder (see :func:`find_neurobolt_public`).
    allow_pickle : bool
        Unpickle the tables that have no netCDF yet. Pickles can run arbitrary code when read:
        allow it only for files from a source you trust. Without it, a table still to convert
        raises :class:`PickleNotAllowedError`.
    out_dir : path, optional
        Where the netCDF files go (default :func:`neurobolt_public_cache` of ``root``).
    labels : path, DataFrame or None
        DiFuMo-64 labels (see :func:`neurobolt_difumo64_rois`).
    scans : sequence of str, optional
        Only these scans.
    overwrite : bool
        Convert again even where a netCDF exists (needs ``allow_pickle``).

    Returns
    -------
    dict
        Each netCDF holds ``bold`` (time x 64 ROIs, a real ``roi_timeseries`` unless the folder
        declares otherwise) and ``global_signal`` (time x signal), with the pickle's name and
        sha256 in the attributes ``source_file`` and ``source_sha256``. Written atomically.
    """
    from ..data.netcdf import save

    root = Path(root).expanduser()
    found = find_neurobolt_public(root, out_dir)
    if scans is not None:
        absent = sorted(set(scans) - set(found))
        if absent:
            raise FileNotFoundError(
                f"{root}: scans {absent} are not there; it has {sorted(found)}.")
        found = {s: found[s] for s in scans}
    todo = [s for s in found.values() if s.pickle is not None
            and (overwrite or not s.netcdf.is_file())]
    if todo and not allow_pickle:
        raise _refusal(root, todo, next(iter(found.values())).netcdf.parent)
    rois = neurobolt_difumo64_rois(labels) if todo else None
    source = _declared_source(root)
    for scan in todo:
        sha = _sha256(scan.pickle)
        table = pd.read_pickle(scan.pickle)  # allowed explicitly by the caller
        if not isinstance(table, pd.DataFrame):
            raise InvalidDataError(f"{scan.pickle}: expected a pickled pandas DataFrame, found "
                                   f"{type(table).__name__}.")
        save(_scan_dataset(table, scan, rois, sha, source), scan.netcdf)
    for scan in found.values():
        _warn_if_changed(scan)
    return {s: found[s].netcdf for s in found}


def _warn_if_changed(scan: PublicScan) -> None:
    """Warn when the pickle beside a netCDF is not the file it was converted from."""
    if scan.pickle is None or not scan.netcdf.is_file():
        return
    with xr.open_dataset(scan.netcdf, engine="h5netcdf") as ds:
        recorded = ds.attrs.get("source_sha256")
    if recorded and recorded != _sha256(scan.pickle):
        warnings.warn(
            f"{scan.pickle} changed since it was converted to {scan.netcdf} (sha256 "
            f"{recorded[:12]}...); the netCDF is used. Delete it and convert again with "
            "allow_pickle=True to use the new table.", stacklevel=3)


def read_neurobolt_public_scan(path: str | os.PathLike) -> xr.Dataset:
    """One converted scan: ``bold`` (validated ``roi_timeseries``) and ``global_signal``.

    Reads only the netCDF written by :func:`convert_neurobolt_public`; never unpickles.
    """
    from ..data.netcdf import load

    ds = load(path)
    if not isinstance(ds, xr.Dataset) or ds.attrs.get("format") != _FORMAT:
        raise InvalidDataError(f"{path}: not a scan converted by convert_neurobolt_public; "
                               "delete it and convert again.")
    b = ds["bold"]
    rois = {k: b[k].values.tolist() for k in ("roi", "network", "hemisphere", "x", "y", "z")}
    bold = roi_timeseries(b.values, rois, float(b.attrs["tr"]), scan=str(ds.attrs["scan"]),
                          subject=str(ds.attrs["subject"]), data_source=str(b.attrs["data_source"]),
                          attrs={k: b.attrs[k] for k in ("atlas", "source_file", "source_sha256",
                                                         "columns_renamed") if k in b.attrs})
    return xr.Dataset({"bold": bold, "global_signal": ds["global_signal"].assign_coords(
        time=bold.time)}, attrs=dict(ds.attrs))


def load_neurobolt_public(root: str | os.PathLike, *, allow_pickle: bool = False,
                          out_dir: str | os.PathLike | None = None,
                          labels: str | os.PathLike | pd.DataFrame | None = None,
                          scans: Sequence[str] | None = None, highpass: float | None = 0.5,
                          channels: Sequence[str] | None = PAPER_CHANNELS,
                          trigger: str = "R149", trigger_offset: int | None = None) -> list[Any]:
    """The scans of a public-NeuroBOLT folder as model-ready ScanPairs (sorted by scan).

    Converts what still needs converting (see :func:`convert_neurobolt_public`), then for each
    scan: reads the EEGLAB file with MNE, drops EOG/EMG/ECG/CWL channels and keeps
    ``channels`` by name, resamples to 200 Hz, high-passes at ``highpass`` Hz (0.5 in the
    paper's cross-subject setting; ``None`` for none), cuts the 16 s before each ``trigger``
    and pairs the windows with the volumes' targets (0.15 Hz low-pass, demean, 95th-percentile
    scaling over the whole scan). Volumes without a full window before them are dropped.

    Parameters
    ----------
    root : path
        The dataset folder (see :func:`find_neurobolt_public`).
    allow_pickle, out_dir, labels, scans
        As for :func:`convert_neurobolt_public`.
    highpass : float or None
        EEG high-pass cut-off (Hz).
    channels : sequence of str or None
        EEG channels kept, by name and in this order (default: the paper's 26).
    trigger : str
        The annotation of each fMRI volume.
    trigger_offset : int, optional
        Index of the trigger of the first table row, when a recording has more triggers than
        its table has rows (see :func:`unebolt_viz.io.pair_scan`).

    Returns
    -------
    list of ScanPair
    """
    from ..io.eeg import prepare_eeg, read_eeg
    from ..io.ingest import pair_scan

    paths = convert_neurobolt_public(root, allow_pickle=allow_pickle, out_dir=out_dir,
                                     labels=labels, scans=scans)
    found = find_neurobolt_public(root, out_dir)
    pairs = []
    for scan in sorted(paths):
        bold = read_neurobolt_public_scan(paths[scan])["bold"]
        raw, report = prepare_eeg(read_eeg(found[scan].eeg), channels, highpass=highpass)
        pairs.append(pair_scan(raw, bold, trigger=trigger, trigger_offset=trigger_offset,
                               data_source=bold.attrs["data_source"], report=report))
    return pairs
