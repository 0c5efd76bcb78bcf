"""The contract all torch models keep: attributes, configs, optimiser groups, baselines."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from unebolt_viz.conventions import PAPER_CHANNELS
from unebolt_viz.models import MODEL_NAMES, PRESETS, build_model, model_from_config

X = torch.randn(3, 26, 3200) * 20


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_every_model_keeps_the_contract(name):
    model = build_model(name, n_outputs=4, preset="tiny", seed=0).eval()
    assert model.name == name and model.preset == "tiny"
    assert (model.n_chans, model.n_outputs, model.n_times, model.sfreq) == (26, 4, 3200, 200.0)
    assert model.ch_names == PAPER_CHANNELS
    with torch.no_grad():
        assert model(X).shape == (3, 4)


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_config_round_trip_rebuilds_the_same_model(name):
    option = "sp_pe_dropout" if name == "biot_unified" else "drop_rate"
    model = build_model(name, n_outputs=3, preset="tiny", seed=5, **{option: 0.2})
    config = model.get_config()
    assert json.loads(json.dumps(config)) == config
    assert config[option] == 0.2 and config["seed"] == 5 and config["n_outputs"] == 3
    rebuilt = type(model).from_config(config)
    assert rebuilt.get_config() == config
    again = model_from_config(config)
    state, state_again = model.state_dict(), again.state_dict()
    assert all(torch.equal(state[k], state_again[k]) for k in state)  # same seed, same init
    assert build_model(**config).get_config() == config


def test_from_config_refuses_another_models_config():
    config = build_model("unebolt", n_outputs=2, preset="tiny").get_config()
    neurobolt = build_model("neurobolt_unified", n_outputs=2, preset="tiny")
    with pytest.raises(ValueError, match="is for model 'unebolt'"):
        type(neurobolt).from_config(config)


def test_build_errors_name_the_problem():
    with pytest.raises(ValueError, match="Unknown model 'eegnet'"):
        build_model("eegnet", n_outputs=2)
    with pytest.raises(ValueError, match="Unknown preset 'huge'"):
        build_model("unebolt", n_outputs=2, preset="huge")
    with pytest.raises(ValueError, match=r"Unknown option\(s\) \['use_gaff'\].*use_gaf"):
        build_model("unebolt", n_outputs=2, preset="tiny", use_gaff=False)
    with pytest.raises(ValueError, match="resample"):
        build_model("unebolt", n_outputs=2, preset="tiny", sfreq=250.0)
    with pytest.raises(ValueError, match="positive int"):
        build_model("unebolt", n_outputs=0, preset="tiny")
    with pytest.raises(ValueError, match="multiple of 25"):
        build_model("unebolt", n_outputs=2, preset="tiny", embed_dim=64)


def test_channel_subset_and_shorter_windows():
    subset = PAPER_CHANNELS[:23]
    model = build_model("unebolt", n_outputs=5, ch_names=subset, preset="tiny", n_times=1600)
    assert model.n_chans == 23 and model.n_times == 1600
    assert model.encoder.spectral.channel_embed.num_embeddings == 23
    assert model.encoder.spatiotemporal.pos_embed.shape[1] == 129
    assert model(torch.randn(2, 23, 1600)).shape == (2, 5)


def test_presets_differ_in_size():
    sizes = [build_model("unebolt", n_outputs=64, preset=p).count_parameters() for p in PRESETS]
    assert sizes[0] > sizes[1] > sizes[2]


def test_roi_specific_neurobolt_stacks_independent_one_output_networks():
    model = build_model("neurobolt", n_outputs=3, preset="tiny", seed=0).eval()
    single = build_model("neurobolt_unified", n_outputs=1, preset="tiny")
    assert len(model.nets) == 3 and all(net.n_outputs == 1 for net in model.nets)
    assert model.count_parameters() == 3 * single.count_parameters()
    with torch.no_grad():
        expected = torch.cat([net(X) for net in model.nets], dim=1)
        torch.testing.assert_close(model(X), expected)
    w0, w1 = model.nets[0].head.weight, model.nets[1].head.weight
    assert not torch.equal(w0, w1)


def test_neurobolt_paper_size_and_head():
    model = build_model("neurobolt", n_outputs=1)
    assert model.count_parameters() == 7_907_011
    unified = build_model("neurobolt_unified", n_outputs=1, seed=0).eval()
    assert unified.count_parameters() == 7_907_011
    assert 0.015 * 0.001 < unified.head.weight.std() < 0.025 * 0.001  # 0.02 scaled by 0.001
    x = X[:1]
    with torch.no_grad():
        r_st, r_sp = unified.encoder(x / 100)
        expected = torch.nn.functional.gelu(r_st + r_sp) @ unified.head.weight.T
        torch.testing.assert_close(unified(x), expected + unified.head.bias)


def test_biot_uses_overlapping_one_second_frames():
    model = build_model("biot_unified", n_outputs=2, preset="tiny", seed=0).eval()
    captured = {}
    model.encoder.encoder.register_forward_pre_hook(lambda m, a: captured.setdefault("x", a[0]))
    model(X)
    assert captured["x"].shape == (3, 26 * 31, 16)  # (3200 - 200) / 100 + 1 frames per channel


def test_param_groups_cover_each_trainable_parameter_once_with_layer_decay():
    model = build_model("unebolt", n_outputs=8, seed=0)
    groups = model.param_groups(lr=3e-4, weight_decay=0.05)
    ids = [id(p) for g in groups for p in g["params"]]
    trainable = {id(p) for p in model.parameters() if p.requires_grad}
    assert len(ids) == len(set(ids)) and set(ids) == trainable
    scale_of = {id(p): g["lr_scale"] for g in groups for p in g["params"]}
    decay_of = {id(p): g["weight_decay"] for g in groups for p in g["params"]}
    named = dict(model.named_parameters())
    st = "encoder.spatiotemporal."
    for key in ("cls_token", "pos_embed", "time_embed", "patch_embed.conv1.weight"):
        assert scale_of[id(named[st + key])] == pytest.approx(0.65**13)
    for k in (0, 5, 11):
        assert scale_of[id(named[f"{st}blocks.{k}.mlp.fc1.weight"])] == pytest.approx(
            0.65 ** (12 - k)
        )
    for key in (st + "fc_norm.weight", "encoder.spectral.frequency_embed.0.weight", "gaf.fc1.weight",
                "roi_lut", "head.weight"):  # fmt: skip
        assert scale_of[id(named[key])] == 1.0
    no_decay = [st + "cls_token", st + "pos_embed", st + "blocks.0.gamma_1", st + "blocks.3.norm1.weight",
                st + "blocks.2.attn.proj.bias", "encoder.spectral.channel_embed.weight", "roi_lut",
                "roi_embedder.alpha", "head.bias"]  # fmt: skip
    assert all(decay_of[id(named[k])] == 0.0 for k in no_decay)
    for key in (st + "blocks.0.attn.qkv.weight", "head.weight", "roi_embedder.down.weight"):
        assert decay_of[id(named[key])] == 0.05
    assert all(g["lr"] == pytest.approx(3e-4 * g["lr_scale"]) for g in groups)


def test_param_groups_scale_by_actual_depth_and_work_with_adamw():
    model = build_model("neurobolt", n_outputs=2, preset="tiny", seed=0)
    groups = model.param_groups(lr=1e-3, weight_decay=0.05, layer_decay=0.5)
    assert sorted({g["lr_scale"] for g in groups}) == [0.25, 0.5, 1.0]  # depth 1: 0.5**2, 0.5**1
    opt = torch.optim.AdamW(groups)
    before = model.nets[1].encoder.spatiotemporal.pos_embed.detach().clone()
    model(X).pow(2).mean().backward()
    opt.step()
    assert not torch.equal(before, model.nets[1].encoder.spatiotemporal.pos_embed)
    biot = build_model("biot_unified", n_outputs=2, preset="tiny")
    assert {g["lr_scale"] for g in biot.param_groups(1e-3, 0.05)} == {1.0}


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_select_channels_keeps_trained_weights_for_a_channel_subset(name):
    from unebolt_viz.models import select_channels

    model = build_model(name, n_outputs=2, preset="tiny", seed=0).eval()
    same = select_channels(model, PAPER_CHANNELS)
    with torch.no_grad():
        torch.testing.assert_close(same(X), model(X), rtol=0, atol=0)
    subset = ["O2", "FP1", "T3", "CZ"]  # reordered, with a legacy name
    small = select_channels(model, subset)
    assert small.ch_names == ("O2", "FP1", "T7", "CZ") and not small.training
    rows = [PAPER_CHANNELS.index(c) for c in small.ch_names]
    big_state, small_state = model.state_dict(), small.state_dict()
    channel_axes = getattr(model, "input_channel_axes", {})
    for key, value in small_state.items():
        if key.endswith("channel_embed.weight"):
            torch.testing.assert_close(value, big_state[key][rows])
        elif key in channel_axes:
            expected = big_state[key]
            for axis in channel_axes[key]:
                expected = expected.index_select(axis, torch.tensor(rows))
            torch.testing.assert_close(value, expected)
        elif not key.endswith("spectral.index"):
            torch.testing.assert_close(value, big_state[key])
    assert small(X[:, rows]).shape == (3, 2)
    with pytest.raises(ValueError, match=r"\['OZZ'\] are not among the model's channels"):
        select_channels(model, ["O1", "OZZ"])


def test_ridge_and_names_import_without_torch():
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from unebolt_viz.models import RidgeBaseline, MODEL_NAMES, PRESETS\n"
        "assert 'torch' not in sys.modules, 'torch was imported'\n"
        "print(len(MODEL_NAMES), len(PRESETS))\n"
    )
    root = Path(__file__).resolve().parents[1]
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=root)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["9", "3"]
