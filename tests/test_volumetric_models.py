"""The volumetric peers E2fNet and Spec2VolCAMU-Net: sizes, gradients, configs, selective scan."""

from __future__ import annotations

import importlib.util
import json

import pytest
import torch
import torch.nn.functional as F

import unebolt_viz
from unebolt_viz.conventions import PAPER_CHANNELS
from unebolt_viz.models import (
    VOLUMETRIC_MODEL_NAMES,
    build_model,
    load_model,
    model_from_config,
    save_model,
    slices_to_xyz,
    xyz_to_slices,
)
from unebolt_viz.models._mamba import SS2D, selective_scan, selective_scan_torch

SPECTRA = torch.randn(2, 20, 26, 249, generator=torch.Generator().manual_seed(0))
#: Exact sizes at D = 30 (the papers' 19.15 M and 45.93 M).
PAPER_SIZES = {"e2fnet": 19_152_030, "spec2volcamunet": 45_927_230}


def naive_scan(u, delta, A, B, C, D, delta_bias):
    """The S6 recurrence written out per sample, channel and step (the reference)."""
    batch, channels, length = u.shape
    groups = B.shape[1]
    per = channels // groups
    rows = []
    for b in range(batch):
        for c in range(channels):
            g = c // per
            h = torch.zeros(A.shape[1], dtype=torch.float64)
            ys = []
            for t in range(length):
                step = F.softplus(delta[b, c, t] + delta_bias[c])
                h = torch.exp(step * A[c]) * h + step * B[b, g, :, t] * u[b, c, t]
                ys.append((h * C[b, g, :, t]).sum() + D[c] * u[b, c, t])
            rows.append(torch.stack(ys))
    return torch.stack(rows).view(batch, channels, length)


def _scan_inputs(batch=2, groups=2, per=3, n_state=4, length=9, seed=0):
    gen = torch.Generator().manual_seed(seed)
    channels = groups * per

    def rand(*shape):
        return torch.randn(*shape, generator=gen, dtype=torch.float64)

    return dict(u=rand(batch, channels, length), delta=rand(batch, channels, length),
                A=-torch.rand(channels, n_state, generator=gen, dtype=torch.float64) * 2,
                B=rand(batch, groups, n_state, length), C=rand(batch, groups, n_state, length),
                D=rand(channels), delta_bias=rand(channels))


def test_parameter_counts_at_paper_size():
    for name, expected in PAPER_SIZES.items():
        model = unebolt_viz.build_model(name, n_outputs=30)
        assert model.count_parameters() == expected
        assert round(expected / 1e6, 2) == {"e2fnet": 19.15, "spec2volcamunet": 45.93}[name]
        assert model.out_shape == (30, 64, 64) and model.in_shape == (20, 26, 249)


@pytest.mark.slow
@pytest.mark.parametrize("name", VOLUMETRIC_MODEL_NAMES)
def test_paper_size_forward_and_backward_on_cpu(name):
    model = unebolt_viz.build_model(name, n_outputs=30, ch_names=PAPER_CHANNELS, seed=0)
    out = model(SPECTRA)
    assert out.shape == (2, 30, 64, 64) and torch.isfinite(out).all()
    if name == "e2fnet":
        assert 0 < out.min() and out.max() < 1  # sigmoid
    out.square().mean().backward()
    grads = [p.grad for p in model.parameters()]
    assert all(g is not None and torch.isfinite(g).all() for g in grads)
    first = model.encoder[0][0] if name == "e2fnet" else model.stem
    assert first.weight.grad.abs().sum() > 0


@pytest.mark.parametrize("name", VOLUMETRIC_MODEL_NAMES)
def test_gradients_reach_every_parameter(name):
    options = {"drop_path_rate": 0.0} if name == "spec2volcamunet" else {}
    model = build_model(name, n_outputs=5, preset="tiny", seed=1, **options)
    model(SPECTRA).square().mean().backward()
    silent = [n for n, p in model.named_parameters()
              if p.grad is None or not p.grad.abs().sum() > 0]
    assert silent == []


