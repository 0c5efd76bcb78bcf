"""Reading a continuous EEG recording with MNE-Python, in any format it supports."""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ...data.containers import InvalidDataError

if TYPE_CHECKING:  # pragma: no cover
    import mne

__all__ = ["EEG_EXTENSIONS", "EEGFileError", "read_eeg"]

#: File endings MNE reads, and the reader it uses (``mne.io.read_raw`` picks by ending).
EEG_EXTENSIONS: dict[str, str] = {
    ".vhdr": "BrainVision (BrainAmp MR)",
    ".ahdr": "BrainVision (compressed)",
    ".edf": "EDF/EDF+",
    ".bdf": "BDF (BioSemi)",
    ".gdf": "GDF",
    ".set": "EEGLAB",
    ".fif": "FIF (MNE)",
    ".fif.gz": "FIF (MNE, gzip)",
    ".cnt": "Neuroscan CNT",
    ".mff": "EGI MFF",
    ".vhdr.gz": "BrainVision (gzip header)",
    ".cdt": "Curry",
    ".dat": "Curry (legacy)",
    ".nxe": "Nexstim",
    ".eeg": "Nihon Kohden",
    ".mat": "FieldTrip",
    ".snirf": "SNIRF",
    ".lay": "Persyst",
    ".bin": "Artemis123",
}


class EEGFileError(InvalidDataError):
    """A recording cannot be turned into model input as it is; the message says how to fix it."""


def _extension(path: Path) -> str:
    """The ending of ``path`` among :data:`EEG_EXTENSIONS` (longest first), else its suffix."""
    name = path.name.lower()
    for ext in sorted(EEG_EXTENSIONS, key=len, reverse=True):
        if name.endswith(ext):
            return ext
    return path.suffix.lower()


def read_eeg(path: str | os.PathLike, *, preload: bool = True, verbose: str | bool = "warning",
             **kwargs: Any) -> mne.io.BaseRaw:
    """Read a continuous EEG recording in any format MNE-Python supports.

    Parameters
    ----------
    path : path-like
        The recording: ``.vhdr`` (BrainVision), ``.edf``, ``.bdf``, ``.set`` (EEGLAB), ``.fif``
        and the other endings of :data:`EEG_EXTENSIONS`. For BrainVision pass the ``.vhdr``.
    preload : bool
        Load the samples into memory (needed by :func:`prepare_eeg`).
    verbose : str or bool
        MNE's verbosity. At ``"warning"`` (the default) or more verbose, MNE's warnings about
        the file (e.g. an EDF shorter than its header says, annotations outside the data) are
        passed on as ``RuntimeWarning`` naming the file; ``"error"`` silences them.
    **kwargs
        Passed to the MNE reader (e.g. ``eog=...``, ``misc=...``).

    Returns
    -------
    mne.io.BaseRaw
        Markers (e.g. BrainVision's ``Response/R149``) are in ``raw.annotations``.
    """
    import mne

    path = Path(path)
    ext = _extension(path)
    if ext == ".eeg" and path.with_suffix(".vhdr").exists():
        raise EEGFileError(
            f"{path}: this is the binary part of a BrainVision recording; read "
            f"{path.with_suffix('.vhdr').name} (the header) instead."
        )
    if not path.exists():
        raise FileNotFoundError(f"EEG file not found: {path}")
    if ext not in EEG_EXTENSIONS:
        supported = ", ".join(f"{e} ({k})" for e, k in EEG_EXTENSIONS.items())
        raise EEGFileError(
            f"{path}: unknown EEG file type {ext!r}. Supported endings: {supported}. Convert the "
            "recording to one of them (e.g. with MNE: raw.export('x.edf') or raw.save('x_raw.fif'))."
        )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            raw = mne.io.read_raw(path, preload=preload, verbose=verbose, **kwargs)
        except ValueError as err:
            raise EEGFileError(
                f"{path}: MNE could not read it as {EEG_EXTENSIONS[ext]}: {err}") from err
    for item in caught:
        _pass_on(item, path, raw)
    return raw


#: Start of MNE's warning for an EDF/BDF whose data end before the header's record count.
_TRUNCATED = "Number of records from the header does not match the file size"


def _pass_on(item: warnings.WarningMessage, path: Path, raw: mne.io.BaseRaw) -> None:
    """Re-emit a warning MNE raised while reading ``path``, naming the file (and the fix)."""
    text = str(item.message)
    if text.startswith(_TRUNCATED):
        seconds = raw.n_times / raw.info["sfreq"]
        text += (f" Only {seconds:.1f} s of data could be read: the file was probably cut "
                 "short (an interrupted copy or download, or a recording not stopped "
                 "properly). Use the complete file, or accept the shorter recording.")
    category = item.category if issubclass(item.category, Warning) else RuntimeWarning
    warnings.warn(f"{path}: {text}", category, stacklevel=3)


def _source(raw: mne.io.BaseRaw) -> str:
    """The file a user opened for ``raw`` (the header, not MNE's binary data file)."""
    names = [Path(f) for f in (getattr(raw, "filenames", None) or ()) if f is not None]
    if not names:
        return "<in-memory Raw>"
    path = names[0]
    for data_suffix, header_suffix in ((".eeg", ".vhdr"), (".fdt", ".set")):
        if path.suffix.lower() == data_suffix and path.with_suffix(header_suffix).exists():
            return str(path.with_suffix(header_suffix))
    return str(path)
