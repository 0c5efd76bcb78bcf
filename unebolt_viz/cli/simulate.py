"""``unebolt-viz simulate``: write the embedded simulated cohort as BIDS-like files."""

from __future__ import annotations

import argparse

from ._data import scan_list
from ._errors import CLIError, check_output

__all__ = ["cmd_simulate"]


def cmd_simulate(args: argparse.Namespace) -> int:
    """Run ``simulate``; return the exit status."""
    from ..atlases import load_atlas
    from ..simulation import simulate_cohort

    check_output(args.out, "--out", is_file=False)
    cohort = simulate_cohort(args.preset, seed=args.seed, atlas=load_atlas("embedded", args.n_rois),
                             condition=args.condition, progress=True)
    scans = scan_list(args.scans)
    if scans is not None:
        unknown = sorted(set(scans) - set(cohort.scans))
        if unknown:
            raise CLIError(f"scans {unknown} are not in the {args.preset} cohort: {cohort.scans}.")
    paths = cohort.write(args.out, scans=scans)
    print(f"Wrote {len(scans or cohort.scans)} simulated scans ({len(paths)} files) to {args.out} "
          f"(data_source=simulated, preset={args.preset}, seed={args.seed}).")
    return 0
