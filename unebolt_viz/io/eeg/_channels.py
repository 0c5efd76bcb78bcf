"""Channels of a recording: their types, canonical names, standard positions, interpolation.

Channels are matched by name, never by position: non-EEG channels declared as EEG get their
real type, EEG channels get canonical 10-10 names, and positions come from MNE's 10-05
template, from which missing or bad channels can be rebuilt.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from ...conventions import NON_EEG_PATTERNS, canonical_channel_name
from ._read import EEGFileError

if TYPE_CHECKING:  # pragma: no cover
    import mne


def _non_eeg_type(name: str) -> str | None:
    """The type (``"ecg"``, ``"eog"``, ...) a channel's name reveals, or None for EEG."""
    upper = name.upper()
    for kind, patterns in NON_EEG_PATTERNS.items():
        if any(p in upper for p in patterns):
            return kind
    return None


def _type_channels(raw: mne.io.BaseRaw) -> dict[str, str]:
    """Give non-EEG channels declared as EEG (e.g. ``"ECG ECG"`` in EDF) their real type."""
    types = dict(zip(raw.ch_names, raw.get_channel_types()))
    retyped = {}
    for name, kind in types.items():
        if kind == "eeg":
            new = _non_eeg_type(name)
            if new is not None:
                retyped[name] = new
    if retyped:
        raw.set_channel_types(retyped, on_unit_change="ignore", verbose="error")
    return retyped


def _rename_eeg(raw: mne.io.BaseRaw, source: str) -> dict[str, str]:
    """Rename EEG channels to canonical upper-case 10-10 names (legacy names mapped)."""
    eeg = [raw.ch_names[i] for i in _eeg_picks(raw)]
    mapping = {name: canonical_channel_name(name) for name in eeg}
    inverse: dict[str, list[str]] = {}
    for old, new in mapping.items():
        inverse.setdefault(new, []).append(old)
    clashes = {new: olds for new, olds in inverse.items() if len(olds) > 1}
    others = set(raw.ch_names) - set(eeg)
    clashes.update({new: [old, new] for old, new in mapping.items() if new in others})
    if clashes:
        detail = "; ".join(f"{' and '.join(v)} -> {k}" for k, v in clashes.items())
        raise EEGFileError(
            f"{source}: several channels map to the same 10-10 name ({detail}); legacy T3/T4/T5/T6 "
            "are T7/T8/P7/P8. Drop the duplicate first (raw.drop_channels([...]))."
        )
    changed = {old: new for old, new in mapping.items() if old != new}
    if changed:
        raw.rename_channels(changed, verbose="error")
    return changed


def _eeg_picks(raw: mne.io.BaseRaw) -> np.ndarray:
    """Indices of the EEG channels, bad ones included."""
    import mne

    return mne.pick_types(raw.info, eeg=True, exclude=[])


def _stim_to_annotations(raw: mne.io.BaseRaw) -> None:
    """Turn trigger codes of stim channels (BDF ``Status``, FIF ``STI 014``) into annotations."""
    import mne

    stim = [raw.ch_names[i] for i in mne.pick_types(raw.info, stim=True, exclude=[])]
    if not stim:
        return
    events = mne.find_events(raw, stim_channel=stim, shortest_event=1, initial_event=True,
                             consecutive=True, verbose="error")
    if len(events):
        desc = {int(code): str(int(code)) for code in np.unique(events[:, 2])}
        annot = mne.annotations_from_events(events, raw.info["sfreq"], event_desc=desc,
                                            first_samp=raw.first_samp,
                                            orig_time=raw.annotations.orig_time)
        raw.set_annotations(raw.annotations + annot)


