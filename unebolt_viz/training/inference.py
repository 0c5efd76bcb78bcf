"""Whole scans in, predictions Dataset out: ``true`` and ``pred`` with every coordinate."""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from contextlib import nullcontext
from typing import Any

import numpy as np
import xarray as xr

from ..data.containers import InvalidDataError, predictions
from ..data.identity import UNKNOWN_ATLAS, atlas_record, check_same_atlas

__all__ = ["predict", "predict_scan", "record_training_rois", "resolve_device", "autocast_context",
           "effective_precision", "cpu_has_native_bf16", "data_atlas_record"]


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


def cpu_has_native_bf16() -> bool:
    """Whether this CPU has bf16 instructions (AMX-BF16 or AVX512-BF16).

    Only there does bf16 autocast pay on a CPU: on an AMX Xeon it halved the inference time of
    a paper-size UnEBOLT; without these instructions bf16 is emulated and slower than fp32.
    """
    import torch

    capabilities = getattr(torch.cpu, "get_capabilities", dict)()
    return bool(capabilities.get("amx_bf16") or capabilities.get("avx512_bf16"))


def effective_precision(device, precision: str = "auto") -> str:
    """The precision a forward pass runs in on ``device``: ``"bf16"`` or ``"fp32"``.

    ``"auto"`` is bf16 on GPUs that support it and fp32 on CPUs; ``"bf16"`` is honoured on
    GPUs and on CPUs with bf16 instructions (:func:`cpu_has_native_bf16`).

    Raises
    ------
    ValueError
        For an unknown ``precision``, or ``"bf16"`` on hardware without bf16 support.
    """
    import torch

    if precision not in ("auto", "bf16", "fp32"):
        raise ValueError(f"precision={precision!r}; use 'auto', 'bf16' or 'fp32'.")
    if precision == "fp32":
        return "fp32"
    if device.type == "cuda":
        if torch.cuda.is_bf16_supported():
            return "bf16"
        if precision == "bf16":
            raise ValueError("This GPU does not support bf16; use precision='fp32'.")
        return "fp32"
    if precision == "bf16" and not cpu_has_native_bf16():
        raise ValueError(
            "This CPU has no bf16 instructions (AMX-BF16 or AVX512-BF16), so bf16 would be "
            "emulated and slower than fp32; use precision='fp32' or 'auto'.")
    return "bf16" if precision == "bf16" else "fp32"


