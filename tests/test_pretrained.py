"""The registry of shipped models: listing, cards, verified loading."""

from __future__ import annotations

import hashlib
import shutil

import numpy as np
import pytest

import unebolt_viz as uv
from unebolt_viz.models.pretrained import PRETRAINED_DIR, PretrainedModelError


def _names():
    return [m["name"] for m in uv.pretrained()]


def test_every_shipped_model_is_listed_with_its_record():
    entries = uv.pretrained()
    stems = sorted(p.name.removesuffix(".training.json")
                   for p in PRETRAINED_DIR.glob("*.training.json"))
    assert sorted(e["weights"].removesuffix(".safetensors") for e in entries) == stems
    for entry in entries:
        arch, _, level = entry["name"].partition("-embedded-p")
        assert entry["architecture"] == arch and entry["n_rois"] == int(level)
        assert entry["data_source"] == "simulated"
        assert set(entry["test_metrics"]) >= {"Tcorr", "Pixcorr", "ConnMSE", "F1-0.25", "F1-0.50"}
        assert entry["split"]["test"] and not set(entry["split"]["test"]) & set(entry["split"]["train"])
        for file_name, digest in entry["files"].items():
            assert hashlib.sha256((PRETRAINED_DIR / file_name).read_bytes()).hexdigest() == digest


@pytest.mark.parametrize("name", _names())
def test_each_shipped_model_loads_offline_and_predicts(name):
    model = uv.load_pretrained(name)
    entry = next(e for e in uv.pretrained() if e["name"] == name)
    assert model.n_outputs == entry["n_rois"]
    windows = np.random.default_rng(0).standard_normal((2, len(model.ch_names), model.n_times))
    if hasattr(model, "predict"):
        out = model.predict(windows * 10)
    else:
        import torch

        with torch.no_grad():
            out = model(torch.as_tensor(windows * 10, dtype=torch.float32)).numpy()
    assert out.shape == (2, entry["n_rois"]) and np.all(np.isfinite(out))


def test_card_says_where_the_numbers_come_from():
    name = _names()[0]
    card = uv.models.model_card(name)
    entry = next(e for e in uv.pretrained() if e["name"] == name)
    assert card.startswith(f"# {name}")
    assert "Data source: simulated" in card and "not the results of the UnEBOLT paper" in card
    assert f"{entry['test_metrics']['Tcorr']:.3f}" in card


def test_a_changed_file_is_refused(tmp_path):
    shutil.copytree(PRETRAINED_DIR, tmp_path / "models")
    entry = next(e for e in uv.pretrained() if e["name"] == "ridge-embedded-p64")
    weights = tmp_path / "models" / entry["weights"]
    data = bytearray(weights.read_bytes())
    data[-1] ^= 0xFF
    weights.write_bytes(bytes(data))
    with pytest.raises(PretrainedModelError, match="sha256.*changed since it was shipped"):
        uv.load_pretrained("ridge-embedded-p64", directory=tmp_path / "models")
    # the untouched copy loads
    assert uv.load_pretrained("ridge-embedded-p128", directory=tmp_path / "models").n_outputs == 128


def test_unknown_name_lists_the_shipped_ones():
    with pytest.raises(PretrainedModelError, match="ridge-embedded-p64"):
        uv.load_pretrained("unebolt-paper")


def test_index_of_another_folder_must_exist(tmp_path):
    with pytest.raises(PretrainedModelError, match="pretrained.json is missing"):
        uv.pretrained(tmp_path)
    (tmp_path / "pretrained.json").write_text("{not json")
    with pytest.raises(PretrainedModelError, match="not valid JSON"):
        uv.pretrained(tmp_path)
