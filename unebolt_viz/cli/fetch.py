"""``unebolt-viz fetch``: download an entry of the data manifest, verified."""

from __future__ import annotations

import argparse

from ._errors import CLIError, check_output

__all__ = ["cmd_fetch"]


def cmd_fetch(args: argparse.Namespace) -> int:
    """Run ``fetch``; return the exit status."""
    from ..datasets.fetch import UnverifiedDataError, fetch, list_datasets

    if args.list or not args.name:
        names = list_datasets()
        if not args.list:
            raise CLIError(f"fetch needs an entry name; one of {names}.")
        print("\n".join(names))
        return 0
    if args.name not in list_datasets():
        raise CLIError(f"{args.name!r} is not in the data manifest; see 'unebolt-viz fetch --list'.")
    if args.data_dir is not None:
        check_output(args.data_dir, "--data-dir", is_file=False)
    try:
        paths = fetch(args.name, data_dir=args.data_dir, allow_unverified=args.allow_unverified)
    except UnverifiedDataError as err:
        raise CLIError(err.with_option("--allow-unverified")) from None
    for path in paths if isinstance(paths, list) else [paths]:
        print(path)
    return 0