@pytest.mark.parametrize("name", VOLUMETRIC_MODEL_NAMES)
def test_seeded_initialisation_is_deterministic_and_leaves_global_rng(name):
    before = torch.random.get_rng_state()
    a = build_model(name, n_outputs=4, preset="tiny", seed=3).eval()
    assert torch.equal(torch.random.get_rng_state(), before)
    b = build_model(name, n_outputs=4, preset="tiny", seed=3).eval()
    c = build_model(name, n_outputs=4, preset="tiny", seed=4).eval()
    sa, sb, sc = a.state_dict(), b.state_dict(), c.state_dict()
    assert all(torch.equal(sa[k], sb[k]) for k in sa)
    assert not all(torch.equal(sa[k], sc[k]) for k in sa)
    with torch.no_grad():
        torch.testing.assert_close(a(SPECTRA), b(SPECTRA), rtol=0, atol=0)


@pytest.mark.parametrize("name", VOLUMETRIC_MODEL_NAMES)
def test_config_round_trip_and_save_load(name, tmp_path):
    model = build_model(name, n_outputs=6, preset="tiny", seed=5, ch_names=PAPER_CHANNELS[:20],
                        training_data_source="simulated").eval()
    config = model.get_config()
    assert json.loads(json.dumps(config)) == config
    assert (config["name"], config["n_outputs"], config["seed"]) == (name, 6, 5)
    assert config["ch_names"] == list(PAPER_CHANNELS[:20]) and config["n_freqs"] == 249
    again = model_from_config(config)
    assert type(again) is type(model) and again.get_config() == config
    assert type(model).from_config(config).get_config() == config
    state, state_again = model.state_dict(), again.state_dict()
    assert all(torch.equal(state[k], state_again[k]) for k in state)
    assert build_model(**config).get_config() == config
    save_model(model, tmp_path / "vol")
    loaded = load_model(tmp_path / "vol")
    x = SPECTRA[:, :, :20]
    with torch.no_grad():
        torch.testing.assert_close(loaded(x), model(x), rtol=0, atol=0)


def test_overrides_are_kept_as_json_lists():
    model = build_model("spec2volcamunet", n_outputs=2, preset="tiny", dims=(8, 16, 32, 64),
                        depths=(1, 1, 2, 1))
    assert model.get_config()["depths"] == [1, 1, 2, 1]
    assert len(model.decoder.stages[2]) == 2


def test_errors_name_the_problem():
    with pytest.raises(ValueError, match=r"Unknown option\(s\) \['widht'\].*width"):
        build_model("e2fnet", n_outputs=30, preset="tiny", widht=8)
    with pytest.raises(ValueError, match="Unknown preset 'huge'"):
        build_model("e2fnet", n_outputs=30, preset="huge")
    with pytest.raises(ValueError, match="n_outputs must be a positive int"):
        build_model("e2fnet", n_outputs=0, preset="tiny")
    with pytest.raises(ValueError, match="most 64 channels; got 65"):
        build_model("spec2volcamunet", n_outputs=30, preset="tiny",
                    ch_names=[f"E{i}" for i in range(65)])
    with pytest.raises(ValueError, match="distinct"):
        build_model("e2fnet", n_outputs=30, preset="tiny", ch_names=["CZ", "Cz"])
    model = build_model("e2fnet", n_outputs=3, preset="tiny")
    with pytest.raises(ValueError, match=r"\(batch, 20 windows, 26 channels, 249 bins\)"):
        model(torch.randn(2, 26, 3200))
    with pytest.raises(ValueError, match="spec2volcamunet"):
        build_model("nope", n_outputs=3)


@pytest.mark.parametrize("name", VOLUMETRIC_MODEL_NAMES)
def test_other_channel_counts_and_depths(name):
    model = build_model(name, n_outputs=32, preset="tiny", seed=0,
                        ch_names=[f"E{i}" for i in range(64)]).eval()
    assert model.depth == 32 and model.n_chans == 64
    with torch.no_grad():
        assert model(torch.randn(1, 20, 64, 249)).shape == (1, 32, 64, 64)


def test_slices_and_xyz_axes():
    out = torch.arange(2 * 3 * 4 * 5.0).view(2, 3, 4, 5)  # (batch, z, x, y)
    vol = slices_to_xyz(out)
    assert vol.shape == (2, 4, 5, 3) and vol[1, 2, 4, 0] == out[1, 0, 2, 4]
    assert torch.equal(xyz_to_slices(vol), out)


def test_torch_scan_matches_the_naive_loop_with_gradients():
    inputs = _scan_inputs()
    leaves = {k: v.clone().requires_grad_() for k, v in inputs.items()}
    ours = selective_scan_torch(**{**leaves, "delta_softplus": True}).double()
    ref_leaves = {k: v.clone().requires_grad_() for k, v in inputs.items()}
    ref = naive_scan(**ref_leaves)
    torch.testing.assert_close(ours, ref, rtol=1e-5, atol=1e-5)
    weights = torch.randn(ref.shape, dtype=torch.float64)
    (ours * weights).sum().backward()
    (ref * weights).sum().backward()
    for key in inputs:
        torch.testing.assert_close(leaves[key].grad, ref_leaves[key].grad, rtol=1e-4, atol=1e-4)


