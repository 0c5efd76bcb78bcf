"""Reading real BOLD data as ROI time series: nilearn maskers on images, or ROI tables.

Two ways in, both ending in a ``roi_timeseries`` container (one scan):

- :func:`extract_roi_timeseries` runs a nilearn masker on a BOLD image: the maps masker for a
  probabilistic atlas such as DiFuMo (4-D maps), the labels masker for a label atlas (3-D
  integer image), and the surface labels or maps masker for surface data
  (:class:`nilearn.surface.SurfaceImage`). Motion confounds are regressed out, and the signals
  detrended and standardised (the paper's ROI signals are "detrended, standardized, motion
  regressed").
- :func:`read_roi_table` reads ROI time series already extracted (TSV or CSV, one column per
  ROI), e.g. the NeuroBOLT DiFuMo-64 tables.

The paper's targets (0.15 Hz zero-phase low-pass, demean, 95th-percentile scaling) are then
:func:`unebolt_viz.preprocessing.bold_targets`, applied to the whole scan by
:func:`unebolt_viz.io.ingest.pair_scan`. nilearn and nibabel are imported inside functions.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from ..data.containers import InvalidDataError, roi_timeseries
from .bids import read_sidecar, scan_and_subject

__all__ = [
    "MOTION_COLUMNS",
    "NON_ROI_COLUMNS",
    "BOLDFileError",
    "read_roi_table",
    "read_confounds",
    "image_tr",
    "extract_roi_timeseries",
]

#: fMRIPrep's six rigid-body motion parameters.
MOTION_COLUMNS = ("trans_x", "trans_y", "trans_z", "rot_x", "rot_y", "rot_z")
#: Columns of ROI tables that are not ROIs (compared case-insensitively).
NON_ROI_COLUMNS = ("global signal clean", "global signal raw", "global_signal", "time",
                   "onset", "tr", "tr_index", "volume", "frame")


class BOLDFileError(InvalidDataError):
    """A BOLD file cannot be turned into ROI time series as it is; the message says the fix."""


def _roi_description(rois: Any, names: Sequence[str]) -> dict[str, Any]:
    """ROI coordinates for the container: from ``rois`` or, if None, from the names alone."""
    if rois is None:
        return {"roi": list(names), "network": ["No network"] * len(names)}
    if hasattr(rois, "roi_table"):
        return rois.roi_table().to_dict("list")
    if isinstance(rois, pd.DataFrame):
        return rois.to_dict("list")
    if isinstance(rois, Mapping):
        return dict(rois)
    raise TypeError("rois must be an Atlas, a DataFrame or a mapping with 'roi' and 'network'.")


def _atlas_attrs(rois: Any) -> dict[str, str]:
    """The atlas name to record, when the ROIs come from an :class:`~unebolt_viz.atlases.Atlas`."""
    return {"atlas": str(rois.name)} if hasattr(rois, "roi_table") else {}


def _roi_names(rois: Any) -> list[str] | None:
    if rois is None:
        return None
    return [str(r) for r in _roi_description(rois, [])["roi"]]


def _sidecar_tr(path: Path) -> float | None:
    """``RepetitionTime`` from the BIDS JSON sidecar beside ``path``, if there is one."""
    value = read_sidecar(path).get("RepetitionTime")
    return None if value is None else float(value)


def read_roi_table(
    path: str | os.PathLike,
    *,
    rois: Any = None,
    tr: float | None = None,
    scan: str | None = None,
    subject: str | None = None,
    data_source: str = "real",
) -> xr.DataArray:
    """Read ROI time series of one scan from a TSV or CSV table (optionally gzip-compressed).

    Parameters
    ----------
    path : path-like
        One row per volume, one column per ROI (a header row with the ROI names). Columns such
        as ``global signal clean`` or ``time`` are ignored (:data:`NON_ROI_COLUMNS`).
    rois : Atlas, DataFrame or mapping, optional
        The atlas the columns belong to: its ROI names select and order the columns, and give
        networks, hemispheres and centroids. Without it every numeric column is an ROI with
        network ``"No network"``.
    tr : float, optional
        Repetition time (s); default: ``RepetitionTime`` of the BIDS JSON sidecar.
    scan, subject : str, optional
        Default: parsed from the file name (``sub-01_..._run-1`` or ``sub01-scan01``).
    data_source : {"real", "simulated", "semi-synthetic"}

    Returns
    -------
    xarray.DataArray
        ``roi_timeseries`` container ``(time, roi)``.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"ROI table not found: {path}")
    lower = path.name.lower()
    sep = "," if lower.endswith((".csv", ".csv.gz")) else "\t"
    table = pd.read_csv(path, sep=sep)
    tr = tr if tr is not None else _sidecar_tr(path)
    if tr is None:
        raise BOLDFileError(
            f"{path}: the repetition time is unknown; pass tr=<seconds> or put "
            "'RepetitionTime' in a BIDS JSON sidecar beside the table."
        )
    names = _roi_names(rois)
    if names is None:
        skip = {c.lower() for c in NON_ROI_COLUMNS}
        names = [c for c in table.columns
                 if c.lower() not in skip and pd.api.types.is_numeric_dtype(table[c])]
        if not names:
            raise BOLDFileError(f"{path}: no numeric ROI column found (columns: {list(table.columns)}).")
    missing = [n for n in names if n not in table.columns]
    if missing:
        raise BOLDFileError(
            f"{path}: {len(missing)} of the atlas's {len(names)} ROIs have no column, e.g. "
            f"{missing[:3]}; is the table from the same atlas and dimension? Pass the matching "
            "rois=..., or rois=None to take every numeric column."
        )
    values = table[names].to_numpy(dtype=np.float64)
    if not np.all(np.isfinite(values)):
        bad = [n for n in names if not np.all(np.isfinite(table[n].to_numpy(dtype=float)))]
        raise BOLDFileError(
            f"{path}: NaN or infinite values in ROI columns {bad[:5]}; drop those ROIs from "
            "rois=... or fix the extraction (an ROI outside the brain mask gives an empty signal)."
        )
    default_scan, default_subject = scan_and_subject(path)
    return roi_timeseries(
        values, _roi_description(rois, names), float(tr),
        scan=scan or default_scan, subject=subject or default_subject, data_source=data_source,
        attrs={"source_file": str(path), **_atlas_attrs(rois)},
    )


