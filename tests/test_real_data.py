"""The real DiFuMo-64 ROI tables of the NeuroBOLT dataset (../shared/data)."""

import numpy as np
import pytest

import unebolt_viz as uv
from unebolt_viz.datasets.neurobolt import load_neurobolt_rest, read_neurobolt_split

pytestmark = pytest.mark.shared_data


def test_tables_read_with_difumo_coordinates(shared_data):
    scans = load_neurobolt_rest(shared_data, scans=["sub01-scan01"])
    bold = scans["sub01-scan01"]
    assert bold.shape == (575, 64)
    assert bold.attrs["data_source"] == "real" and bold.attrs["tr"] == 2.1
    assert bold.roi.values[0] == "Superior frontal sulcus"
    counts = {n: int((bold.network.values == n).sum()) for n in set(bold.network.values)}
    assert counts == {"Visual": 12, "Default": 12, "Somatomotor": 10, "Dorsal Attention": 8,
                      "Salience/Ventral Attention": 7, "Control": 6, "No network": 9}
    # The tables are z-scored per column.
    np.testing.assert_allclose(bold.values.mean(axis=0), 0, atol=1e-6)


def test_within_network_fc_exceeds_between(shared_data):
    scans = load_neurobolt_rest(shared_data)
    assert len(scans) == 23
    within, between = [], []
    for bold in scans.values():
        fc = bold.unebolt.fc()
        net = fc.network.values
        iu = np.triu_indices(fc.sizes["roi"], 1)
        yeo = np.isin(net, uv.YEO7_NAMES)
        pair_yeo = (yeo[:, None] & yeo[None, :])[iu]
        same = (net[:, None] == net[None, :])[iu]
        r = fc.values[iu]
        within.append(r[same & pair_yeo].mean())
        between.append(r[~same & pair_yeo].mean())
    w, b = float(np.mean(within)), float(np.mean(between))
    print(f"real data, 23 scans: mean within-network r = {w:.3f}, between-network r = {b:.3f}")
    assert w > b + 0.1
    # Independent check on one scan with numpy's corrcoef.
    first = next(iter(scans.values()))
    np.testing.assert_allclose(first.unebolt.fc().values, np.corrcoef(first.values.T), atol=1e-10)


def test_split_table_is_grouped_by_subject(shared_path):
    folder = shared_path("neurobolt_rest_difumo64")
    split = read_neurobolt_split(shared_path("neurobolt_rest_difumo64", "split_cross_subject.csv"))
    assert split["split"].value_counts().to_dict() == {"train": 18, "test": 6, "val": 5}
    present = {p.name.split(".")[0] for p in folder.glob("*.tsv.gz")}
    assert len(present) == 23
    assert present.isdisjoint(split.loc[split.split == "test", "scan"])


def test_missing_data_dir_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="data_dir"):
        load_neurobolt_rest(tmp_path)
