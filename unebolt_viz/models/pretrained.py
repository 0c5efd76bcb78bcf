"""The models shipped inside unebolt_viz: list them, read their model cards, load them verified.

Each shipped model has weights (``<stem>.safetensors``), its config (``<stem>.json``), a
training record (``<stem>.training.json``: command, seeds, data, split, history, test metrics)
and a model card (``<stem>.card.md``). The index ``pretrained.json`` names them and records the
sha256 of every file, so :func:`load_pretrained` refuses a file that changed since it was
written. Listing needs no PyTorch; loading a torch model imports it.

>>> import unebolt_viz as uv  # doctest: +SKIP
>>> [m["name"] for m in uv.pretrained()]  # doctest: +SKIP
['unebolt-embedded-p64', 'ridge-embedded-p64', ...]
>>> model = uv.load_pretrained("ridge-embedded-p64")  # doctest: +SKIP
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

__all__ = ["PRETRAINED_DIR", "PretrainedModelError", "load_pretrained", "model_card",
           "pretrained", "shipped_predictions"]

#: Where the shipped models live (inside the installed package).
PRETRAINED_DIR = Path(__file__).resolve().parents[1] / "resources" / "embedded"
INDEX_NAME = "pretrained.json"


class PretrainedModelError(ValueError):
    """A shipped model is unknown, missing or not the file its index recorded."""


def _index(directory: Path) -> list[dict[str, Any]]:
    path = directory / INDEX_NAME
    try:
        payload = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as err:
        raise PretrainedModelError(
            f"{path} is missing: this installation ships no model index. Reinstall unebolt_viz."
        ) from err
    except json.JSONDecodeError as err:
        raise PretrainedModelError(f"{path} is not valid JSON ({err}); reinstall unebolt_viz.") \
            from err
    return list(payload["models"])


def pretrained(directory: str | Path | None = None) -> list[dict[str, Any]]:
    """The shipped models, one dict each.

    Parameters
    ----------
    directory : path, optional
        Folder of an index and its models (default: the models shipped with the package).

    Returns
    -------
    list of dict
        Keys: ``name`` (what :func:`load_pretrained` takes), ``model`` (a readable label),
        ``architecture``, ``preset``, ``atlas``, ``n_rois``, ``data_source`` (of the training
        data: simulated, semi-synthetic or real), ``training_data``, ``split`` (``train`` lists
        every scan trained on, ``extra_train`` those among them added outside the cohort's
        split), ``seeds``, ``command``, ``test_metrics`` (mean over the test scans), ``files`` (name -> sha256),
        ``weights``, ``card``.
    """
    return _index(Path(directory) if directory is not None else PRETRAINED_DIR)


def _entry(name: str, directory: Path) -> dict[str, Any]:
    entries = _index(directory)
    for entry in entries:
        if entry["name"] == name:
            return entry
    names = ", ".join(e["name"] for e in entries)
    raise PretrainedModelError(f"No shipped model is named {name!r}. Shipped models: {names}.")


def model_card(name: str, directory: str | Path | None = None) -> str:
    """The model card of a shipped model, as markdown (what it is, data, split, metrics)."""
    directory = Path(directory) if directory is not None else PRETRAINED_DIR
    return (directory / _entry(name, directory)["card"]).read_text(encoding="utf-8")


def _verify(directory: Path, entry: dict[str, Any]) -> None:
    for file_name, expected in entry["files"].items():
        path = directory / file_name
        if not path.is_file():
            raise PretrainedModelError(
                f"{path} is missing for the shipped model {entry['name']!r}; reinstall unebolt_viz."
            )
        actual = hashlib.sha256(path.read_bytes()).hexdigest()
        if actual != expected:
            raise PretrainedModelError(
                f"{path} has sha256 {actual}, but the index recorded {expected} for "
                f"{entry['name']!r}: the file changed since it was shipped. Reinstall "
                "unebolt_viz (or re-make the file with the script that trained it)."
            )


def load_pretrained(name: str, *, directory: str | Path | None = None,
                    map_location: str = "cpu") -> Any:
    """Load a shipped model by name, after checking every file against its recorded sha256.

    Parameters
    ----------
    name : str
        A name from :func:`pretrained`, e.g. ``"unebolt-embedded-p64"``.
    directory : path, optional
        Folder of an index and its models (default: the models shipped with the package).
    map_location : str
        Device for torch weights.

    Returns
    -------
    torch.nn.Module or RidgeBaseline
        Ready to predict (torch models in eval mode).

    Raises
    ------
    PretrainedModelError
        For an unknown name (the message lists the shipped ones), a missing file, or a file
        whose sha256 differs from the index.
    """
    from .io import load_model

    directory = Path(directory) if directory is not None else PRETRAINED_DIR
    entry = _entry(name, directory)
    _verify(directory, entry)
    return load_model(directory / entry["weights"], map_location=map_location)


def _real_targets(pred, data_dir: str | Path | None):
    """The true BOLD targets of a pred-only file, rebuilt from the real recordings."""
    import numpy as np

    from ..datasets.neurobolt import load_neurobolt_rest
    from ..preprocessing import bold_targets

    scans = list(dict.fromkeys(str(s) for s in pred["scan"].values))
    try:
        bold = load_neurobolt_rest(data_dir, scans=scans)
    except FileNotFoundError as err:
        raise PretrainedModelError(
            f"The predictions of {pred.attrs.get('model', 'this model')} come without their true "
            "BOLD (the real recordings are not redistributed with the package). Pass "
            "data_dir=... (the folder holding 'neurobolt_rest_difumo64/' and 'difumo_labels/') "
            f"or set UNEBOLT_VIZ_SHARED_DATA. ({err})") from err
    true = np.empty(pred["pred"].shape, dtype=np.float32)
    for scan in scans:
        rows = np.flatnonzero(pred["scan"].values == scan)
        target = bold_targets(bold[scan])
        if [str(r) for r in target.roi.values] != [str(r) for r in pred.roi.values]:
            raise PretrainedModelError(
                f"The real scan {scan} has other ROIs (or another order) than the shipped "
                "predictions: is the data folder from another DiFuMo dimension?")
        true[rows] = target.values[pred["tr_index"].values[rows]]
    return true


def shipped_predictions(name: str, *, directory: str | Path | None = None,
                        data_dir: str | Path | None = None):
    """The predictions a shipped model made of its evaluation scans, paired with the truth.

    Parameters
    ----------
    name : str
        A name from :func:`pretrained`.
    directory : path, optional
        Folder of an index and its models (default: the models shipped with the package).
    data_dir : path, optional
        Only for models trained on real BOLD (semi-synthetic): the folder holding the real
        recordings, whose BOLD is the truth and is not shipped (default: the folder named by
        ``UNEBOLT_VIZ_SHARED_DATA`` or found beside the project).

    Returns
    -------
    xarray.Dataset
        A predictions container (``true`` and ``pred`` on ``(time, roi)``), verified against
        the sha256 the index recorded; its ``split`` attribute says which scans these are.

    Raises
    ------
    PretrainedModelError
        For an unknown name, a file that changed, or real BOLD that cannot be found.
    """
    import xarray as xr

    directory = Path(directory) if directory is not None else PRETRAINED_DIR
    entry = _entry(name, directory)
    _verify(directory, entry)
    if not entry.get("predictions"):
        raise PretrainedModelError(f"The shipped model {name!r} has no shipped predictions.")
    with xr.open_dataset(directory / entry["predictions"], engine="h5netcdf") as handle:
        pred = handle.load()
    if "true" not in pred:
        pred["true"] = (("time", "roi"), _real_targets(pred, data_dir))
        pred = pred[["true", "pred"]]
        pred.attrs.pop("true_bold", None)
    return pred
