"""The ``unebolt-viz`` command line: simulate, train, predict, evaluate, fetch.

Examples
--------
Simulate the tiny cohort as BIDS-like files::

    unebolt-viz simulate --preset tiny --out data/tiny

Train a compact UnEBOLT on the simulated teaching cohort (unseen-subject split), on the files
just written, or on a whole experiment config::

    unebolt-viz train --simulated teaching --model unebolt --preset compact --out runs/a
    unebolt-viz train --data data/tiny --epochs 5 --out runs/b
    unebolt-viz train --config experiment.yaml

Predict the test scans of a run, evaluate them::

    unebolt-viz predict --model runs/a/best --simulated teaching --scans test --out pred.nc
    unebolt-viz evaluate pred.nc --out metrics.nc

Predict BOLD and FC from an EEG recording alone (no fMRI, no triggers: one window per TR)::

    unebolt-viz predict --eeg rec.edf --model unebolt-embedded-p64 --tr 2.1 --out pred.nc

Several GPUs: put ``torchrun --standalone --nproc_per_node=4 -m`` in front of
``unebolt_viz train ...`` (see :mod:`unebolt_viz.training.distributed`).

One module per command (``simulate``, ``predict``, ``evaluate``, ``fetch``); ``train``, the
command ``torchrun -m unebolt_viz`` runs, lives here beside :func:`main`.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..conventions import N_TIMES
from ._data import load_pairs, scan_list, write_preprocessing_record
from ._errors import PROG, CLIError, check_device, check_output
from ._parser import build_parser
from .evaluate import cmd_evaluate
from .fetch import cmd_fetch
from .predict import cmd_predict
from .simulate import cmd_simulate

__all__ = ["main", "build_parser"]


def _split_section(text: str, seed: int) -> dict[str, Any]:
    kind, _, rest = text.partition(":")
    if kind in ("auto", "subject", "paper"):
        return {"kind": kind, "seed": seed}
    if kind == "scans":
        parts = rest.split(":")
        if len(parts) != 3 or not all(p.isdigit() and int(p) > 0 for p in parts):
            raise CLIError(f"--split {text}: use scans:TRAIN:VAL:TEST, e.g. scans:9:3:4.")
        return {"kind": "scans", "counts": [int(p) for p in parts], "seed": seed}
    if kind == "table":
        if not rest:
            raise CLIError("--split table:PATH needs the path of a CSV (scan, subject, split).")
        if not Path(rest).is_file():
            raise CLIError(f"--split table:{rest}: no such file; give the path of a CSV with "
                           "columns scan, subject, split.")
        return {"kind": "table", "path": rest}
    if kind == "kfold":
        parts = rest.split(":")
        if len(parts) != 2 or not all(p.isdigit() for p in parts):
            raise CLIError("--split kfold:K:FOLD, e.g. kfold:5:0.")
        n_splits, fold = int(parts[0]), int(parts[1])
        if n_splits < 2 or fold >= n_splits:
            raise CLIError(f"--split {text}: need K >= 2 and 0 <= FOLD < K, e.g. kfold:5:0.")
        return {"kind": "kfold", "n_splits": n_splits, "fold": fold, "seed": seed}
    if kind == "loso":
        return {"kind": "loso", "subject": rest or None, "seed": seed}
    raise CLIError(f"--split {text!r}: use auto, paper, subject, scans:TRAIN:VAL:TEST, table:PATH, "
                   "kfold:K:FOLD or loso:SUBJECT.")


def _train_from_config(path: Path) -> int:
    """Run ``train --config``: parse and check the file first, so that a typo writes nothing."""
    import yaml

    from ..training.experiment_config import load_experiment_config
    from ..training.experiments import run_experiment

    if not path.is_file():
        raise CLIError(f"--config {path}: no such file.")
    try:
        load_experiment_config(path)
    except (yaml.YAMLError, ValueError, TypeError) as err:
        raise CLIError(f"--config {path} is not a valid experiment config: {err} Fix the file "
                       "(YAML or JSON; 'unebolt-viz train --write-paper-configs DIR' writes "
                       "examples).") from None
    metrics = run_experiment(path)
    print(f"Results ({metrics.attrs['data_source']} data) written for models "
          f"{list(map(str, metrics.model.values))}.")
    return 0


_TRAIN_OPTIONS = ("epochs", "batch_size", "lr", "warmup_epochs", "loss", "select_on", "grad_accum",
                  "device", "precision", "compile", "num_workers", "max_steps",
                  "checkpoint_every", "tensorboard")


def _train_config(args: argparse.Namespace) -> Any:
    """The TrainConfig of the command line, checked before anything is loaded or written."""
    from ..models import MODEL_NAMES
    from ..training.trainer import TrainConfig

    if args.model != "ridge" and args.model not in MODEL_NAMES:
        raise CLIError(f"--model {args.model!r} is not a model; choose one of "
                       f"{', '.join(MODEL_NAMES + ('ridge',))}.")
    check_device(args.device)
    if args.labram_checkpoint is not None and args.model == "ridge":
        raise CLIError("--labram-checkpoint: ridge has no LaBraM branch.")
    if args.labram_checkpoint is not None and not args.labram_checkpoint.is_file():
        raise CLIError(f"--labram-checkpoint {args.labram_checkpoint}: no such file; download "
                       "labram-base.pth (LaBraM's GitHub repository) or braindecode's "
                       "labram-pretrained weights.")
    try:
        return TrainConfig(seed=args.train_seed, progress=not args.no_progress,
                           **{k: getattr(args, k) for k in _TRAIN_OPTIONS})
    except (ValueError, TypeError) as err:
        raise CLIError(str(err)) from None


def _write_paper_configs(folder: Path, labram_checkpoint: Path | None = None) -> int:
    import yaml

    from ..training.experiments import paper_experiments

    check_output(folder, "--write-paper-configs", is_file=False)
    folder.mkdir(parents=True, exist_ok=True)
    configs = paper_experiments(labram_checkpoint=str(labram_checkpoint) if labram_checkpoint else None)
    for name, config in configs.items():
        (folder / f"{name}.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    print(f"Wrote the paper's experiment configs to {folder}.")
    return 0


def _fit_ridge(args: argparse.Namespace, ch_names: Any, train: list, val: list,
               data_source: str) -> int:
    from ..models import save_model
    from ..training.experiments import RIDGE_ALPHAS, fit_ridge

    model, fit_info = fit_ridge({"label": "ridge", "alphas": list(RIDGE_ALPHAS)},
                                ch_names, N_TIMES, train, val)
    save_model(model, args.out / "best")
    print(f"Ridge fitted on {len(train)} scans (alpha={fit_info['alpha']:g}); saved "
          f"{args.out / 'best'}.json/.safetensors ({data_source} data).")
    return 0


def _build_model(args: argparse.Namespace, n_rois: int, ch_names: Any) -> Any:
    """The model of ``train``, its LaBraM branch loaded from ``--labram-checkpoint`` if given."""
    import warnings

    from ..models import build_model, load_labram_checkpoint

    model = build_model(args.model, n_outputs=n_rois, ch_names=ch_names, preset=args.preset, seed=0)
    has_branch = getattr(model, "labram_init", None) is not None
    if args.labram_checkpoint is not None:
        if not has_branch:
            raise CLIError(f"--labram-checkpoint: the model {args.model!r} has no LaBraM branch.")
        report = load_labram_checkpoint(model, args.labram_checkpoint)
        print(f"LaBraM branch initialised from {args.labram_checkpoint} ({report.layout} layout, "
              f"{len(report.loaded)} tensors, sha256 {report.sha256[:12]}...).")
    elif has_branch and args.preset == "paper":
        warnings.warn("--preset paper without --labram-checkpoint: the LaBraM branch starts from "
                      "random weights, while the paper initialises it from pretrained LaBraM-base.",
                      stacklevel=2)
    return model


def _write_run_record(out: Path, model: Any, config: Any, result: Any, data_source: str,
                      split: Any) -> None:
    """``results.json`` of a single run: objective, selection, LaBraM initialisation, outcome."""
    import json

    from .._utils import atomic_path

    record = {"model": model.name, "preset": model.preset, "data_source": data_source,
              "split": split.name, "loss": config.loss, "select_on": result.select_on,
              "precision": config.precision, "best_epoch": result.best_epoch,
              "best_score": result.best_score, "steps": result.steps,
              "labram_init": getattr(model, "labram_init", None)}
    with atomic_path(out / "results.json") as tmp:
        tmp.write_text(json.dumps(record, indent=2, default=str))


def cmd_train(args: argparse.Namespace) -> int:
    """Run ``train``; return the exit status."""
    if args.write_paper_configs is not None:
        return _write_paper_configs(args.write_paper_configs, args.labram_checkpoint)
    if args.config is not None:
        return _train_from_config(args.config)
    if args.out is None:
        raise CLIError("train needs --out RUN_DIR (where checkpoints, the log and the model go).")
    check_output(args.out, "--out", is_file=False)
    split_spec = _split_section(args.split, args.split_seed)  # check the spec before loading
    config = _train_config(args)
    if args.data is not None and args.highpass is None:
        args.highpass = 0.5  # the paper's cross-subject setting (--highpass 0 turns it off)

    from ..training.distributed import init_distributed
    from ..training.experiments import resolve_channels, resolve_split
    from ..training.trainer import Trainer

    info = init_distributed()
    pairs, design = load_pairs(args, scan_list(args.scans))
    split = resolve_split(split_spec, design, pairs[0].data_source)
    by_scan = {p.scan: p for p in pairs}
    train, val = [by_scan[s] for s in split.train], [by_scan[s] for s in split.val]
    channels = None if args.channels is None else (
        "shared23" if args.channels == "shared23" else scan_list(args.channels))
    ch_names = resolve_channels(channels, pairs)
    n_rois = int(pairs[0].bold.sizes["roi"])
    model = None if args.model == "ridge" else _build_model(args, n_rois, ch_names)
    args.out.mkdir(parents=True, exist_ok=True)
    if info.is_main:
        split.as_table(design).to_csv(args.out / "split.csv", index=False)
        write_preprocessing_record(args.out, args.highpass)
    if model is None:
        return _fit_ridge(args, ch_names, train, val, pairs[0].data_source)
    trainer = Trainer(model, config, out_dir=args.out)
    result = trainer.fit(train, val, resume=not args.no_resume)
    if info.is_main:
        _write_run_record(args.out, model, trainer.config, result, pairs[0].data_source, split)
        state = "stopped early (--max-steps); run again to continue" if result.interrupted else "done"
        saved = (f"model at {args.out / 'best'}" if (args.out / "best.json").exists() else
                 "no model saved yet (it is written at the end of an epoch)")
        print(f"Training {state}: {result.steps} steps, best epoch {result.best_epoch} "
              f"({result.select_on} {result.best_score:.4f}) on {pairs[0].data_source} data; "
              f"{saved}, log at {args.out / 'log.csv'}.")
    return 0


COMMANDS = {"simulate": cmd_simulate, "train": cmd_train, "predict": cmd_predict,
            "evaluate": cmd_evaluate, "fetch": cmd_fetch}


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status (0 on success, 2 on an input error, which
    is printed as one line on stderr; other exceptions are bugs and keep their traceback)."""
    from ..datasets.fetch import FetchError

    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    try:
        return COMMANDS[args.command](args)
    except (CLIError, FetchError, ValueError, FileNotFoundError, NotADirectoryError,
            IsADirectoryError) as err:
        if args.debug:
            raise
        message = re.sub(r"\s*\n\s*", " ", str(err)).strip()
        print(f"{PROG} {args.command}: error: {message}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
