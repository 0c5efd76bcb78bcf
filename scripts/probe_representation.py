"""What an embedded UnEBOLT's pooled EEG representation keeps of the band power ridge reads.

A diagnostic for the shipped embedded models (simulated cohort only). Ridge's features are,
per EEG channel, HRF-weighted log band powers. This script splits them, window by window, into
their mean over channels (the overall power of each band) and each channel's deviation from
that mean (where on the scalp the power is), and asks two questions:

1. How much of each part can a linear read-out recover from UnEBOLT's fused representation
   ``r`` (the vector every ROI head starts from)? The read-out is fitted on the validation scans
   and scored (R², mean over features) on the test scans. The same is asked of the BOLD that a
   ridge regression predicts from each part alone (the part of the band power that matters).
2. How far does each part take a ridge regression of the BOLD? Fitted on the training scans
   (the cohort's own plus ``--extra-train-subjects``), scored on the validation scans (Tcorr and
   Pixcorr, means over scans).

Everything is centred per scan first, as the BOLD targets are z-scored per scan. The result is
written as JSON (``--out``) and printed.

Run: ``python scripts/probe_representation.py --n-rois 64 [--model unebolt-embedded-p64]
[--extra-train-subjects 20] [--out probe.json]`` (a few minutes; ``--model`` also takes the path
of a checkpoint saved with :func:`unebolt_viz.models.save_model`).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import numpy as np

PENALTIES = (1e-3, 1e-2, 1e-1)


def centre_per_scan(values: np.ndarray, lengths: list[int]) -> np.ndarray:
    """``values`` (n, ...) minus the mean of each scan's consecutive block of rows."""
    if sum(lengths) != len(values):
        raise ValueError(f"scan lengths sum to {sum(lengths)}, but there are {len(values)} rows")
    out = np.array(values, dtype=float)
    start = 0
    for length in lengths:
        out[start:start + length] -= out[start:start + length].mean(axis=0)
        start += length
    return out


