"""The spatiotemporal (LaBraM-base) branch: size, channel rows, token layout, checkpoints."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from unebolt_viz.conventions import LABRAM_CHANNELS, PAPER_CHANNELS
from unebolt_viz.models import build_model, load_labram_checkpoint, save_labram_checkpoint
from unebolt_viz.models.labram import (
    Attention,
    SpatiotemporalEncoder,
    TemporalConv,
    labram_channel_rows,
)

#: reference_facts.md, "LaBraM-base": rows of the 26 paper channels (0 = cls).
FACTS_ROWS = [0, 1, 3, 18, 22, 40, 44, 62, 66, 81, 83, 16, 24, 38, 46, 60, 68, 2, 20, 42, 64,
              75, 82, 26, 36, 48, 58]  # fmt: skip


def tiny_branch(ch_names=PAPER_CHANNELS, **kwargs) -> SpatiotemporalEncoder:
    torch.manual_seed(0)
    return SpatiotemporalEncoder(ch_names, embed_dim=50, depth=2, num_heads=2, **kwargs)


def test_parameter_count_without_head_equals_facts():
    branch = SpatiotemporalEncoder(PAPER_CHANNELS)
    assert sum(p.numel() for p in branch.parameters()) == 5_819_936
    assert sum(p.numel() for p in branch.patch_embed.parameters()) == 576
    assert branch.pos_embed.shape == (1, 129, 200)
    assert branch.time_embed.shape == (1, 16, 200)


def test_labram_list_is_the_published_one():
    assert len(LABRAM_CHANNELS) == 136 and len(set(LABRAM_CHANNELS)) == 136
    assert LABRAM_CHANNELS[:3] == ("FP1", "FPZ", "FP2")
    assert LABRAM_CHANNELS[-1] == "P4-O2"


def test_paper_channels_use_the_rows_of_the_facts_file():
    names, rows = labram_channel_rows(PAPER_CHANNELS)
    assert names == PAPER_CHANNELS
    assert rows == FACTS_ROWS
    branch = SpatiotemporalEncoder(PAPER_CHANNELS, depth=0)
    assert branch.channel_rows.tolist() == FACTS_ROWS


def test_channel_subset_and_legacy_names_map_to_the_same_rows():
    subset = [c for c in PAPER_CHANNELS if c not in ("FT9", "FT10", "POZ")]  # 23 channels
    _, rows = labram_channel_rows(subset)
    expected = [0] + [FACTS_ROWS[1 + PAPER_CHANNELS.index(c)] for c in subset]
    assert rows == expected
    names, legacy_rows = labram_channel_rows(["T3", "EEG Fp1-REF", "t6"])
    assert names == ("T7", "FP1", "P8")
    assert legacy_rows == [0, FACTS_ROWS[1 + PAPER_CHANNELS.index("T7")], 1,
                           FACTS_ROWS[1 + PAPER_CHANNELS.index("P8")]]  # fmt: skip


def test_unknown_channel_error_lists_names_and_points_to_allowed_list():
    with pytest.raises(ValueError, match=r"\['XYZ', 'ECG'\].*LABRAM_EMBEDDABLE_CHANNELS"):
        labram_channel_rows(["FP1", "XYZ", "ECG"])
    with pytest.raises(ValueError, match="beyond its 128 embedding rows"):
        labram_channel_rows(["FP1-F3"])
    with pytest.raises(ValueError, match="more than once"):
        labram_channel_rows(["FP1", "fp1"])
    with pytest.raises(ValueError, match="Unknown EEG channel"):
        build_model("unebolt", n_outputs=4, ch_names=["FP1", "EMG1"], preset="tiny")


def test_patch_encoder_matches_an_independent_convolution():
    torch.manual_seed(1)
    conv = TemporalConv(out_chans=8)
    patch = torch.randn(200)
    # stage by stage with functional ops on a (1, C, L) signal
    h = patch.view(1, 1, 200)
    for i, (c, n) in enumerate(((conv.conv1, conv.norm1), (conv.conv2, conv.norm2),
                                (conv.conv3, conv.norm3))):  # fmt: skip
        stride, pad = (8, 7) if i == 0 else (1, 1)
        h = torch.nn.functional.conv1d(h, c.weight[:, :, 0], c.bias, stride=stride, padding=pad)
        h = torch.nn.functional.gelu(torch.nn.functional.group_norm(h, 4, n.weight, n.bias))
    assert h.shape == (1, 8, 25)
    expected = h[0].T.reshape(-1)  # time-major: step outer, conv channel inner
    got = conv(patch.view(1, 1, 1, 200))[0, 0]
    torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-6)


def test_attention_matches_explicit_formula():
    torch.manual_seed(2)
    attn = Attention(dim=20, num_heads=2, attn_drop=0.0, proj_drop=0.0).eval()
    with torch.no_grad():
        for norm in (attn.q_norm, attn.k_norm):
            norm.weight.uniform_(0.5, 1.5)
            norm.bias.uniform_(-0.2, 0.2)
    x = torch.randn(3, 7, 20)
    qkv = (x @ attn.qkv.weight.T).reshape(3, 7, 3, 2, 10)
    outs = []
    for h in range(2):
        q, k, v = qkv[:, :, 0, h], qkv[:, :, 1, h], qkv[:, :, 2, h]
        q = torch.nn.functional.layer_norm(q, (10,), attn.q_norm.weight, attn.q_norm.bias, 1e-6)
        k = torch.nn.functional.layer_norm(k, (10,), attn.k_norm.weight, attn.k_norm.bias, 1e-6)
        w = torch.softmax(q @ k.transpose(1, 2) / math.sqrt(10), dim=-1)
        outs.append(w @ v)
    expected = torch.cat(outs, dim=-1) @ attn.proj.weight.T + attn.proj.bias
    torch.testing.assert_close(attn(x), expected, rtol=1e-5, atol=1e-6)


def test_token_layout_channel_major_with_embeddings_per_channel_and_patch():
    branch = tiny_branch(ch_names=["C3", "CZ", "C4"]).eval()
    rows = branch.channel_rows
    patches = torch.zeros(1, 3, 4, 200)
    tokens = branch.patch_embed(patches)  # (1, 12, 50), identical for all zero patches
    captured = {}
    branch.blocks[0].register_forward_pre_hook(lambda m, a: captured.setdefault("x", a[0]))
    branch(patches)
    x = captured["x"][0]
    torch.testing.assert_close(x[0], branch.cls_token[0, 0] + branch.pos_embed[0, 0])
    for c in range(3):
        for k in range(4):
            expected = tokens[0, c * 4 + k] + branch.pos_embed[0, rows[c + 1]]
            expected = expected + branch.time_embed[0, k]
            torch.testing.assert_close(x[1 + c * 4 + k], expected)


def test_patches_become_channel_major_rows_and_groupnorm_spans_the_window():
    branch = tiny_branch(ch_names=["C3", "CZ", "C4"]).eval()
    patches = torch.randn(1, 3, 4, 200)
    changed = patches.clone()
    changed[0, 1, 2] += torch.randn(200)
    conv1 = branch.patch_embed.conv1
    diff = (conv1(changed.reshape(1, 1, 12, 200)) - conv1(patches.reshape(1, 1, 12, 200))).abs()
    assert torch.count_nonzero(diff.sum(dim=(0, 1, 3))) == 1
    assert diff.sum(dim=(0, 1, 3))[1 * 4 + 2] > 0
    # As in LaBraM, GroupNorm statistics are taken over all patches of a window, so a change
    # in one patch moves every token slightly.
    token_diff = (branch.patch_embed(changed) - branch.patch_embed(patches)).abs().sum(-1)[0]
    assert token_diff[6] > 10 * token_diff[0] > 0


def test_output_is_layernorm_of_mean_patch_token():
    branch = tiny_branch().eval()
    patches = torch.randn(2, 26, 16, 200)
    captured = {}
    branch.fc_norm.register_forward_pre_hook(lambda m, a: captured.setdefault("x", a[0]))
    out = branch(patches)
    pooled = captured["x"].detach().numpy()
    mean, var = pooled.mean(-1, keepdims=True), pooled.var(-1, keepdims=True)
    np.testing.assert_allclose(out.detach().numpy(), (pooled - mean) / np.sqrt(var + 1e-6),
                               rtol=1e-4, atol=1e-5)  # fmt: skip


def test_init_rescales_deeper_blocks_and_layer_scale():
    torch.manual_seed(3)
    branch = SpatiotemporalEncoder(PAPER_CHANNELS, embed_dim=200, depth=12, num_heads=10)
    stds = [b.mlp.fc2.weight.std().item() for b in branch.blocks]
    ratios = [s * math.sqrt(2 * (k + 1)) / 0.02 for k, s in enumerate(stds)]
    assert all(0.85 < r < 1.05 for r in ratios)  # truncated normal 0.02 / sqrt(2 l)
    assert torch.all(branch.blocks[5].gamma_1 == 0.1)
    rates = [b.drop_path.prob for b in branch.blocks]
    np.testing.assert_allclose(rates, np.linspace(0, 0.1, 12), atol=1e-7)


def test_labram_checkpoint_round_trip_is_strict_and_exact(tmp_path):
    model = build_model("unebolt", n_outputs=8, preset="tiny", seed=0).eval()
    path = save_labram_checkpoint(model, tmp_path / "labram.pth")
    raw = torch.load(path, weights_only=True)
    assert set(raw) == {"model"}
    assert all(k.startswith("student.") for k in raw["model"])
    other = build_model("unebolt", n_outputs=8, preset="tiny", seed=1).eval()
    x = torch.randn(2, 26, 3200) * 30
    patches = (x / 100).reshape(2, 26, 16, 200)
    before = other.encoder.spatiotemporal(patches)
    report = load_labram_checkpoint(other, path)
    assert report["ignored"] == [] and report["initialised"] == []
    assert len(report["loaded"]) == len(model.encoder.spatiotemporal.state_dict())
    after = other.encoder.spatiotemporal(patches)
    assert not torch.allclose(before, after)
    torch.testing.assert_close(after, model.encoder.spatiotemporal(patches), rtol=0, atol=0)


def test_pretraining_style_checkpoint_drops_known_extras_and_keeps_fc_norm(tmp_path):
    branch = tiny_branch()
    state = {f"student.{k}": v for k, v in branch.state_dict().items() if "fc_norm" not in k}
    state["student.mask_token"] = torch.zeros(1, 1, 50)
    state["student.norm.weight"] = torch.ones(50)
    state["student.norm.bias"] = torch.zeros(50)
    state["student.lm_head.weight"] = torch.zeros(8192, 50)
    state["student.lm_head.bias"] = torch.zeros(8192)
    state["lm_head.weight"] = torch.zeros(8192, 50)
    torch.save({"model": state, "epoch": 3}, tmp_path / "pre.pth")
    target = tiny_branch()
    with torch.no_grad():
        target.fc_norm.weight.fill_(2.0)
    report = load_labram_checkpoint(target, tmp_path / "pre.pth")
    assert report["initialised"] == ["fc_norm.bias", "fc_norm.weight"]
    assert "student.mask_token" in report["ignored"] and "lm_head.weight" in report["ignored"]
    assert torch.all(target.fc_norm.weight == 2.0)
    torch.testing.assert_close(target.blocks[1].mlp.fc1.weight, branch.blocks[1].mlp.fc1.weight)


def test_labram_checkpoint_errors_name_the_keys(tmp_path):
    branch = tiny_branch()
    state = {f"student.{k}": v for k, v in branch.state_dict().items()}
    del state["student.blocks.1.attn.qkv.weight"]
    state["student.blocks.0.attn.q_bias"] = torch.zeros(50)
    torch.save({"model": state}, tmp_path / "bad.pth")
    with pytest.raises(ValueError) as err:
        load_labram_checkpoint(tiny_branch(), tmp_path / "bad.pth")
    assert "missing key(s): blocks.1.attn.qkv.weight" in str(err.value)
    assert "unexpected key(s): student.blocks.0.attn.q_bias" in str(err.value)  # file's name

    state = {f"student.{k}": v for k, v in branch.state_dict().items()}
    torch.save({"model": state}, tmp_path / "wide.pth")
    wider = SpatiotemporalEncoder(PAPER_CHANNELS, embed_dim=100, depth=2, num_heads=2)
    with pytest.raises(ValueError,
                       match=r"student.pos_embed: file \(1, 129, 50\), branch \(1, 129, 100\)"):
        load_labram_checkpoint(wider, tmp_path / "wide.pth")
    torch.save({"state": state}, tmp_path / "other.pth")
    with pytest.raises(ValueError, match="'model' entry"):
        load_labram_checkpoint(branch, tmp_path / "other.pth")


# --- the speed work of issue 14: new forwards against the code they replaced ------------------


def _randomized(module: torch.nn.Module, seed: int) -> torch.nn.Module:
    """Every parameter drawn at random (non-zero biases, layer scales far from 0.1)."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for param in module.parameters():
            param.copy_(torch.randn(param.shape, generator=gen) * 0.3 + (param.ndim == 1) * 0.5)
    return module


