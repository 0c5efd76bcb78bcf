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

Several GPUs: put ``torchrun --standalone --nproc_per_node=4 -m`` in front of
``unebolt_viz train ...`` (see :mod:`unebolt_viz.training.distributed`).
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .conventions import N_TIMES

__all__ = ["main", "build_parser"]

PROG = "unebolt-viz"


class CLIError(Exception):
    """A problem with the command line the user can fix; printed without a traceback."""


class _Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line on stderr (exit status 2), like main's."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message} (see '{self.prog} --help').\n")


def _number(kind: type, low: float, high: float | None = None, strict: bool = False):
    """An argparse type: a ``kind`` (int or float) >= ``low`` (> if ``strict``), <= ``high``."""
    bound = f"{'>' if strict else '>='} {low:g}" + ("" if high is None else f" and <= {high:g}")
    what = "an integer" if kind is int else "a number"

    def parse(text: str) -> float:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {what} {bound}, got {text!r}") from None
        if value < low or (strict and value == low) or (high is not None and value > high):
            raise argparse.ArgumentTypeError(f"must be {what} {bound}, got {text}")
        return value

    return parse


_SEED, _POSITIVE = _number(int, 0), _number(int, 1)


def _add_data_options(p: argparse.ArgumentParser, scans_help: str) -> None:
    source = p.add_mutually_exclusive_group()
    source.add_argument("--simulated", metavar="PRESET", choices=("tiny", "teaching", "paper"),
                        help="use the embedded simulated cohort of this size (tiny, teaching, paper)")
    source.add_argument("--data", metavar="DIR", type=Path,
                        help="a BIDS-like folder of simultaneous EEG + BOLD runs (as 'simulate' "
                             "writes, or your own)")
    p.add_argument("--seed", type=_SEED, default=0, help="simulation seed (default 0)")
    p.add_argument("--n-rois", type=int, default=64, choices=(64, 128, 256),
                   help="ROIs of the embedded atlas for simulated data (default 64)")
    p.add_argument("--condition", default="rest", choices=("rest", "task"),
                   help="simulated condition (default rest)")
    p.add_argument("--task", default=None, help="BIDS task of --data to use (default: all)")
    p.add_argument("--highpass", type=_number(float, 0, strict=True), default=None,
                   help="EEG high-pass in Hz for --data (the paper uses 0.5 cross-subject)")
    p.add_argument("--scans", default=None, help=scans_help)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``unebolt-viz``."""
    parser = _Parser(
        prog=PROG,
        description="EEG-to-fMRI translation with UnEBOLT: simulate data, train, predict and "
                    "evaluate whole-brain BOLD ROI time series and functional connectivity.",
        epilog="Run 'unebolt-viz COMMAND --help' for the options of a command.",
    )
    parser.add_argument("--debug", action="store_true", help="show full tracebacks on errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("simulate", help="write a simulated EEG-fMRI cohort as BIDS-like files",
                       description="Write the embedded simulated cohort (EEG as BrainVision, BOLD "
                                   "as ROI tables) in a BIDS-like layout that 'train --data' reads.")
    p.add_argument("--preset", default="tiny", choices=("tiny", "teaching", "paper"),
                   help="cohort size (default tiny)")
    p.add_argument("--seed", type=_SEED, default=0, help="random seed (default 0)")
    p.add_argument("--n-rois", type=int, default=64, choices=(64, 128, 256),
                   help="ROIs of the embedded atlas (default 64)")
    p.add_argument("--condition", default="rest", choices=("rest", "task"))
    p.add_argument("--scans", default=None, help="comma-separated scans to write (default: all)")
    p.add_argument("--out", type=Path, required=True, help="output folder")

    p = sub.add_parser("train", help="train a model (or run an experiment config)",
                       description="Train one model on an unseen-subject split of simulated or "
                                   "BIDS data, or run a whole experiment from a YAML/JSON config. "
                                   "A run resumes from its last checkpoint in --out.")
    p.add_argument("--config", type=Path, default=None,
                   help="run the experiment described by this YAML/JSON file (other options ignored)")
    p.add_argument("--write-paper-configs", type=Path, default=None, metavar="DIR",
                   help="write the paper's experiment configs as YAML files into DIR and exit")
    _add_data_options(p, "comma-separated scans to use (default: all)")
    p.add_argument("--model", default="unebolt",
                   help="unebolt, neurobolt, neurobolt_unified, biot_unified, labram_unified or ridge")
    p.add_argument("--preset", default="compact", choices=("paper", "compact", "tiny"),
                   help="model size (default compact; 'paper' wants a GPU)")
    p.add_argument("--split", default="subject",
                   help="subject (3:1:1 by subject), table:PATH (scan,subject,split CSV), "
                        "kfold:K:FOLD, loso:SUBJECT (default subject)")
    p.add_argument("--split-seed", type=_SEED, default=0, help="seed of the random subject split")
    p.add_argument("--channels", default=None,
                   help="EEG channels the model reads: 'shared23' or a comma-separated list "
                        "(default: the paper's 26)")
    p.add_argument("--epochs", type=_POSITIVE, default=20)
    p.add_argument("--batch-size", type=_POSITIVE, default=64, help="global batch of consecutive TRs")
    p.add_argument("--lr", type=_number(float, 0, strict=True), default=3e-4)
    p.add_argument("--warmup-epochs", type=_number(float, 0), default=5.0)
    p.add_argument("--loss", default="full",
                   choices=("full", "mse_only", "no_mse", "no_scorr", "no_tcorr"))
    p.add_argument("--grad-accum", type=_POSITIVE, default=1)
    p.add_argument("--train-seed", type=_SEED, default=12345, help="seed of batch order and dropout")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:1, ...")
    p.add_argument("--precision", default="auto", choices=("auto", "bf16", "fp32"))
    p.add_argument("--compile", action="store_true", help="torch.compile the model (GPU only)")
    p.add_argument("--num-workers", type=_number(int, 0), default=0)
    p.add_argument("--max-steps", type=_POSITIVE, default=None, help="stop after this many steps")
    p.add_argument("--checkpoint-every", type=_POSITIVE, default=None, help="also checkpoint every N steps")
    p.add_argument("--tensorboard", action="store_true")
    p.add_argument("--no-progress", action="store_true")
    p.add_argument("--no-resume", action="store_true", help="start afresh even if --out has a checkpoint")
    p.add_argument("--out", type=Path, default=None, help="run folder (required without --config)")

    p = sub.add_parser("predict", help="predict BOLD of whole scans with a trained model",
                       description="Predict whole scans with a saved model and write a "
                                   "predictions netCDF (true and pred ROI time series).")
    p.add_argument("--model", type=Path, required=True,
                   help="saved model base path (e.g. runs/a/best for best.safetensors + best.json)")
    _add_data_options(p, "comma-separated scans, or train/val/test to take them from the run's "
                         "split.csv beside the model (default: all)")
    p.add_argument("--batch-size", type=_POSITIVE, default=64)
    p.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:1, ...")
    p.add_argument("--out", type=Path, required=True, help="output .nc file")

    p = sub.add_parser("evaluate", help="metrics of a predictions file (Tcorr, FC, F1)",
                       description="Compute the paper's metrics per scan (Tcorr, Pixcorr, ConnMSE, "
                                   "F1 at densities) and print a table like its Table 3.")
    p.add_argument("predictions", type=Path, help="a predictions .nc file from 'predict'")
    p.add_argument("--densities", type=_number(float, 0, 1, strict=True), nargs="+", default=[0.25, 0.5],
                   help="edge densities of the F1 scores, in (0, 1] (default 0.25 0.5)")
    p.add_argument("--out", type=Path, default=None, help="write the metrics Dataset (.nc)")
    p.add_argument("--csv", type=Path, default=None, help="write the summary table (.csv)")

    p = sub.add_parser("fetch", help="download a data set or model file of the manifest",
                       description="Download an entry of data_manifest.yaml and verify its sha256.")
    p.add_argument("name", nargs="?", help="entry name (see --list)")
    p.add_argument("--list", action="store_true", help="list the entries and exit")
    p.add_argument("--data-dir", type=Path, default=None)
    p.add_argument("--allow-unverified", action="store_true",
                   help="accept an entry whose sha256 the manifest does not know")
    return parser


def _scan_list(text: str | None) -> list[str] | None:
    return None if text is None else [s.strip() for s in text.split(",") if s.strip()]


def _data_section(args: argparse.Namespace) -> dict[str, Any]:
    if args.simulated:
        return {"source": "simulated", "preset": args.simulated, "seed": args.seed,
                "n_rois": args.n_rois, "condition": args.condition}
    if args.data:
        if not args.data.is_dir():
            raise CLIError(f"--data {args.data}: no such folder.")
        return {"source": "bids", "path": str(args.data), "task": args.task, "highpass": args.highpass}
    raise CLIError("say where the data are: --simulated PRESET or --data DIR.")


def _load_pairs(args: argparse.Namespace, scans: list[str] | None) -> tuple[list, Any]:
    from .training.experiments import load_pairs

    pairs, design, _ = load_pairs(_data_section(args))
    if scans is not None:
        known = {p.scan for p in pairs}
        missing = [s for s in scans if s not in known]
        if missing:
            raise CLIError(f"scans {missing} are not in the data; it has {sorted(known)}.")
        pairs = [p for p in pairs if p.scan in scans]
        design = design[design["scan"].isin(scans)]
    return pairs, design


def _split_section(text: str, seed: int) -> dict[str, Any]:
    kind, _, rest = text.partition(":")
    if kind == "subject":
        return {"kind": "subject", "seed": seed}
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
    raise CLIError(f"--split {text!r}: use subject, table:PATH, kfold:K:FOLD or loso:SUBJECT.")


def _check_output(path: Path, flag: str, is_file: bool = True,
                  parent_must_exist: bool = False) -> None:
    """Refuse an output path that cannot be written (checked before anything is computed)."""
    if is_file and path.is_dir():
        raise CLIError(f"{flag} {path} is a folder; give a file path, e.g. {path / path.name}.")
    if parent_must_exist and not path.parent.is_dir():
        raise CLIError(f"{flag} {path}: the folder {path.parent} does not exist; create it "
                       f"first (mkdir -p {path.parent}) or choose another path.")
    existing = next(p for p in (path.parent if is_file else path, *path.parents) if p.exists())
    if not existing.is_dir():
        raise CLIError(f"{flag} {path}: {existing} is an existing file, not a folder; choose "
                       "another path (or move the file away).")


def _check_device(text: str) -> None:
    """Refuse a --device this machine does not have, before any data is loaded."""
    import torch

    try:
        device = torch.device("cpu" if text == "auto" else text)
    except (RuntimeError, ValueError):
        raise CLIError(f"--device {text!r} is not a device; use auto, cpu, cuda or cuda:N.") from None
    n_gpus = torch.cuda.device_count() if torch.cuda.is_available() else 0
    if device.type == "cuda" and (device.index or 0) >= n_gpus:
        raise CLIError(f"--device {text}: PyTorch sees {n_gpus} CUDA GPU(s) on this machine; "
                       "use --device cpu, or --device auto to take a GPU when there is one.")
    if device.type not in ("cpu", "cuda"):
        raise CLIError(f"--device {text}: only auto, cpu and cuda[:N] are supported.")


def cmd_simulate(args: argparse.Namespace) -> int:
    from .atlases import load_atlas
    from .simulation import simulate_cohort

    _check_output(args.out, "--out", is_file=False)
    cohort = simulate_cohort(args.preset, seed=args.seed, atlas=load_atlas("embedded", args.n_rois),
                             condition=args.condition, progress=True)
    scans = _scan_list(args.scans)
    if scans is not None:
        unknown = sorted(set(scans) - set(cohort.scans))
        if unknown:
            raise CLIError(f"scans {unknown} are not in the {args.preset} cohort: {cohort.scans}.")
    paths = cohort.write(args.out, scans=scans)
    print(f"Wrote {len(scans or cohort.scans)} simulated scans ({len(paths)} files) to {args.out} "
          f"(data_source=simulated, preset={args.preset}, seed={args.seed}).")
    return 0


def _train_from_config(path: Path) -> int:
    """Run ``train --config``: parse and check the file first, so that a typo writes nothing."""
    import yaml

    from .training.experiment_config import load_experiment_config
    from .training.experiments import run_experiment

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


_TRAIN_OPTIONS = ("epochs", "batch_size", "lr", "warmup_epochs", "loss", "grad_accum", "device",
                  "precision", "compile", "num_workers", "max_steps", "checkpoint_every",
                  "tensorboard")


def _train_config(args: argparse.Namespace) -> Any:
    """The TrainConfig of the command line, checked before anything is loaded or written."""
    from .models import MODEL_NAMES
    from .training.trainer import TrainConfig

    if args.model != "ridge" and args.model not in MODEL_NAMES:
        raise CLIError(f"--model {args.model!r} is not a model; choose one of "
                       f"{', '.join(MODEL_NAMES + ('ridge',))}.")
    _check_device(args.device)
    try:
        return TrainConfig(seed=args.train_seed, progress=not args.no_progress,
                           **{k: getattr(args, k) for k in _TRAIN_OPTIONS})
    except (ValueError, TypeError) as err:
        raise CLIError(str(err)) from None


def cmd_train(args: argparse.Namespace) -> int:
    if args.write_paper_configs is not None:
        import yaml

        from .training.experiments import paper_experiments

        _check_output(args.write_paper_configs, "--write-paper-configs", is_file=False)
        args.write_paper_configs.mkdir(parents=True, exist_ok=True)
        for name, config in paper_experiments().items():
            (args.write_paper_configs / f"{name}.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
        print(f"Wrote the paper's experiment configs to {args.write_paper_configs}.")
        return 0
    if args.config is not None:
        return _train_from_config(args.config)
    if args.out is None:
        raise CLIError("train needs --out RUN_DIR (where checkpoints, the log and the model go).")
    _check_output(args.out, "--out", is_file=False)
    split_spec = _split_section(args.split, args.split_seed)  # check the spec before loading
    config = _train_config(args)

    from .training.distributed import init_distributed
    from .training.experiments import resolve_channels, resolve_split
    from .training.trainer import Trainer

    info = init_distributed()
    pairs, design = _load_pairs(args, _scan_list(args.scans))
    split = resolve_split(split_spec, design)
    by_scan = {p.scan: p for p in pairs}
    train, val = [by_scan[s] for s in split.train], [by_scan[s] for s in split.val]
    channels = None if args.channels is None else (
        "shared23" if args.channels == "shared23" else _scan_list(args.channels))
    ch_names = resolve_channels(channels, pairs)
    n_rois = int(pairs[0].bold.sizes["roi"])
    from .models import build_model

    model = None if args.model == "ridge" else build_model(
        args.model, n_outputs=n_rois, ch_names=ch_names, preset=args.preset, seed=0)
    args.out.mkdir(parents=True, exist_ok=True)
    if info.is_main:
        split.as_table(design).to_csv(args.out / "split.csv", index=False)
    if model is None:
        from .models import save_model
        from .training.experiments import fit_ridge

        model, fit_info = fit_ridge({"label": "ridge", "alphas": [10, 100, 1000, 10000]},
                                     ch_names, N_TIMES, train, val)
        save_model(model, args.out / "best")
        print(f"Ridge fitted on {len(train)} scans (alpha={fit_info['alpha']:g}); saved "
              f"{args.out / 'best'}.json/.safetensors ({pairs[0].data_source} data).")
        return 0
    result = Trainer(model, config, out_dir=args.out).fit(train, val, resume=not args.no_resume)
    if info.is_main:
        state = "stopped early (--max-steps); run again to continue" if result.interrupted else "done"
        saved = (f"model at {args.out / 'best'}" if (args.out / "best.json").exists() else
                 "no model saved yet (it is written at the end of an epoch)")
        print(f"Training {state}: {result.steps} steps, best epoch {result.best_epoch} "
              f"({result.select_on} {result.best_score:.4f}) on {pairs[0].data_source} data; "
              f"{saved}, log at {args.out / 'log.csv'}.")
    return 0


def cmd_predict(args: argparse.Namespace) -> int:
    from .data.netcdf import save
    from .models import load_model
    from .training.inference import predict

    base = args.model.with_suffix("") if args.model.suffix in (".json", ".safetensors") else args.model
    if not base.with_name(base.name + ".json").exists():
        raise CLIError(f"--model {args.model}: no {base.name}.json beside it (save_model writes "
                       "<path>.json and <path>.safetensors; pass the path without suffix).")
    _check_output(args.out, "--out")
    _check_device(args.device)
    scans = _scan_list(args.scans)
    if scans is not None and len(scans) == 1 and scans[0] in ("train", "val", "test"):
        import pandas as pd

        split_csv = base.parent / "split.csv"
        if not split_csv.exists():
            raise CLIError(f"--scans {scans[0]} reads {split_csv}, which does not exist.")
        table = pd.read_csv(split_csv)
        scans = list(table.loc[table["split"] == scans[0], "scan"])
    pairs, _ = _load_pairs(args, scans)
    model = load_model(base, map_location="cpu")
    device = None
    if hasattr(model, "parameters"):
        from .training.inference import resolve_device

        device = resolve_device(None if args.device == "auto" else args.device)
        model = model.to(device)
    pred = predict(model, pairs, batch_size=args.batch_size, device=device,
                   attrs={"checkpoint": str(base)})
    save(pred, args.out)
    print(f"Predicted {len(pairs)} scans ({pred.attrs['data_source']} data) -> {args.out}")
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    from ._utils import atomic_path
    from .data.netcdf import load, save
    from .metrics import evaluate, summary_table

    if not args.predictions.is_file():
        raise CLIError(f"{args.predictions}: no such file; give a predictions .nc file written "
                       "by 'unebolt-viz predict'.")
    if args.out:
        _check_output(args.out, "--out")
    if args.csv:
        _check_output(args.csv, "--csv", parent_must_exist=True)
    pred = load(args.predictions)
    if getattr(pred, "attrs", {}).get("kind") != "predictions":
        raise CLIError(f"{args.predictions} is not a predictions file (kind="
                       f"{pred.attrs.get('kind')!r}); make one with 'unebolt-viz predict'.")
    metrics = evaluate(pred, densities=args.densities)
    table = summary_table(metrics)
    print(f"Model {metrics.attrs['model']} on {metrics.attrs['data_source']} data "
          f"({metrics.sizes['scan']} scans):")
    print(table.to_string())
    if args.out:
        save(metrics, args.out)
    if args.csv:
        with atomic_path(args.csv) as tmp:
            table.to_csv(tmp)
    return 0


def cmd_fetch(args: argparse.Namespace) -> int:
    from .datasets.fetch import UnverifiedDataError, fetch, list_datasets

    if args.list or not args.name:
        names = list_datasets()
        if not args.list:
            raise CLIError(f"fetch needs an entry name; one of {names}.")
        print("\n".join(names))
        return 0
    if args.name not in list_datasets():
        raise CLIError(f"{args.name!r} is not in the data manifest; see 'unebolt-viz fetch --list'.")
    if args.data_dir is not None:
        _check_output(args.data_dir, "--data-dir", is_file=False)
    try:
        paths = fetch(args.name, data_dir=args.data_dir, allow_unverified=args.allow_unverified)
    except UnverifiedDataError as err:
        raise CLIError(err.with_option("--allow-unverified")) from None
    for path in paths if isinstance(paths, list) else [paths]:
        print(path)
    return 0


COMMANDS = {"simulate": cmd_simulate, "train": cmd_train, "predict": cmd_predict,
            "evaluate": cmd_evaluate, "fetch": cmd_fetch}


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status (0 on success, 2 on an input error, which
    is printed as one line on stderr; other exceptions are bugs and keep their traceback)."""
    from .datasets.fetch import FetchError

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
