"""Experiment configs: validation (:class:`ExperimentConfig`), loading, and the paper's set.

The keys of a config are described in :mod:`unebolt_viz.training.experiments`, which runs them.
"""

from __future__ import annotations

import copy
import json
import os
import re
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .config import TrainConfig

#: Ridge penalties tried by default: a grid wide enough that the chosen one is not at its end
#: (on the standardised band powers of 26 channels the best penalty was at 1000, the end of
#: 1..1000, so the grid reaches 1e5).
RIDGE_ALPHAS: tuple[float, ...] = (1.0, 10.0, 100.0, 1e3, 1e4, 1e5)

__all__ = ["ExperimentConfig", "load_experiment_config", "paper_experiments", "RIDGE_ALPHAS",
           "TABLE1_ABLATIONS"]

#: Table 1's ablations of UnEBOLT: label -> model overrides or loss variant.
TABLE1_ABLATIONS: dict[str, dict[str, Any]] = {
    "w/o ROI-specific head": {"overrides": {"use_roi_specific_head": False}},
    "w/o ROI embedder": {"overrides": {"use_roi_embedder": False}},
    "w/o LROI-LUT": {"overrides": {"use_roi_lut": False}},
    "w/o GAF": {"overrides": {"use_gaf": False}},
    "only MSE loss": {"train": {"loss": "mse_only"}},
    "w/o MSE loss": {"train": {"loss": "no_mse"}},
    "w/o scorr loss": {"train": {"loss": "no_scorr"}},
    "w/o tcorr loss": {"train": {"loss": "no_tcorr"}},
}

_TOP_KEYS = {"name", "out_dir", "protocol", "data", "split", "channels", "train", "models",
             "densities", "description", "labram_checkpoint", "references"}
_MODEL_KEYS = {"label", "name", "preset", "overrides", "train", "init_from", "fit", "alpha",
               "alphas", "seed", "labram_checkpoint"}


class ExperimentConfig(dict):
    """A validated experiment config (a dict; its keys: :mod:`unebolt_viz.training.experiments`).

    Parameters
    ----------
    values : mapping
        The config; optional keys get their defaults and model entries their labels.

    Raises
    ------
    ValueError
        An unknown, missing or invalid key, or a repeated model label.
    TypeError
        An unknown training option.
    """

    def __init__(self, values: Mapping[str, Any]) -> None:
        super().__init__(copy.deepcopy(dict(values)))
        unknown = sorted(set(self) - _TOP_KEYS)
        if unknown:
            raise ValueError(f"Unknown experiment keys {unknown}; valid: {sorted(_TOP_KEYS)}.")
        for key in ("name", "data", "models"):
            if key not in self:
                raise ValueError(f"The experiment config needs {key!r} (see unebolt_viz.training.experiments).")
        if not re.fullmatch(r"[A-Za-z0-9_.-]+", str(self["name"])):
            raise ValueError(f"name={self['name']!r}: use letters, digits, '_', '-', '.' (a folder name).")
        self.setdefault("out_dir", "results")
        self.setdefault("protocol", "cross_subject")
        if self["protocol"] not in ("cross_subject", "intrascan"):
            raise ValueError(f"protocol={self['protocol']!r}; use 'cross_subject' or 'intrascan'.")
        self.setdefault("split", {"kind": "auto"} if self["protocol"] == "cross_subject" else {})
        self.setdefault("channels", None)
        self.setdefault("train", {})
        self.setdefault("densities", [0.25, 0.5])
        if not self["models"]:
            raise ValueError("The experiment lists no models.")
        labels = []
        for model in self["models"]:
            bad = sorted(set(model) - _MODEL_KEYS)
            if bad:
                raise ValueError(f"Model entry {model}: unknown keys {bad}; valid: {sorted(_MODEL_KEYS)}.")
            if "name" not in model:
                raise ValueError(f"Model entry {model} needs a 'name' (unebolt, neurobolt_unified, ..., ridge).")
            model.setdefault("label", model["name"])
            labels.append(model["label"])
        dupes = sorted({v for v in labels if labels.count(v) > 1})
        if dupes:
            raise ValueError(f"Model labels must be unique; repeated: {dupes}.")
        TrainConfig.from_dict(self["train"])  # fail early on a typo

    @property
    def folder(self) -> Path:
        """``<out_dir>/<name>``."""
        return Path(self["out_dir"]) / self["name"]


def load_experiment_config(source: str | os.PathLike | Mapping[str, Any]) -> ExperimentConfig:
    """An :class:`ExperimentConfig` from a dict, or a YAML / JSON file."""
    if isinstance(source, Mapping):
        return ExperimentConfig(source)
    path = Path(source)
    if not path.exists():
        raise FileNotFoundError(f"No experiment config at {path}.")
    text = path.read_text()
    if path.suffix == ".json":
        values = json.loads(text)
    else:
        import yaml

        values = yaml.safe_load(text)
    if not isinstance(values, Mapping):
        raise ValueError(f"{path}: the config must be a mapping of keys (name, data, models, ...).")
    return ExperimentConfig(values)


