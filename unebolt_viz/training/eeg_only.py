"""Predict BOLD and FC from an EEG recording alone (no fMRI), with a trained or shipped model.

:func:`predict_eeg` reads a recording in any format MNE reads, prepares it as the models were
trained (the model's channels matched by name, 200 Hz, 16-s windows before each fMRI volume or
every TR), predicts one frame of every ROI per window and returns them as a labelled
``roi_timeseries`` container, with the FC it implies and the ingestion report. Both containers
say where the EEG comes from (``data_source``) and what the model was trained on
(``model_data_source``): a model trained on simulated data says nothing reliable about real
brains.

>>> import unebolt_viz as uv  # doctest: +SKIP
>>> result = uv.predict_eeg("rec.edf", "unebolt-embedded-p64", tr=2.1,
...                         allow_upsampling=True, missing="interpolate")  # doctest: +SKIP
>>> result.save("pred.nc")  # doctest: +SKIP
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import xarray as xr

from ..conventions import SFREQ, WINDOW_SECONDS, canonical_channel_name
from ..data.containers import DATA_SOURCES, roi_timeseries, validate
from ..data.identity import UNKNOWN_ATLAS, atlas_name, atlas_record, check_same_atlas

if TYPE_CHECKING:  # pragma: no cover
    import mne

    from ..atlases import Atlas
    from ..io.eeg import EEGReport

__all__ = ["EEGPrediction", "predict_eeg", "resolve_model"]

#: Name of the predicted BOLD in the containers and in saved files.
PREDICTION_NAME = "bold_predicted"
#: Volume trigger used when neither ``trigger`` nor ``tr`` is given (the paper's BrainAmp marker).
DEFAULT_TRIGGER = "R149"
_NO_TRUTH = "BOLD predicted from EEG alone: no fMRI was recorded, so there is no ground truth"


@dataclass
class EEGPrediction:
    """BOLD predicted from EEG alone, its FC and what was done to the recording.

    Attributes
    ----------
    prediction : xarray.DataArray
        ``roi_timeseries`` container ``(time, roi)``: one predicted frame per window (fMRI
        volume or TR), ``time`` in seconds since the start of the recording, ROI coordinates
        (``network``, ``hemisphere``, ``x``, ``y``, ``z``) from the model's atlas. Attributes
        ``data_source`` (the EEG's), ``model_data_source`` (the model's training data),
        ``model``, ``model_atlas`` and the ingestion report (``source_file``, channels
        interpolated, ...).
    fc : xarray.DataArray
        ``fc`` container: Pearson FC of the prediction, with the same labels.
    report : EEGReport
        What the ingestion found, renamed, interpolated and dropped.
    """

    prediction: xr.DataArray
    fc: xr.DataArray
    report: EEGReport

    @property
    def data_source(self) -> str:
        """Where the EEG comes from: ``"real"``, ``"simulated"`` or ``"semi-synthetic"``."""
        return str(self.prediction.attrs["data_source"])

    @property
    def model_data_source(self) -> str:
        """What the model was trained on (``"unknown"`` when it does not say)."""
        return str(self.prediction.attrs["model_data_source"])

    def __repr__(self) -> str:
        n_t, n_roi = self.prediction.shape
        return (f"<EEGPrediction of {self.report.source}: {n_t} frames x {n_roi} ROIs "
                f"(atlas {self.prediction.attrs['atlas']!r}); EEG data_source="
                f"{self.data_source!r}, model {self.prediction.attrs['model']!r} trained on "
                f"{self.model_data_source} data>")

    def to_dataset(self) -> xr.Dataset:
        """The prediction (``bold_predicted``) and its FC (``fc``) in one Dataset."""
        ds = xr.Dataset({PREDICTION_NAME: self.prediction, "fc": self.fc})
        keep = ("data_source", "model_data_source", "model", "model_atlas", "atlas",
                "roi_fingerprint", "source_file", "description")
        ds.attrs = {k: self.prediction.attrs[k] for k in keep if k in self.prediction.attrs}
        return ds

    def save(self, path: str | os.PathLike) -> Path:
        """Write the prediction and its FC to one netCDF file, atomically.

        ``unebolt_viz.load(path)`` gives a Dataset with the variables ``bold_predicted`` (a
        ``roi_timeseries``) and ``fc`` (an ``fc`` container), each with its attributes.

        Parameters
        ----------
        path : path-like
            Destination (``.nc``); written to a temporary file, then renamed.

        Returns
        -------
        pathlib.Path
        """
        from ..data.netcdf import save

        validate(self.prediction)
        validate(self.fc)
        return save(self.to_dataset(), path)


def _shipped_entry(name: str) -> dict[str, Any] | None:
    from ..models.pretrained import pretrained

    return next((e for e in pretrained() if e["name"] == name), None)


def resolve_model(model: Any) -> tuple[Any, dict[str, Any] | None, str]:
    """The model object, its shipped-model registry entry (or None) and a label for it.

    Parameters
    ----------
    model : model object, path or str
        A model of :mod:`unebolt_viz.models` (or a ``RidgeBaseline``), the base path of a saved
        model (``<path>.json`` + ``<path>.safetensors``), or the name of a shipped model
        (:func:`unebolt_viz.pretrained`).

    Raises
    ------
    FileNotFoundError
        For a string that is neither a shipped model's name nor a saved model; the message
        lists the shipped names.
    """
    if not isinstance(model, (str, os.PathLike)):
        return model, None, str(getattr(model, "name", None) or type(model).__name__)
    from ..models import load_model, load_pretrained, pretrained

    text = os.fspath(model)
    entry = _shipped_entry(text)
    if entry is not None:
        return load_pretrained(text), entry, text
    path = Path(text)
    base = path.with_suffix("") if path.suffix in (".json", ".safetensors") else path
    if base.with_name(base.name + ".json").is_file():
        return load_model(base, map_location="cpu"), None, str(base)
    names = ", ".join(e["name"] for e in pretrained())
    raise FileNotFoundError(
        f"model {text!r} is neither a shipped model nor a saved model ({base}.json does not "
        f"exist). Give the name of a shipped model ({names}) or the base path of a model saved "
        "with unebolt_viz.save_model (without the .json/.safetensors suffix)."
    )


def _load_named_atlas(name: str, n_rois: int) -> Atlas:
    from ..atlases import load_atlas

    return load_atlas(name, n_rois)


def _atlas_for_model(model: Any, entry: dict[str, Any] | None, atlas: Any,
                     label: str) -> Atlas | dict[str, Any]:
    """The ROI description of the model's outputs (an Atlas, or a mapping as a last resort).

    Order: the ROIs the model records (checked against ``atlas`` or the atlas it names), the
    atlas of its shipped-model entry, the ``atlas`` argument, else placeholder names with a
    warning.
    """
    n_out = int(getattr(model, "n_outputs", 0) or 0)
    if isinstance(atlas, str):
        atlas = _load_named_atlas(atlas, n_out)
    recorded = getattr(model, "roi_names", None)
    if recorded is not None:
        names = [str(r) for r in recorded]
        model_atlas = getattr(model, "atlas", None)
        if atlas is None and model_atlas not in (None, UNKNOWN_ATLAS):
            atlas = _load_named_atlas(model_atlas, len(names))
        if atlas is None:
            raise ValueError(
                f"The model {label!r} records its {len(names)} ROIs but not their atlas, so "
                "their networks and positions are unknown: pass atlas=<the atlas it was trained "
                "on> (e.g. unebolt_viz.load_atlas('embedded', 64)).")
        check_same_atlas(atlas_record(model_atlas, names), atlas_record(atlas, atlas.roi),
                         expected_rois=names, found_rois=list(atlas.roi),
                         labels=(f"the model {label!r}", "the atlas you passed"),
                         override="the atlas the model was trained on as atlas=")
        return atlas
    if entry is not None and atlas is None:
        return _load_named_atlas(entry["atlas"], int(entry["n_rois"]))
    if atlas is not None:
        if atlas.n_rois != n_out:
            raise ValueError(f"atlas {atlas_name(atlas)!r} has {atlas.n_rois} ROIs but the "
                             f"model {label!r} predicts {n_out}: pass the atlas it was trained on.")
        return atlas
    warnings.warn(
        f"The model {label!r} records neither its ROIs nor its atlas (saved before unebolt_viz "
        f"recorded them), so its {n_out} outputs are named output_000... with no network. Pass "
        "atlas=<the atlas it was trained on> (e.g. unebolt_viz.load_atlas('embedded', 64)) to "
        "name them.", stacklevel=3)
    return {"roi": [f"output_{i:03d}" for i in range(n_out)], "network": ["No network"] * n_out}


def _check_arguments(data_source: str, missing: str, batch_size: int, tr: float | None,
                     first_volume: float | None) -> None:
    if data_source not in DATA_SOURCES:
        raise ValueError(f"data_source={data_source!r}; say what the EEG is with one of "
                         f"{DATA_SOURCES}.")
    if missing not in ("raise", "interpolate"):
        raise ValueError(f"missing={missing!r}; use 'raise' or 'interpolate'.")
    if int(batch_size) < 1:
        raise ValueError(f"batch_size={batch_size}; use a positive number of windows.")
    if tr is not None and not tr > 0:
        raise ValueError(f"tr={tr}; give the seconds between fMRI volumes (> 0), e.g. tr=2.1.")
    if first_volume is not None and first_volume < 0:
        raise ValueError(f"first_volume={first_volume}; give seconds from the start (>= 0).")


def _read(eeg: Any, channels: Mapping[str, str] | None) -> mne.io.BaseRaw:
    """The recording as an MNE Raw (read from a file, or a copy of the given Raw), renamed."""
    from ..io.eeg import read_eeg

    if isinstance(eeg, (str, os.PathLike)):
        raw = read_eeg(eeg)
    elif hasattr(eeg, "info") and hasattr(eeg, "annotations"):
        raw = eeg.copy()
    else:
        raise TypeError(f"eeg is a {type(eeg).__name__}; pass the path of an EEG file (any "
                        "format MNE reads) or an mne.io.Raw.")
    if channels:
        unknown = [k for k in channels if k not in raw.ch_names]
        if unknown:
            raise ValueError(f"channels renames {unknown}, which are not channels of the "
                             f"recording ({', '.join(raw.ch_names)}).")
        raw.rename_channels(dict(channels), verbose="error")
    return raw


def _check_rate_and_channels(raw: mne.io.BaseRaw, ch_names: Any, sfreq: float,
                             allow_upsampling: bool, missing: str) -> None:
    """Name both fixes at once when the rate is too low AND model channels are absent.

    :func:`~unebolt_viz.io.prepare_eeg` stops at the first problem; a recording from another
    lab often has both, and a user should not have to fail twice.
    """
    from ..io.eeg import EEGFileError
    from ..io.eeg import _source as source_of

    rate = float(raw.info["sfreq"])
    if allow_upsampling or rate >= sfreq or missing == "interpolate":
        return
    have = {canonical_channel_name(c) for c, t in zip(raw.ch_names, raw.get_channel_types())
            if t == "eeg"}
    absent = [c for c in ch_names if canonical_channel_name(c) not in have]
    if not absent:
        return
    raise EEGFileError(
        f"{source_of(raw)}: sampled at {rate:g} Hz, below the {sfreq:g} Hz the models were "
        f"trained at (upsampling cannot recreate the band above {rate / 2:g} Hz), and missing "
        f"{len(absent)} of the {len(ch_names)} channels the model reads: {', '.join(absent)}. "
        "To predict anyway, pass allow_upsampling=True to accept the missing band and "
        "missing='interpolate' to rebuild the missing channels by spherical-spline "
        "interpolation from the standard 10-05 positions; or use a recording sampled at "
        f">= {sfreq:g} Hz with those channels."
    )


def _scan_name(report: EEGReport) -> str:
    if report.source.startswith("<"):
        return "eeg"
    name = Path(report.source).name
    return name.split(".")[0] or "eeg"


def _predict_frames(model: Any, windows: np.ndarray, batch_size: int, device: Any,
                    precision: str = "auto") -> np.ndarray:
    """One predicted frame per window, ``(n_windows, n_outputs)``, as the models are trained."""
    from ..preprocessing import demean_windows
    from .inference import _is_torch_model, autocast_context, resolve_device

    n = windows.shape[0]
    if not _is_torch_model(model):
        if not hasattr(model, "predict"):
            raise TypeError(f"{type(model).__name__} is neither a torch model nor has predict().")
        out = [np.asarray(model.predict(demean_windows(windows[a:a + batch_size])))
               for a in range(0, n, batch_size)]
        return np.concatenate(out).astype(np.float64)
    import torch

    device = resolve_device(device, model)
    was_training = model.training
    model.to(device).eval()
    out = []
    try:
        with torch.no_grad(), autocast_context(device, precision):
            for a in range(0, n, batch_size):
                x = torch.from_numpy(demean_windows(windows[a:a + batch_size])).to(device)
                out.append(model(x).float().cpu().numpy())
    finally:
        model.train(was_training)
    return np.concatenate(out).astype(np.float64)


def _check_model_and_precision(model: Any, device: Any, precision: str) -> str | None:
    """The precision a torch model will run in (None for other models); raises if unusable.

    Also refuses a model that does not name the channels it reads.
    """
    from .inference import _is_torch_model, effective_precision, resolve_device

    if getattr(model, "ch_names", None) is None:
        raise TypeError(f"{type(model).__name__} does not say which channels it reads (no "
                        "ch_names): use a model of unebolt_viz.models or a RidgeBaseline.")
    if not _is_torch_model(model):
        return None
    return effective_precision(resolve_device(device, model), precision)


def _labels(model: Any, entry: dict[str, Any] | None, label: str, rois: Any,
            precision: str | None = None) -> dict[str, str]:
    """The model's name, atlas, training data source and (torch models) the precision it ran
    in, for the containers' attributes."""
    source = getattr(model, "training_data_source", None)
    if source is None and entry is not None:
        source = entry.get("data_source")
    labels = {"model": label, "model_architecture": str(getattr(model, "name", "unknown")),
              "model_atlas": atlas_name(getattr(rois, "name", None)),
              "model_data_source": UNKNOWN_ATLAS if source is None else str(source)}
    return labels if precision is None else {**labels, "precision": precision}


