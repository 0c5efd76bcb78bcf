"""The DiFuMo probabilistic atlas (Dadi et al. 2020), the ROI space of the UnEBOLT paper.

Files come through :func:`nilearn.datasets.fetch_atlas_difumo`, which downloads nothing when
``<data_dir>/difumo_atlases/`` already holds ``<n>/labels_<n>_dictionary.csv``,
``<n>/<res>mm/maps.nii.gz`` and ``README.md``. What this module derives from the maps
(centroids, laterality, the projection onto fsaverage5) is computed once and cached as
``.npz`` next to the other unebolt_viz caches.
"""

from __future__ import annotations

import hashlib
import re
from functools import lru_cache
from pathlib import Path

import numpy as np

from .._utils import atomic_path, cache_dir
from ._base import Atlas, SurfaceMesh

__all__ = ["load_difumo", "DIFUMO_SIZES"]

DIFUMO_SIZES = (64, 128, 256)
#: Bump whenever what is derived from the maps changes (invalidates the caches).
VERSION = "2"
#: A vertex is painted when its largest map value exceeds this fraction of the median peak
#: value of the components; below it the vertex lies between components.
SURFACE_THRESHOLD = 0.05
#: A component without a side in its name is lateral when its centroid lies at least this far
#: from the midline (x = 0), bilateral ("B") otherwise. A centroid is what both the maps and
#: the published label tables give, so one rule labels an ROI the same from either source.
MIDLINE_HALF_WIDTH_MM = 10.0
_COMPONENTS_PER_CHUNK = 16


def _fetch(n_rois: int, resolution_mm: int, data_dir: str | Path | None):
    from nilearn.datasets import fetch_atlas_difumo

    try:
        return fetch_atlas_difumo(dimension=n_rois, resolution_mm=resolution_mm,
                                  data_dir=None if data_dir is None else str(data_dir),
                                  verbose=0)
    except Exception as exc:  # nilearn raises OSError, URLError, HTTPError, ...
        where = "<data_dir>" if data_dir is None else str(data_dir)
        raise RuntimeError(
            f"Could not get the DiFuMo-{n_rois} atlas ({type(exc).__name__}: {exc}). Without "
            f"network access, place {n_rois}/labels_{n_rois}_dictionary.csv, "
            f"{n_rois}/{resolution_mm}mm/maps.nii.gz and README.md (from https://osf.io/) under "
            f"{where}/difumo_atlases/, or use the offline atlas: load_atlas('embedded', "
            f"{n_rois})."
        ) from exc


def _label_table(labels):
    """nilearn's label table as a DataFrame with lower-case column names."""
    import pandas as pd

    table = pd.DataFrame(labels)
    table.columns = [str(c).strip().lower() for c in table.columns]
    missing = {"difumo_names", "yeo_networks7"} - set(table.columns)
    if missing:
        raise ValueError(f"The DiFuMo label table lacks the columns {sorted(missing)}; it has "
                         f"{list(table.columns)}. Delete the atlas files and fetch them again.")
    return table.reset_index(drop=True)


def _unique_names(names: list[str], components: list[str]) -> list[str]:
    """Names that occur more than once get their component number appended."""
    counts: dict[str, int] = {}
    for name in names:
        counts[name] = counts.get(name, 0) + 1
    return [f"{name} #{comp}" if counts[name] > 1 else name
            for name, comp in zip(names, components)]


def hemisphere_of(name: str, centroid_x: float) -> str:
    """``"L"``, ``"R"`` or ``"B"`` (bilateral) of a DiFuMo component.

    The one rule of the package, used for DiFuMo maps and for label tables with centroids
    alike: an explicit side in the name wins (``LH``/``RH`` or the words left/right); otherwise
    a centroid at least :data:`MIDLINE_HALF_WIDTH_MM` from the midline gives the side, and a
    centroid closer to it gives ``"B"``.

    Parameters
    ----------
    name : str
        The component's name, e.g. ``"Angular gyrus LH"``.
    centroid_x : float
        x of the component's centroid in MNI space (mm; negative is left).
    """
    words = set(re.findall(r"[a-z]+", name.lower()))
    if words & {"lh", "left"}:
        return "L"
    if words & {"rh", "right"}:
        return "R"
    if abs(centroid_x) < MIDLINE_HALF_WIDTH_MM:
        return "B"
    return "L" if centroid_x < 0 else "R"


