"""Saving and loading models: safetensors + JSON, strict loading, readable errors."""

from __future__ import annotations

import json

import pytest
import torch
from safetensors.torch import load_file, save_file

from unebolt_viz.models import MODEL_NAMES, build_model, load_model, read_config, save_model

X = torch.randn(2, 26, 3200) * 20


def _forget_hash(config_path):
    """Drop the recorded sha256, as in files saved before it was recorded (still loadable)."""
    payload = json.loads(config_path.read_text())
    del payload["weights_sha256"]
    config_path.write_text(json.dumps(payload))


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_save_load_round_trip_gives_identical_outputs(tmp_path, name):
    model = build_model(name, n_outputs=3, preset="tiny", seed=0).eval()
    weights, config = save_model(model, tmp_path / "run" / "model")
    assert weights.name == "model.safetensors" and config.name == "model.json"
    assert sorted(p.name for p in weights.parent.iterdir()) == ["model.json", "model.safetensors"]
    payload = json.loads(config.read_text())
    assert payload["config"] == model.get_config()
    loaded = load_model(tmp_path / "run" / "model.safetensors")
    assert type(loaded) is type(model) and not loaded.training
    with torch.no_grad():
        torch.testing.assert_close(loaded(X), model(X), rtol=0, atol=0)


def test_dotted_names_keep_their_suffix(tmp_path):
    model = build_model("labram_unified", n_outputs=2, preset="tiny", seed=0)
    weights, config = save_model(model, tmp_path / "model.v2")
    assert (weights.name, config.name) == ("model.v2.safetensors", "model.v2.json")
    assert read_config(tmp_path / "model.v2")["name"] == "labram_unified"


def test_wrong_key_or_shape_is_named(tmp_path):
    model = build_model("unebolt", n_outputs=4, preset="tiny", seed=0)
    assert model.roi_input_dim == 25 + 4  # tiny width 25, d_r = 4
    weights, config = save_model(model, tmp_path / "m")
    _forget_hash(config)  # edited weights: only the key check, not the hash, is tested here
    state = load_file(weights)
    state["head.weights"] = state.pop("head.weight")
    save_file(state, weights)
    with pytest.raises(ValueError) as err:
        load_model(tmp_path / "m")
    message = str(err.value)
    assert "missing key(s): head.weight (expected shape (4, 29))" in message
    assert "unexpected key(s): head.weights (found shape (4, 29))" in message

    state["head.weight"] = torch.zeros(4, 30)
    del state["head.weights"]
    save_file(state, weights)
    with pytest.raises(ValueError, match=r"head.weight: expected shape \(4, 29\), found \(4, 30\)"):
        load_model(tmp_path / "m")


def test_config_and_weights_must_agree(tmp_path):
    save_model(build_model("unebolt", n_outputs=4, preset="tiny"), tmp_path / "a")
    save_model(build_model("unebolt", n_outputs=5, preset="tiny"), tmp_path / "b")
    (tmp_path / "b.json").replace(tmp_path / "a.json")
    _forget_hash(tmp_path / "a.json")
    with pytest.raises(ValueError, match=r"roi_lut: expected shape \(5, 5\), found \(4, 4\)"):
        load_model(tmp_path / "a")


def test_missing_files_and_foreign_objects(tmp_path):
    with pytest.raises(FileNotFoundError, match="No model config"):
        load_model(tmp_path / "absent")
    with pytest.raises(TypeError, match="not a unebolt_viz model"):
        save_model(torch.nn.Linear(2, 2), tmp_path / "x")
    (tmp_path / "odd.json").write_text('{"weights": 1}')
    with pytest.raises(ValueError, match="not a unebolt_viz model config"):
        load_model(tmp_path / "odd")


def test_failed_write_leaves_no_partial_file(tmp_path, monkeypatch):
    model = build_model("labram_unified", n_outputs=2, preset="tiny")
    save_model(model, tmp_path / "m")
    before = (tmp_path / "m.safetensors").read_bytes()

    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr("safetensors.torch.save_file", broken)
    with pytest.raises(OSError, match="disk full"):
        save_model(
            build_model("labram_unified", n_outputs=2, preset="tiny", seed=3), tmp_path / "m"
        )
    assert (tmp_path / "m.safetensors").read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.json", "m.safetensors"]
