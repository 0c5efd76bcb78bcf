"""Conventions shared by the data and the models, one definition each (no torch import).

- **Windows**: every model sees 16 s of EEG before each fMRI volume, resampled to 200 Hz
  (3200 samples), in microvolts divided by 100 (the input scale of LaBraM, from "Large Brain
  Model for Learning Generic Representations with Tremendous EEG Data in BCI" by Jiang, Zhao
  and Lu, ICLR 2024).
- **Channels**: the UnEBOLT paper ("A Unified Model for EEG-to-BOLD Translation and Functional
  Connectivity Reconstruction", Li et al., MIDL 2026) keeps 26 scalp channels of a 32-channel
  BrainAmp MR cap (FCz reference) after dropping EOG, EMG, ECG and carbon-wire-loop channels;
  :data:`PAPER_CHANNELS` is the order the models expect. :data:`LABRAM_CHANNELS` is LaBraM's
  channel vocabulary, the rows of its channel-embedding table.
- **Names**: :func:`canonical_channel_name` is how channels are matched (by name, never by
  position), across the naming conventions of other labs (``"Fc5."``, ``"EEG Fp1-REF"``, T3).
"""

from __future__ import annotations

__all__ = [
    "INPUT_SCALE_UV",
    "LABRAM_CHANNELS",
    "LABRAM_EMBEDDABLE_CHANNELS",
    "LEGACY_TO_MODERN",
    "NON_EEG_PATTERNS",
    "N_LABRAM_EMBEDDING_ROWS",
    "N_TIMES",
    "PAPER_CHANNELS",
    "SFREQ",
    "WINDOW_SECONDS",
    "CHANNEL_PREFIXES",
    "CHANNEL_SUFFIXES",
    "canonical_channel_name",
    "standard_1020_name",
]

#: Sampling rate every model expects (Hz): LaBraM's patches are 1 s of 200 samples.
SFREQ = 200.0
#: Length of the EEG window before each fMRI volume (s).
WINDOW_SECONDS = 16.0
#: Samples per window (16 s at 200 Hz).
N_TIMES = int(SFREQ * WINDOW_SECONDS)
#: The models see each window in microvolts divided by this.
INPUT_SCALE_UV = 100.0

#: The 26 channels of the paper, in model order.
PAPER_CHANNELS: tuple[str, ...] = (
    "FP1", "FP2", "F3", "F4", "C3", "C4", "P3", "P4", "O1", "O2",
    "F7", "F8", "T7", "T8", "P7", "P8", "FPZ", "FZ", "CZ", "PZ",
    "POZ", "OZ", "FT9", "FT10", "TP9", "TP10",
)  # fmt: skip

#: LaBraM's channel vocabulary, in the order of its ``standard_1020`` list: row 0 of the
#: 129 x d embedding table is the cls token and channel ``name`` uses row
#: ``LABRAM_CHANNELS.index(name) + 1``. Names are upper-case as LaBraM spells them, except the
#: ``h`` of half-position names. The list has 136 names but the table only 128 channel rows,
#: so the last eight bipolar names (``"FP1-F3"`` onwards) have no row.
LABRAM_CHANNELS: tuple[str, ...] = (
    "FP1", "FPZ", "FP2",
    "AF9", "AF7", "AF5", "AF3", "AF1", "AFZ", "AF2", "AF4", "AF6", "AF8", "AF10",
    "F9", "F7", "F5", "F3", "F1", "FZ", "F2", "F4", "F6", "F8", "F10",
    "FT9", "FT7", "FC5", "FC3", "FC1", "FCZ", "FC2", "FC4", "FC6", "FT8", "FT10",
    "T9", "T7", "C5", "C3", "C1", "CZ", "C2", "C4", "C6", "T8", "T10",
    "TP9", "TP7", "CP5", "CP3", "CP1", "CPZ", "CP2", "CP4", "CP6", "TP8", "TP10",
    "P9", "P7", "P5", "P3", "P1", "PZ", "P2", "P4", "P6", "P8", "P10",
    "PO9", "PO7", "PO5", "PO3", "PO1", "POZ", "PO2", "PO4", "PO6", "PO8", "PO10",
    "O1", "OZ", "O2", "O9", "CB1", "CB2",
    "IZ", "O10", "T3", "T5", "T4", "T6", "M1", "M2", "A1", "A2",
    "CFC1", "CFC2", "CFC3", "CFC4", "CFC5", "CFC6", "CFC7", "CFC8",
    "CCP1", "CCP2", "CCP3", "CCP4", "CCP5", "CCP6", "CCP7", "CCP8",
    "T1", "T2", "FTT9h", "TTP7h", "TPP9h", "FTT10h", "TPP8h", "TPP10h",
    "FP1-F7", "F7-T7", "T7-P7", "P7-O1", "FP2-F8", "F8-T8", "T8-P8", "P8-O2",
    "FP1-F3", "F3-C3", "C3-P3", "P3-O1", "FP2-F4", "F4-C4", "C4-P4", "P4-O2",
)  # fmt: skip