def predict_eeg(
    eeg: str | os.PathLike | mne.io.BaseRaw,
    model: Any,
    *,
    tr: float | None = None,
    trigger: str | None = None,
    first_volume: float | None = None,
    missing: str = "raise",
    allow_upsampling: bool = False,
    rescale: float | Mapping[str, float] | None = None,
    channels: Mapping[str, str] | None = None,
    atlas: Atlas | str | None = None,
    data_source: str | None = None,
    batch_size: int = 64,
    device: Any = None,
    precision: str = "auto",
) -> EEGPrediction:
    """Predict whole-brain BOLD and FC from an EEG recording alone.

    Parameters
    ----------
    eeg : path-like or mne.io.Raw
        The recording: any format :func:`unebolt_viz.io.read_eeg` reads (EDF, BDF,
        BrainVision ``.vhdr``, EEGLAB, FIF, ...), or an MNE Raw (left untouched).
    model : model, path or str
        A model object, the base path of a saved model, or a shipped model's name (e.g.
        ``"unebolt-embedded-p64"``, see :func:`unebolt_viz.pretrained`).
    tr : float, optional
        Seconds between fMRI volumes. Without ``trigger``, one window ends every ``tr`` seconds
        from ``first_volume`` (no triggers needed); with ``trigger``, it only labels the time
        axis (default: the median interval between triggers).
    trigger : str, optional
        Annotation marking each fMRI volume (e.g. ``"R149"``). Default: a TR grid when ``tr``
        is given, else the paper's ``"R149"`` marker.
    first_volume : float, optional
        Time (s) of the first volume of the TR grid; default 16, the first time a full window
        exists.
    missing : {"raise", "interpolate"}
        Model channels absent from the recording (or flat, or marked bad): raise an error that
        lists them, or rebuild them by spherical-spline interpolation (recorded in the report).
    allow_upsampling : bool
        Accept recordings sampled below 200 Hz (their band above half their rate stays empty,
        unlike the training data).
    rescale : float or mapping, optional
        Factor for the file's values (``1e-6`` for microvolts declared as volts), or a mapping
        channel -> factor for some channels only.
    channels : mapping of str to str, optional
        Renames for channels whose names are not recognised (e.g. ``{"E36": "C3"}``); other
        labs' conventions (``"Fc5."``, ``"EEG Fp1-REF"``, T3) are matched without it.
    atlas : Atlas or str, optional
        The atlas the model was trained on, for models that record neither their ROIs nor a
        shipped-model entry (otherwise it must agree with them).
    data_source : {"real", "simulated", "semi-synthetic"}, optional
        What the EEG is (default ``"real"``).
    batch_size : int
        Windows per forward pass.
    device : str or torch.device, optional
        For torch models (default: CUDA when available, else CPU).
    precision : {"auto", "bf16", "fp32"}
        As in :func:`~unebolt_viz.training.inference.predict`; recorded as ``precision``.

    Returns
    -------
    EEGPrediction
        ``prediction`` (``roi_timeseries``), ``fc`` and ``report``; ``.save(path)`` writes them.

    Raises
    ------
    EEGFileError
        When the recording cannot be used as it is (missing channels, rate below 200 Hz, no
        trigger, implausible amplitudes, ...); the message names the file and the fix.
    AtlasMismatchError
        If ``atlas`` is not the atlas the model records.
    """
    from ..io.eeg import eeg_windows_from_raw, prepare_eeg

    data_source = "real" if data_source is None else data_source
    _check_arguments(data_source, missing, batch_size, tr, first_volume)
    model, entry, label = resolve_model(model)
    ran_in = _check_model_and_precision(model, device, precision)  # before reading the file
    rois = _atlas_for_model(model, entry, atlas, label)
    sfreq = float(getattr(model, "sfreq", SFREQ))
    raw = _read(eeg, channels)
    _check_rate_and_channels(raw, model.ch_names, sfreq, allow_upsampling, missing)
    raw, report = prepare_eeg(raw, model.ch_names, sfreq=sfreq, missing=missing,
                              rescale=1.0 if rescale is None else rescale,
                              allow_upsampling=allow_upsampling, copy=False)
    if trigger is None and tr is None:
        trigger = DEFAULT_TRIGGER
    scan = _scan_name(report)
    windows = eeg_windows_from_raw(raw, trigger=trigger, tr=None if trigger else tr,
                                   first_volume=first_volume, window=WINDOW_SECONDS, scan=scan,
                                   subject=scan, data_source=data_source, report=report)
    n_times = int(getattr(model, "n_times", windows.sizes["time"]))
    frames = _predict_frames(model, windows.values[:, :, :n_times], int(batch_size), device,
                             precision)
    return _wrap(frames, windows, rois, _labels(model, entry, label, rois, ran_in), report,
                 tr=tr, trigger=trigger)


