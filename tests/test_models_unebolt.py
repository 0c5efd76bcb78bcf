"""UnEBOLT: forward, fusion, ROI decoder, ablation switches, determinism, gradients."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from unebolt_viz.models import MultiObjectiveLoss, build_model
from unebolt_viz.models.unebolt import (
    GatedAdaptiveFusion,
    ROIRepresentationEmbedder,
    ROISpecificHeads,
    UnEBOLT,
)

ABLATIONS = ("use_gaf", "use_roi_lut", "use_roi_embedder", "use_roi_specific_head")


def linear_params(n_in: int, n_out: int) -> int:
    return n_in * n_out + n_out


def rre_params(dim: int, bottleneck: int) -> int:
    return linear_params(dim, bottleneck) + linear_params(bottleneck, dim) + 1


def eeg(batch: int = 2, seed: int = 0) -> torch.Tensor:
    return torch.from_numpy(
        np.random.default_rng(seed).standard_normal((batch, 26, 3200)).astype(np.float32) * 20
    )


@pytest.mark.parametrize("n_rois", [64, 128, 256])
def test_paper_size_forward_shape_on_cpu(n_rois):
    model = build_model("unebolt", n_outputs=n_rois, seed=0).eval()
    with torch.no_grad():
        out = model(eeg(1))
    assert out.shape == (1, n_rois)
    assert torch.isfinite(out).all()


@pytest.mark.parametrize("n_rois", [64, 128, 256])
def test_paper_parameter_count_is_encoder_plus_decoder(n_rois):
    model = build_model("unebolt", n_outputs=n_rois)
    encoder = 7_907_011 - 201  # NeuroBOLT without its 1-ROI head
    d, dim = 200, 200 + n_rois
    decoder = (
        linear_params(2 * d, d) + linear_params(d, d)  # GAF
        + n_rois * n_rois  # LROI-LUT, d_r = P
        + rre_params(dim, 128)
        + n_rois * dim + n_rois  # ROI-specific heads
    )  # fmt: skip
    assert model.count_parameters() == encoder + decoder


def test_same_seed_same_model_other_seed_differs_and_global_rng_untouched():
    torch.manual_seed(123)
    state = torch.random.get_rng_state()
    a = build_model("unebolt", n_outputs=16, preset="tiny", seed=7).eval()
    assert torch.equal(torch.random.get_rng_state(), state)
    b = build_model("unebolt", n_outputs=16, preset="tiny", seed=7).eval()
    c = build_model("unebolt", n_outputs=16, preset="tiny", seed=8).eval()
    x = eeg(3)
    with torch.no_grad():
        ya, yb, yc = a(x), b(x), c(x)
    assert torch.equal(ya, yb)
    assert not torch.allclose(ya, yc)


def test_gaf_is_sigmoid_gated_convex_combination():
    torch.manual_seed(0)
    gaf = GatedAdaptiveFusion(dim=6, hidden=5)
    r_st, r_sp = torch.randn(4, 6), torch.randn(4, 6)
    w1, b1 = gaf.fc1.weight.detach().numpy(), gaf.fc1.bias.detach().numpy()
    w2, b2 = gaf.fc2.weight.detach().numpy(), gaf.fc2.bias.detach().numpy()
    cat = np.concatenate([r_st.numpy(), r_sp.numpy()], axis=1)
    hidden = cat @ w1.T + b1
    from scipy.special import erf, expit

    gelu = 0.5 * hidden * (1 + erf(hidden / np.sqrt(2)))
    g = expit(gelu @ w2.T + b2)
    expected = g * r_st.numpy() + (1 - g) * r_sp.numpy()
    np.testing.assert_allclose(gaf(r_st, r_sp).detach().numpy(), expected, rtol=1e-5, atol=1e-6)


def test_rre_is_scaled_bottleneck_with_residual():
    torch.manual_seed(0)
    rre = ROIRepresentationEmbedder(dim=10, bottleneck=4, dropout=0.5, alpha_init=0.3).eval()
    e = torch.randn(2, 3, 10)
    down = np.maximum(
        e.numpy() @ rre.down.weight.detach().numpy().T + rre.down.bias.detach().numpy(), 0
    )
    up = down @ rre.up.weight.detach().numpy().T + rre.up.bias.detach().numpy()
    np.testing.assert_allclose(rre(e).detach().numpy(), 0.3 * up + e.numpy(), rtol=1e-5, atol=1e-6)
    assert rre.alpha.requires_grad and rre.alpha.ndim == 0


def test_roi_specific_heads_equal_separate_linear_maps():
    torch.manual_seed(0)
    heads = ROISpecificHeads(n_rois=5, dim=7, init_scale=1.0)
    with torch.no_grad():
        heads.bias.normal_()
    e = torch.randn(3, 5, 7)
    expected = torch.stack([e[:, i] @ heads.weight[i] + heads.bias[i] for i in range(5)], dim=1)
    torch.testing.assert_close(heads(e), expected)


def test_roi_inputs_are_fused_eeg_concatenated_with_the_lookup_table():
    model = build_model(
        "unebolt", n_outputs=6, preset="tiny", seed=0, use_roi_embedder=False
    ).eval()
    x = eeg(2)
    with torch.no_grad():
        r = model.fuse(*model.encoder(x / 100))
        e = model.roi_embeddings(x)
    d = model.hparams["embed_dim"]
    assert e.shape == (2, 6, d + 6)
    torch.testing.assert_close(e[:, 3, :d], r)
    torch.testing.assert_close(e[1, :, d:], model.roi_lut)


@pytest.mark.parametrize("switch", ABLATIONS)
def test_each_ablation_removes_exactly_its_part(switch):
    n_rois = 12
    full = build_model("unebolt", n_outputs=n_rois, preset="tiny", seed=0)
    d, b = full.hparams["embed_dim"], full.hparams["rre_bottleneck"]
    ablated = build_model("unebolt", n_outputs=n_rois, preset="tiny", seed=0, **{switch: False})
    dim = d + n_rois
    diff = full.count_parameters() - ablated.count_parameters()
    full_names = {n for n, _ in full.named_parameters()}
    ablated_names = {n for n, _ in ablated.named_parameters()}
    if switch == "use_gaf":
        assert ablated.gaf is None and isinstance(full.gaf, GatedAdaptiveFusion)
        assert diff == linear_params(2 * d, d) + linear_params(d, d)
        assert full_names - ablated_names == {n for n in full_names if n.startswith("gaf.")}
    elif switch == "use_roi_lut":
        assert ablated.roi_lut is None and ablated.roi_input_dim == d
        assert diff == (n_rois * n_rois + rre_params(dim, b) - rre_params(d, b)
                        + n_rois * (dim - d))  # fmt: skip
        assert full_names - ablated_names == {"roi_lut"}
    elif switch == "use_roi_embedder":
        assert ablated.roi_embedder is None
        assert diff == rre_params(dim, b)
        assert full_names - ablated_names == {
            n for n in full_names if n.startswith("roi_embedder.")
        }
    else:
        assert isinstance(full.head, ROISpecificHeads)
        assert isinstance(ablated.head, torch.nn.Linear) and ablated.head.out_features == 1
        assert diff == (n_rois * dim + n_rois) - linear_params(dim, 1)
    # everything else is the same module with the same names
    assert ablated_names - full_names <= {"head.weight", "head.bias"}
    out = ablated.eval()(eeg(2))
    assert out.shape == (2, n_rois)


def test_without_gaf_the_fusion_is_the_sum():
    model = build_model("unebolt", n_outputs=4, preset="tiny", seed=0, use_gaf=False).eval()
    d = model.hparams["embed_dim"]
    r_st, r_sp = torch.randn(2, d), torch.randn(2, d)
    torch.testing.assert_close(model.fuse(r_st, r_sp), r_st + r_sp)


def test_without_roi_specific_head_one_map_serves_all_rois():
    model = build_model(
        "unebolt", n_outputs=5, preset="tiny", seed=0, use_roi_specific_head=False
    ).eval()
    x = eeg(2)
    with torch.no_grad():
        e = model.roi_embeddings(x)
        expected = e @ model.head.weight[0] + model.head.bias[0]
        torch.testing.assert_close(model(x), expected)


def test_gradients_reach_every_trainable_parameter():
    model = build_model("unebolt", n_outputs=8, preset="tiny", seed=0).train()
    loss = MultiObjectiveLoss()(model(eeg(6)), torch.randn(6, 8))
    loss.backward()
    missing = [
        name for name, p in model.named_parameters()
        if p.requires_grad and (p.grad is None or not torch.any(p.grad != 0))
    ]  # fmt: skip
    assert missing == []
    frozen = [name for name, p in model.named_parameters() if not p.requires_grad]
    assert frozen == ["encoder.spectral.index"]


def test_input_checks_name_the_expected_shape():
    model = build_model("unebolt", n_outputs=4, preset="tiny")
    with pytest.raises(ValueError, match=r"\(batch, 26, 3200\) in microvolts, got \(2, 25, 3200\)"):
        model(torch.zeros(2, 25, 3200))
    with pytest.raises(TypeError, match="floating-point"):
        model(torch.zeros(2, 26, 3200, dtype=torch.long))
    assert isinstance(model, UnEBOLT)


def test_shipped_weights_still_give_the_shipped_predictions():
    """The shipped P=64 UnEBOLT (saved before the speed work of issue 14) loads strictly and
    predicts a test scan of the simulated teaching cohort as its shipped predictions file says."""
    import tempfile
    from importlib.resources import files

    import xarray as xr

    import unebolt_viz as uv
    from unebolt_viz.models import load_model
    from unebolt_viz.simulation import simulate_cohort
    from unebolt_viz.training.inference import predict_scan

    folder = files("unebolt_viz") / "resources" / "embedded"
    model = load_model(str(folder / "unebolt_p64"))  # strict: same keys and shapes
    shipped = xr.load_dataset(str(folder / "predictions_unebolt_p64.nc"))
    scan = "sub02-scan01"
    assert shipped.attrs["data_source"] == "simulated" and scan in set(shipped.scan.values)
    with tempfile.TemporaryDirectory() as tmp:
        atlas = uv.load_atlas("embedded", 64, data_dir=tmp)
    cohort = simulate_cohort("teaching", seed=0, atlas=atlas, progress=False)
    got = predict_scan(model, cohort.pairs([scan])[0])
    want = shipped["pred"].values[shipped.scan.values == scan]
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5 * float(np.abs(want).max()))