def _old_attention(attn: Attention, x: torch.Tensor) -> torch.Tensor:
    """Attention.forward before the speed work (indexing qkv, scale applied outside)."""
    batch, n_tokens, dim = x.shape
    qkv = attn.qkv(x).reshape(batch, n_tokens, 3, attn.num_heads, -1).permute(2, 0, 3, 1, 4)
    q, k, v = attn.q_norm(qkv[0]), attn.k_norm(qkv[1]), qkv[2]
    out = torch.nn.functional.scaled_dot_product_attention(
        q, k, v, dropout_p=attn.attn_drop if attn.training else 0.0
    )
    return attn.proj_drop(attn.proj(out.transpose(1, 2).reshape(batch, n_tokens, dim)))


def _old_block(block, x: torch.Tensor) -> torch.Tensor:
    """Block.forward before the speed work: layer scale multiplied after each branch."""
    x = x + block.drop_path(block.gamma_1 * _old_attention(block.attn, block.norm1(x)))
    mlp = block.mlp
    out = mlp.drop(mlp.fc2(torch.nn.functional.gelu(mlp.fc1(block.norm2(x)))))
    return x + block.drop_path(block.gamma_2 * out)


def test_block_equals_the_unfused_layer_scale_in_eval():
    torch.manual_seed(0)
    branch = SpatiotemporalEncoder(PAPER_CHANNELS, embed_dim=50, depth=1, num_heads=2)
    block = _randomized(branch.blocks[0], seed=4).eval()
    x = torch.randn(3, 9, 50)
    with torch.no_grad():
        expected = _old_block(block, x)
        atol = 1e-5 * float(expected.abs().max())  # float32 rounding of another summation order
        torch.testing.assert_close(block(x), expected, rtol=1e-5, atol=atol)
        # the folded scale is the per-feature product, biases included
        scale = torch.linspace(-2.0, 3.0, 50)
        for branch_fn in (block.attn, block.mlp):
            expected = scale * branch_fn(x)
            torch.testing.assert_close(branch_fn(x, scale), expected, rtol=1e-5,
                                       atol=1e-5 * float(expected.abs().max()))  # fmt: skip


