"""EEG channel conventions of the NeuroBOLT / UnEBOLT dataset.

The paper keeps 26 scalp channels of a 32-channel BrainAmp MR cap (FCz reference) after
dropping EOG, EMG, ECG and carbon-wire-loop channels. Their order below is the order the
models expect.
"""

from __future__ import annotations

#: The 26 channels of the paper, in model order (reference_facts.md).
PAPER_CHANNELS: tuple[str, ...] = (
    "FP1", "FP2", "F3", "F4", "C3", "C4", "P3", "P4", "O1", "O2",
    "F7", "F8", "T7", "T8", "P7", "P8", "FPZ", "FZ", "CZ", "PZ",
    "POZ", "OZ", "FT9", "FT10", "TP9", "TP10",
)  # fmt: skip

#: Legacy 10-20 names and their modern 10-10 equivalents (case-insensitive match).
LEGACY_TO_MODERN: dict[str, str] = {"T3": "T7", "T4": "T8", "T5": "P7", "T6": "P8"}

#: Name fragments that identify non-EEG channels in MR-compatible caps.
NON_EEG_PATTERNS: dict[str, tuple[str, ...]] = {
    "ecg": ("ECG", "EKG"),
    "eog": ("EOG", "VEOG", "HEOG"),
    "emg": ("EMG",),
    "misc": ("CWL", "RESP", "GSR", "TRIG", "STATUS", "A2-A1", "A1-A2"),
}


def canonical_channel_name(name: str) -> str:
    """Return the upper-case 10-10 name of a channel, mapping legacy 10-20 names.

    Parameters
    ----------
    name : str
        A channel name as stored in a recording, e.g. ``"T3"``, ``"EEG Fp1"``, ``"Fp1-REF"``.

    Returns
    -------
    str
        The upper-case modern name, e.g. ``"T7"``, ``"FP1"``.
    """
    cleaned = name.strip().upper()
    for prefix in ("EEG ", "EEG-", "EEG_"):
        if cleaned.startswith(prefix):
            cleaned = cleaned[len(prefix):]
    for suffix in ("-REF", "-LE", "-AVG", "-A1", "-A2", "-M1", "-M2"):
        if cleaned.endswith(suffix) and len(cleaned) > len(suffix):
            cleaned = cleaned[: -len(suffix)]
    return LEGACY_TO_MODERN.get(cleaned, cleaned)


def standard_1020_name(name: str) -> str:
    """Return the spelling of a channel in MNE's ``standard_1020`` montage (e.g. ``"Fp1"``)."""
    upper = canonical_channel_name(name)
    special = {"FP1": "Fp1", "FP2": "Fp2", "FPZ": "Fpz", "AFZ": "AFz", "FCZ": "FCz",
               "CPZ": "CPz", "POZ": "POz", "IZ": "Iz", "OZ": "Oz", "FZ": "Fz", "CZ": "Cz",
               "PZ": "Pz", "TP9": "TP9", "TP10": "TP10", "FT9": "FT9", "FT10": "FT10"}
    if upper in special:
        return special[upper]
    # 10-10 names: letters upper-case except a trailing 'z'.
    return upper[:-1] + "z" if upper.endswith("Z") else upper
