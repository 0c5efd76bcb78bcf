"""Surface maps: decimation, per-ROI painting, view orientation and page weight."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import xarray as xr  # noqa: E402
from scipy.spatial import ConvexHull  # noqa: E402

import unebolt_viz as uv  # noqa: E402
from unebolt_viz.viz import decimate_mesh, plot_surface_r  # noqa: E402
from unebolt_viz.viz.surface import VIEWS  # noqa: E402


@pytest.fixture(scope="module")
def atlas():
    return uv.load_atlas("embedded", 64)


def _values(atlas, values, source="simulated"):
    return xr.DataArray(np.asarray(values, float), dims="roi", coords={"roi": list(atlas.roi)},
                        attrs={"data_source": source})


def _sphere(n=3000, seed=0):
    rng = np.random.default_rng(seed)
    points = rng.standard_normal((n, 3))
    points /= np.linalg.norm(points, axis=1, keepdims=True)
    return points * 50.0, ConvexHull(points).simplices


def test_decimation_hits_the_budget_and_keeps_a_valid_mesh():
    coords, faces = _sphere()
    small = decimate_mesh(coords, faces, 400)
    n = len(small.coordinates)
    assert 0.9 * 400 <= n <= 1.1 * 400
    assert small.faces.min() >= 0 and small.faces.max() < n
    f = small.faces
    assert np.all((f[:, 0] != f[:, 1]) & (f[:, 1] != f[:, 2]) & (f[:, 0] != f[:, 2]))
    assert len(np.unique(np.sort(f, axis=1), axis=0)) == len(f)
    # Every merged vertex shows an original vertex close to it, and every vertex is used.
    gap = np.linalg.norm(small.coordinates - coords[small.source_vertex], axis=1)
    assert gap.max() < 0.25 * 50.0
    assert np.unique(f).size > 0.95 * n
    # A decimated sphere is still a sphere: radii stay close to 50 mm.
    radii = np.linalg.norm(small.coordinates, axis=1)
    assert np.median(radii) == pytest.approx(50.0, rel=0.05)


def test_decimation_returns_small_meshes_unchanged():
    coords, faces = _sphere(200)
    same = decimate_mesh(coords, faces, 500)
    np.testing.assert_array_equal(same.faces, faces)
    np.testing.assert_array_equal(same.source_vertex, np.arange(200))


def test_static_views_put_anterior_where_expected(atlas):
    # Value = sign of the ROI centroid's y: anterior ROIs +1, posterior -1.
    values = np.sign(atlas.centroid[:, 1])
    fig = plot_surface_r(_values(atlas, values), atlas, n_vertices=3000, vmax=1.0)
    cmap = plt.get_cmap("RdBu_r")
    red, blue = np.array(cmap(1.0)[:3]), np.array(cmap(0.0)[:3])
    for ax, (hemi, view) in zip(fig.axes, VIEWS):
        (collection,) = ax.collections
        colors = collection.get_facecolors()[:, :3]
        centres = np.array([p.vertices.mean(axis=0) for p in collection.get_paths()])
        # Shading scales colours, so classify by hue: red-ish = anterior, blue-ish = posterior.
        unit = colors / (np.linalg.norm(colors, axis=1, keepdims=True) + 1e-9)
        is_red = unit @ (red / np.linalg.norm(red)) > 0.99
        is_blue = unit @ (blue / np.linalg.norm(blue)) > 0.99
        anterior_u, posterior_u = centres[is_red, 0].mean(), centres[is_blue, 0].mean()
        viewer_at_minus_x = (hemi == "left") == (view == "lateral")
        if viewer_at_minus_x:
            assert anterior_u < posterior_u, (hemi, view)
        else:
            assert anterior_u > posterior_u, (hemi, view)
    assert "simulated data" in " ".join(t.get_text() for t in fig.texts)
    plt.close(fig)


def test_surface_inputs_are_checked(atlas):
    r = xr.DataArray(np.zeros((2, atlas.n_rois)), dims=("scan", "roi"),
                     coords={"roi": list(atlas.roi)}, attrs={"data_source": "simulated"})
    with pytest.raises(ValueError, match="mean"):
        plot_surface_r(r, atlas)
    wrong = xr.DataArray(np.zeros(3), dims="roi", coords={"roi": ["a", "b", "c"]},
                         attrs={"data_source": "simulated"})
    with pytest.raises(ValueError, match="do not match"):
        plot_surface_r(wrong, atlas)
    no_source = _values(atlas, np.zeros(atlas.n_rois))
    no_source.attrs = {}
    with pytest.raises(ValueError, match="data_source"):
        plot_surface_r(no_source, atlas)