def read_confounds(
    confounds: str | os.PathLike | pd.DataFrame | np.ndarray,
    columns: Sequence[str] | str = "motion",
) -> np.ndarray:
    """Confound regressors as an array ``(n_volumes, n_confounds)``.

    Parameters
    ----------
    confounds : path, DataFrame or ndarray
        An fMRIPrep ``*_desc-confounds_timeseries.tsv`` (or any table), or the regressors.
    columns : "motion" or sequence of str
        Columns to use from a table; ``"motion"`` = :data:`MOTION_COLUMNS`.
    """
    if isinstance(confounds, np.ndarray):
        arr = confounds.reshape(len(confounds), -1).astype(float)
        source = "the confounds array"
    else:
        source = str(confounds) if not isinstance(confounds, pd.DataFrame) else "the confounds table"
        table = (confounds if isinstance(confounds, pd.DataFrame)
                 else pd.read_csv(confounds, sep="," if str(confounds).endswith(".csv") else "\t"))
        wanted = list(MOTION_COLUMNS) if columns == "motion" else list(columns)
        missing = [c for c in wanted if c not in table.columns]
        if missing:
            raise BOLDFileError(
                f"{source}: no column(s) {missing} (has {list(table.columns)[:12]}...). Pass "
                "confound_columns=[...] naming the motion parameters of your table."
            )
        arr = table[wanted].to_numpy(dtype=float)
    if not np.all(np.isfinite(arr)):
        raise BOLDFileError(
            f"{source}: NaN in the confounds (fMRIPrep leaves the first row of derivative columns "
            "empty); use the six motion parameters, or fill the NaN (e.g. with 0) first."
        )
    return arr


