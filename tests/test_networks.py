import numpy as np
import pytest

from unebolt_viz import networks


def test_seven_yeo_networks_in_canonical_order():
    assert networks.YEO7_NAMES == (
        "Visual", "Somatomotor", "Dorsal Attention", "Salience/Ventral Attention",
        "Limbic", "Control", "Default",
    )
    assert [n.yeo_index for n in networks.NETWORKS if n.is_yeo] == list(range(1, 8))
    assert {"Subcortical", "No network"} <= set(networks.NETWORK_NAMES)


def test_colours_are_distinct_hex():
    colours = list(networks.network_colors().values())
    assert len(set(colours)) == len(colours)
    assert all(c.startswith("#") and len(c) == 7 for c in colours)


@pytest.mark.parametrize(
    ("label", "expected"),
    [("VisCent", "Visual"), ("SomMotA", "Somatomotor"), ("DorsAttnB", "Dorsal Attention"),
     ("SalVentAttnA", "Salience/Ventral Attention"), ("LimbicA", "Limbic"),
     ("ContA", "Control"), ("DefaultB", "Default"), ("No network found", "No network"),
     (7, "Default"), ("dorsattn", "Dorsal Attention"), ("Frontoparietal Control", "Control")],
)
def test_aliases_map_to_canonical(label, expected):
    assert networks.canonical_network(label) == expected


def test_unknown_label_error_lists_names():
    with pytest.raises(ValueError, match="Unknown network label 'Cerebellar'.*Visual"):
        networks.canonical_network("Cerebellar")


def test_sort_key_follows_canonical_order():
    keys = networks.network_sort_key(["Default", "Visual", "No network", "Control"])
    assert np.array_equal(np.argsort(keys), [1, 3, 0, 2])
