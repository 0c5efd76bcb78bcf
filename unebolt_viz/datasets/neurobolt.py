"""Readers for the real fMRI ROI tables of the NeuroBOLT / UnEBOLT resting-state dataset.

The tables hold DiFuMo-64 ROI time series (one gzip TSV per scan, 575 rows at TR = 2.1 s,
64 ROI columns in atlas order plus two global-signal columns, every column z-scored). The
cross-subject split of the UnEBOLT paper comes as ``split_cross_subject.csv``.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from ..atlases._difumo import hemisphere_of
from ..data.containers import InvalidDataError, roi_timeseries
from ..networks import canonical_network

__all__ = [
    "NEUROBOLT_TR",
    "shared_data_dir",
    "difumo_roi_table",
    "read_neurobolt_scan",
    "read_neurobolt_split",
    "load_neurobolt_rest",
]

NEUROBOLT_TR = 2.1
GLOBAL_SIGNAL_COLUMNS = ("global signal clean", "global signal raw")
_SCAN_RE = re.compile(r"^(sub[0-9A-Za-z]+)-(scan[0-9A-Za-z]+)$")


def shared_data_dir() -> Path | None:
    """The folder of real recordings that sits beside a checkout (``../shared/data``).

    ``UNEBOLT_VIZ_SHARED_DATA``, when set, is the only place looked at (a typo in it must not
    quietly find other data). Returns ``None`` when the folder is absent (a user's fresh
    clone), so callers can fall back to the embedded simulated data.
    """
    env = os.environ.get("UNEBOLT_VIZ_SHARED_DATA")
    path = Path(env).expanduser() if env else (
        Path(__file__).resolve().parents[2].parent / "shared" / "data")
    return path if path.is_dir() else None


def difumo_roi_table(labels_csv: str | os.PathLike) -> pd.DataFrame:
    """ROI table (roi, network, hemisphere, x, y, z) from a DiFuMo label table with centroids.

    Parameters
    ----------
    labels_csv : path
        ``labels_64_dictionary_osf_names_with_centroids.csv`` (columns ``Difumo_names``,
        ``Yeo_networks7``, ``x_mni``, ``y_mni``, ``z_mni``).
    """
    table = pd.read_csv(labels_csv)
    required = {"Difumo_names", "Yeo_networks7", "x_mni", "y_mni", "z_mni"}
    missing = sorted(required - set(table.columns))
    if missing:
        raise InvalidDataError(f"{labels_csv}: label table lacks the columns {missing}.")
    names = table["Difumo_names"].astype(str).tolist()
    x = table["x_mni"].to_numpy(float)
    return pd.DataFrame(
        {
            "roi": names,
            "network": [canonical_network(v) for v in table["Yeo_networks7"]],
            "hemisphere": [hemisphere_of(n, xi) for n, xi in zip(names, x)],
            "x": x,
            "y": table["y_mni"].to_numpy(float),
            "z": table["z_mni"].to_numpy(float),
        }
    )


def read_neurobolt_scan(
    path: str | os.PathLike, roi_table: pd.DataFrame, tr: float = NEUROBOLT_TR
) -> xr.DataArray:
    """Read one scan's ROI table (``subXX-scanYY.tsv.gz``) as a real ``roi_timeseries``.

    Parameters
    ----------
    path : path
        The TSV (optionally gzip-compressed). Its first columns must be the ROI names of
        ``roi_table`` in the same order; the global-signal columns are dropped.
    roi_table : DataFrame
        From :func:`difumo_roi_table`.
    tr : float
        Repetition time (s).
    """
    path = Path(path)
    stem = path.name.split(".")[0]
    match = _SCAN_RE.match(stem)
    if match is None:
        raise InvalidDataError(
            f"{path.name}: expected a name like 'sub01-scan01.tsv.gz' (subject-scan)."
        )
    table = pd.read_csv(path, sep="\t")
    rois = list(roi_table["roi"])
    missing = [r for r in rois if r not in table.columns]
    if missing:
        raise InvalidDataError(
            f"{path}: {len(missing)} ROI columns of the atlas are missing, e.g. {missing[:3]}; "
            "is this table from the same DiFuMo dimension?"
        )
    values = table[rois].to_numpy(dtype=np.float64)
    return roi_timeseries(
        values, roi_table.to_dict("list"), tr, scan=stem, subject=match.group(1),
        data_source="real", attrs={"atlas": f"difumo{len(rois)}", "source_file": path.name},
    )


def read_neurobolt_split(path: str | os.PathLike) -> pd.DataFrame:
    """The cross-subject split table (columns ``scan``, ``subject``, ``split``)."""
    table = pd.read_csv(path)
    missing = sorted({"scan", "subject", "split"} - set(table.columns))
    if missing:
        raise InvalidDataError(f"{path}: split table lacks the columns {missing}.")
    bad = sorted(set(table["split"]) - {"train", "val", "test"})
    if bad:
        raise InvalidDataError(f"{path}: unknown split names {bad} (use train/val/test).")
    leak = table.groupby("subject")["split"].nunique()
    if (leak > 1).any():
        raise InvalidDataError(
            f"{path}: subjects {list(leak[leak > 1].index)} appear in more than one split."
        )
    return table


def load_neurobolt_rest(
    data_dir: str | os.PathLike | None = None, scans: list[str] | None = None
) -> dict[str, xr.DataArray]:
    """Load the real resting-state DiFuMo-64 ROI time series, one DataArray per scan.

    Parameters
    ----------
    data_dir : path, optional
        The folder holding ``neurobolt_rest_difumo64/`` and ``difumo_labels/`` (default:
        :func:`shared_data_dir`).
    scans : list of str, optional
        Only these scans (e.g. ``["sub01-scan01"]``).

    Returns
    -------
    dict
        ``{scan: roi_timeseries}`` in sorted scan order, each with ``data_source="real"``.
    """
    root = Path(data_dir) if data_dir is not None else shared_data_dir()
    if root is None or not (root / "neurobolt_rest_difumo64").is_dir():
        raise FileNotFoundError(
            "The real NeuroBOLT ROI tables were not found: pass data_dir=... pointing to the "
            "folder that holds 'neurobolt_rest_difumo64/' and 'difumo_labels/' "
            "(or set UNEBOLT_VIZ_SHARED_DATA)."
        )
    roi_table = difumo_roi_table(
        root / "difumo_labels" / "labels_64_dictionary_osf_names_with_centroids.csv"
    )
    files = sorted((root / "neurobolt_rest_difumo64").glob("sub*-scan*.tsv*"))
    out = {}
    for f in files:
        name = f.name.split(".")[0]
        if scans is None or name in scans:
            out[name] = read_neurobolt_scan(f, roi_table)
    if scans is not None:
        missing = sorted(set(scans) - set(out))
        if missing:
            raise FileNotFoundError(f"Scans {missing} are not in {root / 'neurobolt_rest_difumo64'}.")
    return out
