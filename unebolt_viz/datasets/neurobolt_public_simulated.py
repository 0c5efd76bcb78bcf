"""A small simulated copy of the public NeuroBOLT layout, to try the reader without the download.

:func:`write_simulated_neurobolt_public` writes files laid out, named and formatted like the
published dataset (EEGLAB ``.set`` + ``.fdt`` with the 32-channel BrainAmp montage and ``R149``
volume triggers; pickled pandas tables of the 64 DiFuMo-64 components plus the two
global-signal columns), filled with random signals. Its ``dataset_description.json`` declares
the copy simulated, so everything read from it is labelled ``data_source="simulated"``.
Writing needs ``eeglabio`` (the ``io`` extra).
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from .neurobolt import GLOBAL_SIGNAL_COLUMNS, NEUROBOLT_TR
from .neurobolt_public import neurobolt_difumo64_rois

__all__ = ["PUBLISHED_EEG_CHANNELS", "NON_EEG_CHANNELS", "SIMULATED_SCANS",
           "write_simulated_neurobolt_public"]

#: The 26 EEG channels as a BrainAmp MR cap names them, in the paper's order.
PUBLISHED_EEG_CHANNELS: tuple[str, ...] = (
    "Fp1", "Fp2", "F3", "F4", "C3", "C4", "P3", "P4", "O1", "O2", "F7", "F8", "T7", "T8", "P7",
    "P8", "Fpz", "Fz", "Cz", "Pz", "POz", "Oz", "FT9", "FT10", "TP9", "TP10")
#: The other channels of the recordings, which the reader drops (CWL1-4 only in some scans).
NON_EEG_CHANNELS: tuple[str, ...] = ("EOG1", "EOG2", "EMG1", "EMG2", "EMG3", "ECG")
CWL_CHANNELS: tuple[str, ...] = ("CWL1", "CWL2", "CWL3", "CWL4")
#: Default scans: train (sub01, both scans of sub08), val (sub06), test (sub07) in the paper's
#: split, so the copy runs the paper's unseen-subject protocol (``--split paper``: the default
#: split takes the paper's table for real data only).
SIMULATED_SCANS: tuple[str, ...] = ("sub01-scan01", "sub06-scan01", "sub07-scan01",
                                    "sub08-scan01", "sub08-scan02")
_LAYOUTS = {"published": ("EEG_set", "fMRI_difumo64", "_eeg", "_difumo64_roi"),
            "neurobolt_code": ("EEG", "fMRI_difumo", "_eeg_pp", "_difumo_roi")}


def _write_eeglab(path: Path, data_volts: np.ndarray, sfreq: float, ch_names: Sequence[str],
                  triggers: np.ndarray) -> None:
    """An EEGLAB dataset in two files (``.set`` header, ``.fdt`` float32 samples)."""
    import scipy.io
    from eeglabio.raw import export_set

    export_set(str(path), data_volts, sfreq, list(ch_names),
               annotations=[["R149"] * len(triggers), triggers, np.zeros(len(triggers))])
    header = {k: v for k, v in scipy.io.loadmat(path, appendmat=False).items()
              if not k.startswith("__")}
    fdt = path.with_suffix(".fdt")
    # EEGLAB's .fdt: float32, channels varying fastest (column-major channels x samples).
    np.asarray(header["data"], dtype="<f4").T.tofile(fdt)
    header.update(data=fdt.name, datfile=fdt.name, setname=path.stem)
    scipy.io.savemat(path, header, appendmat=False)


def _eeg(rng: np.random.Generator, n_channels: int, n_samples: int, sfreq: float) -> np.ndarray:
    """Brown-ish noise with a 10 Hz rhythm, about 15 uV, in volts."""
    from scipy.signal import lfilter

    slow = lfilter([1.0], [1.0, -0.95], rng.standard_normal((n_channels, n_samples)), axis=1)
    t = np.arange(n_samples) / sfreq
    alpha = np.sin(2 * np.pi * 10 * t + rng.uniform(0, 2 * np.pi, (n_channels, 1)))
    signal = slow / slow.std(axis=1, keepdims=True) + 0.5 * alpha
    return 15e-6 * signal


def _rois(rng: np.random.Generator, n_volumes: int, names: Sequence[str]) -> pd.DataFrame:
    """Smooth z-scored ROI series sharing a global component, plus the two global signals."""
    shared = np.convolve(rng.standard_normal(n_volumes + 8), np.ones(5) / 5, "valid")[:n_volumes]
    from scipy.signal import lfilter

    own = lfilter([1.0], [1.0, -0.6], rng.standard_normal((n_volumes, len(names))), axis=0)
    values = own + 2.0 * shared[:, None]
    values = (values - values.mean(0)) / values.std(0)
    clean = values.mean(1)
    raw = clean + np.linspace(0, 1, n_volumes)
    table = pd.DataFrame(values, columns=list(names))
    for col, series in zip(GLOBAL_SIGNAL_COLUMNS, (clean, raw)):
        table[col] = (series - series.mean()) / series.std()
    return table


def write_simulated_neurobolt_public(
    folder: str | os.PathLike, scans: Sequence[str] = SIMULATED_SCANS, *, n_volumes: int = 40,
    first_trigger: float = 5.0, sfreq: float = 250.0, seed: int = 0,
    layout: str = "published", cwl_scans: Sequence[str] = ("sub08-scan02",),
    labels: str | os.PathLike | pd.DataFrame | None = None,
) -> Path:
    """Write a simulated copy of the public NeuroBOLT layout; return ``folder``.

    Parameters
    ----------
    folder : path
        Created if needed.
    scans : sequence of str
        Scan names (``subXX-scanYY``).
    n_volumes : int
        fMRI volumes (table rows and ``R149`` triggers) per scan.
    first_trigger : float
        Time (s) of the first trigger; volumes in the first 16 s have no full EEG window.
    sfreq : float
        EEG sampling rate (the published files: 250 Hz).
    seed : int
        Random seed.
    layout : {"published", "neurobolt_code"}
        Folder and file names as published (``EEG_set/``, ``fMRI_difumo64/``) or as NeuroBOLT's
        code expects them (``EEG/``, ``fMRI_difumo/``).
    cwl_scans : sequence of str
        Scans whose recordings also have the carbon-wire loop channels CWL1-4.
    labels : path, DataFrame or None
        DiFuMo-64 labels for the column names (see
        :func:`~unebolt_viz.datasets.neurobolt_difumo64_rois`).
    """
    eeg_dir, roi_dir, eeg_suffix, roi_suffix = _LAYOUTS[layout]
    root = Path(folder)
    (root / eeg_dir).mkdir(parents=True, exist_ok=True)
    (root / roi_dir).mkdir(parents=True, exist_ok=True)
    names = list(neurobolt_difumo64_rois(labels)["roi"])
    rng = np.random.default_rng(seed)
    for scan in scans:
        channels = [*PUBLISHED_EEG_CHANNELS, *NON_EEG_CHANNELS,
                    *(CWL_CHANNELS if scan in cwl_scans else ())]
        triggers = first_trigger + NEUROBOLT_TR * np.arange(n_volumes)
        n_samples = int(round((triggers[-1] + NEUROBOLT_TR) * sfreq))
        _write_eeglab(root / eeg_dir / f"{scan}{eeg_suffix}.set",
                      _eeg(rng, len(channels), n_samples, sfreq), sfreq, channels, triggers)
        _rois(rng, n_volumes, names).to_pickle(root / roi_dir / f"{scan}{roi_suffix}.pkl")
    (root / "dataset_description.json").write_text(json.dumps({
        "Name": "Simulated copy of the public NeuroBOLT layout (random signals)",
        "data_source": "simulated",
        "GeneratedBy": [{"Name": "unebolt_viz.datasets.write_simulated_neurobolt_public"}],
    }, indent=2), encoding="utf-8")
    return root
