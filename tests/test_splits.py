"""Intrascan and cross-subject splits: bounds, gaps, and no subject leaking across sets."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from unebolt_viz.data import InvalidDataError, eeg_windows, roi_timeseries
from unebolt_viz.io.pairing import ScanPair
from unebolt_viz.model_selection import (
    ScanSplit,
    check_split,
    cross_subject_split,
    design_table,
    gap_windows,
    group_kfold,
    intrascan_indices,
    intrascan_split,
    leave_one_subject_out,
    subject_split,
)


def _design(n_subjects: int = 9, two_scans_every: int = 3) -> pd.DataFrame:
    rows = []
    for s in range(n_subjects):
        n_scans = 2 if s % two_scans_every == 0 else 1
        rows += [{"scan": f"sub{s:02d}-scan{k + 1:02d}", "subject": f"sub{s:02d}"} for k in range(n_scans)]
    return pd.DataFrame(rows)


@pytest.mark.parametrize(("tr", "expected"), [(2.1, 10), (2.0, 10), (1.0, 20), (0.72, 28), (3.0, 7)])
def test_gap_is_ceil_of_20_seconds_over_tr(tr, expected):
    assert gap_windows(tr) == expected


@pytest.mark.parametrize("n", [567, 575, 333, 121])
def test_intrascan_indices_follow_the_half_open_bounds(n):
    idx = intrascan_indices(n, tr=2.1)
    g = 10
    # independent: i in [a, b) with real bounds, in integer arithmetic (10 i < 8 n, ...)
    train = [i for i in range(n) if 10 * i < 8 * n]
    val = [i for i in range(n) if 10 * (i - g) >= 8 * n and 10 * i < 9 * n]
    test = [i for i in range(n) if 10 * (i - g) >= 9 * n]
    assert idx["train"].tolist() == train
    assert idx["val"].tolist() == val
    assert idx["test"].tolist() == test
    # the gaps hold exactly g windows and nothing is shared
    assert idx["val"][0] - idx["train"][-1] - 1 == g
    assert set(idx["train"]).isdisjoint(idx["val"]) and set(idx["val"]).isdisjoint(idx["test"])


def test_intrascan_indices_reject_too_short_scans_and_bad_ratios():
    with pytest.raises(InvalidDataError, match="too short"):
        intrascan_indices(40, tr=2.1)
    with pytest.raises(ValueError, match="sum to 1"):
        intrascan_indices(500, tr=2.1, ratios=(0.8, 0.1, 0.2))


def _pair(n: int = 120, scan: str = "sub01-scan01") -> ScanPair:
    rng = np.random.default_rng(0)
    windows = eeg_windows(rng.normal(size=(n, 2, 8)), ["Cz", "Pz"], 200.0, scan=scan,
                          subject="sub01", tr_index=np.arange(n) + 5, data_source="simulated")
    bold = roi_timeseries(rng.normal(size=(n, 3)),
                          {"roi": ["a", "b", "c"], "network": ["Visual", "Default", "Limbic"]},
                          2.1, scan=scan, subject="sub01", tr_index=np.arange(n) + 5,
                          data_source="simulated")
    return ScanPair(windows, bold)


def test_intrascan_split_of_a_scan_pair_keeps_volume_numbers():
    parts = intrascan_split(_pair())
    # n = 120: train [0, 96), val [106, 108), test [118, 120); tr_index starts at 5
    assert parts["train"].bold.tr_index.values.tolist() == list(range(5, 101))
    assert parts["val"].windows.tr_index.values.tolist() == [111, 112]
    assert parts["test"].bold.tr_index.values.tolist() == [123, 124]
    assert parts["test"].data_source == "simulated"


def test_scan_split_refuses_a_scan_in_two_sets():
    with pytest.raises(InvalidDataError, match="both"):
        ScanSplit(("a", "b"), ("b",), ("c",))


def test_check_split_detects_subject_leakage_and_unknown_scans():
    design = _design()
    leak = ScanSplit(("sub00-scan01",), ("sub00-scan02",), ("sub01-scan01",))
    with pytest.raises(InvalidDataError, match="sub00"):
        check_split(leak, design)
    with pytest.raises(InvalidDataError, match="not in the data"):
        check_split(ScanSplit(("nope",), (), ()), design)


@pytest.mark.shared_data
@pytest.mark.shared_data
def test_paper_split_table_gives_18_5_6_and_drops_unavailable_scans(shared_path):
    split_csv = shared_path("neurobolt_rest_difumo64", "split_cross_subject.csv")
    split = cross_subject_split(split_csv)
    assert (len(split.train), len(split.val), len(split.test)) == (18, 5, 6)
    assert "sub07-scan02" in split.test and "sub13-scan02" in split.val
    available = sorted(p.name.split(".")[0] for p in split_csv.parent.glob("sub*-scan*.tsv*"))
    local = cross_subject_split(split_csv, design=pd.DataFrame(
        {"scan": available, "subject": [s.split("-")[0] for s in available]}))
    assert set(local.train) | set(local.val) | set(local.test) == set(available)
    assert len(local.train) == 18 and len(local.val) == 5


def test_cross_subject_split_from_a_table_and_unassigned_scans():
    design = _design()
    table = design.assign(split=["train"] * 6 + ["val"] * 2 + ["test"] * 4)
    split = cross_subject_split(table)
    assert split.test == tuple(design.scan[8:])
    with pytest.raises(InvalidDataError, match="sub06"):
        cross_subject_split(design.assign(split=["train"] * 6 + ["val"] * 3 + ["test"] * 3))
    with pytest.raises(InvalidDataError, match="does not assign"):
        cross_subject_split(table.iloc[:-1], design=design)


def _subject_sets(split: ScanSplit, design: pd.DataFrame) -> dict[str, set]:
    subj = dict(zip(design.scan, design.subject))
    return {k: {subj[s] for s in split[k]} for k in ("train", "val", "test")}


def test_group_kfold_tests_every_subject_once_and_keeps_subjects_whole():
    design = _design(n_subjects=10)
    folds = group_kfold(design, n_splits=5, seed=1)
    tested = [s for f in folds for s in _subject_sets(f, design)["test"]]
    assert sorted(tested) == sorted(design.subject.unique())
    for f in folds:
        sets = _subject_sets(f, design)
        assert not (sets["train"] & sets["val"]) and not (sets["train"] & sets["test"])
        assert not (sets["val"] & sets["test"]) and sets["val"]
        assert len(f.train) + len(f.val) + len(f.test) == len(design)
    assert [f.test for f in folds] != [f.test for f in group_kfold(design, n_splits=5, seed=2)]


def test_leave_one_subject_out_has_one_split_per_subject():
    design = _design(n_subjects=6)
    splits = leave_one_subject_out(design, n_val_subjects=1)
    assert len(splits) == 6
    for split, subject in zip(splits, design.subject.unique()):
        sets = _subject_sets(split, design)
        assert sets["test"] == {subject} and len(sets["val"]) == 1
        assert subject not in sets["train"] | sets["val"]
        assert set(split.test) == set(design.scan[design.subject == subject])


def test_subject_split_three_one_one():
    design = _design(n_subjects=22)
    split = subject_split(design, seed=0)
    sets = _subject_sets(split, design)
    assert (len(sets["train"]), len(sets["val"]), len(sets["test"])) == (14, 4, 4)
    check_split(split, design)


def test_design_table_from_scan_pairs():
    table = design_table([_pair(scan="sub01-scan01"), _pair(scan="sub01-scan02")])
    assert table.scan.tolist() == ["sub01-scan01", "sub01-scan02"]
    assert table.subject.tolist() == ["sub01", "sub01"]