#: Rows of LaBraM's channel-embedding table (row 0 = cls token).
N_LABRAM_EMBEDDING_ROWS: int = 129

#: The names that own a row of the table, in row order (row = position + 1).
LABRAM_EMBEDDABLE_CHANNELS: tuple[str, ...] = LABRAM_CHANNELS[: N_LABRAM_EMBEDDING_ROWS - 1]

#: Legacy 10-20 names and their modern 10-10 equivalents (case-insensitive match).
LEGACY_TO_MODERN: dict[str, str] = {"T3": "T7", "T4": "T8", "T5": "P7", "T6": "P8"}

#: Name fragments that identify non-EEG channels in MR-compatible caps.
NON_EEG_PATTERNS: dict[str, tuple[str, ...]] = {
    "ecg": ("ECG", "EKG"),
    "eog": ("EOG", "VEOG", "HEOG"),
    "emg": ("EMG",),
    "misc": ("CWL", "RESP", "GSR", "TRIG", "STATUS", "A2-A1", "A1-A2"),
}


#: Prefixes of channel names that only say "this is EEG" (EDF ``"EEG Fp1"``, Nihon Kohden
#: ``"POL Fp1"``), removed before matching.
CHANNEL_PREFIXES: tuple[str, ...] = ("EEG ", "EEG-", "EEG_", "EEG:", "POL ")
#: Reference suffixes (``"Fp1-REF"`` in TUH/Temple EDF files, ``"Fp1-LE"`` for linked ears),
#: removed before matching: the models do not depend on the recording reference by name.
CHANNEL_SUFFIXES: tuple[str, ...] = ("-REF", "-LE", "-AVG", "-AR", "-A1", "-A2", "-M1", "-M2")


def canonical_channel_name(name: str) -> str:
    """Return the upper-case 10-10 name of a channel, mapping common lab conventions.

    Matching ignores case, surrounding spaces, the padding dots of EDF labels (PhysioNet's
    EEG Motor Movement/Imagery files store ``"Fc5."``, ``"Cz.."``), prefixes such as ``"EEG "``
    (:data:`CHANNEL_PREFIXES`), reference suffixes such as ``"-REF"`` or ``"-LE"``
    (:data:`CHANNEL_SUFFIXES`), and maps legacy 10-20 names (:data:`LEGACY_TO_MODERN`).

    Parameters
    ----------
    name : str
        A channel name as stored in a recording, e.g. ``"T3"``, ``"EEG Fp1"``, ``"Fp1-REF"``,
        ``"Fc5."``.

    Returns
    -------
    str
        The upper-case modern name, e.g. ``"T7"``, ``"FP1"``, ``"FC5"``.
    """
    cleaned = name.strip().upper()
    for prefix in CHANNEL_PREFIXES:
        if cleaned.startswith(prefix) and len(cleaned) > len(prefix):
            cleaned = cleaned[len(prefix):].strip()
    # EDF pads labels with dots to a fixed width; a name made only of dots is left alone.
    cleaned = cleaned.rstrip(".").strip() or cleaned
    for suffix in CHANNEL_SUFFIXES:
        if cleaned.endswith(suffix) and len(cleaned) > len(suffix):
            cleaned = cleaned[: -len(suffix)].rstrip(".").strip()
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