def paper_experiments(data: Mapping[str, Any] | None = None, *, preset: str = "compact",
                      out_dir: str = "results", train: Mapping[str, Any] | None = None,
                      labram_checkpoint: str | None = None) -> dict[str, dict[str, Any]]:
    """Configs of the paper's experiments, ready for
    :func:`~unebolt_viz.training.experiments.run_experiment`.

    Parameters
    ----------
    data : mapping, optional
        The data section (default: the simulated ``teaching`` cohort, seed 0, 64 ROIs). The
        ``rois_*`` experiments replace ``n_rois``; ``transfer_task`` uses the same cohort with
        ``condition: task``.
    preset : {"paper", "compact", "tiny"}
        Model size ("paper" needs a GPU).
    out_dir : str
        Results folder.
    train : mapping, optional
        TrainConfig fields for every torch model (default: the paper's epochs and batch sizes).
    labram_checkpoint : str, optional
        Pretrained LaBraM-base weights (``labram-base.pth`` or braindecode's) for every model
        with a LaBraM branch, as the paper initialises it; without them the branch starts
        from random weights (a "paper"-preset run warns).

    Returns
    -------
    dict
        ``{key: config}``; a config's ``name`` (its results folder) is the key, followed by
        ``_compact`` or ``_tiny`` unless ``preset="paper"``, so that no folder named after a
        paper experiment holds smaller models. The keys: ``intrascan``, ``unseen_subject``
        (UnEBOLT, ridge and the unified NeuroBOLT, BIOT, LaBraM, ST-Transformer,
        CNN-Transformer, FFCL and BEIRA baselines: Table 1's rows but Li et al. 2024a, see
        ``unebolt_viz.models.table1_baselines``; ``intrascan`` has the first five; the NeuroBOLT
        scans are split by the paper's 18/5/6 table), ``table1_ablations``, ``rois_64``,
        ``rois_128``, ``rois_256``, ``transfer_pretrain`` (rest, 23 shared channels) and
        ``transfer_task`` (zero-shot, fine-tune and from scratch on a 9/3/4 scan split; run
        it after ``transfer_pretrain``).
    """
    data = dict(data or {"source": "simulated", "preset": "teaching", "seed": 0, "n_rois": 64})
    base_train = {"epochs": 20, "batch_size": 64, **dict(train or {})}
    intra_train = {"epochs": 20, "batch_size": 16, **dict(train or {})}

    def tag(name: str) -> str:
        return name if preset == "paper" else f"{name}_{preset}"

    def exp(name: str, **values: Any) -> dict[str, Any]:
        extra = {"labram_checkpoint": str(labram_checkpoint)} if labram_checkpoint else {}
        return {"name": tag(name), "out_dir": out_dir, "data": copy.deepcopy(data),
                "train": dict(base_train), **extra, **values}

    unebolt = {"label": "UnEBOLT", "name": "unebolt", "preset": preset}
    baselines = [
        {"label": "NeuroBOLT (unified)", "name": "neurobolt_unified", "preset": preset},
        {"label": "BIOT (unified)", "name": "biot_unified", "preset": preset},
        {"label": "LaBraM (unified)", "name": "labram_unified", "preset": preset},
        {"label": "Ridge", "name": "ridge", "alphas": list(RIDGE_ALPHAS)},
    ]
    # Table 1 runs these only in its unseen-subject section; Li et al. (2024a) is omitted
    # (unebolt_viz.models.table1_baselines.OMITTED_BASELINES says why).
    unseen_only = [
        {"label": "ST-Transformer (unified)", "name": "st_transformer_unified", "preset": preset},
        {"label": "CNN-Transformer (unified)", "name": "cnn_transformer_unified", "preset": preset},
        {"label": "FFCL (unified)", "name": "ffcl_unified", "preset": preset},
        {"label": "BEIRA (unified)", "name": "beira_unified", "preset": preset},
    ]
    ablations = [{**unebolt, "label": label, **copy.deepcopy(change)}
                 for label, change in TABLE1_ABLATIONS.items()]
    configs = {
        "intrascan": exp("intrascan", protocol="intrascan", split={"per_scan": True},
                         train=dict(intra_train), models=[dict(unebolt), *copy.deepcopy(baselines)]),
        "unseen_subject": exp("unseen_subject", models=[
            dict(unebolt), *copy.deepcopy(baselines), *copy.deepcopy(unseen_only)]),
        "table1_ablations": exp("table1_ablations", models=[dict(unebolt), *ablations]),
    }
    for p in (64, 128, 256):
        configs[f"rois_{p}"] = exp(f"rois_{p}", data={**data, "n_rois": p}, models=[dict(unebolt)])
    pretrained = str(Path(out_dir) / tag("transfer_pretrain") / "models" / "UnEBOLT")
    task_data = {**data, "condition": "task"}
    configs["transfer_pretrain"] = exp("transfer_pretrain", channels="shared23", models=[dict(unebolt)])
    configs["transfer_task"] = exp(
        "transfer_task", data=task_data, channels="shared23",
        split={"kind": "scans", "counts": [9, 3, 4]},  # the paper's 9/3/4 task scans
        models=[{"label": "Zero-shot", "name": "unebolt", "init_from": pretrained, "fit": False},
                {"label": "Fine-tune", "name": "unebolt", "init_from": pretrained},
                {"label": "From scratch", "name": "unebolt", "preset": preset}])
    if data.get("source", "simulated") != "simulated":
        warnings.warn("paper_experiments: transfer_task assumes a simulated cohort (condition=task); "
                      "edit its data section for real task recordings.", stacklevel=2)
    return configs
