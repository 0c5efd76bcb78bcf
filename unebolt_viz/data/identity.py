"""Which ROIs a container or a model is about: atlas records, fingerprints and their check.

Two ROI sets with the same number of ROIs are not the same ROIs: an output unit trained on one
region of one atlas says nothing about the region at the same position of another. Containers
and models therefore record their atlas name and a fingerprint of their ROI names (in order),
and :func:`check_same_atlas` refuses to mix two different ones.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from .validation import InvalidDataError, roi_fingerprint

__all__ = [
    "AtlasMismatchError",
    "UNKNOWN_ATLAS",
    "atlas_name",
    "atlas_record",
    "check_provenance",
    "check_same_atlas",
    "provenance_config",
    "roi_fingerprint",
]

#: Atlas name recorded when nobody said which atlas the ROIs come from.
UNKNOWN_ATLAS = "unknown"


class AtlasMismatchError(InvalidDataError):
    """Two objects describe different ROIs (another atlas, another order or another subset)."""


def atlas_name(atlas: Any) -> str:
    """The name of ``atlas``: an :class:`~unebolt_viz.atlases.Atlas`, a string or None."""
    if atlas is None:
        return UNKNOWN_ATLAS
    name = getattr(atlas, "name", atlas)
    text = str(name).strip()
    return text or UNKNOWN_ATLAS


def atlas_record(atlas: Any, roi_names: Sequence[str]) -> dict[str, Any]:
    """What identifies a set of ROIs: atlas name, number of ROIs and fingerprint.

    Parameters
    ----------
    atlas : Atlas, str or None
        The atlas (or its name); None records ``"unknown"``.
    roi_names : sequence of str
        ROI names in order.

    Returns
    -------
    dict
        ``{"atlas": str, "n_rois": int, "roi_fingerprint": str}``.
    """
    names = [str(r) for r in roi_names]
    return {"atlas": atlas_name(atlas), "n_rois": len(names), "roi_fingerprint": roi_fingerprint(names)}


def _describe(record: Mapping[str, Any]) -> str:
    return (f"atlas {record.get('atlas', UNKNOWN_ATLAS)!r} ({record.get('n_rois')} ROIs, "
            f"fingerprint {record.get('roi_fingerprint')})")


def _first_differences(a: Sequence[str], b: Sequence[str], labels: tuple[str, str],
                       limit: int = 3) -> str:
    """The first positions where two ROI lists differ, written out."""
    rows = []
    for i in range(max(len(a), len(b))):
        x = a[i] if i < len(a) else "(none)"
        y = b[i] if i < len(b) else "(none)"
        if x != y:
            rows.append(f"ROI {i}: {x!r} ({labels[0]}) vs {y!r} ({labels[1]})")
            if len(rows) == limit:
                break
    return "; ".join(rows)


def check_same_atlas(
    expected: Mapping[str, Any],
    found: Mapping[str, Any],
    *,
    expected_rois: Sequence[str] | None = None,
    found_rois: Sequence[str] | None = None,
    labels: tuple[str, str] = ("the model", "the scans"),
    override: str = "allow_atlas_mismatch=True",
) -> None:
    """Raise :class:`AtlasMismatchError` unless two atlas records name the same ROIs.

    Parameters
    ----------
    expected, found : mapping
        Records from :func:`atlas_record`; they match when their fingerprints are equal.
    expected_rois, found_rois : sequence of str, optional
        The ROI names behind the records, to show the first ones that differ.
    labels : (str, str)
        What each record belongs to, for the message (``"the model"``, ``"the scans"``).
    override : str
        The option that skips this check, named in the message.

    Raises
    ------
    AtlasMismatchError
        Naming both atlases (name, ROI count, fingerprint), the first differing ROI names and
        the override.
    """
    if expected.get("roi_fingerprint") == found.get("roi_fingerprint"):
        return
    detail = ""
    if expected_rois is not None and found_rois is not None:
        diffs = _first_differences([str(r) for r in expected_rois], [str(r) for r in found_rois],
                                   labels)
        if diffs:
            detail = f" First differing ROI names: {diffs}."
    raise AtlasMismatchError(
        f"{labels[0][:1].upper()}{labels[0][1:]} uses {_describe(expected)} but {labels[1]} "
        f"use {_describe(found)}: the ROIs differ in name or order, so output i would be "
        f"compared with a different region.{detail} Use the same atlas on both sides (e.g. a "
        f"model trained on {labels[1]}' atlas), or pass {override} to go ahead anyway (the "
        "result records both atlases)."
    )


def check_provenance(
    n_outputs: int | None, roi_names: Sequence[str] | None, atlas: str | None,
    training_data_source: str | None,
) -> tuple[tuple[str, ...] | None, str | None, str | None]:
    """The three provenance fields of a model, checked and normalised.

    Parameters
    ----------
    n_outputs : int or None
        Number of model outputs (None: not known yet, e.g. an unfitted ridge).
    roi_names : sequence of str or None
        The ROI of each output, in output order.
    atlas : str or None
        Name of the atlas of those ROIs.
    training_data_source : str or None
        ``data_source`` of the training scans.

    Returns
    -------
    tuple
        ``(roi_names as a tuple or None, atlas or None, training_data_source or None)``; None
        means unknown (models saved before these fields existed).

    Raises
    ------
    ValueError
        If ``roi_names`` does not give one name per output.
    """
    names = None if roi_names is None else tuple(str(r) for r in roi_names)
    if names is not None and n_outputs is not None and len(names) != n_outputs:
        raise ValueError(
            f"roi_names has {len(names)} names but the model predicts {n_outputs} ROIs; give "
            "one name per output, in output order (or None when unknown)."
        )
    return (names, None if atlas is None else str(atlas),
            None if training_data_source is None else str(training_data_source))


def provenance_config(model: Any) -> dict[str, Any]:
    """The provenance fields of ``model`` as JSON-serialisable config entries.

    Parameters
    ----------
    model : object
        A model with ``roi_names``, ``atlas`` and ``training_data_source`` attributes (missing
        ones count as None).

    Returns
    -------
    dict
        ``roi_names`` (a list or None), ``atlas`` and ``training_data_source``.
    """
    names = getattr(model, "roi_names", None)
    return {
        "roi_names": None if names is None else list(names),
        "atlas": getattr(model, "atlas", None),
        "training_data_source": getattr(model, "training_data_source", None),
    }
