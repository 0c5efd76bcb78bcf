"""Whole scans in, predictions Dataset out: ``true`` and ``pred`` with every coordinate."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextlib import nullcontext
from typing import Any

import numpy as np
import xarray as xr

from ..data.containers import InvalidDataError, predictions

__all__ = ["predict", "predict_scan", "resolve_device", "autocast_context"]


def resolve_device(device: Any = None, model: Any = None):
    """A ``torch.device``: the given one, else the model's, else CUDA when available, else CPU."""
    import torch

    if device not in (None, "auto"):
        return torch.device(device)
    if model is not None and hasattr(model, "parameters"):
        try:
            return next(model.parameters()).device
        except StopIteration:
            pass
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def autocast_context(device, precision: str = "auto"):
    """bf16 autocast on CUDA (``precision`` "auto" or "bf16"); nothing (fp32) on CPU.

    Raises
    ------
    ValueError
        For ``precision="bf16"`` on a CPU: the package runs CPUs in fp32.
    """
    import torch

    if precision not in ("auto", "bf16", "fp32"):
        raise ValueError(f"precision={precision!r}; use 'auto', 'bf16' or 'fp32'.")
    if device.type == "cuda":
        if precision == "fp32":
            return nullcontext()
        if not torch.cuda.is_bf16_supported():
            if precision == "bf16":
                raise ValueError("This GPU does not support bf16; use precision='fp32'.")
            return nullcontext()
        return torch.autocast("cuda", dtype=torch.bfloat16)
    if precision == "bf16":
        raise ValueError("bf16 autocast is used on GPUs only; on a CPU use precision='fp32' or 'auto'.")
    return nullcontext()


def _is_torch_model(model: Any) -> bool:
    try:
        import torch
    except ImportError:  # pragma: no cover - torch is a dependency
        return False
    return isinstance(model, torch.nn.Module)


def _model_inputs(model: Any) -> tuple[Sequence[str], int | None]:
    ch_names = getattr(model, "ch_names", None)
    if ch_names is None:
        raise TypeError(
            f"{type(model).__name__} does not say which channels it reads (no ch_names): use a "
            "model of unebolt_viz.models or a RidgeBaseline."
        )
    return ch_names, getattr(model, "n_times", None)


def _predict_dataset(model: Any, dataset: Any, k: int, batch_size: int, device: Any,
                     precision: str) -> np.ndarray:
    n = dataset.pairs[k].n_windows
    if _is_torch_model(model):
        import torch

        was_training = model.training
        model.eval()
        out = []
        try:
            with torch.no_grad(), autocast_context(device, precision):
                for a in range(0, n, batch_size):
                    x = dataset.scan_windows(k, a, min(n, a + batch_size)).to(device)
                    out.append(model(x).float().cpu().numpy())
        finally:
            model.train(was_training)
        return np.concatenate(out).astype(np.float64)
    if not hasattr(model, "predict"):
        raise TypeError(f"{type(model).__name__} is neither a torch model nor has predict().")
    out = [np.asarray(model.predict(dataset.scan_windows(k, a, min(n, a + batch_size)).numpy()))
           for a in range(0, n, batch_size)]
    return np.concatenate(out).astype(np.float64)


def predict_scan(model: Any, pair: Any, *, batch_size: int = 64, device: Any = None,
                 precision: str = "auto") -> np.ndarray:
    """Predicted BOLD of one scan, shape ``(n_windows, n_rois)``.

    Parameters
    ----------
    model : torch.nn.Module or RidgeBaseline
        A model of :mod:`unebolt_viz.models` (it names its channels in ``ch_names``).
    pair : ScanPair
        The scan (its BOLD is only used for the ROI list).
    batch_size : int
        Windows per forward pass.
    device : str or torch.device, optional
        Default: the model's device.
    precision : {"auto", "bf16", "fp32"}
        "auto": bf16 autocast on GPUs, fp32 on CPUs.
    """
    from .datasets import WindowDataset

    ch_names, n_times = _model_inputs(model)
    dataset = WindowDataset([pair], ch_names=ch_names, n_times=n_times)
    device = resolve_device(device, model) if _is_torch_model(model) else None
    return _predict_dataset(model, dataset, 0, batch_size, device, precision)


def predict(model: Any, pairs: Sequence[Any] | Any, *, batch_size: int = 64, device: Any = None,
            precision: str = "auto", model_name: str | None = None,
            attrs: Mapping[str, Any] | None = None) -> xr.Dataset:
    """Predict whole scans and pair the predictions with the truth.

    Parameters
    ----------
    model : torch.nn.Module or RidgeBaseline
        A model of :mod:`unebolt_viz.models`, or any object with ``ch_names``, ``n_times`` and
        ``predict(windows) -> (n, n_rois)``.
    pairs : ScanPair or sequence of ScanPair
        The scans; they are concatenated along ``time`` in this order.
    batch_size : int
        Windows per forward pass.
    device : str or torch.device, optional
        Default: the model's device.
    precision : {"auto", "bf16", "fp32"}
        "auto": bf16 autocast on GPUs, fp32 on CPUs.
    model_name : str, optional
        Recorded in the ``model`` attribute (default: the model's ``name``).
    attrs : mapping, optional
        Extra attributes (experiment, split, checkpoint, ...).

    Returns
    -------
    xarray.Dataset
        A predictions container: ``true`` and ``pred`` on ``(time, roi)`` with the scans'
        ``time``, ``tr_index``, ``scan``, ``subject`` and the ROIs' ``network``, ``hemisphere``,
        ``x``, ``y``, ``z`` coordinates; ``data_source`` of the data.
    """
    from .datasets import WindowDataset

    pairs = [pairs] if hasattr(pairs, "bold") else list(pairs)
    if not pairs:
        raise InvalidDataError("No scans to predict.")
    sources = {p.data_source for p in pairs}
    if len(sources) > 1:
        raise InvalidDataError(f"The scans mix data sources {sorted(sources)}; predict them separately.")
    ch_names, n_times = _model_inputs(model)
    dataset = WindowDataset(pairs, ch_names=ch_names, n_times=n_times)
    n_outputs = getattr(model, "n_outputs", None)
    if n_outputs is not None and n_outputs != dataset.n_outputs:
        raise InvalidDataError(
            f"The model predicts {n_outputs} ROIs but the scans have {dataset.n_outputs}: use a "
            "model trained on the same atlas."
        )
    device = resolve_device(device, model) if _is_torch_model(model) else None
    pred = np.concatenate([_predict_dataset(model, dataset, k, batch_size, device, precision)
                           for k in range(len(pairs))])
    true = pairs[0].bold if len(pairs) == 1 else xr.concat(
        [p.bold for p in pairs], dim="time", combine_attrs="override")
    name = model_name or getattr(model, "name", None) or type(model).__name__
    return predictions(true, pred, model=str(name), attrs=attrs)
