"""UnEBOLT's multi-objective loss: MSE plus temporal and spatial correlation terms.

``L = a * MSE + b * mean_p(1 - R_t,p) + (1 - a - b) * mean_b(1 - R_s,b)`` with ``R_t,p`` the
Pearson correlation of ROI ``p`` along the batch (time) axis and ``R_s,b`` the correlation of
sample ``b`` across ROIs (UnEBOLT paper, eq. 1; a = 0.8, b = 0.1). The temporal term needs batches
whose samples are consecutive TRs in order (the batch order may be shuffled).

Ablations (Table 1) and how the weights are renormalised (the paper is silent): the weights of
the terms kept are rescaled to sum to one, preserving their ratios, so that each variant has the
same overall loss scale as the full loss.

============  ==============  ===========================  ===========================
variant       MSE             temporal (1 - R_t)           spatial (1 - R_s)
============  ==============  ===========================  ===========================
full          a               b                            1 - a - b
mse_only      1               0                            0
no_mse        0               b / (1 - a)                  (1 - a - b) / (1 - a)
no_scorr      a / (a + b)     b / (a + b)                  0
no_tcorr      a / (1 - b)     0                            (1 - a - b) / (1 - b)
============  ==============  ===========================  ===========================
"""

from __future__ import annotations

import torch
from torch import nn

LOSS_VARIANTS: tuple[str, ...] = ("full", "mse_only", "no_mse", "no_scorr", "no_tcorr")


def pearson_r(x: torch.Tensor, y: torch.Tensor, dim: int, eps: float = 1e-8) -> torch.Tensor:
    """Pearson correlation of ``x`` and ``y`` along ``dim``.

    ``eps`` keeps the ratio finite for a constant series (its correlation is then 0).
    """
    xc = x - x.mean(dim=dim, keepdim=True)
    yc = y - y.mean(dim=dim, keepdim=True)
    cov = (xc * yc).sum(dim=dim)
    return cov / torch.sqrt(
        (xc.square().sum(dim=dim) * yc.square().sum(dim=dim)).clamp_min(0) + eps
    )


class MultiObjectiveLoss(nn.Module):
    """UnEBOLT's multi-objective loss and its Table 1 ablations.

    Parameters
    ----------
    alpha : float
        Weight of the MSE term (0.8).
    beta : float
        Weight of the temporal-correlation term (0.1); the spatial term gets
        ``1 - alpha - beta``.
    variant : str
        One of ``"full"``, ``"mse_only"``, ``"no_mse"``, ``"no_scorr"``, ``"no_tcorr"``. Weights
        of the remaining terms are renormalised to sum to one (see the module docstring).

    Examples
    --------
    >>> loss = MultiObjectiveLoss()
    >>> pred, target = torch.randn(16, 64), torch.randn(16, 64)
    >>> value = loss(pred, target)
    >>> sorted(loss.terms(pred, target))
    ['mse', 'scorr', 'tcorr']
    """

    def __init__(self, alpha: float = 0.8, beta: float = 0.1, variant: str = "full") -> None:
        super().__init__()
        if variant not in LOSS_VARIANTS:
            raise ValueError(f"Unknown loss variant {variant!r}; choose one of {LOSS_VARIANTS}")
        if alpha < 0 or beta < 0 or alpha + beta > 1:
            raise ValueError(
                f"alpha={alpha}, beta={beta}: need alpha >= 0, beta >= 0 and alpha + beta <= 1"
            )
        self.alpha, self.beta, self.variant = float(alpha), float(beta), variant
        self.weights = _term_weights(self.alpha, self.beta, variant)

    def terms(self, pred: torch.Tensor, target: torch.Tensor) -> dict[str, torch.Tensor]:
        """The three unweighted terms: ``mse``, ``tcorr`` = mean_p(1 - R_t,p) and ``scorr`` =
        mean_b(1 - R_s,b)."""
        _check_pair(pred, target)
        return {
            "mse": torch.mean((pred - target) ** 2),
            "tcorr": torch.mean(1.0 - pearson_r(pred, target, dim=0)),
            "scorr": torch.mean(1.0 - pearson_r(pred, target, dim=1)),
        }

    def forward(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """Weighted sum of the terms, a scalar. ``pred`` and ``target``: (batch, n_rois)."""
        terms = self.terms(pred, target)
        if self.weights["tcorr"] > 0 and pred.shape[0] < 2:
            raise ValueError(
                "the temporal-correlation term needs at least 2 windows per batch; use "
                "drop_last=True in the DataLoader or the 'mse_only'/'no_tcorr' variant"
            )
        if self.weights["scorr"] > 0 and pred.shape[1] < 2:
            raise ValueError(
                "the spatial-correlation term needs at least 2 ROIs; use the 'mse_only' or "
                "'no_scorr' variant for a single ROI"
            )
        return sum(weight * terms[name] for name, weight in self.weights.items() if weight > 0)

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}, beta={self.beta}, variant={self.variant!r}"


def _term_weights(alpha: float, beta: float, variant: str) -> dict[str, float]:
    raw = {"mse": alpha, "tcorr": beta, "scorr": 1.0 - alpha - beta}
    dropped = {
        "full": (),
        "mse_only": ("tcorr", "scorr"),
        "no_mse": ("mse",),
        "no_scorr": ("scorr",),
        "no_tcorr": ("tcorr",),
    }[variant]
    kept = {name: (0.0 if name in dropped else weight) for name, weight in raw.items()}
    if variant == "mse_only":
        kept["mse"] = 1.0
    total = sum(kept.values())
    if total <= 0:
        raise ValueError(
            f"variant {variant!r} with alpha={alpha}, beta={beta} leaves no term with weight > 0"
        )
    return {name: weight / total for name, weight in kept.items()}


def _check_pair(pred: torch.Tensor, target: torch.Tensor) -> None:
    if pred.shape != target.shape or pred.ndim != 2:
        raise ValueError(
            f"pred and target must both be (batch, n_rois); got {tuple(pred.shape)} and "
            f"{tuple(target.shape)}"
        )
