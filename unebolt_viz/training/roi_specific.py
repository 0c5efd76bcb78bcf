"""Fig. 2a of the UnEBOLT paper: the unified model against truly independent ROI-specific models.

NeuroBOLT (Li et al., 2024) trains one network per ROI. Fig. 2a of the UnEBOLT paper compares
the unified UnEBOLT, trained once on all P ROIs, with such ROI-specific models on six ROIs
(unseen subjects; bars: mean temporal r over test scans, error bars: SD; stars: paired t-test
between the two models across test scans).

Here each ROI-specific model is a single-output NeuroBOLT
(``build_model("neurobolt_unified", n_outputs=1)``) with its own :class:`Trainer` run: its own
optimiser, MSE loss, early stopping on its validation MSE (:class:`EarlyStopping`) and
selection of the epoch of lowest validation MSE. Nothing couples the six (not
:class:`~unebolt_viz.models.neurobolt.ROISpecificNeuroBOLT`, which trains its networks as one
module with one optimiser and one stopping epoch).

The six ROIs (:data:`PAPER_FIG2A_ROIS`) are DiFuMo-64 modes. On DiFuMo data they are found by
name. On the embedded atlas (:func:`fig2a_rois`), the thalamus and putamen are found by name
(at 64 ROIs the putamen lies in "Basal ganglia") and the four cortical modes by centroid: the
left-hemisphere ROI of the mode's Yeo-7 network nearest to the mode's centroid in (y, z), or,
when none lies within 20 mm, the nearest left cortical ROI of any network (at 64 ROIs the
anterior middle frontal gyrus, a salience mode in DiFuMo, gets a Control ROI 16 mm away; the
nearest salience ROI is 45 mm away). x is left out because DiFuMo-64's modes are bilateral: their centroids sit near the midline,
far from either hemisphere's ROIs. The left hemisphere is a convention. The table says which
rule chose each ROI and how far its centroid is.

Config (:func:`fig2a_config`; the data, split, channels, train keys are those of
:mod:`unebolt_viz.training.experiments`)::

    name: fig2a
    out_dir: results
    data: {source: simulated, preset: teaching, seed: 0, n_rois: 64}
    split: {kind: subject}
    train: {epochs: 20, batch_size: 64}      # shared by both kinds of model
    unified: {label: UnEBOLT, name: unebolt, preset: compact}   # or init_from: <saved model>
    roi_specific: {name: neurobolt_unified, preset: compact, patience: 5,
                   train: {loss: mse_only, select_on: val_mse}}
    rois: null                                # or {short label: ROI name of the data}

:func:`run_fig2a` writes to ``<out_dir>/<name>/``: ``rois.csv``, ``per_scan_r.csv``,
``ttests.csv``, ``fig2a.png``, ``results.json``, ``models/`` and ``runs/``.
"""

from __future__ import annotations

import copy
import json
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from .._utils import atomic_path
from .experiment_data import experiment_jobs, load_pairs, resolve_channels

__all__ = ["PAPER_FIG2A_ROIS", "EarlyStopping", "fig2a_rois", "fig2a_config", "fig2a_ttests",
           "run_fig2a", "Fig2aResult", "significance_stars"]

#: Fig. 2a's ROIs: short label, DiFuMo-64 component, name, Yeo-7 network and centroid (MNI mm,
#: from DiFuMo-64's label table).
PAPER_FIG2A_ROIS: tuple[dict[str, Any], ...] = (
    {"label": "Cu", "component": 60, "difumo": "Cuneus", "network": "Visual",
     "centroid": (1.5, -79.8, 15.2)},
    {"label": "He", "component": 45, "difumo": "Heschl's gyrus", "network": "Somatomotor",
     "centroid": (-0.7, -20.6, 16.8)},
    {"label": "MF", "component": 58, "difumo": "Middle frontal gyrus anterior",
     "network": "Salience/Ventral Attention", "centroid": (1.9, 46.5, 26.1)},
    {"label": "PA", "component": 54, "difumo": "Precuneus anterior", "network": "Dorsal Attention",
     "centroid": (0.6, -48.4, 49.2)},
    {"label": "Pu", "component": 25, "difumo": "Putamen", "network": "Subcortical",
     "centroid": (0.0, -3.0, 1.7)},
    {"label": "Th", "component": 47, "difumo": "Thalamus", "network": "Subcortical",
     "centroid": (-0.7, -16.9, 7.2)},
)
#: A cortical mode takes the nearest ROI of its own Yeo-7 network only within this distance.
MAX_NETWORK_DISTANCE_MM = 20.0
#: Embedded-atlas names tried, in order, for the subcortical modes.
_SUBCORTICAL_NAMES = {"Putamen": ("L Putamen", "L Basal ganglia"), "Thalamus": ("L Thalamus",)}


