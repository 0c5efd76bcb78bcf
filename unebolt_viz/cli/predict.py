"""``unebolt-viz predict``: predict whole scans (with their BOLD), or an EEG recording alone."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from ._data import load_pairs, scan_list, training_highpass
from ._errors import CLIError, check_device, check_output, cli_spelling

__all__ = ["cmd_predict", "parse_rescale"]

#: Options that only apply to ``--eeg``, with their defaults.
_EEG_ONLY = {"tr": None, "trigger": None, "first_volume": None, "missing": "error",
             "allow_upsampling": False, "rescale": None, "data_source": "real"}


def _shipped(name: str) -> bool:
    from ..models.pretrained import pretrained

    return any(entry["name"] == name for entry in pretrained())


def _model_base(text: str) -> Path:
    """The base path of a saved model given as ``--model`` (with or without suffix)."""
    path = Path(text)
    return path.with_suffix("") if path.suffix in (".json", ".safetensors") else path


def _check_model(text: str, names_shipped: bool = False) -> None:
    """Refuse a ``--model`` that is neither a shipped model nor a saved one."""
    base = _model_base(text)
    if _shipped(text) or base.with_name(base.name + ".json").exists():
        return
    message = (f"--model {text}: no {base.name}.json beside it (save_model writes <path>.json "
               "and <path>.safetensors; pass the path without suffix)")
    if names_shipped:
        from ..models.pretrained import pretrained

        names = ", ".join(entry["name"] for entry in pretrained())
        message += f", and no shipped model has that name ({names})"
    raise CLIError(message + ".")


def _model(text: str) -> tuple[Any, str]:
    """The model of ``--model`` (a shipped name or a saved model's path) and its label."""
    from ..models import load_model, load_pretrained

    _check_model(text)
    if _shipped(text):
        return load_pretrained(text), text
    base = _model_base(text)
    return load_model(base, map_location="cpu"), str(base)


def parse_rescale(text: str | None) -> float | dict[str, float] | None:
    """``--rescale``: one factor (``1e-6``) or per-channel factors (``Fp1=1e-6,Fp2=1e-6``)."""
    if text is None:
        return None
    try:
        if "=" not in text:
            value: float | dict[str, float] = float(text)
        else:
            pairs = [item.split("=") for item in text.split(",") if item.strip()]
            value = {name.strip(): float(factor) for name, factor in pairs}
    except ValueError:
        value = 0.0
    if not value or (isinstance(value, float) and value <= 0) or (
            isinstance(value, dict) and any(v <= 0 for v in value.values())):
        raise CLIError(f"--rescale {text!r}: give a positive factor (e.g. 1e-6 for microvolts "
                       "declared as volts) or CH=X,CH=X for some channels (e.g. Fp1=1e-6).")
    return value


def _predict_eeg(args: argparse.Namespace) -> int:
    """``predict --eeg``: BOLD and FC predicted from an EEG recording alone."""
    from ..training.eeg_only import predict_eeg

    if args.simulated or args.data:
        raise CLIError("--eeg predicts from an EEG recording alone; it cannot be combined with "
                       "--simulated or --data (drop one of them).")
    if not args.eeg.is_file():
        raise CLIError(f"--eeg {args.eeg}: no such file; give an EEG recording (.edf, .bdf, "
                       ".vhdr, .set, .fif, ...).")
    check_output(args.out, "--out")
    check_device(args.device)
    rescale = parse_rescale(args.rescale)
    _check_model(args.model, names_shipped=True)
    label = args.model if _shipped(args.model) else str(_model_base(args.model))
    try:
        result = predict_eeg(
            args.eeg, label, tr=args.tr, trigger=args.trigger, first_volume=args.first_volume,
            missing="raise" if args.missing == "error" else args.missing,
            allow_upsampling=args.allow_upsampling, rescale=rescale,
            data_source=args.data_source, batch_size=args.batch_size,
            device=None if args.device == "auto" else args.device, precision=args.precision)
    except (ValueError, FileNotFoundError) as err:
        raise CLIError(cli_spelling(str(err))) from None
    result.save(args.out)
    pred = result.prediction
    print(f"Predicted {pred.sizes['time']} frames x {pred.sizes['roi']} ROIs from "
          f"{args.eeg} ({result.data_source} EEG) with {label}, a model trained on "
          f"{result.model_data_source} data -> {args.out}")
    return 0


def _eeg_options_without_eeg(args: argparse.Namespace) -> list[str]:
    return ["--" + name.replace("_", "-") for name, default in _EEG_ONLY.items()
            if getattr(args, name) != default]


def _declared_atlas(args: argparse.Namespace, pairs: list) -> dict[str, str]:
    """The atlas the data folder declares (``atlas-<name><P>_rois.tsv``), when the scans don't.

    ``predict`` records it in the results file (with the ROI count and fingerprint), so that
    every viewer can place the ROIs on the cortex.
    """
    from ..data.identity import UNKNOWN_ATLAS

    if not pairs or pairs[0].bold.attrs.get("atlas") not in (None, "", UNKNOWN_ATLAS):
        return {}
    if not getattr(args, "data", None):
        return {}
    labels = {p.name[len("atlas-"):-len("_rois.tsv")]
              for p in args.data.glob("atlas-*_rois.tsv")}
    if len(labels) != 1:
        return {}
    name = labels.pop().rstrip("0123456789")
    return {"atlas": name} if name else {}


def _match_training_highpass(args: argparse.Namespace, run_dir: Path) -> None:
    """Filter the EEG as the model's training run did (its ``preprocessing.json``)."""
    trained = training_highpass(run_dir)
    if trained is None or args.data is None:
        return
    if args.highpass is None:
        args.highpass = trained
        if trained:
            print(f"EEG high-passed at {trained:g} Hz, as in the model's training run "
                  f"({run_dir / 'preprocessing.json'}).")
    elif float(args.highpass) != trained:
        print(f"Warning: --highpass {args.highpass:g} differs from the {trained:g} Hz the model "
              f"was trained with ({run_dir / 'preprocessing.json'}); predictions on EEG filtered "
              "differently are usually worse. Drop --highpass to use the training value.",
              file=sys.stderr)


def cmd_predict(args: argparse.Namespace) -> int:
    """Run ``predict``; return the exit status."""
    if args.eeg is not None:
        return _predict_eeg(args)
    stray = _eeg_options_without_eeg(args)
    if stray:
        raise CLIError(f"{', '.join(stray)}: for --eeg FILE only (predicting from an EEG "
                       f"recording alone); drop {'it' if len(stray) == 1 else 'them'}, or give "
                       "--eeg.")
    from ..data.netcdf import save
    from ..training.inference import predict

    _check_model(args.model)
    base = _model_base(args.model)
    check_output(args.out, "--out")
    check_device(args.device)
    scans = scan_list(args.scans)
    if scans is not None and len(scans) == 1 and scans[0] in ("train", "val", "test"):
        import pandas as pd

        split_csv = base.parent / "split.csv"
        if not split_csv.exists():
            raise CLIError(f"--scans {scans[0]} reads {split_csv}, which does not exist.")
        table = pd.read_csv(split_csv)
        scans = list(table.loc[table["split"] == scans[0], "scan"])
    if not _shipped(args.model):
        _match_training_highpass(args, base.parent)
    pairs, _ = load_pairs(args, scans)
    model, label = _model(args.model)
    device = None
    if hasattr(model, "parameters"):
        from ..training.inference import effective_precision, resolve_device

        device = resolve_device(None if args.device == "auto" else args.device)
        try:
            effective_precision(device, args.precision)
        except ValueError as err:
            raise CLIError(cli_spelling(f"--precision {args.precision}: {err}")) from None
        model = model.to(device)
    pred = predict(model, pairs, batch_size=args.batch_size, device=device,
                   precision=args.precision,
                   attrs={"checkpoint": label, **_declared_atlas(args, pairs)})
    save(pred, args.out)
    print(f"Predicted {len(pairs)} scans ({pred.attrs['data_source']} data, atlas "
          f"{pred.attrs['atlas']!r}, {pred.attrs['n_rois']} ROIs) -> {args.out}")
    return 0
