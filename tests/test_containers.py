"""The xarray data model: constructors, validation messages, netCDF round trips, accessor."""

import numpy as np
import pytest
import xarray as xr

import unebolt_viz as uv
from unebolt_viz.data import InvalidDataError, validate


@pytest.fixture
def tiny_windows(rng):
    return uv.eeg_windows(rng.standard_normal((4, 3, 32)), ["Fp1", "Cz", "Oz"], 200.0,
                          scan="sub01-scan01", subject="sub01", tr_index=[5, 6, 7, 8],
                          onset=[10.5, 12.6, 14.7, 16.8], ch_pos=rng.standard_normal((3, 3)),
                          data_source="simulated")


def test_eeg_windows_coordinates(tiny_windows):
    w = tiny_windows
    assert w.dims == ("window", "channel", "time")
    assert w.time.values[0] == -16.0 and np.isclose(w.time.values[1] + 16.0, 1 / 200)
    assert list(w.tr_index.values) == [5, 6, 7, 8]
    assert set(w.scan.values) == {"sub01-scan01"}
    assert w.attrs["sfreq"] == 200.0 and w.attrs["units"] == "uV"


def test_eeg_windows_keep_the_buffer(rng):
    buf = rng.standard_normal((4, 3, 32))
    w = uv.eeg_windows(buf, ["a", "b", "c"], 200.0, scan="s", subject="u")
    assert np.shares_memory(w.values, buf)


def test_roi_timeseries_coordinates(tiny_bold, tiny_rois):
    b = tiny_bold
    assert b.dims == ("time", "roi")
    assert list(b.network.values) == tiny_rois["network"]
    assert np.allclose(b.time.values, np.arange(50) * 2.1)
    assert b.attrs["data_source"] == "simulated"


def test_roi_timeseries_from_atlas(rng):
    atlas = uv.Atlas("toy", ("r1", "r2"), np.array(["VisCent", "DefaultB"]), np.array(["L", "R"]),
                     np.zeros((2, 3)))
    b = uv.roi_timeseries(rng.standard_normal((5, 2)), atlas, 2.0, scan="s", subject="u")
    assert list(b.network.values) == ["Visual", "Default"]


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda b: b.transpose("roi", "time"), r"dims \('time', 'roi'\)"),
        (lambda b: b.drop_vars("network"), r"missing the coordinates \['network'\]"),
        (lambda b: b.where(b.time > 0), "NaN or infinite"),
        (lambda b: b.assign_coords(roi=["A", "A", "C", "D", "E", "F"]), r"duplicate ROI names: \['A'\]"),
        (lambda b: b.assign_coords(network=("roi", ["x"] * 6)), "unknown network labels"),
        (lambda b: b.assign_attrs(data_source="made up"), "data_source"),
    ],
)
def test_invalid_roi_timeseries_messages(tiny_bold, mutate, message):
    with pytest.raises(InvalidDataError, match=message):
        validate(mutate(tiny_bold))


def test_constructor_errors(rng, tiny_rois):
    with pytest.raises(InvalidDataError, match="3-D"):
        uv.eeg_windows(rng.standard_normal((3, 4)), ["a"], 200.0, scan="s", subject="u")
    with pytest.raises(InvalidDataError, match="duplicate channel names"):
        uv.eeg_windows(rng.standard_normal((1, 2, 4)), ["a", "a"], 200.0, scan="s", subject="u")
    with pytest.raises(InvalidDataError, match="roi has 6 values but the data has 5"):
        uv.roi_timeseries(rng.standard_normal((10, 5)), tiny_rois, 2.0, scan="s", subject="u")
    with pytest.raises(InvalidDataError, match="say where the data comes from"):
        uv.roi_timeseries(rng.standard_normal((10, 6)), tiny_rois, 2.0, scan="s", subject="u",
                          data_source="fake")
    with pytest.raises(InvalidDataError, match="square"):
        uv.fc_matrix(np.ones((3, 4)), tiny_rois)


def test_predictions_shape_mismatch(tiny_bold):
    with pytest.raises(InvalidDataError, match="pred has shape"):
        uv.predictions(tiny_bold, np.zeros((10, 6)))


