"""fMRI ingestion with nilearn maskers and ROI tables, and the paper's target processing."""

from __future__ import annotations

import json

import nibabel as nib
import numpy as np
import pandas as pd
import pytest
from scipy.signal import butter, detrend, filtfilt

from unebolt_viz.datasets.neurobolt import difumo_roi_table
from unebolt_viz.io.fmri import (
    MOTION_COLUMNS,
    BOLDFileError,
    extract_roi_timeseries,
    image_tr,
    read_confounds,
    read_roi_table,
)
from unebolt_viz.preprocessing import bold_targets

TR = 2.1
SHAPE = (7, 6, 5)
N_VOLUMES = 60


def _paper_targets_scipy(x: np.ndarray, tr: float) -> np.ndarray:
    """The paper's target processing written independently with butter + filtfilt (b, a)."""
    b, a = butter(5, 0.15, btype="low", fs=1.0 / tr)
    y = filtfilt(b, a, x, axis=0)
    y = y - y.mean(axis=0)
    return y / (np.percentile(np.abs(y), 95, axis=0) + 1e-8)


def _clean_independently(signals: np.ndarray, confounds: np.ndarray | None) -> np.ndarray:
    """Linear detrend, regress out (detrended) confounds, z-score with ddof=1."""
    x = detrend(signals, axis=0, type="linear")
    if confounds is not None:
        c = detrend(confounds, axis=0, type="linear")
        x = x - c @ np.linalg.lstsq(c, x, rcond=None)[0]
    return (x - x.mean(axis=0)) / x.std(axis=0, ddof=1)


def _image(data: np.ndarray, tr: float = TR, units: str = "sec"):
    img = nib.Nifti1Image(data.astype(np.float32), np.diag([3.0, 3.0, 3.0, 1.0]))
    img.header.set_zooms((3.0, 3.0, 3.0, tr))
    img.header.set_xyzt_units("mm", units)
    return img


def _rois(n: int) -> dict:
    return {"roi": [f"R{i}" for i in range(n)], "network": ["Visual", "Default", "Control"][:n]}


# ----------------------------------------------------------------------------------------------
# acceptance: the real ROI tables


@pytest.mark.shared_data
def test_real_roi_tables_targets_equal_scipy(shared_data):
    roi_table = difumo_roi_table(
        shared_data / "difumo_labels" / "labels_64_dictionary_osf_names_with_centroids.csv")
    folder = shared_data / "neurobolt_rest_difumo64"
    for name in ("sub01-scan01", "sub13-scan02"):
        path = folder / f"{name}.tsv.gz"
        bold = read_roi_table(path, rois=roi_table, tr=TR)
        raw = pd.read_csv(path, sep="\t")
        assert bold.shape == (575, 64) and bold.scan.values[0] == name
        assert bold.subject.values[0] == name.split("-")[0]
        np.testing.assert_array_equal(bold.values, raw[list(roi_table["roi"])].to_numpy())
        assert list(bold.network.values) == list(roi_table["network"])

        targets = bold_targets(bold)
        expected = _paper_targets_scipy(raw.iloc[:, :64].to_numpy(float), TR)
        np.testing.assert_allclose(targets.values, expected, rtol=0, atol=1e-10)
        # Scaled so that 95 % of |x| lie within 1 (not a z-score).
        np.testing.assert_allclose(np.percentile(np.abs(targets.values), 95, axis=0), 1, atol=1e-6)

    # Without an atlas every numeric column but the two global signals is an ROI.
    generic = read_roi_table(folder / "sub01-scan01.tsv.gz", tr=TR)
    assert generic.sizes["roi"] == 64 and "global signal raw" not in generic.roi.values


