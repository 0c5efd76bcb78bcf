"""The argument parser of ``unebolt-viz``: one sub-parser per command."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..models.presets import MODEL_NAMES
from ._errors import PROG

__all__ = ["build_parser"]


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
                             "writes, or your own), or the public NeuroBOLT dataset as "
                             "downloaded (EEG_set/ + fMRI_difumo64/)")
    p.add_argument("--seed", type=_SEED, default=0, help="simulation seed (default 0)")
    p.add_argument("--n-rois", type=int, default=64, choices=(64, 128, 256),
                   help="ROIs of the embedded atlas for simulated data (default 64)")
    p.add_argument("--condition", default="rest", choices=("rest", "task"),
                   help="simulated condition (default rest)")
    p.add_argument("--task", default=None, help="BIDS task of --data to use (default: all)")
    p.add_argument("--highpass", type=_number(float, 0), default=None,
                   help="EEG high-pass in Hz for --data; 0 turns it off (train: 0.5 by default, "
                        "the paper's cross-subject setting)")
    p.add_argument("--scans", default=None, help=scans_help)
    p.add_argument("--allow-pickle", action="store_true",
                   help="public NeuroBOLT data: read its pickled ROI tables, which can run "
                        "arbitrary code, only from a source you trust; each is converted once "
                        "to netCDF, which later runs read instead")


def _add_simulate(sub: argparse._SubParsersAction) -> None:
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


def _add_train(sub: argparse._SubParsersAction) -> None:
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
                   help=f"{', '.join(MODEL_NAMES)} or ridge")
    p.add_argument("--preset", default="compact", choices=("paper", "compact", "tiny"),
                   help="model size (default compact; 'paper' wants a GPU)")
    p.add_argument("--split", default="auto",
                   help="auto (the paper's 18/5/6 table for the NeuroBOLT scans, else subject), "
                        "paper, subject (3:1:1 by subject), scans:TRAIN:VAL:TEST (scan counts, "
                        "whole subjects, e.g. scans:9:3:4), table:PATH (scan,subject,split CSV), "
                        "kfold:K:FOLD, loso:SUBJECT (default auto)")
    p.add_argument("--split-seed", type=_SEED, default=0, help="seed of the random subject split")
    p.add_argument("--channels", default=None,
                   help="EEG channels the model reads: 'shared23' or a comma-separated list "
                        "(default: the paper's 26)")
    p.add_argument("--epochs", type=_POSITIVE, default=20)
    p.add_argument("--batch-size", type=_POSITIVE, default=64, help="global batch of consecutive TRs")
    p.add_argument("--lr", type=_number(float, 0, strict=True), default=3e-4)
    p.add_argument("--warmup-epochs", type=_number(float, 0), default=5.0)
    p.add_argument("--loss", default=None,
                   choices=("full", "mse_only", "no_mse", "no_scorr", "no_tcorr"),
                   help="training objective (default: the model's own: full multi-objective "
                        "loss for unebolt, mse_only for the baselines)")
    p.add_argument("--select-on", default=None, choices=("val_loss", "val_mse", "val_r"),
                   help="validation score that selects the epoch kept (default: val_loss for "
                        "unebolt, val_mse for the baselines)")
    p.add_argument("--labram-checkpoint", metavar="PATH", type=Path, default=None,
                   help="pretrained LaBraM-base weights for the model's LaBraM branch: "
                        "labram-base.pth (LaBraM's GitHub repository) or braindecode's Labram "
                        "weights (.safetensors/.pt); needs --preset paper. Without it the branch "
                        "starts from random weights; the results record which. With --write-paper-configs: "
                        "written into every config")
    p.add_argument("--grad-accum", type=_POSITIVE, default=1)
    p.add_argument("--train-seed", type=_SEED, default=12345, help="seed of batch order and dropout")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:1, ...")
    p.add_argument("--precision", default="auto", choices=("auto", "bf16", "fp32"),
                   help="auto: bf16 on GPUs, but fp32 for --preset paper (bf16 gave NaN losses "
                        "in NeuroBOLT's code); fp32 on CPUs")
    p.add_argument("--compile", action="store_true", help="torch.compile the model (GPU only)")
    p.add_argument("--num-workers", type=_number(int, 0), default=0)
    p.add_argument("--max-steps", type=_POSITIVE, default=None, help="stop after this many steps")
    p.add_argument("--checkpoint-every", type=_POSITIVE, default=None, help="also checkpoint every N steps")
    p.add_argument("--tensorboard", action="store_true")
    p.add_argument("--no-progress", action="store_true")
    p.add_argument("--no-resume", action="store_true", help="start afresh even if --out has a checkpoint")
    p.add_argument("--out", type=Path, default=None, help="run folder (required without --config)")


def _add_eeg_options(p: argparse.ArgumentParser) -> None:
    eeg = p.add_argument_group(
        "EEG only (--eeg)", "Predict from an EEG recording with no fMRI: the model's channels are "
        "matched by name, resampled to 200 Hz and cut into the 16 s before each volume.")
    eeg.add_argument("--eeg", metavar="FILE", type=Path, default=None,
                     help="an EEG recording in any format MNE reads (.edf, .bdf, .vhdr, .set, "
                          ".fif, ...); instead of --simulated/--data")
    eeg.add_argument("--tr", metavar="S", type=_number(float, 0, strict=True), default=None,
                     help="seconds between fMRI volumes; without --trigger, one window every "
                          "S seconds from the first full window (no triggers needed)")
    eeg.add_argument("--trigger", metavar="NAME", default=None,
                     help="annotation marking each fMRI volume (default: R149 when --tr is not "
                          "given)")
    eeg.add_argument("--first-volume", metavar="S", type=_number(float, 0), default=None,
                     help="time of the first volume of the --tr grid (default 16, the first "
                          "full window)")
    eeg.add_argument("--missing", choices=("error", "interpolate"), default="error",
                     help="model channels the recording lacks: stop with an error (default) or "
                          "rebuild them by spherical-spline interpolation")
    eeg.add_argument("--allow-upsampling", action="store_true",
                     help="accept recordings sampled below 200 Hz (their upper band stays empty)")
    eeg.add_argument("--rescale", metavar="X", default=None,
                     help="multiply the file's values by X (1e-6 for microvolts declared as "
                          "volts), or CH=X,CH=X for some channels only")
    eeg.add_argument("--data-source", choices=("real", "simulated", "semi-synthetic"),
                     default="real", help="what the EEG is (default real)")


def _add_predict(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("predict", help="predict BOLD of whole scans, or of an EEG recording alone",
                       description="Predict whole scans with a saved model and write a "
                                   "predictions netCDF (true and pred ROI time series); or, with "
                                   "--eeg, predict BOLD and FC from an EEG recording alone.")
    p.add_argument("--model", metavar="NAME_OR_PATH", required=True,
                   help="saved model base path (e.g. runs/a/best for best.safetensors + "
                        "best.json), or a shipped model's name (e.g. unebolt-embedded-p64)")
    _add_data_options(p, "comma-separated scans, or train/val/test to take them from the run's "
                         "split.csv beside the model (default: all)")
    _add_eeg_options(p)
    p.add_argument("--batch-size", type=_POSITIVE, default=64)
    p.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:1, ...")
    p.add_argument("--precision", default="auto", choices=("auto", "bf16", "fp32"),
                   help="auto: bf16 on GPUs, fp32 on CPUs; bf16 also on CPUs with bf16 "
                        "instructions (AMX, AVX512-BF16), about twice as fast there for a "
                        "paper-size model, predictions equal up to bf16 rounding (torch models; "
                        "ridge always runs in float64)")
    p.add_argument("--out", type=Path, required=True, help="output .nc file")


def _add_evaluate(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("evaluate", help="metrics of a predictions file (Tcorr, FC, F1)",
                       description="Compute the paper's metrics per scan (Tcorr, Pixcorr, ConnMSE, "
                                   "F1 at densities) and print a table like its Table 3.")
    p.add_argument("predictions", type=Path, help="a predictions .nc file from 'predict'")
    p.add_argument("--densities", type=_number(float, 0, 1, strict=True), nargs="+", default=[0.25, 0.5],
                   help="edge densities of the F1 scores, in (0, 1] (default 0.25 0.5)")
    p.add_argument("--out", type=Path, default=None, help="write the metrics Dataset (.nc)")
    p.add_argument("--csv", type=Path, default=None, help="write the summary table (.csv)")


def _add_fetch(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("fetch", help="download a data set or model file of the manifest",
                       description="Download an entry of data_manifest.yaml and verify its sha256.")
    p.add_argument("name", nargs="?", help="entry name (see --list)")
    p.add_argument("--list", action="store_true", help="list the entries and exit")
    p.add_argument("--data-dir", type=Path, default=None)
    p.add_argument("--allow-unverified", action="store_true",
                   help="accept an entry whose sha256 the manifest does not know")


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
    for add in (_add_simulate, _add_train, _add_predict, _add_evaluate, _add_fetch):
        add(sub)
    return parser
