"""ROI identity: containers and models record their atlas, and nothing compares ROIs by position.

Each test here was written against a silent wrong answer: a model trained on one atlas predicting
scans of another with the same ROI count, FC matrices with ROIs in another order scored as
different, and two scans with the same name merged into one.
"""

from __future__ import annotations

import hashlib
import json
import warnings

import numpy as np
import pytest

import unebolt_viz.data as uvdata
from unebolt_viz.atlases import load_atlas
from unebolt_viz.conventions import PAPER_CHANNELS
from unebolt_viz.data import InvalidDataError, eeg_windows, fc_matrix, predictions, roi_timeseries
from unebolt_viz.io.pairing import ScanPair

N_TIMES = 400
N_ROIS = 64


@pytest.fixture(scope="module")
def atlas():
    return load_atlas("embedded", n_rois=N_ROIS)


@pytest.fixture(scope="module")
def difumo_rois(atlas):
    """DiFuMo-like ROIs: as many as the embedded atlas, other names (and the same networks)."""
    return {"roi": [f"DiFuMo64 component {i + 1:02d}" for i in range(N_ROIS)],
            "network": list(atlas.network)}


def make_pair(scan: str, rois, seed: int = 0, n_windows: int = 30, attrs=None) -> ScanPair:
    rng = np.random.default_rng(seed)
    subject = scan.split("-")[0]
    windows = rng.normal(0.0, 20.0, size=(n_windows, len(PAPER_CHANNELS), N_TIMES))
    bold = rng.normal(size=(n_windows, N_ROIS))
    kw = dict(scan=scan, subject=subject, data_source="simulated")
    return ScanPair(eeg_windows(windows, list(PAPER_CHANNELS), 200.0, **kw),
                    roi_timeseries(bold, rois, 2.1, attrs=attrs, **kw))


@pytest.fixture(scope="module")
def ridge(atlas):
    """A ridge baseline fitted on two embedded-64 scans (as run_experiment fits it)."""
    from unebolt_viz.training.experiments import fit_ridge

    train = [make_pair("sub01-scan01", atlas, 1), make_pair("sub02-scan01", atlas, 2)]
    model, _ = fit_ridge({"label": "ridge", "alpha": 10.0}, PAPER_CHANNELS, N_TIMES, train, [])
    return model


def _bold(atlas, seed=0, n_times=80):
    rng = np.random.default_rng(seed)
    values = rng.normal(size=(n_times, N_ROIS)) @ rng.normal(size=(N_ROIS, N_ROIS))
    return roi_timeseries(values, atlas, 2.0, scan="sub01-scan01", subject="sub01",
                          data_source="simulated")


# ---------------------------------------------------------------------------------------------
# identity records


def test_fingerprint_and_record_follow_their_definition(atlas):
    names = list(atlas.roi)
    expected = hashlib.sha256("\n".join(names).encode()).hexdigest()[:16]
    assert uvdata.roi_fingerprint(names) == expected
    assert uvdata.roi_fingerprint(names[::-1]) != expected
    assert uvdata.atlas_record(atlas, names) == {"atlas": "embedded", "n_rois": N_ROIS,
                                                 "roi_fingerprint": expected}
    assert uvdata.atlas_record(None, names)["atlas"] == "unknown"
    assert issubclass(uvdata.AtlasMismatchError, InvalidDataError)


def test_containers_record_atlas_and_fingerprint(atlas, difumo_rois):
    bold = _bold(atlas)
    fp = uvdata.roi_fingerprint(atlas.roi)
    assert (bold.attrs["atlas"], bold.attrs["roi_fingerprint"]) == ("embedded", fp)
    fc = bold.unebolt.fc()
    assert (fc.attrs["atlas"], fc.attrs["roi_fingerprint"]) == ("embedded", fp)
    pred = predictions(bold, bold.values)
    assert (pred.attrs["atlas"], pred.attrs["roi_fingerprint"]) == ("embedded", fp)
    # a mapping says nothing about the atlas, unless attrs name it
    anon = roi_timeseries(np.zeros((3, N_ROIS)), difumo_rois, 2.0, scan="s", subject="x")
    assert anon.attrs["atlas"] == "unknown"
    named = roi_timeseries(np.zeros((3, N_ROIS)), difumo_rois, 2.0, scan="s", subject="x",
                           attrs={"atlas": "difumo64", "roi_fingerprint": "stale"})
    assert named.attrs["atlas"] == "difumo64"
    assert named.attrs["roi_fingerprint"] == uvdata.roi_fingerprint(difumo_rois["roi"])


def test_stale_fingerprint_is_refused_and_reordering_updates_it(atlas):
    fc = _bold(atlas).unebolt.fc()
    reordered = fc.unebolt.reorder_by_network()
    uvdata.validate(reordered)  # the accessor recomputes the fingerprint of the new order
    assert reordered.attrs["roi_fingerprint"] == uvdata.roi_fingerprint(reordered.roi.values)
    stale = fc.isel(roi=slice(None, None, -1), roi2=slice(None, None, -1))
    with pytest.raises(InvalidDataError, match="does not match its 64 ROI names"):
        uvdata.validate(stale)


