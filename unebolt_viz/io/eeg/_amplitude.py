"""Per-channel amplitude checks: is each EEG channel plausible for its declared unit (volts)?

A recording whose header declares the wrong unit for some or all channels (microvolts stored
as volts, volts as microvolts, a mix) still reads without error; the models would then see
windows a million times too large or too small. Each channel's typical amplitude is compared
with physiological bounds and with the other channels, and every implausible channel is named
with the factor that would fix it. Only a truly constant channel is called flat.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np

from ._read import EEGFileError

__all__ = [
    "MAX_STD_VOLTS",
    "MIN_STD_VOLTS",
    "RELATIVE_OUTLIER_FACTOR",
    "SEGMENT_SECONDS",
    "TYPICAL_STD_VOLTS",
    "AmplitudeCheck",
    "check_amplitudes",
]

#: Upper bound (V) on a channel's typical standard deviation. Artifact-corrected scalp EEG has a
#: standard deviation of roughly 5-100 uV; residuals of MR gradient and pulse artifacts after
#: correction can reach a few hundred uV. 1 mV is beyond both: the unit is wrong, or the
#: artifacts were not corrected.
MAX_STD_VOLTS = 1e-3
#: Lower bound (V) on a channel's typical standard deviation. Electrode and amplifier noise alone
#: are about 0.5-1 uV RMS over the EEG band, so a live scalp channel never stays below 0.1 uV;
#: smaller values mean a wrong unit (e.g. volts declared as microvolts), not quiet EEG.
MIN_STD_VOLTS = 1e-7
#: A channel this many times above or below the median of the plausible channels is flagged
#: even inside the absolute bounds: no montage spreads amplitudes over three decades, whereas
#: unit mix-ups come in factors of 1e3 (mV/uV) and 1e6 (V/uV).
RELATIVE_OUTLIER_FACTOR = 1e3
#: Middle of the range of scalp EEG standard deviations (V), the reference for the factor that
#: fixes a recording whose channels are all off.
TYPICAL_STD_VOLTS = 2e-5
#: Amplitude is measured in segments of this length (s), each with its own mean removed, and
#: summarised by the median over segments: DC offsets, slow drifts and short artifacts (which
#: inflate a whole-recording standard deviation) do not decide.
SEGMENT_SECONDS = 10.0


def typical_amplitude(row: np.ndarray, sfreq: float) -> float:
    """Median over :data:`SEGMENT_SECONDS` segments of the within-segment standard deviation."""
    n = max(1, int(SEGMENT_SECONDS * sfreq))
    n_seg = max(1, row.size // n)
    segments = row[: n_seg * n].reshape(n_seg, -1) if row.size >= n else row[None, :]
    return float(np.median(segments.std(axis=1)))


def _unit_factor(amplitude: float, reference: float) -> float:
    """The power of 1000 (not 1) that brings ``amplitude`` closest to ``reference``."""
    k = round(math.log10(reference / amplitude) / 3) if amplitude > 0 else 2
    k = k or (1 if reference > amplitude else -1)
    return float(10.0 ** (3 * k))


def _looks_like_units(amplitude: float, reference: float) -> bool:
    """Whether the ratio is within a factor of 3 of a power of 1000 (1e3, 1e6, ...).

    Amplitudes differ about 2-3 fold across the scalp, so a unit error shows as a ratio near
    1e3 or 1e6; a ratio of, say, 100 is a broken electrode or an artifact, not a unit.
    """
    if amplitude <= 0:
        return True
    exponent = math.log10(amplitude / reference)
    return abs(exponent) >= 2 and abs(exponent - 3 * round(exponent / 3)) < 0.5


def _unit_story(factor: float) -> str:
    """The header mistake a correction ``factor`` undoes."""
    stories = {
        1e-6: "the file stores microvolts but declares volts",
        1e-3: "the file stores millivolts but declares volts, or microvolts but declares "
              "millivolts",
        1e3: "the file stores volts but declares millivolts, or millivolts but declares "
             "microvolts",
        1e6: "the file stores volts but declares microvolts",
    }
    return stories.get(factor, f"values off by a factor {1 / factor:g}")


def _power(factor: float) -> str:
    """A power of ten as a Python literal a user can paste: ``1e-6``, ``1e3``."""
    return f"1e{round(math.log10(factor))}"


class AmplitudeCheck:
    """Amplitudes of a recording's EEG channels, classified against the plausibility bounds.

    Parameters
    ----------
    amplitudes : mapping of str to float
        Typical standard deviation (V) of each live channel (finite, not constant, not bad).
    max_std, min_std : float
        Absolute bounds (V).
    """

    def __init__(self, amplitudes: Mapping[str, float], max_std: float = MAX_STD_VOLTS,
                 min_std: float = MIN_STD_VOLTS) -> None:
        self.amplitudes = dict(amplitudes)
        self.max_std, self.min_std = max_std, min_std
        inside = [a for a in self.amplitudes.values() if min_std <= a <= max_std]
        self.reference = float(np.median(inside)) if inside else TYPICAL_STD_VOLTS
        hi = min(max_std, self.reference * RELATIVE_OUTLIER_FACTOR)
        lo = max(min_std, self.reference / RELATIVE_OUTLIER_FACTOR)
        self.large = [c for c, a in self.amplitudes.items() if a > hi]
        self.small = [c for c, a in self.amplitudes.items() if a < lo]

    @property
    def implausible(self) -> list[str]:
        """Channels too large or too small, in input order."""
        odd = set(self.large) | set(self.small)
        return [c for c in self.amplitudes if c in odd]


def check_amplitudes(check: AmplitudeCheck, requested: Sequence[str],
                     file_names: Mapping[str, str], source: str) -> None:
    """Raise :class:`EEGFileError` naming every requested channel with an implausible amplitude.

    ``file_names`` maps canonical names to the names as stored in the file (used in the fix).
    """
    odd = [c for c in check.implausible if c in requested]
    if not odd:
        return
    live = [c for c in requested if c in check.amplitudes]
    named = {c: file_names.get(c, c) for c in odd}
    if len(odd) == len(live) and (set(odd) <= set(check.large) or set(odd) <= set(check.small)):
        raise EEGFileError(_all_off_message(check, odd, source))
    units = [c for c in odd if _looks_like_units(check.amplitudes[c], check.reference)]
    lines = []
    for c in odd:
        a = check.amplitudes[c]
        label = c if named[c] == c else f"{named[c]} ({c})"
        why = (_unit_story(_unit_factor(a, check.reference)) + "?" if c in units else
               "not a unit factor: broken electrode or uncorrected MR artifacts?")
        lines.append(f"{label}: {a:.3g} V = {a * 1e6:.3g} uV, {a / check.reference:.3g} x the "
                     f"median ({why})")
    fixes = []
    if units:
        factors = ", ".join(
            f"{named[c]!r}: {_power(_unit_factor(check.amplitudes[c], check.reference))}"
            for c in units)
        fixes.append(f"fix the unit of {', '.join(named[c] for c in units)} with "
                     f"prepare_eeg(raw, ..., rescale={{{factors}}}), which scales just those "
                     "channels")
    broken = [named[c] for c in odd if c not in units]
    if broken:
        fixes.append(f"mark {', '.join(broken)} bad (raw.info['bads'] += {broken!r}) and pass "
                     "missing='interpolate' to rebuild them")
    else:
        fixes.append("if they are broken electrodes instead, mark them bad (raw.info['bads'] "
                     f"+= {[named[c] for c in units]!r}) and pass missing='interpolate'")
    raise EEGFileError(
        f"{source}: {len(odd)} of the {len(live)} EEG channels have amplitudes implausible for "
        f"EEG in volts (scalp EEG: standard deviation about 5-100 uV; accepted "
        f"{check.min_std:g}-{check.max_std:g} V and within {RELATIVE_OUTLIER_FACTOR:g} x the "
        f"median of the other channels, {check.reference:.3g} V): {'; '.join(lines)}. "
        f"To use them, {'; and '.join(fixes)}."
    )


def _all_off_message(check: AmplitudeCheck, odd: Sequence[str], source: str) -> str:
    """Every requested channel too large, or every one too small: one factor for the file."""
    typical = float(np.median([check.amplitudes[c] for c in odd]))
    factor = _unit_factor(typical, TYPICAL_STD_VOLTS)
    head = (f"{source}: all {len(odd)} EEG channels have a typical standard deviation of "
            f"{typical:.3g} V ({typical * 1e6:.3g} uV); scalp EEG is about 5-100 uV "
            f"(1e-5 V), and the accepted range is {check.min_std:g}-{check.max_std:g} V. ")
    if odd[0] in check.large:
        return head + (
            f"Either the unit is wrong ({_unit_story(factor)}? pass rescale={_power(factor)}, "
            "or fix the unit in the header), or MR gradient/pulse artifacts are still in (clean "
            "them first: the models expect artifact-corrected EEG)."
        )
    return head + (
        f"Values this small are below electrode noise: the unit is wrong, not the EEG flat "
        f"({_unit_story(factor)}?). Pass rescale={_power(factor)}, or fix the unit in the "
        "header."
    )