def _centroids(data: np.ndarray, affine: np.ndarray) -> np.ndarray:
    """Centroid (mm, weighted by the positive map values) of each component."""
    shape = data.shape[:3]
    ijk = np.stack(np.meshgrid(*(np.arange(s) for s in shape), indexing="ij"), axis=-1)
    xyz = ijk.reshape(-1, 3) @ affine[:3, :3].T + affine[:3, 3]
    design = np.column_stack([xyz, np.ones(len(xyz))]).astype(np.float64)
    n = data.shape[3]
    moments = np.empty((n, design.shape[1]))
    for start in range(0, n, _COMPONENTS_PER_CHUNK):
        chunk = np.clip(data[..., start:start + _COMPONENTS_PER_CHUNK], 0, None)
        moments[start:start + chunk.shape[3]] = chunk.reshape(-1, chunk.shape[3]).T @ design
    mass = moments[:, 3]
    if np.any(mass <= 0):
        empty = np.flatnonzero(mass <= 0).tolist()
        raise ValueError(f"DiFuMo maps {empty} have no positive values: the maps file is broken.")
    return moments[:, :3] / mass[:, None]


def _surface_labels(data: np.ndarray, affine: np.ndarray) -> dict[str, np.ndarray]:
    """Per fsaverage5 vertex: the component of largest value (sampled through the cortical
    ribbon, white to pial), or -1 where no component reaches the threshold."""
    import nibabel as nib
    from nilearn.datasets import load_fsaverage
    from nilearn.surface import vol_to_surf

    fsaverage = load_fsaverage("fsaverage5")
    n = data.shape[3]
    peaks = np.array([np.nanmax(data[..., k]) for k in range(n)])
    threshold = SURFACE_THRESHOLD * float(np.median(peaks))
    labels = {}
    for hemi in ("left", "right"):
        pial, white = fsaverage["pial"].parts[hemi], fsaverage["white_matter"].parts[hemi]
        values = np.empty((pial.n_vertices, n), dtype=np.float32)
        for start in range(0, n, _COMPONENTS_PER_CHUNK):
            chunk = nib.Nifti1Image(data[..., start:start + _COMPONENTS_PER_CHUNK], affine)
            values[:, start:start + chunk.shape[3]] = vol_to_surf(chunk, pial, inner_mesh=white)
        values = np.nan_to_num(values, nan=-np.inf)
        best = np.argmax(values, axis=1)
        peak = values[np.arange(len(best)), best]
        labels[hemi] = np.where(peak > threshold, best, -1).astype(np.int64)
    return labels


def _fingerprint(path: Path) -> str:
    stat = path.stat()
    key = f"{path.resolve()}|{stat.st_size}|{stat.st_mtime_ns}|{SURFACE_THRESHOLD}"
    return hashlib.sha1(key.encode()).hexdigest()[:12]


@lru_cache(maxsize=8)
def _derived_arrays(maps_path: Path, cache_path: Path) -> dict[str, np.ndarray]:
    if cache_path.is_file():
        try:
            with np.load(cache_path, allow_pickle=False) as data:
                return {key: data[key] for key in data.files}
        except (OSError, ValueError):
            pass  # unreadable cache: compute again
    import nibabel as nib

    img = nib.load(maps_path)
    if len(img.shape) != 4:
        raise ValueError(f"{maps_path} is not a 4D image of DiFuMo maps (shape {img.shape}).")
    data = img.get_fdata(dtype=np.float32)
    surface = _surface_labels(data, img.affine)
    arrays = {"centroid": _centroids(data, img.affine),
              "vertex_labels_left": surface["left"], "vertex_labels_right": surface["right"]}
    with atomic_path(cache_path) as tmp:
        np.savez(tmp, **arrays)
    return arrays