def test_atlas_and_fingerprint_survive_netcdf(atlas, tmp_path):
    bold = _bold(atlas)
    objects = {"bold": bold, "fc": bold.unebolt.fc(), "pred": predictions(bold, bold.values * 0.5)}
    for name, obj in objects.items():
        uvdata.save(obj, tmp_path / f"{name}.nc")
        back = uvdata.load(tmp_path / f"{name}.nc")
        assert back.attrs["atlas"] == "embedded", name
        assert back.attrs["roi_fingerprint"] == uvdata.roi_fingerprint(atlas.roi), name


# ---------------------------------------------------------------------------------------------
# models and predict


def test_fitted_model_records_its_training_rois(ridge, atlas, tmp_path):
    from unebolt_viz.models import load_model, save_model

    assert ridge.roi_names == tuple(atlas.roi)
    assert (ridge.atlas, ridge.training_data_source) == ("embedded", "simulated")
    save_model(ridge, tmp_path / "ridge")
    loaded = load_model(tmp_path / "ridge")
    assert loaded.roi_names == tuple(atlas.roi)
    assert (loaded.atlas, loaded.training_data_source) == ("embedded", "simulated")


def test_predict_refuses_another_atlas_with_the_same_roi_count(ridge, atlas, difumo_rois):
    from unebolt_viz.training import predict

    scans = [make_pair("sub03-scan01", difumo_rois, 3, attrs={"atlas": "difumo64"})]
    with pytest.raises(uvdata.AtlasMismatchError) as err:
        predict(ridge, scans)
    message = str(err.value)
    for part in ("'embedded'", "'difumo64'", "64 ROIs", uvdata.roi_fingerprint(atlas.roi),
                 uvdata.roi_fingerprint(difumo_rois["roi"]), repr(atlas.roi[0]),
                 repr(difumo_rois["roi"][0]), "allow_atlas_mismatch=True"):
        assert part in message, part


def test_override_predicts_and_records_both_atlases(ridge, difumo_rois):
    from unebolt_viz.training import predict

    scans = [make_pair("sub03-scan01", difumo_rois, 3, attrs={"atlas": "difumo64"})]
    with pytest.warns(UserWarning, match="allow_atlas_mismatch=True"):
        pred = predict(ridge, scans, allow_atlas_mismatch=True)
    assert pred.attrs["atlas"] == "difumo64"
    assert pred.attrs["model_atlas"] == "embedded"
    assert pred.attrs["atlas_mismatch_allowed"] == "true"
    assert pred.attrs["model_data_source"] == "simulated"
    assert pred["pred"].shape == (30, N_ROIS)


def test_matching_scans_predict_and_record_the_model_source(ridge, atlas):
    from unebolt_viz.training import predict

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        pred = predict(ridge, [make_pair("sub03-scan01", atlas, 3)])
    assert pred.attrs["atlas"] == "embedded"
    assert pred.attrs["roi_fingerprint"] == uvdata.roi_fingerprint(atlas.roi)
    assert pred.attrs["model_data_source"] == "simulated"
    assert "atlas_mismatch_allowed" not in pred.attrs


def test_model_saved_without_rois_loads_and_predict_falls_back_with_a_warning(
        ridge, atlas, tmp_path):
    from unebolt_viz.models import load_model, save_model
    from unebolt_viz.training import predict

    _, config_path = save_model(ridge, tmp_path / "old")
    payload = json.loads(config_path.read_text())
    for key in ("roi_names", "atlas", "training_data_source"):
        del payload["config"][key]
    config_path.write_text(json.dumps(payload))
    old = load_model(tmp_path / "old")
    assert (old.roi_names, old.atlas, old.training_data_source) == (None, None, None)
    with pytest.warns(UserWarning, match="does not record which ROIs it predicts"):
        pred = predict(old, [make_pair("sub03-scan01", atlas, 3)])
    assert pred.attrs["model_data_source"] == "unknown"


def test_trainer_records_rois_of_a_torch_model(atlas, difumo_rois, tmp_path):
    import torch

    from unebolt_viz.models import build_model, load_model, save_model
    from unebolt_viz.training import predict, train_model

    torch.set_num_threads(1)
    model = build_model("unebolt", n_outputs=N_ROIS, preset="tiny", seed=0, n_times=N_TIMES,
                        sp_levels=1)
    n_params = model.count_parameters()
    train_model(model, [make_pair("sub01-scan01", atlas, 1, n_windows=16)], epochs=1,
                batch_size=8, warmup_epochs=0, device="cpu", tensorboard=False)
    assert model.roi_names == tuple(atlas.roi) and model.atlas == "embedded"
    assert model.training_data_source == "simulated" and model.count_parameters() == n_params
    save_model(model, tmp_path / "unebolt")
    loaded = load_model(tmp_path / "unebolt")
    assert loaded.get_config()["roi_names"] == list(atlas.roi)
    with pytest.raises(uvdata.AtlasMismatchError, match="allow_atlas_mismatch=True"):
        predict(loaded, [make_pair("sub03-scan01", difumo_rois, 3, n_windows=8)])