def test_roi_table_tr_from_sidecar_and_errors(tmp_path, rng):
    values = rng.standard_normal((40, 3))
    path = tmp_path / "sub-07_task-rest_run-2_bold.tsv"
    pd.DataFrame(values, columns=["R0", "R1", "R2"]).assign(time=np.arange(40)).to_csv(
        path, sep="\t", index=False)
    with pytest.raises(BOLDFileError, match=r"sub-07_task-rest_run-2_bold\.tsv.*tr=<seconds>"):
        read_roi_table(path)
    path.with_suffix(".json").write_text(json.dumps({"RepetitionTime": 1.5}))
    bold = read_roi_table(path, rois=_rois(3))
    assert bold.attrs["tr"] == 1.5 and bold.sizes["roi"] == 3
    assert bold.scan.values[0] == "sub-07_task-rest_run-2" and bold.subject.values[0] == "sub-07"
    np.testing.assert_array_equal(bold.values, values)
    with pytest.raises(BOLDFileError, match=r"1 of the atlas's 4 ROIs have no column.*rois="):
        read_roi_table(path, rois={"roi": ["R0", "R1", "R2", "R9"], "network": ["Visual"] * 4})
    csv = tmp_path / "scan.csv"
    pd.DataFrame({"A": [1.0, np.nan, 3.0]}).to_csv(csv, index=False)
    with pytest.raises(BOLDFileError, match=r"scan\.csv: NaN"):
        read_roi_table(csv, tr=2.0)


# ----------------------------------------------------------------------------------------------
# maskers


def test_maps_masker_matches_least_squares_with_motion_regressed(rng, tmp_path):
    grid = np.stack(np.meshgrid(*[np.arange(s) for s in SHAPE], indexing="ij"), -1)
    centres = [(1, 1, 1), (5, 4, 3), (3, 2, 4)]
    maps = np.stack([np.exp(-((grid - c) ** 2).sum(-1) / 3.0) for c in centres], -1)
    sources = rng.standard_normal((N_VOLUMES, 3))
    motion = rng.standard_normal((N_VOLUMES, 6)) * 0.5
    mixing = rng.standard_normal((6, *SHAPE)) * 0.2
    drift = np.linspace(0, 3, N_VOLUMES)
    data = (np.einsum("xyzk,tk->xyzt", maps, sources) + np.einsum("mxyz,tm->xyzt", mixing, motion)
            + drift + 100.0)
    data += rng.standard_normal(data.shape) * 0.05
    bold_path = tmp_path / "sub-01_task-rest_bold.nii.gz"
    nib.save(_image(data), bold_path)
    atlas = nib.Nifti1Image(maps.astype(np.float32), np.diag([3.0, 3.0, 3.0, 1.0]))
    confounds = pd.DataFrame(motion, columns=list(MOTION_COLUMNS)).assign(csf=1.0)

    bold = extract_roi_timeseries(bold_path, atlas, rois=_rois(3), confounds=confounds)
    assert bold.attrs["masker"] == "NiftiMapsMasker" and bold.attrs["tr"] == TR
    assert bold.scan.values[0] == "sub-01_task-rest" and bold.subject.values[0] == "sub-01"

    voxels = data.reshape(-1, N_VOLUMES).astype(np.float32).astype(float)
    ls = np.linalg.lstsq(maps.reshape(-1, 3), voxels, rcond=None)[0].T
    expected = _clean_independently(ls, motion)
    np.testing.assert_allclose(bold.values, expected, atol=2e-4)
    # The motion is gone: the cleaned signals follow the sources (regressing six random
    # confounds out of 60 volumes also takes ~10 % of the sources' variance by chance).
    for k in range(3):
        assert np.corrcoef(bold.values[:, k], sources[:, k])[0, 1] > 0.9
        assert abs(np.corrcoef(bold.values[:, k], motion.T)[0, 1:]).max() < 1e-6