@lru_cache(maxsize=1)
def load_fsaverage5_mesh() -> SurfaceMesh:
    """nilearn's bundled fsaverage5 inflated surface (10242 vertices per hemisphere)."""
    from nilearn.datasets import load_fsaverage

    inflated = load_fsaverage("fsaverage5")["inflated"]
    return SurfaceMesh(
        name="fsaverage5 inflated",
        coordinates={h: np.asarray(inflated.parts[h].coordinates, dtype=float)
                     for h in ("left", "right")},
        faces={h: np.asarray(inflated.parts[h].faces, dtype=np.int64) for h in ("left", "right")},
    )


def load_difumo(n_rois: int, data_dir: str | Path | None = None,
                resolution_mm: int = 2) -> Atlas:
    """The DiFuMo atlas of ``n_rois`` components.

    Parameters
    ----------
    n_rois : {64, 128, 256}
        Number of components.
    data_dir : path, optional
        nilearn data directory (the files live in ``<data_dir>/difumo_atlases/``); nilearn's
        default (``$NILEARN_DATA`` or ``~/nilearn_data``) when None. The derived ``.npz``
        cache goes there too, else to ``cache_dir("atlases")``.
    resolution_mm : {2, 3}
        Resolution of the maps.

    Returns
    -------
    Atlas
        ROI names from ``difumo_names`` (a duplicated name gets `` #<component>``), networks
        from ``yeo_networks7``, hemisphere from the name or the map's mass (see
        :func:`hemisphere_of`), centroids from the maps, vertex labels on fsaverage5.
    """
    from ..networks import canonical_network

    if n_rois not in DIFUMO_SIZES:
        raise ValueError(f"DiFuMo has no {n_rois}-component version here; choose one of "
                         f"{DIFUMO_SIZES}.")
    if resolution_mm not in (2, 3):
        raise ValueError(f"resolution_mm={resolution_mm!r}: DiFuMo maps exist at 2 or 3 mm.")
    bunch = _fetch(n_rois, resolution_mm, data_dir)
    table = _label_table(bunch["labels"])
    if len(table) != n_rois:
        raise ValueError(f"The DiFuMo-{n_rois} label table has {len(table)} rows; delete the "
                         "atlas files and fetch them again.")
    maps_path = Path(bunch["maps"])
    root = Path(data_dir).expanduser() if data_dir is not None else cache_dir("atlases")
    cache_path = root / (f"difumo_{n_rois}_{resolution_mm}mm_v{VERSION}_"
                         f"{_fingerprint(maps_path)}.npz")
    derived = _derived_arrays(maps_path, cache_path)
    if derived["centroid"].shape[0] != n_rois:
        raise ValueError(f"{maps_path} holds {derived['centroid'].shape[0]} maps, not {n_rois}.")

    names = [str(n).strip() for n in table["difumo_names"]]
    components = ([str(c) for c in table["component"]] if "component" in table
                  else [str(i + 1) for i in range(n_rois)])
    hemispheres = [hemisphere_of(n, x) for n, x in zip(names, derived["centroid"][:, 0])]
    return Atlas(
        name="difumo",
        roi=tuple(_unique_names(names, components)),
        network=np.array([canonical_network(v) for v in table["yeo_networks7"]]),
        hemisphere=np.array(hemispheres),
        centroid=derived["centroid"],
        vertex_labels={"left": derived["vertex_labels_left"],
                       "right": derived["vertex_labels_right"]},
        mesh_loader=load_fsaverage5_mesh,
        description=(
            f"DiFuMo, {n_rois} probabilistic functional modes at {resolution_mm} mm (Dadi et al. "
            "2020, NeuroImage 221:117126), fetched with nilearn; networks from the atlas' "
            "Yeo_networks7 column (Yeo et al. 2011); surface labels are the strongest mode on "
            "each fsaverage5 vertex."
        ),
    )