# ---------------------------------------------------------------------------------------------
# metrics


def test_reordered_fc_scores_pixcorr_one_and_f1_one(atlas):
    from unebolt_viz import metrics

    fc = _bold(atlas).unebolt.fc()
    perm = np.random.default_rng(1).permutation(N_ROIS)
    shuffled = fc_matrix(fc.values[np.ix_(perm, perm)], {
        "roi": fc.roi.values[perm], "network": fc.network.values[perm]}, data_source="simulated")
    assert metrics.pixcorr(fc, shuffled) == pytest.approx(1.0, abs=1e-12)
    assert metrics.conn_mse(fc, shuffled) == pytest.approx(0.0, abs=1e-20)
    assert metrics.f1_at_density(fc, shuffled, 0.25) == pytest.approx(1.0)
    assert np.allclose(metrics.f1_density_curve(fc, shuffled).values, 1.0)
    both = metrics.fc_metrics(fc, shuffled)
    assert float(both["pixcorr"]) == pytest.approx(1.0) and np.allclose(both["f1"].values, 1.0)
    # plain arrays are compared by position, as before
    assert metrics.pixcorr(fc.values, shuffled.values) < 0.5
    assert metrics.pixcorr(fc.values, fc.values) == metrics.pixcorr(fc, fc)


def test_fc_of_different_roi_sets_is_refused(atlas):
    from unebolt_viz import metrics

    fc = _bold(atlas).unebolt.fc()
    names = list(map(str, fc.roi.values))
    renamed = fc_matrix(fc.values, {"roi": names[:-1] + ["an ROI of another atlas"],
                                    "network": fc.network.values}, data_source="simulated")
    for metric in (metrics.pixcorr, metrics.conn_mse, metrics.fc_metrics):
        with pytest.raises(InvalidDataError, match="different ROIs") as err:
            metric(fc, renamed)
        assert names[-1] in str(err.value) and "an ROI of another atlas" in str(err.value)


def test_paired_ttest_matches_rois_by_name(atlas):
    from unebolt_viz import metrics

    rng = np.random.default_rng(0)
    pairs = [make_pair(f"sub0{i}-scan01", atlas, i) for i in range(1, 4)]
    true = [p.bold for p in pairs]
    a = metrics.temporal_r(_concat_predictions(true, [t.values + rng.normal(size=t.shape)
                                                      for t in true]))
    b = metrics.temporal_r(_concat_predictions(true, [t.values + 2 * rng.normal(size=t.shape)
                                                      for t in true]))
    expected = metrics.paired_ttest(a, b, variable="tcorr")["t"].values
    shuffled = b.isel(roi=np.random.default_rng(2).permutation(N_ROIS))
    got = metrics.paired_ttest(a, shuffled, variable="tcorr")["t"].values
    np.testing.assert_allclose(got, expected)


def _concat_predictions(trues, preds):
    import xarray as xr

    true = xr.concat(trues, dim="time", combine_attrs="override")
    return predictions(true, np.concatenate(preds))


def test_evaluate_refuses_two_scans_with_the_same_name(atlas):
    from unebolt_viz.metrics import evaluate

    rng = np.random.default_rng(0)
    values = rng.normal(size=(60, N_ROIS))

    def preds(scans, subjects):
        bold = roi_timeseries(values, atlas, 2.0, scan=scans, subject=subjects,
                              data_source="simulated")
        return predictions(bold, values + rng.normal(size=values.shape))

    same_name = preds(["scan01"] * 60, ["sub01"] * 30 + ["sub02"] * 30)
    with pytest.raises(InvalidDataError, match="Duplicate scan names") as err:
        evaluate(same_name)
    assert "'scan01'" in str(err.value) and "sub02" in str(err.value)
    split = preds(["a"] * 20 + ["b"] * 20 + ["a"] * 20, ["sub01"] * 60)
    with pytest.raises(InvalidDataError, match=r"\['a'\] each occur in several separate blocks"):
        evaluate(split)
    fine = evaluate(preds(["a"] * 30 + ["b"] * 30, ["sub01"] * 60))
    assert list(fine.scan.values) == ["a", "b"]


def test_bold_read_with_an_atlas_records_its_name(tmp_path):
    import pandas as pd

    from unebolt_viz.io import read_roi_table

    atlas = load_atlas("embedded", 64)
    values = np.random.default_rng(0).standard_normal((30, atlas.n_rois))
    path = tmp_path / "sub-01_task-rest_bold.tsv"
    pd.DataFrame(values, columns=list(atlas.roi)).to_csv(path, sep="\t", index=False)
    bold = read_roi_table(path, rois=atlas, tr=2.1)
    assert bold.attrs["atlas"] == "embedded"
    assert bold.attrs["roi_fingerprint"] == uvdata.roi_fingerprint(list(atlas.roi))