def test_every_container_round_trips_netcdf(tmp_path, tiny_windows, tiny_bold):
    fc = tiny_bold.unebolt.fc()
    pred = uv.predictions(tiny_bold, tiny_bold.values * 0.5 + 0.1, model="toy")
    for obj in (tiny_windows, tiny_bold, fc, pred):
        path = tmp_path / f"{obj.attrs['kind']}.nc"
        uv.save(obj, path)
        back = uv.load(path)
        assert type(back) is type(obj)
        xr.testing.assert_identical(back, obj)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "eeg_windows.nc", "fc.nc", "predictions.nc", "roi_timeseries.nc"]


def test_failed_save_leaves_nothing(tmp_path, tiny_bold):
    bad = tiny_bold.assign_attrs(unstorable={"a": 1})  # netCDF cannot store a dict attribute
    with pytest.raises(TypeError):
        uv.save(bad, tmp_path / "out.nc")
    assert list(tmp_path.iterdir()) == []


def test_fc_accessor_matches_numpy(tiny_bold):
    fc = tiny_bold.unebolt.fc()
    assert fc.dims == ("roi", "roi2")
    np.testing.assert_allclose(fc.values, np.corrcoef(tiny_bold.values.T), atol=1e-12)
    assert list(fc.network2.values) == list(fc.network.values)
    assert fc.attrs["data_source"] == "simulated"


def test_fc_of_constant_roi_is_zero(tiny_bold):
    flat = tiny_bold.copy(data=np.column_stack([np.ones(50), tiny_bold.values[:, 1:]]))
    fc = flat.unebolt.fc().values
    assert fc[0, 0] == 1.0 and np.all(fc[0, 1:] == 0) and np.all(np.isfinite(fc))


def test_network_means(tiny_bold):
    means = tiny_bold.unebolt.network_means()
    assert means.dims == ("time", "network")
    assert list(means.network.values) == ["Visual", "Somatomotor", "Default", "Subcortical"]
    np.testing.assert_allclose(means.sel(network="Default").values,
                               tiny_bold.values[:, [0, 2]].mean(axis=1))


def test_reorder_by_network_returns_order_as_data(tiny_bold):
    fc = tiny_bold.unebolt.fc()
    order = fc.unebolt.network_order()
    assert list(order.values) == [1, 4, 3, 0, 2, 5]
    assert list(order.network.values) == ["Visual", "Visual", "Somatomotor", "Default",
                                          "Default", "Subcortical"]
    reordered = fc.unebolt.reorder_by_network()
    assert list(reordered.roi_index.values) == list(order.values)
    assert list(reordered.roi_index2.values) == list(order.values)
    np.testing.assert_array_equal(reordered.values, fc.values[np.ix_(order.values, order.values)])
    blocks = reordered.unebolt.network_blocks()
    assert blocks[["network", "start", "stop"]].values.tolist() == [
        ["Visual", 0, 2], ["Somatomotor", 2, 3], ["Default", 3, 5], ["Subcortical", 5, 6]]


def test_predictions_accessor_needs_var(tiny_bold):
    pred = uv.predictions(tiny_bold, tiny_bold.values[::-1].copy())
    with pytest.raises(InvalidDataError, match="var='true' or 'pred'"):
        pred.unebolt.fc()
    np.testing.assert_allclose(pred.unebolt.fc("pred").values,
                               np.corrcoef(tiny_bold.values[::-1].T), atol=1e-12)


def test_pearson_fc_treats_rounding_residue_as_constant():
    from unebolt_viz.data.accessor import pearson_fc

    rng = np.random.default_rng(0)
    series = rng.standard_normal((200, 3))
    # A column that is constant up to rounding: its mean subtracted leaves ~1e-17 residues,
    # which a plain Pearson r would blow up into spurious correlations of any size.
    residue = np.full(200, 0.1) + np.tile([0.0, 1e-17], 100)
    values = np.column_stack([series, residue])
    fc = pearson_fc(values)
    np.testing.assert_array_equal(fc[3, :3], 0.0)
    np.testing.assert_array_equal(fc[:3, 3], 0.0)
    np.testing.assert_allclose(fc[:3, :3], np.corrcoef(series.T), atol=1e-12)