def _wrap(frames: np.ndarray, windows: xr.DataArray, rois: Any, labels: dict[str, str],
          report: EEGReport, *, tr: float | None, trigger: str | None) -> EEGPrediction:
    """The predicted frames as labelled containers: one per window, at the volume times."""
    data_source = windows.attrs["data_source"]
    scan = str(windows.scan.values[0])
    step = tr if tr is not None else float(windows.attrs["volume_interval"]) or WINDOW_SECONDS
    attrs = {**report.as_attrs(), **labels, "trigger": trigger or "", "tr_grid": "" if trigger
             else f"every {tr:g} s from {windows.onset.values[0]:g} s",
             "description": f"{_NO_TRUTH}; predicted by {labels['model']}, trained on "
                            f"{labels['model_data_source']} data, from {data_source} EEG"}
    prediction = roi_timeseries(frames, rois, step, scan=scan, subject=scan,
                                tr_index=windows.tr_index.values, time=windows.onset.values,
                                data_source=data_source, name=PREDICTION_NAME, attrs=attrs)
    fc = prediction.unebolt.fc()
    fc.attrs.update({**labels, "source_file": report.source,
                     "description": f"Pearson FC of the {attrs['description']}"})
    return EEGPrediction(prediction=prediction, fc=fc, report=report)
