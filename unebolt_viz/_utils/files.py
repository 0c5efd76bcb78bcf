"""Writing files so that nothing is ever left half-written."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

__all__ = ["atomic_path"]


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


class atomic_path:  # noqa: N801 - used like a function in a with statement
    """Context manager giving a temporary path that replaces ``path`` only on success.

    The temporary file lives in the destination folder so that the final :func:`os.replace`
    is atomic: readers never see a half-written file, even when several processes write the
    same path. On any error the temporary file is removed and ``path`` is left untouched. The
    file gets the permissions of a normally created file (``tempfile`` would make it private).

    Parameters
    ----------
    path : path-like
        The file to write.
    suffix : str, optional
        Suffix of the temporary file (default: that of ``path``), for writers that infer the
        format from it (``numpy.savez`` adds ``.npz`` when it is missing).

    Examples
    --------
    >>> with atomic_path("results.nc") as tmp:  # doctest: +SKIP
    ...     dataset.to_netcdf(tmp)
    """

    def __init__(self, path: str | os.PathLike, suffix: str | None = None) -> None:
        self.path = Path(path)
        self.suffix = self.path.suffix if suffix is None else suffix

    def __enter__(self) -> Path:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{self.path.name}.", suffix=f".tmp{self.suffix}",
                                   dir=self.path.parent)
        os.close(fd)
        os.chmod(tmp, 0o666 & ~_umask())
        self.tmp = Path(tmp)
        return self.tmp

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            os.replace(self.tmp, self.path)
        else:
            self.tmp.unlink(missing_ok=True)
