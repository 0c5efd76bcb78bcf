"""The multi-objective loss against numpy, its ablation weights and its gradients."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from unebolt_viz.models import MultiObjectiveLoss, build_model


def random_pair(seed: int, batch: int = 16, n_rois: int = 64):
    rng = np.random.default_rng(seed)
    target = rng.standard_normal((batch, n_rois))
    pred = 0.5 * target + rng.standard_normal((batch, n_rois))
    return pred, target


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_terms_equal_numpy_mse_and_one_minus_pearson(seed):
    pred, target = random_pair(seed)
    terms = MultiObjectiveLoss().terms(torch.from_numpy(pred), torch.from_numpy(target))
    r_t = [np.corrcoef(pred[:, p], target[:, p])[0, 1] for p in range(pred.shape[1])]
    r_s = [np.corrcoef(pred[b], target[b])[0, 1] for b in range(pred.shape[0])]
    np.testing.assert_allclose(terms["mse"].item(), np.mean((pred - target) ** 2), rtol=1e-12)
    np.testing.assert_allclose(terms["tcorr"].item(), np.mean(1 - np.array(r_t)), rtol=1e-7)
    np.testing.assert_allclose(terms["scorr"].item(), np.mean(1 - np.array(r_s)), rtol=1e-7)


def test_full_loss_is_the_papers_weighted_sum():
    pred, target = random_pair(3)
    loss = MultiObjectiveLoss(alpha=0.8, beta=0.1)
    p, t = torch.from_numpy(pred), torch.from_numpy(target)
    terms = loss.terms(p, t)
    expected = 0.8 * terms["mse"] + 0.1 * terms["tcorr"] + 0.1 * terms["scorr"]
    torch.testing.assert_close(loss(p, t), expected)


@pytest.mark.parametrize(
    ("variant", "weights"),
    [
        ("full", {"mse": 0.8, "tcorr": 0.1, "scorr": 0.1}),
        ("mse_only", {"mse": 1.0, "tcorr": 0.0, "scorr": 0.0}),
        ("no_mse", {"mse": 0.0, "tcorr": 0.5, "scorr": 0.5}),
        ("no_scorr", {"mse": 0.8 / 0.9, "tcorr": 0.1 / 0.9, "scorr": 0.0}),
        ("no_tcorr", {"mse": 0.8 / 0.9, "tcorr": 0.0, "scorr": 0.1 / 0.9}),
    ],
)
def test_ablation_variants_drop_their_term_and_renormalise(variant, weights):
    pred, target = random_pair(4)
    p, t = torch.from_numpy(pred), torch.from_numpy(target)
    loss = MultiObjectiveLoss(variant=variant)
    assert loss.weights == pytest.approx(weights)
    terms = loss.terms(p, t)
    expected = sum(weights[k] * terms[k] for k in weights)
    torch.testing.assert_close(loss(p, t), expected)


def test_perfect_prediction_gives_zero_and_anticorrelation_gives_two():
    target = torch.randn(8, 10, dtype=torch.float64)
    loss = MultiObjectiveLoss(variant="no_mse")
    assert loss(target.clone(), target).item() == pytest.approx(0.0, abs=1e-7)
    assert loss(-target, target).item() == pytest.approx(2.0, abs=1e-7)


def test_gradient_of_correlation_terms_matches_finite_differences():
    pred, target = random_pair(5, batch=6, n_rois=5)
    p = torch.from_numpy(pred).requires_grad_(True)
    t = torch.from_numpy(target)
    assert torch.autograd.gradcheck(lambda x: MultiObjectiveLoss()(x, t), (p,))


def test_gradients_reach_every_parameter_of_each_unified_model():
    x = torch.randn(4, 26, 3200) * 20
    y = torch.randn(4, 6)
    for name in ("neurobolt_unified", "labram_unified", "biot_unified"):
        model = build_model(name, n_outputs=6, preset="tiny", seed=0).train()
        MultiObjectiveLoss()(model(x), y).backward()
        dead = [
            n for n, p in model.named_parameters()
            if p.requires_grad and (p.grad is None or not torch.any(p.grad != 0))
        ]  # fmt: skip
        assert dead == [], name


def test_bad_inputs_are_explained():
    with pytest.raises(ValueError, match="variant"):
        MultiObjectiveLoss(variant="no_pixcorr")
    with pytest.raises(ValueError, match="alpha \\+ beta <= 1"):
        MultiObjectiveLoss(alpha=0.9, beta=0.2)
    with pytest.raises(ValueError, match="both be \\(batch, n_rois\\)"):
        MultiObjectiveLoss()(torch.zeros(4, 3), torch.zeros(4, 2))
    with pytest.raises(ValueError, match="drop_last=True"):
        MultiObjectiveLoss()(torch.zeros(1, 3), torch.zeros(1, 3))
    assert MultiObjectiveLoss(variant="no_tcorr")(torch.ones(1, 3), torch.zeros(1, 3)) > 0