def test_ss2d_reads_four_orders_and_sums_them_on_the_grid():
    torch.manual_seed(0)
    block = SS2D(4, d_state=3).double()
    height, width = 3, 5
    x = torch.randn(2, block.d_inner, height, width, dtype=torch.float64)
    grid = torch.arange(height * width).view(height, width)
    orders = [grid.flatten(), grid.T.flatten(), grid.flatten().flip(0), grid.T.flatten().flip(0)]
    seq = x.flatten(2)
    expected = torch.zeros_like(seq)
    for k, order in enumerate(orders):
        xs = seq[:, :, order]
        proj = torch.einsum("bdl,cd->bcl", xs, block.x_proj_weight[k].double())
        dts, bs, cs = torch.split(proj, [block.dt_rank, block.d_state, block.d_state], dim=1)
        dts = torch.einsum("brl,dr->bdl", dts, block.dt_projs_weight[k].double())
        rows = slice(k * block.d_inner, (k + 1) * block.d_inner)
        y = naive_scan(xs, dts, -torch.exp(block.A_logs[rows].double()), bs[:, None],
                       cs[:, None], block.Ds[rows].double(), block.dt_projs_bias[k].double())
        expected[:, :, order] += y
    with torch.no_grad():
        got = block.scan_four_ways(x)
    torch.testing.assert_close(got.flatten(2), expected, rtol=1e-6, atol=1e-6)


def test_scan_backends_are_checked():
    inputs = {k: v.float() for k, v in _scan_inputs().items()}
    torch.testing.assert_close(selective_scan(**inputs, backend="torch"),
                               selective_scan(**inputs, backend="auto"))
    with pytest.raises(ValueError, match="Unknown scan backend"):
        selective_scan(**inputs, backend="cuda")


@pytest.mark.gpu
@pytest.mark.skipif(importlib.util.find_spec("mamba_ssm") is None or not torch.cuda.is_available(),
                    reason="needs the mamba_ssm package and a CUDA GPU")
def test_mamba_ssm_kernel_matches_the_torch_scan():
    inputs = {k: v.float().cuda() for k, v in _scan_inputs(batch=2, groups=4, per=8,
                                                            n_state=16, length=64).items()}
    torch.testing.assert_close(selective_scan(**inputs, backend="mamba_ssm"),
                               selective_scan(**inputs, backend="torch"), rtol=1e-4, atol=1e-4)
    model = build_model("spec2volcamunet", n_outputs=4, preset="tiny", seed=0).cuda().eval()
    x = SPECTRA.cuda()
    with torch.no_grad():
        kernel = model(x)
        for module in model.modules():
            if isinstance(module, SS2D):
                module.scan_backend = "torch"
        torch.testing.assert_close(kernel, model(x), rtol=1e-4, atol=1e-4)


def test_our_unet_is_diffusers_unet2dmodel():
    diffusers = pytest.importorskip("diffusers", reason="diffusers is optional")
    from unebolt_viz.models.e2fnet import UNet

    torch.manual_seed(0)
    ours = UNet(32, 8, 8).eval()
    ref = diffusers.UNet2DModel(
        in_channels=32, out_channels=32, layers_per_block=1, block_out_channels=(32, 32),
        down_block_types=("DownBlock2D", "DownBlock2D"), up_block_types=("UpBlock2D", "UpBlock2D"),
        norm_num_groups=8,
    ).eval()
    ref.load_state_dict(ours.state_dict(), strict=True)
    x = torch.randn(2, 32, 16, 16)
    with torch.no_grad():
        expected = ref(x, timestep=torch.zeros(2, dtype=torch.long)).sample
        torch.testing.assert_close(ours(x), expected, rtol=1e-5, atol=1e-5)


def test_names_import_without_torch():
    import subprocess
    import sys

    code = ("import sys\nfrom unebolt_viz.models import VOLUMETRIC_MODEL_NAMES, preset_hparams\n"
            "print(*VOLUMETRIC_MODEL_NAMES, preset_hparams('e2fnet', 'paper')['width'])\n"
            "assert 'torch' not in sys.modules\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["e2fnet", "spec2volcamunet", "256"]
