"""``unebolt-viz evaluate``: the paper's metrics of a predictions file."""

from __future__ import annotations

import argparse

from ._errors import CLIError, check_output

__all__ = ["cmd_evaluate"]


def cmd_evaluate(args: argparse.Namespace) -> int:
    """Run ``evaluate``; return the exit status."""
    from .._utils import atomic_path
    from ..data.netcdf import load, save
    from ..metrics import evaluate, summary_table

    if not args.predictions.is_file():
        raise CLIError(f"{args.predictions}: no such file; give a predictions .nc file written "
                       "by 'unebolt-viz predict'.")
    if args.out:
        check_output(args.out, "--out")
    if args.csv:
        check_output(args.csv, "--csv", parent_must_exist=True)
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