def image_tr(img: Any) -> float | None:
    """Repetition time (s) from a NIfTI header (``pixdim[4]``), or None if it is not set."""
    header = img.header
    zooms = header.get_zooms()
    if len(zooms) < 4 or not zooms[3] > 0:
        return None
    # NIfTI stores float32: 2.1 reads as 2.0999999; 6 significant digits recover the TR.
    tr = float(f"{float(zooms[3]):.6g}")
    unit = header.get_xyzt_units()[1]
    return tr / 1000.0 if unit == "msec" else tr / 1e6 if unit == "usec" else tr


def _atlas_kind(atlas: Any, kind: str) -> str:
    if kind != "auto":
        return kind
    from nilearn.surface import SurfaceImage

    if isinstance(atlas, SurfaceImage):
        parts = list(atlas.data.parts.values())
        multi = parts[0].ndim > 1 and parts[0].shape[1] > 1
        return "surface_maps" if multi else "surface_labels"
    shape = atlas.shape
    return "maps" if len(shape) == 4 and shape[3] > 1 else "labels"


def extract_roi_timeseries(
    bold_img: Any,
    atlas: Any,
    *,
    rois: Any = None,
    kind: str = "auto",
    confounds: Any = None,
    confound_columns: Sequence[str] | str = "motion",
    detrend: bool = True,
    standardize: str | None = "zscore_sample",
    tr: float | None = None,
    mask_img: Any = None,
    scan: str | None = None,
    subject: str | None = None,
    data_source: str = "real",
) -> xr.DataArray:
    """ROI time series of one BOLD run through a nilearn masker.

    Parameters
    ----------
    bold_img : path, Nifti1Image or SurfaceImage
        The preprocessed BOLD run (4-D NIfTI, or surface data ``(n_vertices, n_volumes)``).
    atlas : path, Nifti1Image or SurfaceImage
        A probabilistic atlas (4-D maps, e.g. DiFuMo's ``maps.nii.gz``) -> ``NiftiMapsMasker``;
        a label image (3-D integers) -> ``NiftiLabelsMasker``; a surface label or maps image ->
        ``SurfaceLabelsMasker`` / ``SurfaceMapsMasker``.
    rois : Atlas, DataFrame or mapping, optional
        Names, networks and centroids of the atlas's ROIs, in map order (label order for a
        label atlas, background excluded). Default: generic names, network ``"No network"``.
    kind : {"auto", "maps", "labels", "surface_labels", "surface_maps"}
    confounds : path, DataFrame or ndarray, optional
        Regressed out with the masker (fMRIPrep confounds table or an array).
    confound_columns : "motion" or sequence of str
        Columns taken from a confounds table (default: the six motion parameters).
    detrend : bool
        Remove linear trends.
    standardize : {"zscore_sample", "psc", None}
        nilearn's standardisation of each ROI signal.
    tr : float, optional
        Repetition time (s); default: the NIfTI header's (needed for surface data).
    mask_img : optional
        Brain mask passed to the masker.
    scan, subject : str, optional
        Default: parsed from the BOLD file name.
    data_source : {"real", "simulated", "semi-synthetic"}

    Returns
    -------
    xarray.DataArray
        ``roi_timeseries`` container ``(time, roi)``.
    """
    from nilearn import image as nimg

    path = Path(bold_img) if isinstance(bold_img, (str, os.PathLike)) else None
    source = str(path) if path is not None else "the BOLD image"
    is_surface = type(bold_img).__name__ == "SurfaceImage"
    img = bold_img if is_surface else nimg.load_img(bold_img)
    atlas_img = atlas if type(atlas).__name__ == "SurfaceImage" else nimg.load_img(atlas)
    kind = _atlas_kind(atlas_img, kind)
    tr = _run_tr(None if is_surface else img, path, tr, source)
    if not is_surface and len(img.shape) != 4:
        raise BOLDFileError(f"{source}: a BOLD run must be a 4-D image; got shape {img.shape}.")

    masker = _make_masker(kind, atlas_img, detrend=detrend, standardize=standardize, t_r=tr,
                          mask_img=mask_img)
    conf = None
    if confounds is not None:
        conf = _run_confounds(confounds, confound_columns, img.shape[-1], source)
    signals = _masker_signals(masker, img, conf)
    names = _signal_names(rois, signals.shape[1], source)
    default_scan, default_subject = scan_and_subject(path) if path else ("scan", "subject")
    return roi_timeseries(
        signals, _roi_description(rois, names), float(tr),
        scan=scan or default_scan, subject=subject or default_subject, data_source=data_source,
        attrs={"source_file": source, "masker": type(masker).__name__, **_atlas_attrs(rois),
               "cleaning": f"detrend={detrend}; standardize={standardize}; "
                           f"confounds={'none' if conf is None else conf.shape[1]}"},
    )