def autocast_context(device, precision: str = "auto"):
    """bf16 autocast where :func:`effective_precision` says bf16; nothing (fp32) otherwise.

    On GPUs ``"auto"`` means bf16; on CPUs it means fp32 (bit-for-bit the fp32 model), and
    ``"bf16"`` is an opt-in for CPUs with bf16 instructions.

    Raises
    ------
    ValueError
        As :func:`effective_precision`.
    """
    import torch

    if effective_precision(device, precision) == "fp32":
        return nullcontext()
    return torch.autocast(device.type, dtype=torch.bfloat16)


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
        "auto": bf16 autocast on GPUs, fp32 on CPUs. "bf16" on a CPU with bf16 instructions
        (AMX or AVX512-BF16) runs about twice as fast for a paper-size model, with predictions
        that differ from fp32 by rounding (see :func:`effective_precision`).
    """
    from .datasets import WindowDataset

    ch_names, n_times = _model_inputs(model)
    dataset = WindowDataset([pair], ch_names=ch_names, n_times=n_times)
    device = resolve_device(device, model) if _is_torch_model(model) else None
    return _predict_dataset(model, dataset, 0, batch_size, device, precision)


def _refuse_eeg_only(pairs: Any) -> None:
    """predict() pairs predictions with the truth; EEG alone has its own function."""
    kind = getattr(pairs, "attrs", {}).get("kind") if hasattr(pairs, "attrs") else None
    if kind == "eeg_windows" or isinstance(pairs, (str, np.ndarray)) or hasattr(pairs, "info"):
        raise TypeError(
            f"predict() takes ScanPairs (EEG windows with their BOLD) and got "
            f"{type(pairs).__name__}{f' ({kind})' if kind else ''}. To predict from EEG alone, "
            "use unebolt_viz.predict_eeg(eeg, model, tr=...) with a file path or an mne.io.Raw."
        )


def record_training_rois(model: Any, pairs: Sequence[Any]) -> None:
    """Record on ``model`` the ROIs, atlas and data source of its training scans.

    Sets ``roi_names`` (from ``pair.bold.roi``), ``atlas`` (the BOLD's ``atlas`` attribute,
    None when unknown) and ``training_data_source`` (``pair.data_source``); they are saved in
    the model's config. A warning says so when they replace different ROIs the model had.

    Parameters
    ----------
    model : torch.nn.Module or RidgeBaseline
        A model of :mod:`unebolt_viz.models`.
    pairs : sequence of ScanPair
        The training scans (all on the same ROIs, in the same order).
    """
    pairs = list(pairs)
    if not pairs:
        raise InvalidDataError("No training scans: pass at least one ScanPair.")
    bold = pairs[0].bold
    names = tuple(str(r) for r in bold.roi.values)
    atlas = bold.attrs.get("atlas")
    atlas = None if atlas in (None, UNKNOWN_ATLAS) else str(atlas)
    sources = sorted({str(p.data_source) for p in pairs})
    old = getattr(model, "roi_names", None)
    if old is not None and tuple(old) != names:
        was = atlas_record(getattr(model, "atlas", None), old)
        now = atlas_record(atlas, names)
        warnings.warn(
            f"{getattr(model, 'name', type(model).__name__)} was trained on atlas "
            f"{was['atlas']!r} ({was['n_rois']} ROIs, fingerprint {was['roi_fingerprint']}) and "
            f"is now trained on atlas {now['atlas']!r} ({now['n_rois']} ROIs, fingerprint "
            f"{now['roi_fingerprint']}); it now records the new ROIs.", stacklevel=3)
    model.roi_names = names
    model.atlas = atlas
    model.training_data_source = "+".join(sources)


def _model_name(model: Any) -> str:
    return str(getattr(model, "name", None) or type(model).__name__)


def _check_model_rois(model: Any, rois: Sequence[str], data_atlas: Any,
                      allow_atlas_mismatch: bool) -> dict[str, Any]:
    """Refuse scans of other ROIs than the model's; return what to record about the check."""
    data = atlas_record(data_atlas, rois)
    model_rois = getattr(model, "roi_names", None)
    n_outputs = getattr(model, "n_outputs", None)
    if n_outputs is not None and n_outputs != data["n_rois"] and not (
            model_rois is not None and allow_atlas_mismatch):
        raise InvalidDataError(
            f"The model predicts {n_outputs} ROIs but the scans have {data['n_rois']} (atlas "
            f"{data['atlas']!r}): use a model trained on the same atlas."
        )
    if model_rois is None:
        warnings.warn(
            f"The model {_model_name(model)!r} does not record which ROIs it predicts (it is "
            "untrained, or was saved before unebolt_viz recorded them), so only the ROI count "
            f"({data['n_rois']}) was "
            f"checked against the scans' atlas {data['atlas']!r}. Make sure it was trained on "
            "that atlas; retraining (or fitting) it records its ROIs.", stacklevel=3)
        return {"model_atlas": UNKNOWN_ATLAS, "model_roi_fingerprint": UNKNOWN_ATLAS}
    model_rec = atlas_record(getattr(model, "atlas", None), model_rois)
    record = {"model_atlas": model_rec["atlas"], "model_roi_fingerprint": model_rec["roi_fingerprint"]}
    if model_rec["roi_fingerprint"] == data["roi_fingerprint"]:
        return record
    if not allow_atlas_mismatch:
        check_same_atlas(model_rec, data, expected_rois=model_rois, found_rois=rois,
                         labels=(f"the model {_model_name(model)!r}", "the scans"),
                         override="allow_atlas_mismatch=True to predict()")
    if n_outputs is not None and n_outputs != data["n_rois"]:
        raise InvalidDataError(
            f"allow_atlas_mismatch=True cannot pair {n_outputs} model outputs with "
            f"{data['n_rois']} ROIs of the scans: use a model trained on the scans' atlas."
        )
    warnings.warn(
        f"Predicting scans of atlas {data['atlas']!r} ({data['n_rois']} ROIs, fingerprint "
        f"{data['roi_fingerprint']}) with a model trained on atlas {model_rec['atlas']!r} "
        f"(fingerprint {model_rec['roi_fingerprint']}) because allow_atlas_mismatch=True: "
        "output i is paired with the scans' ROI i.", stacklevel=3)
    return {**record, "atlas_mismatch_allowed": "true"}


def _embedded_atlas_of(rois: Sequence[str]) -> str | None:
    """``"embedded"`` when ``rois`` are exactly the embedded atlas's ROIs (names, in order)."""
    from ..atlases import ATLAS_SIZES, load_atlas

    if len(rois) not in ATLAS_SIZES:
        return None
    try:
        atlas = load_atlas("embedded", len(rois))
    except Exception:  # the embedded atlas cannot be built here: leave the atlas unknown
        return None
    return "embedded" if list(atlas.roi) == [str(r) for r in rois] else None