def test_labels_masker_matches_label_means(rng):
    labels = np.zeros(SHAPE, dtype=np.int16)
    labels[:3] = 1
    labels[3:, :3] = 7
    labels[3:, 3:, :2] = 3  # label values need not be contiguous; order is by value
    data = rng.standard_normal((*SHAPE, N_VOLUMES)) + np.linspace(0, 1, N_VOLUMES)
    atlas = nib.Nifti1Image(labels, np.diag([3.0, 3.0, 3.0, 1.0]))
    bold = extract_roi_timeseries(_image(data), atlas, rois=_rois(3), scan="s", subject="t")
    assert bold.attrs["masker"] == "NiftiLabelsMasker"
    means = np.stack([data.astype(np.float32)[labels == v].mean(0) for v in (1, 3, 7)], -1)
    np.testing.assert_allclose(bold.values, _clean_independently(means, None), atol=1e-4)

    with pytest.raises(BOLDFileError, match="gave 3 ROI signals but rois= describes 2"):
        extract_roi_timeseries(_image(data), atlas, rois=_rois(2), scan="s", subject="t")


def test_surface_labels_masker_matches_label_means(rng):
    from nilearn.surface import InMemoryMesh, PolyMesh, SurfaceImage

    coords = rng.standard_normal((6, 3))
    faces = np.array([[0, 1, 2], [2, 3, 4], [3, 4, 5]])
    mesh = PolyMesh(left=InMemoryMesh(coords, faces), right=InMemoryMesh(coords + 10, faces))
    lab = {"left": np.array([1, 1, 2, 2, 0, 2]), "right": np.array([3, 3, 3, 1, 0, 0])}
    series = {h: rng.standard_normal((6, N_VOLUMES)) for h in ("left", "right")}
    atlas = SurfaceImage(mesh=mesh, data=lab)
    img = SurfaceImage(mesh=mesh, data=series)
    bold = extract_roi_timeseries(img, atlas, rois=_rois(3), tr=TR, scan="s", subject="t")
    assert bold.attrs["masker"] == "SurfaceLabelsMasker"
    allv = np.concatenate([series["left"], series["right"]])
    alll = np.concatenate([lab["left"], lab["right"]])
    means = np.stack([allv[alll == v].mean(0) for v in (1, 2, 3)], -1)
    np.testing.assert_allclose(bold.values, _clean_independently(means, None), atol=1e-8)


def test_header_tr_in_milliseconds_and_mismatch_warning(rng):
    img = _image(rng.standard_normal((*SHAPE, 30)), tr=2100.0, units="msec")
    assert image_tr(img) == pytest.approx(2.1)
    atlas = nib.Nifti1Image(np.ones(SHAPE, dtype=np.int16), np.diag([3.0, 3.0, 3.0, 1.0]))
    with pytest.warns(UserWarning, match="header TR 2.1 s differs from tr=2 s"):
        bold = extract_roi_timeseries(img, atlas, tr=2.0, scan="s", subject="t")
    assert bold.attrs["tr"] == 2.0


def test_confounds_errors_name_the_fix(tmp_path, rng):
    table = pd.DataFrame(rng.standard_normal((20, 3)), columns=["trans_x", "trans_y", "x"])
    path = tmp_path / "sub-01_desc-confounds_timeseries.tsv"
    table.to_csv(path, sep="\t", index=False)
    with pytest.raises(BOLDFileError, match=r"confounds_timeseries\.tsv.*'trans_z'.*confound_columns"):
        read_confounds(path)
    np.testing.assert_array_equal(read_confounds(path, ["trans_x", "x"]),
                                  table[["trans_x", "x"]].to_numpy())
    with pytest.raises(BOLDFileError, match="NaN in the confounds"):
        read_confounds(np.array([[np.nan], [1.0]]))
    atlas = nib.Nifti1Image(np.ones(SHAPE, dtype=np.int16), np.diag([3.0, 3.0, 3.0, 1.0]))
    with pytest.raises(BOLDFileError, match="30 volumes but the confounds have 20 rows"):
        extract_roi_timeseries(_image(rng.standard_normal((*SHAPE, 30))), atlas,
                               confounds=table[["trans_x"]].to_numpy(), scan="s", subject="t")