def _run_tr(img: Any, path: Path | None, tr: float | None, source: str) -> float:
    """The run's TR: ``tr`` if given (warning when the header disagrees), else the header's
    or the JSON sidecar's. ``img`` is None for surface data, which has no header TR."""
    header_tr = None if img is None else image_tr(img)
    if path is not None and header_tr is None:
        header_tr = _sidecar_tr(path)
    if tr is None:
        tr = header_tr
    elif header_tr is not None and abs(header_tr - tr) > 0.01 * tr:
        # stacklevel 3: the warning points at the caller of extract_roi_timeseries.
        warnings.warn(f"{source}: header TR {header_tr:g} s differs from tr={tr:g} s; "
                      f"using tr={tr:g} s.", stacklevel=3)
    if tr is None:
        raise BOLDFileError(f"{source}: the repetition time is unknown; pass tr=<seconds>.")
    return tr


def _make_masker(kind: str, atlas_img: Any, **common: Any) -> Any:
    """The nilearn masker for an atlas of ``kind``, with the cleaning options ``common``."""
    from nilearn import maskers

    masker_cls = {"maps": maskers.NiftiMapsMasker, "labels": maskers.NiftiLabelsMasker,
                  "surface_maps": maskers.SurfaceMapsMasker,
                  "surface_labels": maskers.SurfaceLabelsMasker}.get(kind)
    if masker_cls is None:
        raise ValueError(f"kind={kind!r}; use auto, maps, labels, surface_maps or surface_labels.")
    key = "maps_img" if kind.endswith("maps") else "labels_img"
    return masker_cls(**{key: atlas_img}, **common)


def _run_confounds(confounds: Any, columns: Sequence[str] | str, n_volumes: int,
                   source: str) -> np.ndarray:
    """The confounds of the run, checked to have one row per volume."""
    conf = read_confounds(confounds, columns)
    if conf.shape[0] != n_volumes:
        raise BOLDFileError(
            f"{source}: {n_volumes} volumes but the confounds have {conf.shape[0]} rows; pass the "
            "confounds of this run (same number of volumes, dummy scans removed alike)."
        )
    return conf


def _masker_signals(masker: Any, img: Any, conf: np.ndarray | None) -> np.ndarray:
    """ROI signals ``(n_volumes, n_rois)`` from fitting the masker on the run."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=DeprecationWarning)
        warnings.filterwarnings("ignore", category=FutureWarning)
        signals = np.asarray(masker.fit_transform(img, confounds=conf), dtype=np.float64)
    return signals[:, None] if signals.ndim == 1 else signals


def _signal_names(rois: Any, n_signals: int, source: str) -> list[str]:
    """Names of the masker's signals: from ``rois``, else ``roi001``, ``roi002``, ..."""
    names = _roi_names(rois)
    if names is None:
        names = [f"roi{i + 1:03d}" for i in range(n_signals)]
    if len(names) != n_signals:
        raise BOLDFileError(
            f"{source}: the masker gave {n_signals} ROI signals but rois= describes "
            f"{len(names)}; a label that vanished after resampling to the BOLD grid, or an "
            "atlas of another dimension? Pass the rois of this atlas."
        )
    return names
