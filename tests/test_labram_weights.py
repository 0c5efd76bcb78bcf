"""Pretrained LaBraM weights in both published layouts, loaded into UnEBOLT and NeuroBOLT.

No real weights file can be downloaded here, so each test writes one: random tensors under the
real key names and shapes. The names of the LaBraM authors' ``labram-base.pth`` are derived
from our branch (``student.`` + each key of ``SpatiotemporalEncoder.state_dict()``, whose names
follow LaBraM's fine-tuning model) plus the pre-training extras the published file is known to
hold (``student.mask_token``, ``student.norm.*``, ``student.lm_head.*``, ``lm_head.*``,
``projection_head.0.*``; their shapes are given as LaBraM's code builds them, a vocabulary of
8192 codes). braindecode's names were read from its ``Labram`` source (braindecode 1.2 and its
current version) and are written out below independently of the loader's renaming rules.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re

import pytest
import torch

from unebolt_viz.models import (
    build_model,
    load_labram_checkpoint,
    load_model,
    save_labram_checkpoint,
    save_model,
)
from unebolt_viz.models.io import load_labram_checkpoint as old_path_loader
from unebolt_viz.models.labram import SpatiotemporalEncoder

VOCAB = 8192  # LaBraM's tokenizer codebook


def _branch(model):
    return [m for m in model.modules() if isinstance(m, SpatiotemporalEncoder)]


def _random_like(state, seed=0):
    gen = torch.Generator().manual_seed(seed)
    return {k: torch.randn(v.shape, generator=gen) for k, v in state.items()}


def labram_file(path, branch, seed=0, extras=True):
    """labram-base.pth as published: pre-training model under 'model', no fc_norm."""
    ours = _random_like({k: v for k, v in branch.state_dict().items() if "fc_norm" not in k}, seed)
    dim = branch.embed_dim
    model = {f"student.{k}": v for k, v in ours.items()}
    if extras:
        model.update({
            "student.mask_token": torch.randn(1, 1, dim),
            "student.norm.weight": torch.randn(dim), "student.norm.bias": torch.randn(dim),
            "student.lm_head.weight": torch.randn(VOCAB, dim),
            "student.lm_head.bias": torch.randn(VOCAB),
            "lm_head.weight": torch.randn(VOCAB, dim), "lm_head.bias": torch.randn(VOCAB),
            "projection_head.0.weight": torch.randn(dim, dim),
            "projection_head.0.bias": torch.randn(dim),
            "student.blocks.0.attn.relative_position_index": torch.zeros(4, 4, dtype=torch.long),
        })
    torch.save({"model": model}, path)
    return ours


def braindecode_name(key: str) -> str:
    """Our branch key -> braindecode's Labram key (read from braindecode's source)."""
    key = re.sub(r"^patch_embed\.", "patch_embed.temporal_conv.", key)
    key = {"pos_embed": "position_embedding", "time_embed": "temporal_embedding"}.get(key, key)
    key = re.sub(r"\.mlp\.fc1\.", ".mlp.0.", key)
    return re.sub(r"\.mlp\.fc2\.", ".mlp.2.", key)


def braindecode_state(branch, seed=1, n_outputs=2):
    """A Labram state dict (n_times=3200: 16 patches + braindecode's spare time row)."""
    ours = _random_like(branch.state_dict(), seed)
    state = {braindecode_name(k): v for k, v in ours.items()}
    time = state["temporal_embedding"]
    state["temporal_embedding"] = torch.cat([time, torch.randn(1, 1, time.shape[-1])], dim=1)
    state["final_layer.weight"] = torch.randn(n_outputs, branch.embed_dim)
    state["final_layer.bias"] = torch.randn(n_outputs)
    return ours, state


@pytest.fixture(scope="module")
def paper_models():
    torch.set_num_threads(1)
    return {name: build_model(name, n_outputs=3, preset="paper", seed=0)
            for name in ("unebolt", "neurobolt_unified")}


def test_braindecode_names_cover_labram_base_exactly(paper_models):
    """The braindecode keys a LaBraM-base Labram holds (from its source), for the record."""
    (branch,) = _branch(paper_models["unebolt"])
    names = {braindecode_name(k) for k in branch.state_dict()}
    assert {"position_embedding", "temporal_embedding", "cls_token", "fc_norm.weight",
            "patch_embed.temporal_conv.conv1.weight", "patch_embed.temporal_conv.norm3.bias",
            "blocks.11.mlp.0.weight", "blocks.11.mlp.2.bias", "blocks.0.attn.q_norm.weight",
            "blocks.0.attn.k_norm.bias", "blocks.0.gamma_1", "blocks.0.attn.qkv.weight"} <= names
    # per block: norm1, norm2, q_norm, k_norm, proj, fc1, fc2 (weight + bias), qkv, gamma_1,2
    assert len(names) == len(branch.state_dict()) == 12 * 17 + 12 + 3 + 2


@pytest.mark.parametrize("name", ["unebolt", "neurobolt_unified"])
def test_original_layout_loads_every_tensor_exactly(tmp_path, paper_models, name):
    model = paper_models[name]
    (branch,) = _branch(model)
    fc_norm_before = branch.fc_norm.weight.detach().clone()
    head_before = {k: v.clone() for k, v in model.state_dict().items() if "spatiotemporal" not in k}
    path = tmp_path / "labram-base.pth"
    ours = labram_file(path, branch)
    report = load_labram_checkpoint(model, path)
    state = branch.state_dict()
    for key, value in ours.items():
        assert torch.equal(state[key], value), key
    assert len(ours) == len(state) - 2 == len(report.loaded)
    assert report.initialised == ["fc_norm.bias", "fc_norm.weight"]
    assert torch.equal(branch.fc_norm.weight, fc_norm_before)
    for key, value in model.state_dict().items():  # head and spectral branch untouched
        if "spatiotemporal" not in key:
            assert torch.equal(value, head_before[key]), key
    assert set(report.ignored) == {
        "student.mask_token", "student.norm.weight", "student.norm.bias",
        "student.lm_head.weight", "student.lm_head.bias", "lm_head.weight", "lm_head.bias",
        "projection_head.0.weight", "projection_head.0.bias",
        "student.blocks.0.attn.relative_position_index"}
    sha = hashlib.sha256(path.read_bytes()).hexdigest()
    assert report.layout == "labram" and report.sha256 == sha
    assert model.labram_init == {"pretrained": True, "file": "labram-base.pth", "sha256": sha,
                                 "layout": "labram", "n_loaded": len(ours),
                                 "initialised": ["fc_norm.bias", "fc_norm.weight"]}


@pytest.mark.parametrize("name", ["unebolt", "neurobolt_unified"])
@pytest.mark.parametrize("fmt", ["safetensors", "pt"])
def test_braindecode_layout_loads_every_tensor_exactly(tmp_path, paper_models, name, fmt):
    model = paper_models[name]
    (branch,) = _branch(model)
    ours, state = braindecode_state(branch)
    path = tmp_path / f"labram.{fmt}"
    if fmt == "safetensors":
        from safetensors.torch import save_file

        save_file(state, str(path))
    else:
        torch.save(state, path)
    report = load_labram_checkpoint(model, path)
    loaded = branch.state_dict()
    for key, value in ours.items():
        assert torch.equal(loaded[key], value), key
    assert torch.equal(loaded["time_embed"], state["temporal_embedding"][:, :16])
    assert report.layout == "braindecode" and report.initialised == []
    assert len(report.loaded) == len(loaded)
    assert report.ignored == ["final_layer.bias", "final_layer.weight",
                              "temporal_embedding[:, 16:] (spare rows)"]


def test_roi_specific_neurobolt_loads_every_network_and_record_survives_saving(tmp_path):
    model = build_model("neurobolt", n_outputs=2, preset="tiny", seed=0)
    branches = _branch(model)
    assert len(branches) == 2 and model.labram_init == {"pretrained": False}
    ours = labram_file(tmp_path / "w.pth", branches[0], seed=5, extras=False)
    report = load_labram_checkpoint(model, tmp_path / "w.pth")
    assert report.n_branches == 2
    for branch in branches:
        for key, value in ours.items():
            assert torch.equal(branch.state_dict()[key], value), key
    save_model(model, tmp_path / "m")
    config = json.loads((tmp_path / "m.json").read_text())["config"]
    assert config["labram_init"]["sha256"] == report.sha256
    assert load_model(tmp_path / "m").labram_init == model.labram_init
    assert old_path_loader is load_labram_checkpoint  # the historical import path still works


def test_models_without_a_branch_record_nothing_and_refuse_weights(tmp_path):
    biot = build_model("biot_unified", n_outputs=2, preset="tiny", seed=0)
    assert biot.labram_init is None and "labram_init" not in biot.get_config()
    unebolt = build_model("unebolt", n_outputs=2, preset="tiny", seed=0)
    save_labram_checkpoint(unebolt, tmp_path / "w.pth")
    with pytest.raises(ValueError, match="BIOTUnified has no spatiotemporal"):
        load_labram_checkpoint(biot, tmp_path / "w.pth")


def _tiny_branch():
    return _branch(build_model("unebolt", n_outputs=2, preset="tiny", seed=0))[0]


def test_unknown_key_is_refused_by_name(tmp_path):
    branch = _tiny_branch()
    state = {f"student.{k}": v for k, v in branch.state_dict().items()}
    state["student.blocks.0.attn.relative_position_bias_table"] = torch.zeros(9, 1)
    state["teacher.cls_token"] = torch.zeros(1, 1, branch.embed_dim)
    torch.save({"model": state}, tmp_path / "w.pth")
    before = {k: v.clone() for k, v in branch.state_dict().items()}
    with pytest.raises(ValueError) as err:
        load_labram_checkpoint(branch, tmp_path / "w.pth")
    message = str(err.value)
    assert "unexpected key(s): student.blocks.0.attn.relative_position_bias_table, " \
           "teacher.cls_token" in message and str(tmp_path / "w.pth") in message
    assert all(torch.equal(v, before[k]) for k, v in branch.state_dict().items())  # untouched


def test_wrong_shape_is_refused_by_name(tmp_path):
    branch = _tiny_branch()
    _, state = braindecode_state(branch)
    state["position_embedding"] = state["position_embedding"][:, :27]  # a 26-channel Labram
    torch.save(state, tmp_path / "bd.pt")
    with pytest.raises(ValueError, match=r"position_embedding: file \(1, 27, 25\), branch "
                                         r"\(1, 129, 25\) \(pos_embed\)"):
        load_labram_checkpoint(branch, tmp_path / "bd.pt")


def test_braindecode_model_that_is_not_labram_base_is_refused(tmp_path):
    branch = _tiny_branch()
    _, state = braindecode_state(branch)
    plain = {k: v for k, v in state.items() if "q_norm" not in k}  # built with qk_norm=None
    plain["patch_embed.segment_patch.patcher.weight"] = torch.zeros(200, 1, 200)
    torch.save(plain, tmp_path / "bd.pt")
    with pytest.raises(ValueError) as err:
        load_labram_checkpoint(branch, tmp_path / "bd.pt")
    assert "unexpected key(s): patch_embed.segment_patch.patcher.weight" in str(err.value)
    assert "missing key(s): blocks.0.attn.q_norm.bias, blocks.0.attn.q_norm.weight" in str(err.value)


def test_pickled_object_is_refused_and_named(tmp_path):
    branch = _tiny_branch()
    state = {f"student.{k}": v for k, v in branch.state_dict().items()}
    torch.save({"model": state, "args": argparse.Namespace(lr=5e-4)}, tmp_path / "w.pth")
    with pytest.raises(ValueError, match=r"pickled Python object \(argparse\.Namespace\)"):
        load_labram_checkpoint(branch, tmp_path / "w.pth")
    torch.save({"model": {**state, "epoch": 3}}, tmp_path / "int.pth")
    with pytest.raises(ValueError, match=r"the entries \['epoch'\] are not tensors"):
        load_labram_checkpoint(branch, tmp_path / "int.pth")
    with pytest.raises(FileNotFoundError, match="No LaBraM weights file"):
        load_labram_checkpoint(branch, tmp_path / "absent.pth")
