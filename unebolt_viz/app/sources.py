"""What the FC explorer can show, where it reads it from, and the per-scan pieces it draws.

Three kinds of data source:

``embedded``
    The embedded simulated cohort with the predictions of the embedded checkpoint, shipped
    inside the package, each model with its training record (command, seeds, split) beside it.
``real``
    The real DiFuMo-64 resting-state BOLD of ``../shared/data`` when present. It has no EEG,
    so only the true FC is shown (no prediction is invented).
``file:<name>``
    A predictions netCDF file (``unebolt_viz.save(pred, ...)``) inside the app's data
    directory (``$UNEBOLT_VIZ_APP_DATA``, default ``~/.cache/unebolt_viz/results``). Paths are
    resolved (symbolic links included) and anything outside that directory is refused.

Nothing here imports Panel: the explorer caches these loaders with ``pn.cache``.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from .._utils.cache import cache_dir
from ..data.containers import InvalidDataError, validate_predictions

__all__ = [
    "APP_DATA_ENV",
    "DENSITY_GRID",
    "EMBEDDED_DIR",
    "Results",
    "app_data_dir",
    "resolve_inside",
    "list_results_files",
    "embedded_catalog",
    "semisynthetic_catalog",
    "available_sources",
    "load_results",
    "file_atlas_name",
    "volumes_beside",
    "VOLUMES_ATTR",
    "OutsideDataDirError",
]

#: Environment variable naming the app's data directory.
APP_DATA_ENV = "UNEBOLT_VIZ_APP_DATA"
#: Where the embedded checkpoint and its predictions live.
EMBEDDED_DIR = Path(__file__).resolve().parents[1] / "resources" / "embedded"
#: Densities offered by the sparsity slider (and precomputed for the F1 curve).
DENSITY_GRID: tuple[float, ...] = tuple(np.round(np.arange(1, 21) * 0.05, 2).tolist())
RESULT_SUFFIXES = (".nc",)
#: Attribute of a predictions file naming its volumes file (relative to the file's folder).
VOLUMES_ATTR = "volumes_file"
#: The volumes file looked for beside a predictions file that names none.
VOLUMES_DEFAULT = "volumes.nc"
#: Files our experiments write beside their predictions that hold no predictions (metrics,
#: noise ceilings, volumes, region maps): not offered as sources. Also the ``metrics/`` folder.
COMPANION_FILES = frozenset({VOLUMES_DEFAULT, "metrics.nc", "roi_metrics.nc",
                             "noise_ceiling.nc", "regions.nc"})
#: The real source's name in the menu: real BOLD; its predictions come from simulated EEG.
REAL_SOURCE_LABEL = "Real shared data (DiFuMo-64 BOLD, no EEG)"


class OutsideDataDirError(PermissionError):
    """A path points outside the directories the app may read."""


def app_data_dir() -> Path:
    """The folder whose results files the app may open (created if missing)."""
    env = os.environ.get(APP_DATA_ENV)
    path = Path(env).expanduser() if env else cache_dir("results")
    path.mkdir(parents=True, exist_ok=True)
    return path.resolve()


def resolve_inside(path: str | os.PathLike, root: str | os.PathLike) -> Path:
    """Resolve ``path`` (relative to ``root`` unless absolute) and check it stays in ``root``.

    Symbolic links and ``..`` are resolved first, so neither can lead outside.

    Raises
    ------
    OutsideDataDirError
        When the resolved path is not inside ``root``.
    FileNotFoundError
        When it does not exist.
    """
    root_resolved = Path(root).resolve()
    candidate = Path(path)
    if not candidate.is_absolute():
        candidate = root_resolved / candidate
    resolved = candidate.resolve()
    if resolved != root_resolved and root_resolved not in resolved.parents:
        raise OutsideDataDirError(
            f"{path!s} is outside the app's data directory {root_resolved}; copy the file "
            f"there (or set {APP_DATA_ENV}) to open it."
        )
    if not resolved.is_file():
        raise FileNotFoundError(f"No results file {path!s} in {root_resolved}.")
    return resolved


def list_results_files(root: str | os.PathLike | None = None, max_depth: int = 2) -> list[str]:
    """Results files (``*.nc``) in the data directory, as paths relative to it.

    The files our experiments write beside their predictions are left out
    (:data:`COMPANION_FILES`, and anything in a ``metrics/`` folder): ``volumes.nc`` holds the
    volumes of the results file beside it (see :func:`volumes_beside`), shown in its volumes
    tab; the others hold metrics, noise ceilings or region maps, not predictions.
    """
    root = Path(root).resolve() if root is not None else app_data_dir()
    found = []
    for dirpath, dirnames, filenames in os.walk(root):
        depth = len(Path(dirpath).relative_to(root).parts)
        if depth >= max_depth:
            dirnames[:] = []
        if Path(dirpath).name == "metrics" and Path(dirpath) != root:
            continue
        for name in filenames:
            if name.endswith(RESULT_SUFFIXES) and not name.startswith(".") and \
                    name not in COMPANION_FILES:
                full = Path(dirpath) / name
                try:
                    resolve_inside(full, root)
                except (OutsideDataDirError, FileNotFoundError):
                    continue  # links leading outside are not offered
                found.append(str(full.relative_to(root)))
    return sorted(found)


# ----------------------------------------------------------------------------------------------
# the embedded results


def embedded_catalog(directory: Path = EMBEDDED_DIR) -> dict[int, dict[str, Path]]:
    """The shipped predictions: ``{n_rois: {model label: file}}``.

    Read from ``predictions.json`` beside the files (written by the training script).
    """
    index = directory / "predictions.json"
    if not index.is_file():
        return {}
    entries = json.loads(index.read_text())
    catalog: dict[int, dict[str, Path]] = {}
    for entry in entries.get("predictions", []):
        path = directory / entry["file"]
        if path.is_file():
            catalog.setdefault(int(entry["n_rois"]), {})[entry["model"]] = path
    return catalog


def semisynthetic_catalog() -> dict[str, str]:
    """Shipped models trained on the real DiFuMo-64 BOLD: ``{model label: registry name}``.

    Their predictions of the real validation scans ship without the true BOLD, which the
    ``real`` source reads from the shared data folder (see
    :func:`unebolt_viz.models.shipped_predictions`).
    """
    from ..models.pretrained import PretrainedModelError, pretrained

    try:
        entries = pretrained()
    except PretrainedModelError:
        return {}
    return {e["model"]: e["name"] for e in entries
            if e.get("data_source") == "semi-synthetic" and e.get("atlas") == "difumo"
            and e.get("predictions") and (EMBEDDED_DIR / e["predictions"]).is_file()}


def available_sources(data_dir: str | os.PathLike | None = None) -> dict[str, str]:
    """The data sources the app can offer now: ``{label: key}``, the default first."""
    sources = {}
    if embedded_catalog():
        sources["Embedded simulated cohort"] = "embedded"
    from ..datasets.neurobolt import shared_data_dir

    shared = shared_data_dir()
    if shared is not None and (shared / "neurobolt_rest_difumo64").is_dir():
        sources[REAL_SOURCE_LABEL] = "real"
    root = Path(data_dir).resolve() if data_dir is not None else app_data_dir()
    for name in list_results_files(root):
        sources[f"Results file: {name}"] = f"file:{name}"
    return sources


# ----------------------------------------------------------------------------------------------
# one loaded data set


@dataclass(eq=False)
class Results:
    """Everything the app shows for one data source, parcellation level and model.

    Attributes
    ----------
    key, label : str
        Source key (``"embedded"``, ``"real"``, ``"file:..."``) and a readable description.
    data_source : str
        ``"simulated"``, ``"semi-synthetic"`` or ``"real"``.
    model : str or None
        The model whose predictions are shown (None: true data only).
    true : xarray.DataArray
        True ROI series of all scans ``(time, roi)``.
    pred : xarray.Dataset or None
        The predictions Dataset (None for true data only).
    metrics : xarray.Dataset or None
        :func:`unebolt_viz.metrics.evaluate` at :data:`DENSITY_GRID`.
    atlas_name : str or None
        ``"embedded"`` or ``"difumo"``: the atlas of the ROIs (see :attr:`atlas`).
    description : str
        What the data is, in words (shown in the app's header).
    noise_ceiling : xarray.DataArray or None
        Best achievable r of each ROI ``(scan, roi)`` when the source provides it (a
        ``noise_ceiling.nc`` beside a results file, written by simulated experiments).
    """

    key: str
    label: str
    data_source: str
    model: str | None
    true: xr.DataArray
    pred: xr.Dataset | None
    metrics: xr.Dataset | None
    atlas_name: str | None
    description: str = ""
    noise_ceiling: xr.DataArray | None = None
    _memo: dict = field(default_factory=dict, repr=False)
    _lock: Any = field(default_factory=threading.Lock, repr=False)

    @property
    def scans(self) -> list[str]:
        """Scans in order of appearance."""
        return list(dict.fromkeys(self.true.scan.values.astype(str)))

    @property
    def n_rois(self) -> int:
        return int(self.true.sizes["roi"])

    @property
    def atlas(self) -> Any:
        """The atlas, for the surface map, loaded on first use (None if not available)."""
        return self._atlas()[0]

    @property
    def atlas_note(self) -> str:
        """Why :attr:`atlas` is None, when it is."""
        return self._atlas()[1]

    def _atlas(self) -> tuple[Any, str]:
        with self._lock:
            if "atlas" not in self._memo:
                self._memo["atlas"] = _load_atlas(self.atlas_name, self.n_rois,
                                                  self.true.roi.values)
            return self._memo["atlas"]

    def fc(self, scan: str) -> tuple[xr.DataArray, xr.DataArray | None]:
        """True and predicted FC of one scan (computed once, shared by all sessions)."""
        with self._lock:
            if ("fc", scan) not in self._memo:
                if scan not in self.scans:
                    raise ValueError(f"No scan {scan!r}; available: {self.scans}.")
                if self.pred is not None:
                    fc_true = self.pred.unebolt.fc("true", scan=scan)
                    fc_pred = self.pred.unebolt.fc("pred", scan=scan)
                else:
                    fc_true, fc_pred = self.true.unebolt.fc(scan=scan), None
                for fc in (fc_true, fc_pred):
                    if fc is not None:
                        fc.values.setflags(write=False)
                self._memo[("fc", scan)] = (fc_true, fc_pred)
            return self._memo[("fc", scan)]

    def edge_masks(self, scan: str, density: float) -> tuple[np.ndarray, np.ndarray | None]:
        """Edges kept at ``density`` in the true and predicted FC of a scan (shared memo).

        Computed by :func:`unebolt_viz.metrics.edge_mask`; every session moving its slider
        to a density already seen reads the masks instead of ranking the edges again.
        """
        from ..metrics import edge_mask

        key = ("mask", scan, round(float(density), 6))
        with self._lock:
            cached = self._memo.get(key)
        if cached is None:
            fc_true, fc_pred = self.fc(scan)
            cached = tuple(None if fc is None else edge_mask(fc.values, density)
                           for fc in (fc_true, fc_pred))
            for mask in cached:
                if mask is not None:
                    mask.setflags(write=False)
            with self._lock:
                self._memo[key] = cached
        return cached

    def scan_metrics(self, scan: str) -> xr.Dataset | None:
        """The metrics of one scan (None for true data only)."""
        if self.metrics is None:
            return None
        return self.metrics.sel(scan=scan)


def _load_atlas(name: str | None, n_rois: int, rois: Sequence[str]) -> tuple[Any, str]:
    """The atlas of ``rois``: the one recorded, else the embedded one when the ROIs are its own.

    Files written before the atlas was recorded (or from folders that did not say it) are
    recognised by their ROI names, so they still open in the surface tab.
    """
    from ..atlases import ATLAS_SIZES, load_atlas

    names = set(map(str, rois))
    if name:
        try:
            atlas = load_atlas(name, n_rois)
        except Exception as err:  # offline without the DiFuMo maps, for instance
            return None, f"The {name} atlas surface is not available here ({err})."
        if set(atlas.roi) != names:
            return None, f"The ROIs of these data do not match the {name} atlas."
        return atlas, ""
    if n_rois in ATLAS_SIZES:
        atlas = load_atlas("embedded", n_rois)
        if set(atlas.roi) == names:
            return atlas, ""
    return None, ("No atlas is recorded with these data (attribute 'atlas') and their ROIs are "
                  f"not those of the embedded {n_rois}-ROI atlas, so they cannot be placed on "
                  "the cortex. Save predictions of scans whose BOLD names its atlas (e.g. "
                  "unebolt-viz predict records it).")


def file_atlas_name(attrs: dict) -> str | None:
    """The atlas family recorded in a file's attributes (``"embedded64"`` -> ``"embedded"``)."""
    from ..data.identity import UNKNOWN_ATLAS

    name = str(attrs.get("atlas", "")).strip().rstrip("0123456789")
    return None if name in ("", UNKNOWN_ATLAS) else name


def _noise_ceiling_beside(path: Path, root: Path, pred: xr.Dataset) -> xr.DataArray | None:
    """``noise_ceiling.nc`` beside a results file (inside the data directory), if it fits."""
    from ..data.netcdf import load

    try:
        beside = resolve_inside(path.parent / "noise_ceiling.nc", root)
        ceiling = load(beside)["noise_ceiling"]
    except (OutsideDataDirError, FileNotFoundError, KeyError, TypeError):
        return None
    scans = set(map(str, pred.scan.values))
    if set(map(str, ceiling.roi.values)) != set(map(str, pred.roi.values)) or \
            not scans & set(map(str, ceiling.scan.values)):
        return None
    return ceiling


def volumes_beside(key: str, attrs: dict, data_dir: str | os.PathLike | None = None
                   ) -> Path | None:
    """The volumes file of a results file, when it holds volumes (None when it does not).

    A results file ``file:<name>`` (a ROI predictions netCDF) holds volumes when its
    attribute ``volumes_file`` names a netCDF beside it, or, naming none, when a
    ``volumes.nc`` lies in its folder (the layout of
    :func:`unebolt_viz.training.run_volumetric`: ``<model>/roi_predictions.nc`` beside
    ``<model>/volumes.nc``). The volumes file holds the true and predicted volumes as two
    ``bold_volumes`` variables, ``true`` and ``pred``. Other sources hold no volumes.

    Raises
    ------
    OutsideDataDirError
        When the named file resolves outside the data directory (it is never read).
    FileNotFoundError
        When the attribute names a file that is not there.
    """
    if not key.startswith("file:"):
        return None
    root = Path(data_dir).resolve() if data_dir is not None else app_data_dir()
    path = resolve_inside(key[len("file:"):], root)
    named = str(attrs.get(VOLUMES_ATTR, "")).strip()
    if not named:
        try:
            return resolve_inside(path.parent / VOLUMES_DEFAULT, root)
        except (OutsideDataDirError, FileNotFoundError):
            return None
    try:
        return resolve_inside(path.parent / named, root)
    except FileNotFoundError:
        raise FileNotFoundError(
            f"{path.name} names the volumes file {named!r} (attribute {VOLUMES_ATTR!r}), "
            f"which is not in {path.parent}; copy it there beside the results file.") from None


def _evaluate(pred: xr.Dataset) -> xr.Dataset:
    from ..metrics import evaluate

    return evaluate(pred, densities=DENSITY_GRID)


def _from_predictions(key: str, label: str, pred: xr.Dataset, atlas_name: str | None,
                      description: str, noise_ceiling: xr.DataArray | None = None) -> Results:
    validate_predictions(pred)
    true = pred["true"].copy()
    true.attrs = {"kind": "roi_timeseries", "tr": pred.attrs["tr"],
                  "data_source": pred.attrs["data_source"]}
    return Results(key=key, label=label, data_source=str(pred.attrs["data_source"]),
                   model=str(pred.attrs.get("model", "unknown")), true=true, pred=pred,
                   metrics=_evaluate(pred), atlas_name=atlas_name, description=description,
                   noise_ceiling=noise_ceiling)


def _concat(series: Sequence[xr.DataArray]) -> xr.DataArray:
    out = xr.concat(list(series), dim="time")
    out.attrs = dict(series[0].attrs)
    return out


def load_results(key: str, n_rois: int = 64, model: str | None = None,
                 data_dir: str | os.PathLike | None = None) -> Results:
    """Load one data source (uncached; the app wraps this in ``pn.cache``).

    Parameters
    ----------
    key : str
        ``"embedded"``, ``"real"`` or ``"file:<path relative to the data directory>"``.
    n_rois : int
        Parcellation level (embedded source; the other sources hold one level each and
        ignore it).
    model : str, optional
        Model label of the embedded source (default: the first listed).
    data_dir : path, optional
        The app's data directory (default :func:`app_data_dir`).
    """
    from ..data.netcdf import load

    if key == "embedded":
        catalog = embedded_catalog()
        if n_rois not in catalog:
            raise FileNotFoundError(
                f"No embedded predictions for {n_rois} ROIs (available: {sorted(catalog)}); "
                "the installed package lacks them: reinstall unebolt_viz, or, in a clone of its "
                "repository, run `python scripts/train_embedded_checkpoint.py` to make them."
            )
        models = catalog[n_rois]
        model = model if model in models else next(iter(models))
        pred = load(models[model])
        return _from_predictions(
            key, "Embedded simulated cohort", pred, file_atlas_name(pred.attrs) or "embedded",
            f"Test scans of the embedded simulated cohort, predicted by {model} "
            f"({n_rois} ROIs). Simulated data: not the paper's recordings.",
        )
    if key == "real":
        from ..datasets.neurobolt import load_neurobolt_rest

        catalog = semisynthetic_catalog()
        if model in catalog:
            from ..models.pretrained import shipped_predictions

            pred = shipped_predictions(catalog[model])
            scans = sorted(set(map(str, pred.scan.values)))
            return _from_predictions(
                key, "Real shared data", pred, "difumo",
                f"Validation scans {', '.join(scans)} of the NeuroBOLT dataset: the BOLD is "
                f"real (DiFuMo-64), the EEG simulated from it (semi-synthetic), predicted by "
                f"{model}, which was trained on the 18 training scans and selected on these.")

        scans = load_neurobolt_rest()
        true = _concat(list(scans.values()))
        return Results(
            key=key, label="Real shared data", data_source="real", model=None, true=true,
            pred=None, metrics=None, atlas_name="difumo",
            description=(f"Real resting-state BOLD of {len(scans)} scans (DiFuMo-64, "
                         "NeuroBOLT dataset). No EEG comes with these tables, so there is no "
                         "prediction to show: true FC only."),
        )
    if key.startswith("file:"):
        root = Path(data_dir).resolve() if data_dir is not None else app_data_dir()
        path = resolve_inside(key[len("file:"):], root)
        obj = load(path)
        if not isinstance(obj, xr.Dataset) or obj.attrs.get("kind") != "predictions":
            raise InvalidDataError(
                f"{path.name} is not a predictions file; save one with "
                "unebolt_viz.save(unebolt_viz.predictions(true, pred), path)."
            )
        return _from_predictions(key, f"Results file {path.name}", obj, file_atlas_name(obj.attrs),
                                 f"{path.name}: {obj.attrs.get('model', 'unknown model')}, "
                                 f"{obj.sizes['roi']} ROIs.",
                                 _noise_ceiling_beside(path, root, obj))
    raise ValueError(f"Unknown data source {key!r}; use 'embedded', 'real' or 'file:<name>'.")