@functools.lru_cache(maxsize=1)
def _standard_montage_positions() -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Template 10-05 positions keyed by canonical names, and the template's fiducials."""
    import mne

    builtin = mne.channels.get_builtin_montages()
    # MNE 1.12 renamed standard_1005 (Colin27 template) to colin27_1005.
    name = "colin27_1005" if "colin27_1005" in builtin else "standard_1005"
    pos = mne.channels.make_standard_montage(name).get_positions()
    ch_pos = {canonical_channel_name(k): np.asarray(v) for k, v in pos["ch_pos"].items()}
    fid = {k: np.asarray(pos[k]) for k in ("nasion", "lpa", "rpa")}
    return ch_pos, fid


def _set_standard_montage(raw: mne.io.BaseRaw) -> list[str]:
    """Attach standard 10-05 positions to the EEG channels; return those without a position."""
    import mne

    ch_pos, fid = _standard_montage_positions()
    eeg = [raw.ch_names[i] for i in _eeg_picks(raw)]
    known = {c: ch_pos[c] for c in eeg if c in ch_pos}
    montage = mne.channels.make_dig_montage(ch_pos=known, coord_frame="head", **fid)
    raw.set_montage(montage, on_missing="ignore", verbose="error")
    return [c for c in eeg if c not in ch_pos]


#: Spherical-spline interpolation needs a few surrounding channels to fit its coefficients.
MIN_INTERPOLATION_SOURCES = 4


def _interpolation_problem(eeg_names: Sequence[str], rebuild: Sequence[str],
                           unusable: Sequence[str]) -> str | None:
    """Why ``rebuild`` cannot be interpolated from the usable ``eeg_names``; None if it can."""
    ch_pos, _ = _standard_montage_positions()
    unplaceable = [c for c in rebuild if c not in ch_pos]
    if unplaceable:
        return (f"no standard 10-05 position for {', '.join(unplaceable)}; rename the channel to "
                "its 10-10 name, or leave it out of channels=")
    sources = [c for c in eeg_names if c in ch_pos and c not in unusable and c not in rebuild]
    if len(sources) >= MIN_INTERPOLATION_SOURCES:
        return None
    why = (f"only {len(sources)} usable EEG channels with standard 10-05 positions "
           f"({', '.join(sources) or 'none'}); spherical-spline interpolation needs at least "
           f"{MIN_INTERPOLATION_SOURCES}")
    unplaced = [c for c in eeg_names if c not in ch_pos]
    if unplaced:
        why += ("; the file's channels without a standard position (rename them to their 10-10 "
                f"names with raw.rename_channels({{old: new}})): {', '.join(unplaced)}")
    return why


def _interpolate(raw: mne.io.BaseRaw, missing: Sequence[str], bad: Sequence[str],
                 unusable: Sequence[str], source: str) -> None:
    """Spherical-spline interpolation of missing (added as zeros) and bad channels, in place."""
    import mne

    ch_pos, _ = _standard_montage_positions()
    rebuild = [*missing, *bad]
    eeg_before = [raw.ch_names[i] for i in _eeg_picks(raw)]
    problem = _interpolation_problem(eeg_before, rebuild, unusable)
    if problem:
        raise EEGFileError(
            f"{source}: cannot interpolate {', '.join(rebuild)}: {problem}. Otherwise pass "
            "channels=[...] with only channels the file has (and a model built for them)."
        )
    if missing:
        info = mne.create_info(list(missing), raw.info["sfreq"], "eeg")
        filler = mne.io.RawArray(np.zeros((len(missing), raw.n_times)), info, verbose="error")
        filler.set_meas_date(raw.info["meas_date"])
        raw.add_channels([filler], force_update_info=True)
        _set_standard_montage(raw)
    eeg = [raw.ch_names[i] for i in _eeg_picks(raw)]
    placed = [c for c in eeg if c in ch_pos and c not in unusable]
    # Channels without a standard position cannot take part: interpolate on the placed ones.
    sub = raw.copy().pick(placed, verbose="error")
    sub.info["bads"] = rebuild
    sub.interpolate_bads(reset_bads=True, mode="accurate", origin="auto", verbose="error")
    rows = [raw.ch_names.index(c) for c in rebuild]
    raw._data[rows] = sub.get_data(picks=rebuild)
