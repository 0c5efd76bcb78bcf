"""The bold_volumes container and the simulated volumes (data_source, netCDF, cache, ceiling)."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from unebolt_viz.data import InvalidDataError
from unebolt_viz.data.volumes import (
    bold_volumes,
    load_volumes,
    open_volumes,
    save_volumes,
    to_nifti,
    validate_volumes,
    volume_affine,
)


def _volumes(rng, n_t=5, shape=(6, 7, 4), **kwargs):
    mask = np.zeros(shape, bool)
    mask[1:5, 1:6, 1:3] = True
    affine = np.diag([3.0, 3.0, 4.0, 1.0])
    affine[:3, 3] = [-9, -12, -6]
    data = rng.standard_normal((n_t, *shape)).astype(np.float32)
    kwargs.setdefault("data_source", "simulated")
    return bold_volumes(data, affine, mask, 2.1, scan="sub01-scan01", subject="sub01", **kwargs)


def test_container_layout(rng):
    v = _volumes(rng)
    assert v.dims == ("time", "x", "y", "z")
    assert v.attrs["kind"] == "bold_volumes" and v.attrs["data_source"] == "simulated"
    assert v.coords["mask"].dtype == bool and int(v.coords["mask"].sum()) == 4 * 5 * 2
    np.testing.assert_allclose(v.time.values, np.arange(5) * 2.1)
    assert volume_affine(v)[2, 2] == 4.0 and volume_affine(v)[1, 3] == -12


def test_data_source_rule_and_validation(rng):
    with pytest.raises(InvalidDataError, match="data_source"):
        _volumes(rng, data_source="made-up")
    with pytest.raises(InvalidDataError, match="4-D"):
        bold_volumes(np.zeros((3, 4, 5)), np.eye(4), None, 2.0, scan="s", subject="a")
    with pytest.raises(InvalidDataError, match="mask has shape"):
        bold_volumes(np.zeros((3, 4, 5, 6)), np.eye(4), np.ones((4, 5, 5), bool), 2.0,
                     scan="s", subject="a")
    with pytest.raises(InvalidDataError, match="singular"):
        bold_volumes(np.zeros((3, 4, 5, 6)), np.diag([1.0, 0.0, 1.0, 1.0]), None, 2.0,
                     scan="s", subject="a")
    with pytest.raises(InvalidDataError, match="last row"):
        bold_volumes(np.zeros((3, 4, 5, 6)), np.ones((4, 4)), None, 2.0, scan="s", subject="a")
    v = _volumes(rng)
    bad = v.copy()
    bad.values[0, 0, 0, 0] = np.nan
    with pytest.raises(InvalidDataError, match="NaN"):
        validate_volumes(bad)
    empty = v.assign_coords(mask=v.coords["mask"] & False)
    with pytest.raises(InvalidDataError, match="empty"):
        validate_volumes(empty)


def test_netcdf_round_trip_and_lazy_open(rng, tmp_path):
    v = _volumes(rng, n_t=7)
    path = save_volumes(v, tmp_path / "v.nc")
    back = load_volumes(path)
    xr.testing.assert_identical(back, v)
    lazy = open_volumes(path)
    try:
        assert not isinstance(lazy.variable._data, np.ndarray)  # not read yet
        np.testing.assert_array_equal(lazy.isel(time=slice(2, 4)).values, v.values[2:4])
        assert lazy.coords["mask"].dtype == bool
    finally:
        lazy.close()


def test_to_nifti_keeps_affine_and_layout(rng):
    v = _volumes(rng)
    img = to_nifti(v)
    assert img.shape == (6, 7, 4, 5)
    np.testing.assert_allclose(img.affine, volume_affine(v))
    np.testing.assert_allclose(np.asarray(img.dataobj)[..., 3], v.values[3])


@pytest.fixture(scope="module")
def cohort(tmp_path_factory):
    from unebolt_viz.simulation import simulate_cohort

    return simulate_cohort("tiny", seed=3, progress=False,
                           cache_dir=tmp_path_factory.mktemp("cache"))


@pytest.fixture(scope="module")
def sim(cohort):
    from unebolt_viz.simulation.volumes import simulate_volumes

    return simulate_volumes(cohort, cohort.scans[0])


def test_simulated_volumes_layout(cohort, sim):
    bold = sim["bold"]
    assert bold.shape == (cohort.params.n_volumes, 64, 64, 30)
    assert bold.attrs["data_source"] == "simulated" and sim.attrs["data_source"] == "simulated"
    validate_volumes(bold)
    region = sim["region"].values
    # every ROI of the atlas owns voxels, and regions live inside the brain mask only
    assert set(np.unique(region[region >= 0])) == set(range(cohort.atlas.n_rois))
    assert np.array_equal(region >= 0, bold.coords["mask"].values)
    assert 20_000 < int((region >= 0).sum()) < 60_000
    assert np.all(bold.values[:, region < 0] == 0)
    assert list(sim.roi.values) == list(cohort.atlas.roi)


def test_voxels_follow_their_roi_target(cohort, sim):
    """Noise-free voxels are the ROI target times a positive weight."""
    targets = cohort.scan_data(cohort.scans[0])["targets_noiseless"].values
    region = sim["region"].values
    clean = sim["bold_noiseless"].values
    for roi in (0, 17, cohort.atlas.n_rois - 1):
        i, j, k = np.argwhere(region == roi)[0]
        r = np.corrcoef(clean[:, i, j, k], targets[:, roi])[0, 1]
        assert r > 0.9999


def test_voxel_noise_ceiling(cohort, sim):
    ceiling = sim["noise_ceiling"].values
    region = sim["region"].values
    assert np.all(np.isnan(ceiling[region < 0]))
    inside = ceiling[region >= 0]
    # noisier than the ROI (voxel noise on top), and the empirical definition holds
    roi_ceiling = float(cohort.noise_ceiling(cohort.scans[0]).mean())
    assert 0.1 < float(inside.mean()) < roi_ceiling
    i, j, k = np.argwhere(region == 5)[3]
    r = np.corrcoef(sim["bold_noiseless"].values[:, i, j, k], sim["bold"].values[:, i, j, k])[0, 1]
    assert abs(r - ceiling[i, j, k]) < 1e-4


def test_volumes_are_cached_and_roi_outputs_untouched(cohort, sim):
    from unebolt_viz.simulation.volumes import simulate_volumes

    files = list(cohort.cache_dir.rglob("volumes-*/*.nc"))
    assert len(files) == 1
    again = simulate_volumes(cohort, cohort.scans[0])
    np.testing.assert_array_equal(again["bold"].values, sim["bold"].values)
    assert again["bold"].coords["mask"].dtype == bool
    from unebolt_viz.simulation.volumes import volumes_file

    path = volumes_file(cohort, cohort.scans[0])
    assert path == files[0]
    with pytest.raises(InvalidDataError, match="2 BOLD-volumes variables"):
        open_volumes(path)
    lazy = open_volumes(path, variable="bold")
    try:
        np.testing.assert_array_equal(lazy.isel(time=[4]).values, sim["bold"].values[4:5])
    finally:
        lazy.close()
    # the ROI outputs of a fresh cohort (no volumes asked for) are the same as this one's
    from unebolt_viz.simulation import simulate_cohort

    fresh = simulate_cohort("tiny", seed=3, progress=False)
    np.testing.assert_array_equal(fresh.scan_data(cohort.scans[0])["targets"].values,
                                  cohort.scan_data(cohort.scans[0])["targets"].values)


def test_region_labels_from_maps():
    """Probabilistic maps: each voxel goes to its largest map."""
    import nibabel as nib

    from unebolt_viz.simulation.volumes import VolumeGrid, region_labels

    shape = (8, 8, 6)
    grid = VolumeGrid(shape, np.diag([4.0, 4.0, 4.0, 1.0]), np.ones(shape, bool))
    maps = np.zeros((*shape, 2), np.float32)
    maps[:4, ..., 0] = 1.0
    maps[4:, :, :3, 1] = 1.0
    labels = region_labels(np.zeros((2, 3)), grid, nib.Nifti1Image(maps, grid.affine))
    assert np.all(labels[:4] == 0)
    assert np.all(labels[4:, :, :3] == 1) and np.all(labels[4:, :, 3:] == -1)