def _norm(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", " ", name.lower().replace("\u2019", "'").replace("'", "")).strip()


def fig2a_rois(rois: Any) -> pd.DataFrame:
    """The ROIs of the data that stand for Fig. 2a's six DiFuMo-64 modes.

    Parameters
    ----------
    rois : Atlas, xarray object with ROI coordinates, or mapping with ``roi``, ``network``,
        ``hemisphere``, ``x``, ``y``, ``z``
        The data's ROIs (e.g. ``pair.bold``).

    Returns
    -------
    pandas.DataFrame
        One row per paper ROI: ``label``, ``difumo`` (the mode's name), ``component``,
        ``roi`` (the data's ROI), ``rule`` (``"name"`` or ``"centroid (y, z), left <network>"``)
        and ``distance_mm`` (in y, z, from the mode's centroid; NaN for name matches).
    """
    table = _roi_frame(rois)
    by_norm = {_norm(r): r for r in table.roi}
    rows = []
    for spec in PAPER_FIG2A_ROIS:
        row = {k: spec[k] for k in ("label", "difumo", "component")}
        names = (spec["difumo"],) + _SUBCORTICAL_NAMES.get(spec["difumo"], ())
        found = next((by_norm[_norm(n)] for n in names if _norm(n) in by_norm), None)
        if found is not None:
            rows.append({**row, "roi": found, "rule": "name", "distance_mm": float("nan")})
            continue
        rows.append({**row, **_nearest(table, spec)})
    return pd.DataFrame(rows)


def _nearest(table: pd.DataFrame, spec: Mapping[str, Any]) -> dict[str, Any]:
    """The left ROI nearest in (y, z) to a mode: of its network when one lies within
    :data:`MAX_NETWORK_DISTANCE_MM`, else of any cortical network."""
    left = table[(table.hemisphere == "L") & (table.network != "Subcortical")]
    for pool, rule in ((left[left.network == spec["network"]], f"left {spec['network']}"),
                       (left, "left cortex, any network")):
        if pool.empty:
            continue
        d = np.hypot(pool.y.to_numpy() - spec["centroid"][1], pool.z.to_numpy() - spec["centroid"][2])
        k = int(np.argmin(d))
        if d[k] <= MAX_NETWORK_DISTANCE_MM or rule.endswith("any network"):
            return {"roi": str(pool.roi.iloc[k]), "rule": f"centroid (y, z), {rule}",
                    "distance_mm": float(d[k])}
    raise ValueError(f"No ROI named {spec['difumo']!r} and no left-hemisphere cortical ROI to "
                     "stand for it; pass rois= explicitly (a mapping of Fig. 2a labels to ROI "
                     "names).")


def _roi_frame(rois: Any) -> pd.DataFrame:
    if hasattr(rois, "roi_table"):
        table = rois.roi_table()
    elif isinstance(rois, (xr.DataArray, xr.Dataset)):
        coords = {c: rois[c].values for c in ("network", "hemisphere", "x", "y", "z") if c in rois.coords}
        table = pd.DataFrame({"roi": rois.roi.values, **coords})
    else:
        table = pd.DataFrame(dict(rois))
    table["roi"] = table["roi"].astype(str)
    for col, default in (("network", ""), ("hemisphere", "B"), ("y", np.nan), ("z", np.nan)):
        if col not in table:
            table[col] = default
    return table


class EarlyStopping:
    """A :class:`Trainer` callback that stops after ``patience`` epochs without a better model.

    It raises :class:`StopTraining` at the end of such an epoch, after the trainer has kept
    its best model in ``out_dir/best`` (selection happens before the callback runs);
    :func:`train_with_early_stopping` then restores that model. The stopped epoch's
    checkpoint is not written: running the same config again resumes from the epoch before,
    retrains the stopped epoch (identically on a CPU) and stops again. The last epoch is never
    "stopped": it ends the run anyway.
    """

    def __init__(self, patience: int) -> None:
        if int(patience) < 1:
            raise ValueError(f"patience={patience}: use at least 1 epoch.")
        self.patience = int(patience)
        self.stopped_epoch: int | None = None

    def __call__(self, event: str, trainer: Any, info: dict[str, Any]) -> None:
        """Stop when the best epoch is ``patience`` epochs old."""
        if event != "epoch_end" or not trainer.history or info["epoch"] >= trainer.config.epochs:
            return  # the last epoch ends the run anyway (and keeps its checkpoint)
        key = trainer.config.select_on
        scores = [row.get(key) for row in trainer.history]
        if any(s is None for s in scores):
            return  # no validation scans: nothing to stop on
        larger = key == "val_r"
        best = int(np.argmax(scores) if larger else np.argmin(scores))
        if len(scores) - 1 - best >= self.patience:
            self.stopped_epoch = int(info["epoch"])
            raise StopTraining(self.stopped_epoch)


class StopTraining(Exception):
    """Raised by :class:`EarlyStopping` to end a run early."""


def train_with_early_stopping(model: Any, train: Sequence[Any], val: Sequence[Any],
                              settings: Mapping[str, Any], out_dir: Path,
                              patience: int | None) -> dict[str, Any]:
    """Train ``model`` with its own Trainer; early stopping on the validation score.

    Returns what to record: best epoch and score, epochs run, whether it stopped early.
    """
    from .trainer import TrainConfig, Trainer

    stopper = EarlyStopping(patience) if patience else None
    trainer = Trainer(model, TrainConfig.from_dict(dict(settings)), out_dir=out_dir,
                      callbacks=[stopper] if stopper else [])
    try:
        result = trainer.fit(train, val)
        best_epoch, best_score = result.best_epoch, result.best_score
    except StopTraining:
        trainer.restore(out_dir / "best")
        key = trainer.config.select_on
        scores = np.array([row[key] for row in trainer.history], dtype=float)
        k = int(np.argmax(scores) if key == "val_r" else np.argmin(scores))
        best_epoch, best_score = k + 1, float(scores[k])
    return {"best_epoch": int(best_epoch), "best_score": float(best_score),
            "select_on": trainer.config.select_on, "loss": trainer.config.loss,
            "epochs_run": len(trainer.history),
            "stopped_early": stopper is not None and stopper.stopped_epoch is not None}


def roi_pair(pair: Any, roi: str) -> Any:
    """A ScanPair restricted to one ROI (its fingerprint recomputed)."""
    from ..data import roi_fingerprint
    from ..io.pairing import ScanPair

    bold = pair.bold.sel(roi=[roi])
    bold.attrs = {**bold.attrs, "roi_fingerprint": roi_fingerprint([roi])}
    return ScanPair(pair.windows, bold)


def significance_stars(p: float) -> str:
    """``***`` p < 0.001, ``**`` p < 0.01, ``*`` p < 0.05, else ``n.s.`` (the paper's legend)."""
    if not np.isfinite(p):
        return "n/a"
    return "***" if p < 0.001 else "**" if p < 0.01 else "*" if p < 0.05 else "n.s."


def fig2a_ttests(r_unified: xr.DataArray, r_specific: xr.DataArray,
                 rois: pd.DataFrame) -> pd.DataFrame:
    """Per ROI: mean and SD over test scans of both models and their paired t-test.

    Parameters
    ----------
    r_unified, r_specific : xarray.DataArray
        Temporal r, dims ``(scan, roi)``, on the same scans; ROIs named as in ``rois.roi``.
    rois : pandas.DataFrame
        From :func:`fig2a_rois`.

    Returns
    -------
    pandas.DataFrame
        Index ``label``; columns ``roi``, ``n_scans``, ``unified_mean``, ``unified_sd``,
        ``roi_specific_mean``, ``roi_specific_sd`` (sample SD), ``mean_difference``
        (unified minus ROI-specific), ``t``, ``p`` (two-sided, as
        :func:`scipy.stats.ttest_rel`) and ``stars``.
    """
    from ..metrics import paired_ttest

    names = list(rois.roi)
    a = r_unified.sel(roi=names)
    b = r_specific.sel(roi=names, scan=a.scan.values)
    test = paired_ttest(a, b, dim="scan")
    table = pd.DataFrame({
        "label": list(rois.label), "roi": names, "n_scans": int(test["n"]),
        "unified_mean": a.mean("scan").values, "unified_sd": a.std("scan", ddof=1).values,
        "roi_specific_mean": b.mean("scan").values,
        "roi_specific_sd": b.std("scan", ddof=1).values,
        "mean_difference": test["mean_difference"].values, "t": test["t"].values,
        "p": test["p"].values,
    }).set_index("label")
    table["stars"] = [significance_stars(p) for p in table.p]
    table.attrs["data_source"] = str(r_unified.attrs.get("data_source", "unknown"))
    return table


def fig2a_config(data: Mapping[str, Any] | None = None, *, preset: str = "compact",
                 out_dir: str = "results", train: Mapping[str, Any] | None = None,
                 patience: int = 5) -> dict[str, Any]:
    """The Fig. 2a experiment's config for :func:`run_fig2a` (cross-subject, paper's six ROIs).

    Parameters
    ----------
    data : mapping, optional
        Data section (default: the simulated ``teaching`` cohort, seed 0, 64 ROIs).
    preset : {"paper", "compact", "tiny"}
        Size of both kinds of model; the name gets ``_<preset>`` unless it is ``"paper"``.
    out_dir : str
        Results folder.
    train : mapping, optional
        TrainConfig fields shared by all models (default: 20 epochs, batch 64).
    patience : int
        Early-stopping patience of each ROI-specific model (epochs).
    """
    return {
        "name": "fig2a" if preset == "paper" else f"fig2a_{preset}", "out_dir": out_dir,
        "data": copy.deepcopy(dict(data or {"source": "simulated", "preset": "teaching",
                                            "seed": 0, "n_rois": 64})),
        "train": {"epochs": 20, "batch_size": 64, **dict(train or {})},
        "unified": {"label": "UnEBOLT", "name": "unebolt", "preset": preset},
        "roi_specific": {"name": "neurobolt_unified", "preset": preset, "patience": patience,
                         "train": {"loss": "mse_only", "select_on": "val_mse"}},
        "rois": None,
    }


@dataclass
class Fig2aResult:
    """What :func:`run_fig2a` returns.

    Attributes
    ----------
    ttests : pandas.DataFrame
        :func:`fig2a_ttests` (also ``ttests.csv``).
    r : xarray.DataArray
        Temporal r, dims ``(model, scan, roi)``, models ``"unified"`` and ``"roi_specific"``.
    rois : pandas.DataFrame
        :func:`fig2a_rois` (also ``rois.csv``).
    folder : Path
    figure_path : Path or None
    runs : dict
        Per model (and ROI), what its training did.
    """

    ttests: pd.DataFrame
    r: xr.DataArray
    rois: pd.DataFrame
    folder: Path
    figure_path: Path | None
    runs: dict[str, Any]


def run_fig2a(config: str | os.PathLike | Mapping[str, Any], figure: bool = True) -> Fig2aResult:
    """Train the unified model and six independent ROI-specific models; test them; draw Fig. 2a.

    Parameters
    ----------
    config : mapping or path to a YAML / JSON file
        See the module docstring (:func:`fig2a_config` builds one).
    figure : bool
        Also draw ``fig2a.png`` (:func:`unebolt_viz.viz.plot_roi_specific_comparison`).

    Returns
    -------
    Fig2aResult
    """
    cfg, extra = _load(config)
    folder = cfg.folder
    folder.mkdir(parents=True, exist_ok=True)
    with atomic_path(folder / "config.json") as tmp:
        tmp.write_text(json.dumps({**cfg, **extra}, indent=2, default=str))
    pairs, design, _ = load_pairs(cfg["data"], cfg["protocol"])
    ch_names = resolve_channels(cfg["channels"], pairs)
    jobs, split_table, _ = experiment_jobs(cfg, pairs, design)
    split_table.to_csv(folder / "split.csv", index=False)
    _, train, val, test = jobs[0]
    rois = (fig2a_rois(pairs[0].bold) if not extra["rois"] else
            pd.DataFrame({"label": list(extra["rois"]), "roi": list(extra["rois"].values()),
                          "rule": "given", "distance_mm": np.nan}))
    rois.to_csv(folder / "rois.csv", index=False)
    r_unified, unified_run = _unified_r(cfg, extra["unified"], train, val, test, ch_names)
    r_specific, specific_runs = _roi_specific_r(cfg, extra["roi_specific"], rois, train, val,
                                                test, ch_names)
    table = fig2a_ttests(r_unified, r_specific, rois)
    table.to_csv(folder / "ttests.csv")
    r = xr.concat([r_unified.sel(roi=list(rois.roi)), r_specific.sel(roi=list(rois.roi))],
                  dim=pd.Index(["unified", "roi_specific"], name="model"),
                  coords="minimal", compat="override")
    r.attrs = {"data_source": pairs[0].data_source}
    long = r.to_dataframe(name="r").reset_index()[["model", "scan", "roi", "r"]]
    long.to_csv(folder / "per_scan_r.csv", index=False)
    runs = {"unified": unified_run, "roi_specific": specific_runs}
    figure_path = None
    if figure:
        from ..viz.fig2a import plot_roi_specific_comparison

        fig = plot_roi_specific_comparison(table, unified_label=extra["unified"]["label"])
        figure_path = folder / "fig2a.png"
        fig.savefig(figure_path, dpi=120)
        import matplotlib.pyplot as plt

        plt.close(fig)
    record = {"name": cfg["name"], "data_source": pairs[0].data_source, "runs": runs,
              "ttests": json.loads(table.reset_index().to_json(orient="records")),
              "test_scans": list(map(str, r.scan.values))}
    with atomic_path(folder / "results.json") as tmp:
        tmp.write_text(json.dumps(record, indent=2, default=str))
    return Fig2aResult(ttests=table, r=r, rois=rois, folder=folder, figure_path=figure_path,
                       runs=runs)


_FIG2A_KEYS = ("unified", "roi_specific", "rois")


def _load(config: str | os.PathLike | Mapping[str, Any]) -> tuple[Any, dict[str, Any]]:
    """The experiment part (an ExperimentConfig) and the Fig. 2a part of a config."""
    from .experiment_config import ExperimentConfig

    if not isinstance(config, Mapping):
        path = Path(config)
        text = path.read_text()
        if path.suffix == ".json":
            config = json.loads(text)
        else:
            import yaml

            config = yaml.safe_load(text)
    values = copy.deepcopy(dict(config))
    defaults = fig2a_config()
    extra = {k: values.pop(k, defaults[k]) for k in _FIG2A_KEYS}
    extra["unified"] = {"label": "UnEBOLT", "name": "unebolt", **dict(extra["unified"] or {})}
    extra["roi_specific"] = {**defaults["roi_specific"], **dict(extra["roi_specific"] or {})}
    values.setdefault("name", "fig2a")
    cfg = ExperimentConfig({**values, "protocol": "cross_subject",
                            "models": [{k: v for k, v in extra["unified"].items()
                                        if k not in ("patience",)}]})
    return cfg, extra


def _build(entry: Mapping[str, Any], n_outputs: int, ch_names: Sequence[str], seed: int) -> Any:
    from ..models import build_model, load_model

    if entry.get("init_from"):
        return load_model(entry["init_from"]).train()
    return build_model(entry["name"], n_outputs=n_outputs, ch_names=ch_names,
                       preset=entry.get("preset", "compact"), seed=entry.get("seed", seed),
                       **entry.get("overrides", {}))


def _unified_r(cfg: Any, entry: Mapping[str, Any], train: list, val: list, test: list,
               ch_names: Sequence[str]) -> tuple[xr.DataArray, dict[str, Any]]:
    """Temporal r ``(scan, roi)`` of the unified model on the test scans (trained here)."""
    from ..metrics import temporal_r
    from ..models import save_model
    from .inference import predict

    label = re.sub(r"[^A-Za-z0-9_.-]+", "_", entry["label"])
    model = _build(entry, int(train[0].bold.sizes["roi"]), ch_names, seed=0)
    run: dict[str, Any] = {"init_from": entry.get("init_from")}
    if entry.get("fit", True) is not False:
        settings = {**cfg["train"], **entry.get("train", {})}
        run.update(train_with_early_stopping(model, train, val, settings,
                                             cfg.folder / "runs" / label, entry.get("patience")))
    save_model(model, cfg.folder / "models" / label)
    return temporal_r(predict(model, test, model_name=entry["label"])), run


def _roi_specific_r(cfg: Any, entry: Mapping[str, Any], rois: pd.DataFrame, train: list,
                    val: list, test: list, ch_names: Sequence[str]
                    ) -> tuple[xr.DataArray, dict[str, Any]]:
    """Temporal r ``(scan, roi)`` of one independently trained 1-output model per ROI."""
    from ..metrics import temporal_r
    from ..models import save_model
    from .inference import predict

    settings = {**cfg["train"], **entry.get("train", {})}
    parts, runs = [], {}
    for k, (label, roi) in enumerate(zip(rois.label, rois.roi)):
        name = f"NeuroBOLT_ROI-specific__{label}"
        model = _build({**entry, "init_from": None}, 1, ch_names, seed=k)
        runs[label] = {"roi": roi, **train_with_early_stopping(
            model, [roi_pair(p, roi) for p in train], [roi_pair(p, roi) for p in val], settings,
            cfg.folder / "runs" / name, entry.get("patience"))}
        save_model(model, cfg.folder / "models" / name)
        pred = predict(model, [roi_pair(p, roi) for p in test], model_name=name)
        parts.append(temporal_r(pred))
    r = xr.concat(parts, dim="roi", coords="minimal", compat="override", combine_attrs="override")
    return r, runs