def data_atlas_record(rois: Sequence[str], declared: Any = None,
                      model: Any = None) -> dict[str, Any]:
    """What a predictions file records about its ROIs: ``atlas``, ``n_rois``, ``roi_fingerprint``.

    The atlas is the one the scans declare; else the model's, when the model was trained on
    exactly these ROIs; else ``"embedded"`` when the ROIs are the embedded atlas's; else
    ``"unknown"``. Recording it lets every viewer (the FC explorer's surface tab included)
    place the ROIs on the cortex.

    Parameters
    ----------
    rois : sequence of str
        The scans' ROI names, in order.
    declared : str, optional
        The atlas the scans declare (their BOLD's ``atlas`` attribute).
    model : object, optional
        The model that predicts (its ``atlas`` and ``roi_names`` when it records them).

    Returns
    -------
    dict
        ``{"atlas": str, "n_rois": int, "roi_fingerprint": str}``.
    """
    names = [str(r) for r in rois]
    name = None if declared in (None, "", UNKNOWN_ATLAS) else str(declared)
    model_rois = getattr(model, "roi_names", None)
    model_atlas = getattr(model, "atlas", None)
    if name is None and model_atlas not in (None, UNKNOWN_ATLAS) and model_rois is not None \
            and [str(r) for r in model_rois] == names:
        name = str(model_atlas)
    if name is None:
        name = _embedded_atlas_of(names)
    return atlas_record(name, names)


def predict(model: Any, pairs: Sequence[Any] | Any, *, batch_size: int = 64, device: Any = None,
            precision: str = "auto", model_name: str | None = None,
            attrs: Mapping[str, Any] | None = None,
            allow_atlas_mismatch: bool = False) -> xr.Dataset:
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
        "auto": bf16 autocast on GPUs, fp32 on CPUs. "bf16" on a CPU with bf16 instructions
        (AMX or AVX512-BF16) runs about twice as fast for a paper-size model, with predictions
        that differ from fp32 by rounding (see :func:`effective_precision`).
    model_name : str, optional
        Recorded in the ``model`` attribute (default: the model's ``name``).
    attrs : mapping, optional
        Extra attributes (experiment, split, checkpoint, ...).
    allow_atlas_mismatch : bool
        Predict even when the scans' ROIs (names, in order) differ from those the model was
        trained on; the mismatch is then recorded in the attributes and warned about.

    Returns
    -------
    xarray.Dataset
        A predictions container: ``true`` and ``pred`` on ``(time, roi)`` with the scans'
        ``time``, ``tr_index``, ``scan``, ``subject`` and the ROIs' ``network``, ``hemisphere``,
        ``x``, ``y``, ``z`` coordinates; ``data_source``, ``atlas``, ``n_rois`` and
        ``roi_fingerprint`` of the data (see :func:`data_atlas_record`); ``model_data_source``,
        ``model_atlas`` and ``model_roi_fingerprint`` of the model's training data
        (``"unknown"`` for models that do not record them); for torch models, the
        ``precision`` the forward passes ran in (``"fp32"`` or ``"bf16"``).

    Raises
    ------
    AtlasMismatchError
        If the model records ROIs other than the scans' (both atlases are named), unless
        ``allow_atlas_mismatch=True``. A model that records no ROIs is checked on the ROI
        count only, with a warning.
    """
    from .datasets import WindowDataset

    _refuse_eeg_only(pairs)
    pairs = [pairs] if hasattr(pairs, "bold") else list(pairs)
    if not pairs:
        raise InvalidDataError("No scans to predict.")
    sources = {p.data_source for p in pairs}
    if len(sources) > 1:
        raise InvalidDataError(f"The scans mix data sources {sorted(sources)}; predict them separately.")
    ch_names, n_times = _model_inputs(model)
    dataset = WindowDataset(pairs, ch_names=ch_names, n_times=n_times)
    checked = _check_model_rois(model, dataset.rois, pairs[0].bold.attrs.get("atlas"),
                                allow_atlas_mismatch)
    source = getattr(model, "training_data_source", None)
    record = {**checked, "model_data_source": UNKNOWN_ATLAS if source is None else str(source)}
    device = resolve_device(device, model) if _is_torch_model(model) else None
    if device is not None:
        record["precision"] = effective_precision(device, precision)
    pred = np.concatenate([_predict_dataset(model, dataset, k, batch_size, device, precision)
                           for k in range(len(pairs))])
    true = pairs[0].bold if len(pairs) == 1 else xr.concat(
        [p.bold for p in pairs], dim="time", combine_attrs="override")
    name = model_name or getattr(model, "name", None) or type(model).__name__
    identity = data_atlas_record(dataset.rois, pairs[0].bold.attrs.get("atlas"), model)
    extra = dict(attrs or {})
    if extra.get("atlas") in (None, "", UNKNOWN_ATLAS):
        extra["atlas"] = identity["atlas"]
    return predictions(true, pred, model=str(name),
                       attrs={**record, "n_rois": identity["n_rois"], **extra})
