"""Simulated BOLD volumes: the cohort's ROI targets painted on a small voxel grid, plus noise.

An opt-in extra of :class:`~unebolt_viz.simulation.SimulatedCohort` (its ROI outputs are not
touched): for the volumetric peers (E2fNet, Spec2VolCAMU-Net), which predict whole volumes.

How a scan's volumes are made (all deterministic from the cohort's seed and the scan):

1. **Grid.** ``shape`` voxels (64 x 64 x 30 by default) spanning the MNI152 bounding box
   (x -90..90, y -126..90, z -72..108 mm); the brain mask is nilearn's MNI152 brain mask
   resampled onto it (nearest neighbour).
2. **Regions.** Each in-mask voxel belongs to one ROI of the cohort's atlas: the ROI whose
   centroid is nearest (every ROI gets at least the in-mask voxel nearest its centroid), or,
   when probabilistic maps are given (e.g. DiFuMo's ``maps.nii.gz``), the map with the largest
   value there (voxels where every map is 0 leave the mask).
3. **Signal.** ``voxel(t) = w(v) * target_roi(t) + noise_sd * std(target_roi) * n(v, t)`` where
   ``target_roi`` is the ROI's processed BOLD target (exactly what the ROI models learn),
   ``w(v) = 0.5 + 0.5 exp(-d^2 / (2 * 15 mm^2))`` with ``d`` the distance to the ROI centroid
   (a smooth spatial weight), and ``n`` unit-variance noise, Gaussian-smoothed in space
   (``smooth_mm`` FWHM) and put through the same low-pass as the targets in time (so that it
   cannot be filtered away), then standardised per voxel. Outside the mask the volumes are 0.
4. **Noise ceiling per voxel.** Pearson r between the noise-free voxel series
   (``w * targets_noiseless``) and the noisy one, the voxel analogue of the ROI noise ceiling
   (:meth:`SimulatedCohort.noise_ceiling`: r between noiseless and measured processed BOLD).

The volumes are in target units (the ROI targets' scale), ``data_source="simulated"``.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from .._utils import atomic_path
from ..data.volumes import bold_volumes
from ..preprocessing import lowpass_bold
from ._random import rng_for

__all__ = ["VolumeGrid", "default_grid", "region_labels", "simulate_volumes", "volumes_file",
           "VOLUMES_VERSION"]

VOLUMES_VERSION = "1"
MNI_BOX_MM = ((-90.0, 90.0), (-126.0, 90.0), (-72.0, 108.0))
WEIGHT_SD_MM = 15.0


@dataclass(frozen=True, eq=False)
class VolumeGrid:
    """A voxel grid: its shape, voxel-to-MNI affine and brain mask."""

    shape: tuple[int, int, int]
    affine: np.ndarray
    mask: np.ndarray = field(repr=False)

    def world(self, index: np.ndarray) -> np.ndarray:
        """World (MNI mm) coordinates of voxel indices ``(n, 3)``."""
        return np.asarray(index, float) @ self.affine[:3, :3].T + self.affine[:3, 3]


def _grid_affine(shape: tuple[int, int, int]) -> np.ndarray:
    size = [(hi - lo) / n for (lo, hi), n in zip(MNI_BOX_MM, shape)]
    affine = np.diag([*size, 1.0])
    affine[:3, 3] = [lo + s / 2 for (lo, _), s in zip(MNI_BOX_MM, size)]
    return affine


def default_grid(shape: tuple[int, int, int] = (64, 64, 30)) -> VolumeGrid:
    """The MNI152 bounding box on ``shape`` voxels with nilearn's MNI152 brain mask.

    Parameters
    ----------
    shape : (int, int, int)
        Voxels along x, y, z (64 x 64 x 30: the NODDI volumes of the E2fNet paper).

    Returns
    -------
    VolumeGrid
    """
    from nilearn.datasets import load_mni152_brain_mask
    from nilearn.image import resample_img

    shape = tuple(int(s) for s in shape)
    if len(shape) != 3 or min(shape) < 4:
        raise ValueError(f"shape={shape}: give three sizes of at least 4 voxels.")
    affine = _grid_affine(shape)
    mask_img = resample_img(load_mni152_brain_mask(resolution=2), target_affine=affine,
                            target_shape=shape, interpolation="nearest", force_resample=True,
                            copy_header=True)
    return VolumeGrid(shape, affine, np.asarray(mask_img.get_fdata()) > 0.5)


def _nearest_labels(points: np.ndarray, centroids: np.ndarray) -> np.ndarray:
    from scipy.spatial import cKDTree

    _, nearest = cKDTree(centroids).query(points)
    labels = np.asarray(nearest, dtype=np.int64)
    # every ROI owns at least the in-mask voxel nearest its centroid
    _, own = cKDTree(points).query(centroids)
    for roi in np.setdiff1d(np.arange(len(centroids)), labels):
        labels[own[roi]] = roi
    return labels


def region_labels(centroids: np.ndarray, grid: VolumeGrid, maps: Any = None) -> np.ndarray:
    """The ROI index of every voxel of ``grid`` (-1 outside the brain mask).

    Parameters
    ----------
    centroids : ndarray, shape (n_rois, 3)
        ROI centroids (MNI mm), e.g. ``atlas.centroid``.
    grid : VolumeGrid
    maps : Nifti image or path, optional
        4-D probabilistic maps, one per ROI in atlas order (DiFuMo's ``maps.nii.gz``);
        resampled onto the grid, each voxel goes to its largest map (voxels where all maps are
        0 get -1). Default: nearest centroid within the mask.

    Returns
    -------
    ndarray of int64, shape ``grid.shape``
    """
    centroids = np.asarray(centroids, dtype=float)
    labels = np.full(grid.shape, -1, dtype=np.int64)
    if maps is not None:
        from nilearn.image import resample_img

        img = resample_img(maps, target_affine=grid.affine, target_shape=grid.shape,
                           interpolation="linear", force_resample=True, copy_header=True)
        data = np.asarray(img.get_fdata())
        if data.ndim != 4 or data.shape[3] != len(centroids):
            raise ValueError(f"maps have shape {data.shape}; expected {grid.shape} x "
                             f"{len(centroids)} maps (one per ROI, atlas order).")
        best = data.argmax(axis=3)
        keep = grid.mask & (data.max(axis=3) > 0)
        labels[keep] = best[keep]
        return labels
    index = np.argwhere(grid.mask)
    labels[tuple(index.T)] = _nearest_labels(grid.world(index), centroids)
    return labels


def _spatial_weight(grid: VolumeGrid, labels: np.ndarray, centroids: np.ndarray
                    ) -> np.ndarray:
    index = np.argwhere(labels >= 0)
    d2 = ((grid.world(index) - centroids[labels[tuple(index.T)]]) ** 2).sum(axis=1)
    return 0.5 + 0.5 * np.exp(-d2 / (2 * WEIGHT_SD_MM**2))


def _smooth_noise(rng: np.random.Generator, n_times: int, grid: VolumeGrid,
                  voxels: tuple[np.ndarray, ...], smooth_mm: float, tr: float) -> np.ndarray:
    """Unit-variance noise ``(n_times, n_voxels)``: smooth in space, low-passed in time."""
    from scipy.ndimage import gaussian_filter

    sigma = smooth_mm / np.sqrt(8 * np.log(2)) / np.abs(np.diag(grid.affine)[:3])
    out = np.empty((n_times, voxels[0].size), dtype=np.float32)
    for t in range(n_times):
        field_t = rng.standard_normal(grid.shape, dtype=np.float32)
        out[t] = gaussian_filter(field_t, sigma, mode="nearest")[voxels]
    step = 4096
    for start in range(0, out.shape[1], step):
        block = lowpass_bold(out[:, start:start + step], tr)
        block -= block.mean(axis=0)
        out[:, start:start + step] = block / (block.std(axis=0) + 1e-12)
    return out


def _volume_params(shape: tuple[int, int, int], noise_sd: float, smooth_mm: float,
                   maps: Any) -> dict[str, Any]:
    return {"shape": list(shape), "noise_sd": float(noise_sd), "smooth_mm": float(smooth_mm),
            "maps": None if maps is None else str(maps), "version": VOLUMES_VERSION}


def _cache_path(cohort, scan: str, params: dict[str, Any]) -> Path | None:
    base = cohort._cache_path(scan)
    if base is None:
        return None
    key = hashlib.sha256(json.dumps(params, sort_keys=True).encode()).hexdigest()[:12]
    return base.parent / f"volumes-{key}" / f"{scan}.nc"


def _to_grid(values: np.ndarray, grid: VolumeGrid, voxels: tuple[np.ndarray, ...]) -> np.ndarray:
    out = np.zeros((values.shape[0], *grid.shape), dtype=np.float32)
    out[(slice(None), *voxels)] = values
    return out


def _roi_coords(atlas) -> dict[str, tuple[str, Any]]:
    """The atlas ROI coordinates, centroids renamed ``roi_x/y/z`` (``x/y/z`` are voxel dims)."""
    return {(f"roi_{k}" if k in ("x", "y", "z") else k): v for k, v in atlas.roi_coords().items()}


def _voxel_ceiling(clean: np.ndarray, noisy: np.ndarray) -> np.ndarray:
    a = clean - clean.mean(axis=0)
    b = noisy - noisy.mean(axis=0)
    den = np.sqrt((a * a).sum(axis=0) * (b * b).sum(axis=0))
    return np.where(den > 0, (a * b).sum(axis=0) / np.where(den > 0, den, 1), 0.0)


def simulate_volumes(cohort, scan: str, shape: tuple[int, int, int] = (64, 64, 30),
                     noise_sd: float = 1.0, smooth_mm: float = 8.0, maps: Any = None,
                     grid: VolumeGrid | None = None) -> xr.Dataset:
    """BOLD volumes of one simulated scan, aligned with its EEG and ROI targets.

    Cached next to the scan (``cohort.cache_dir``) when the cohort has a cache.

    Parameters
    ----------
    cohort : SimulatedCohort
    scan : str
        One of ``cohort.scans``.
    shape : (int, int, int)
        Grid size (x, y, z).
    noise_sd : float
        Voxel noise standard deviation relative to the ROI target's (0: noise-free volumes).
    smooth_mm : float
        FWHM of the noise's spatial smoothing (mm).
    maps : Nifti image or path, optional
        Probabilistic ROI maps (DiFuMo ``maps.nii.gz``, atlas order) to draw the regions from;
        default: nearest ROI centroid (see :func:`region_labels`).
    grid : VolumeGrid, optional
        Overrides ``shape`` (default :func:`default_grid`).

    Returns
    -------
    xarray.Dataset
        ``bold`` (a ``bold_volumes`` container ``(time, x, y, z)``, all ``n_volumes`` of the
        scan, ``tr_index`` = volume index, so volume ``k`` follows the EEG trigger
        ``volume_sample[k]`` of :meth:`SimulatedCohort.scan_data`), ``bold_noiseless`` (same
        dims), ``noise_ceiling`` ``(x, y, z)`` (NaN outside the regions), ``region``
        ``(x, y, z)`` (ROI index, -1 outside), the ROI coordinates of the atlas on ``roi``
        (``roi``, ``network``, ``hemisphere``, centroids ``roi_x``, ``roi_y``, ``roi_z``), and
        ``data_source="simulated"``. Volumes are held in memory (0.5 MB each at 64 x 64 x
        30); for training read them lazily from the cache file.
    """
    grid = grid if grid is not None else default_grid(shape)
    params = _volume_params(grid.shape, noise_sd, smooth_mm, maps)
    path = _cache_path(cohort, scan, params)
    if path is not None and path.exists():
        ds = xr.load_dataset(path, engine="h5netcdf")
        return ds.assign_coords(mask=ds.coords["mask"].astype(bool))
    row = cohort._check_scan(scan)
    ds_bold = cohort._bold_data(scan)
    atlas, tr = cohort.atlas, float(ds_bold.attrs["tr"])
    labels = region_labels(atlas.centroid, grid, maps)
    voxels = tuple(np.argwhere(labels >= 0).T)
    roi_of = labels[voxels]
    weight = _spatial_weight(grid, labels, atlas.centroid)
    targets = ds_bold["targets"].values
    clean = (weight * ds_bold["targets_noiseless"].values[:, roi_of]).astype(np.float32)
    signal = (weight * targets[:, roi_of]).astype(np.float32)
    if noise_sd > 0:
        rng = rng_for(cohort.seed, cohort.condition, cohort.subjects.index(row["subject"]),
                      int(row["session"]), "volumes")
        noise = _smooth_noise(rng, targets.shape[0], grid, voxels, smooth_mm, tr)
        signal = signal + noise_sd * targets.std(axis=0)[roi_of] * noise
    ceiling = np.full(grid.shape, np.nan, dtype=np.float32)
    ceiling[voxels] = _voxel_ceiling(clean, signal)
    common = {"scan": scan, "subject": str(row["subject"]), "data_source": cohort.data_source,
              "units": "ROI target units"}
    attrs = {"atlas": atlas.name, "volume_params": json.dumps(params)}
    bold = bold_volumes(_to_grid(signal, grid, voxels), grid.affine, labels >= 0, tr,
                        attrs=attrs, **common)
    noiseless = bold.copy(data=_to_grid(clean, grid, voxels))
    noiseless.attrs["description"] = "w(v) * targets_noiseless: the noise-free voxel signal"
    ds = xr.Dataset(
        {"bold": bold, "bold_noiseless": noiseless,
         "noise_ceiling": (("x", "y", "z"), ceiling),
         "region": (("x", "y", "z"), labels.astype(np.int32))},
        coords=_roi_coords(atlas),
        attrs={"kind": "simulated_volumes", "data_source": cohort.data_source, "scan": scan,
               "subject": str(row["subject"]), "tr": tr, "atlas": atlas.name,
               "volume_params": json.dumps(params),
               "description": "Simulated BOLD volumes (unebolt_viz.simulation.volumes): "
                              "ROI targets x smooth weight + smooth noise on an MNI grid."},
    )
    if path is not None:
        with atomic_path(path) as tmp:
            ds.to_netcdf(tmp, engine="h5netcdf")
    return ds


def volumes_file(cohort, scan: str, **kwargs: Any) -> Path:
    """The cache file of a scan's simulated volumes, generated first if needed.

    For training without holding every volume in memory: open it lazily with
    ``unebolt_viz.data.open_volumes(path, variable="bold")``.

    Parameters
    ----------
    cohort : SimulatedCohort
        Built with a ``cache_dir``.
    scan : str
    **kwargs
        ``shape``, ``noise_sd``, ``smooth_mm``, ``maps`` of :func:`simulate_volumes`.

    Returns
    -------
    pathlib.Path
    """
    if cohort.cache_dir is None:
        raise ValueError("volumes_file needs a cohort with a cache: simulate_cohort(..., "
                         "cache_dir='some/folder').")
    shape = tuple(kwargs.get("shape", (64, 64, 30)))
    params = _volume_params(shape, kwargs.get("noise_sd", 1.0), kwargs.get("smooth_mm", 8.0),
                            kwargs.get("maps"))
    path = _cache_path(cohort, scan, params)
    if not path.exists():
        simulate_volumes(cohort, scan, **kwargs)
    return path