def split_band_power(features: np.ndarray, n_bands: int) -> tuple[np.ndarray, np.ndarray]:
    """Channel-major features (n, n_chans * n_bands) -> (channel mean (n, n_bands), each
    channel's deviation from it (n, n_chans * n_bands)); mean + deviation gives the input back."""
    n, width = features.shape
    if width % n_bands:
        raise ValueError(f"{width} features are not a whole number of channels x {n_bands} bands")
    per_channel = features.reshape(n, width // n_bands, n_bands)
    mean = per_channel.mean(axis=1)
    return mean, (per_channel - mean[:, None, :]).reshape(n, width)


def ridge_readout(x_fit: np.ndarray, y_fit: np.ndarray, penalty: float):
    """A ridge map from standardised ``x_fit`` to ``y_fit``; ``penalty`` is per window."""
    x_mean, x_scale = x_fit.mean(axis=0), x_fit.std(axis=0)
    x_scale = np.where(x_scale > 0, x_scale, 1.0)
    z = (x_fit - x_mean) / x_scale
    y_mean = y_fit.mean(axis=0)
    gram = z.T @ z + penalty * len(z) * np.eye(z.shape[1])
    coef = np.linalg.solve(gram, z.T @ (y_fit - y_mean))
    return lambda x: ((x - x_mean) / x_scale) @ coef + y_mean


def mean_r2(pred: np.ndarray, true: np.ndarray) -> float:
    """Coefficient of determination per column, averaged over columns."""
    residual = ((true - pred) ** 2).sum(axis=0)
    total = ((true - true.mean(axis=0)) ** 2).sum(axis=0)
    return float(np.mean(1.0 - residual / total))


def scan_scores(pred: np.ndarray, true: np.ndarray, lengths: list[int]) -> dict[str, float]:
    """Tcorr (mean over ROIs of the temporal r) and Pixcorr (r of the FC upper triangles), each
    averaged over the scans (consecutive blocks of ``lengths`` rows)."""
    from unebolt_viz.metrics._common import _pearson_columns
    from unebolt_viz.metrics.connectivity import pixcorr

    tcorr, pix, start = [], [], 0
    for length in lengths:
        p, t = pred[start:start + length], true[start:start + length]
        tcorr.append(float(_pearson_columns(p, t).mean()))
        pix.append(pixcorr(np.corrcoef(t.T), np.corrcoef(p.T)))
        start += length
    return {"Tcorr": float(np.mean(tcorr)), "Pixcorr": float(np.mean(pix))}


def _windows(pairs, model, ridge, with_representation: bool):
    """Centred representation r (or None), centred ridge features, targets, scan lengths."""
    import torch

    from unebolt_viz.training.datasets import WindowDataset

    data = WindowDataset(pairs, ch_names=model.ch_names, n_times=model.n_times)
    reps, feats, targets = [], [], []
    with torch.no_grad():
        for start in range(0, len(data), 128):
            x, y = data.get_batch(range(start, min(start + 128, len(data))))
            if with_representation:
                reps.append(model.fuse(*model.encoder(model.scale_input(x))).numpy())
            feats.append(ridge.features(x.numpy()))
            targets.append(y.numpy())
    lengths = [p.n_windows for p in pairs]
    rep = centre_per_scan(np.concatenate(reps), lengths) if with_representation else None
    return rep, centre_per_scan(np.concatenate(feats), lengths), np.concatenate(targets), lengths


def probe(model, ridge, train, val, test) -> dict:
    """The two questions of the module docstring, for every penalty in ``PENALTIES``."""
    if tuple(ridge.ch_names) != tuple(model.ch_names):
        raise ValueError(f"the ridge model reads channels {ridge.ch_names} and UnEBOLT "
                         f"{model.ch_names}: probe two models trained on the same cohort")
    n_bands = len(ridge.bands)
    r_val, f_val, y_val, len_val = _windows(val, model, ridge, True)
    r_test, f_test, _, _ = _windows(test, model, ridge, True)
    _, f_train, y_train, _ = _windows(train, model, ridge, False)
    (g_val, d_val), (g_test, d_test) = (split_band_power(f, n_bands) for f in (f_val, f_test))
    g_train, d_train = split_band_power(f_train, n_bands)
    result = {"readout_from_r_test_r2": {}, "readout_from_r_of_ridge_bold_test_r2": {},
              "ridge_on_band_power_val": {}}
    for penalty in PENALTIES:
        result["readout_from_r_test_r2"][str(penalty)] = {
            "channel_mean": mean_r2(ridge_readout(r_val, g_val, penalty)(r_test), g_test),
            "channel_deviation": mean_r2(ridge_readout(r_val, d_val, penalty)(r_test), d_test),
        }
        # Only the part of the band power that predicts BOLD matters: the BOLD that ridge
        # predicts from each part alone, and how much of it r can reproduce.
        readouts = {}
        for part, (train_x, val_x, test_x) in {
            "from_channel_mean": (g_train, g_val, g_test),
            "from_channel_deviation": (d_train, d_val, d_test),
        }.items():
            bold = ridge_readout(train_x, y_train, penalty)
            readouts[part] = mean_r2(
                ridge_readout(r_val, bold(val_x), penalty)(r_test), bold(test_x))
        result["readout_from_r_of_ridge_bold_test_r2"][str(penalty)] = readouts
        result["ridge_on_band_power_val"][str(penalty)] = {
            "channel_mean_only": scan_scores(
                ridge_readout(g_train, y_train, penalty)(g_val), y_val, len_val),
            "all_channels": scan_scores(
                ridge_readout(f_train, y_train, penalty)(f_val), y_val, len_val),
        }
    return result


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n-rois", type=int, default=64)
    parser.add_argument("--model", default=None,
                        help="pretrained name or checkpoint path (default: the shipped "
                             "unebolt-embedded-p{n_rois})")
    parser.add_argument("--extra-train-subjects", type=int, default=20)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    import torch

    import unebolt_viz as uv
    from unebolt_viz.models import load_model

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from train_embedded_checkpoint import _cohort_and_split, _parse

    torch.set_num_threads(args.threads)
    name = args.model or f"unebolt-embedded-p{args.n_rois}"
    is_name = name in {m["name"] for m in uv.pretrained()}
    model = (uv.load_pretrained(name) if is_name else load_model(name)).eval()
    ridge = uv.load_pretrained(f"ridge-embedded-p{args.n_rois}")
    with tempfile.TemporaryDirectory() as atlas_dir:
        atlas = uv.load_atlas("embedded", args.n_rois, data_dir=atlas_dir)
    cohort_args = _parse(["--extra-train-subjects", str(args.extra_train_subjects)])
    cohort, split, extra = _cohort_and_split(cohort_args, atlas)
    pairs = {k: cohort.pairs(list(split[k])) for k in ("val", "test")}
    train = cohort.pairs(list(split["train"]) + extra)
    result = {"data": "simulated (embedded teaching cohort, seed 0)", "model": name,
              "n_rois": args.n_rois, "extra_train_subjects": args.extra_train_subjects,
              **probe(model, ridge, train, pairs["val"], pairs["test"])}
    text = json.dumps(result, indent=1)
    print(text)
    if args.out:
        args.out.write_text(text + "\n")
    return result


if __name__ == "__main__":
    main()