def test_block_in_training_draws_the_same_dropout_and_gives_the_same_gradients():
    branch = tiny_branch(drop_rate=0.3, drop_path_rate=0.5)
    block = _randomized(branch.blocks[1], seed=5).train()  # drop-path 0.5, dropout 0.3
    x = torch.randn(4, 9, 50)
    outputs, grads = [], []
    for forward in (block, lambda t: _old_block(block, t)):
        torch.manual_seed(6)
        out = forward(x)
        block.zero_grad()
        (out * torch.linspace(-1, 1, 50)).sum().backward()
        outputs.append(out.detach())
        grads.append({n: p.grad.clone() for n, p in block.named_parameters()})
    with torch.no_grad():
        assert not torch.allclose(outputs[0], block.eval()(x))  # dropout and drop-path acted
    torch.testing.assert_close(outputs[0], outputs[1], rtol=1e-5,
                               atol=1e-5 * float(outputs[1].abs().max()))  # fmt: skip
    # k_norm's bias has a zero gradient in exact arithmetic (softmax ignores a shift of all
    # keys), so the tolerance is set by the largest gradient of the block
    atol = 1e-5 * max(float(g.abs().max()) for g in grads[1].values())
    for name in grads[1]:
        torch.testing.assert_close(grads[0][name], grads[1][name], rtol=1e-4, atol=atol, msg=name)


def test_encoder_equals_the_code_before_the_speed_work():
    branch = _randomized(tiny_branch(ch_names=["C3", "CZ", "C4", "PZ"]), seed=7).eval()
    patches = torch.randn(2, 4, 5, 200)
    batch, n_chans, n_patches, _ = patches.shape
    with torch.no_grad():
        tokens = branch.patch_embed(patches)
        tokens = tokens + branch.time_embed[:, :n_patches].repeat(1, n_chans, 1)
        channel_embed = branch.pos_embed[:, branch.channel_rows]
        tokens = tokens + channel_embed[:, 1:].repeat_interleave(n_patches, dim=1)
        x = torch.cat(((branch.cls_token + channel_embed[:, :1]).expand(batch, -1, -1), tokens), 1)
        for block in branch.blocks:
            x = _old_block(block, x)
        expected = branch.fc_norm(x[:, 1:].mean(dim=1))
        torch.testing.assert_close(branch(patches), expected, rtol=1e-5,
                                   atol=1e-5 * float(expected.abs().max()))  # fmt: skip
