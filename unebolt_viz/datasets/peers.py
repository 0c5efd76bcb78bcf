"""Readers for the public EEG-fMRI datasets of the volumetric peers (E2fNet, Spec2VolCAMU-Net).

Each reader takes one subject and run from the folder a user unpacked the release into and
returns a :class:`PeerRun`: the continuous EEG as an MNE Raw (volts), the onset of every BOLD
volume on the EEG's clock, the BOLD run as a lazily loaded nibabel image, the TR and the number
of volumes the peers use. Nothing downloads here: the manifest entries ``oddball_ds000116``,
``noddi`` and ``cn_epfl`` say where to get each dataset (``unebolt_viz.datasets.fetch``).

Layouts (from the datasets' own READMEs and the peers' public data-preparation code):

Oddball, "Auditory and Visual Oddball EEG-fMRI" (Walz et al.; OpenNeuro ds000116, whose BIDS
snapshot has no EEG: the EEG is in the legacy OpenfMRI per-subject tarballs
``ds116_subNNN.tgz``)::

    <root>/sub001/EEG/task001_run001/EEG_noGA.mat   variable data_noGA, (49, n_samples), uV
    <root>/sub001/BOLD/task001_run001/bold.nii.gz   64 x 64 x 32 x 170 volumes, TR 2 s

  Tasks 1 (auditory) and 2 (visual), runs 1-3. Channels 1-43 are the EEG (bipolar pairs of the
  custom cap), 44/45 horizontal/vertical EOG, 46-47 ECG, 48 stimulus codes, 49 responses; 1 kHz.

NODDI, resting-state EEG-fMRI (Deligianni et al.; OSF project 94c5t, EEG1.zip and EEG2.zip
merged into one ``EEG`` folder, fMRI.zip)::

    <root>/EEG/<id>/export/<one>.vhdr (+ .vmrk, .eeg or .dat)  64 channels, 250 Hz
    <root>/fMRI/<id>/<one>_cross.nii.gz                         64 x 64 x 30 x 300, TR 2.16 s

CN-EPFL, "Disentangling the origins of confidence in speeded perceptual judgments through
multimodal imaging" (Pereira et al.; OpenNeuro ds002158 v1.0.2, BIDS)::

    <root>/sub-02/ses-001/eeg/sub-02_ses-001_task-main_run-001_eeg.vhdr     64 channels, 5 kHz
    <root>/sub-02/ses-001/func/sub-02_ses-001_task-main_run-001_bold.nii.gz 108x108x64x370, TR 1.28 s

  Runs 1-6 of task ``main`` (the peers use run 1). This EEG is the raw recording: MR gradient
  and pulse artifacts are still in it.

Volume onsets. The Oddball EEG holds no volume markers; its README states that the recording
was started by the scan start and its clock synchronised with the scanner on every TR, so
volume k is placed at ``k * TR`` after the first EEG sample (the peers cut their TR windows the
same way). For the BrainVision datasets the reader uses the scanner's volume markers when the
.vmrk holds them (``volume_marker``, ``"R128"`` by default: Brain Products' usual volume
trigger; the marker names of these two datasets could not be checked against a copy) and
otherwise the same rule from the first sample, which is what the peers' code does for all three.
The peers drop the first ``bold_shift = 6`` volumes and keep at most 164 (Oddball), 294 (NODDI)
or 364 (CN-EPFL) after them: :attr:`PeerRun.n_usable`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

import numpy as np

from ._peers_base import (
    PEER_DATASETS,
    OnsetRule,
    PeerDatasetSpec,
    PeerLayoutError,
    PeerRun,
    _brainvision_run,
    _check_coverage,
    _check_volts,
    _load_bold,
    _n_usable,
    _one_match,
    _require_file,
    _rule_onsets,
    _subject_root,
)

__all__ = [
    "PEER_DATASETS",
    "PeerDatasetSpec",
    "PeerLayoutError",
    "PeerRun",
    "read_cn_epfl_run",
    "read_noddi_run",
    "read_oddball_run",
    "read_peer_run",
]

#: Scale to volts of the units an Oddball .mat may be in (its README: microvolts).
_TO_VOLTS = {"uV": 1e-6, "mV": 1e-3, "V": 1.0}
#: Rows 44-49 of the Oddball recordings (README of ds000116): name and MNE type.
ODDBALL_AUX_CHANNELS = (("HEOG", "eog"), ("VEOG", "eog"), ("ECG1", "ecg"), ("ECG2", "ecg"),
                        ("STIM", "stim"), ("RESP", "stim"))


def _read_mat_variable(path: Path, variable: str) -> np.ndarray:
    """One matrix from a MATLAB file: v5/v7 with scipy, v7.3 (HDF5) with h5py."""
    from scipy.io import loadmat, whosmat

    try:
        content = loadmat(str(path), variable_names=[variable])
    except NotImplementedError:  # MATLAB v7.3: an HDF5 file
        import h5py

        with h5py.File(path, "r") as f:
            if variable not in f:
                raise PeerLayoutError(
                    f"{path}: no variable {variable!r} (variables: {sorted(f.keys())}). "
                    "Pass variable=<the EEG matrix>."
                ) from None
            # HDF5 holds MATLAB's column-major matrix transposed.
            return np.asarray(f[variable][()]).T
    except (ValueError, OSError) as err:
        raise PeerLayoutError(f"{path}: not a readable MATLAB file ({err}).") from err
    if variable not in content:
        names = [name for name, _, _ in whosmat(str(path))]
        raise PeerLayoutError(
            f"{path}: no variable {variable!r} (variables: {names}). Pass variable=<the EEG "
            "matrix>."
        )
    return np.asarray(content[variable])


def _oddball_raw(path: Path, matrix: np.ndarray, n_channels: int, include_aux: bool,
                 sfreq: float, unit: str) -> Any:
    """The Oddball matrix (channels x samples) as a RawArray in volts."""
    import mne

    n_rows = n_channels + (len(ODDBALL_AUX_CHANNELS) if include_aux else 0)
    if matrix.ndim != 2 or matrix.shape[0] < n_rows or matrix.shape[0] > matrix.shape[1]:
        raise PeerLayoutError(
            f"{path}: expected a (channels, samples) matrix with at least {n_rows} channel rows "
            f"({n_channels} EEG{' + 6 auxiliary' if include_aux else ''}), got shape "
            f"{matrix.shape}. Is this the EEG_noGA.mat of the ds000116 release (49 rows)?"
        )
    if unit not in _TO_VOLTS:
        raise ValueError(f"unit must be one of {sorted(_TO_VOLTS)}, not {unit!r}")
    names = [f"BP{i + 1:02d}" for i in range(n_channels)]
    types = ["eeg"] * n_channels
    data = matrix[:n_channels].astype(np.float64) * _TO_VOLTS[unit]
    if include_aux:
        aux = matrix[43:49].astype(np.float64)
        scale = np.array([_TO_VOLTS[unit] if t != "stim" else 1.0
                          for _, t in ODDBALL_AUX_CHANNELS])[:, None]
        data = np.concatenate([data, aux * scale])
        names += [n for n, _ in ODDBALL_AUX_CHANNELS]
        types += [t for _, t in ODDBALL_AUX_CHANNELS]
    info = mne.create_info(names, float(sfreq), types)
    return mne.io.RawArray(data, info, verbose="error")


def read_oddball_run(
    root: str | os.PathLike,
    subject: str = "sub001",
    task: int = 1,
    run: int = 1,
    *,
    variable: str = "data_noGA",
    n_channels: int = 43,
    include_aux: bool = False,
    sfreq: float = 1000.0,
    unit: Literal["uV", "mV", "V"] = "uV",
    tr: float | None = None,
    expected_shape: tuple[int, int, int] | None = (64, 64, 32),
    check_units: bool = True,
) -> PeerRun:
    """Read one run of the Oddball dataset (legacy OpenfMRI release of ds000116).

    Parameters
    ----------
    root : path
        The folder holding ``sub001`` ... ``sub017`` (or the ``ds116`` folder the tarballs
        unpack into, assumed to be their top folder).
    subject : str
        ``"sub001"`` ... ``"sub017"``.
    task, run : int
        Task 1 (auditory) or 2 (visual), run 1-3: folder ``task001_run001``.
    variable : str
        The matrix in ``EEG_noGA.mat`` (``data_noGA``, channels x samples, as the peers read
        it; a v7.3 file is read with h5py).
    n_channels : int
        Leading rows that are EEG (43 bipolar pairs, named ``BP01`` ... ``BP43``: the file holds
        no channel names).
    include_aux : bool
        Also keep rows 44-49 (EOG, ECG, stimulus and response codes) with their MNE types.
    sfreq : float
        Sampling rate (1000 Hz; the file does not hold it).
    unit : {"uV", "mV", "V"}
        Unit of the matrix (microvolts, as the README states); the Raw is in volts.
    tr : float, optional
        Repetition time; the release's 2.0 s by default.
    expected_shape : tuple of int or None
        Spatial shape the BOLD volumes must have (None accepts any).
    check_units : bool
        Refuse EEG whose amplitude shows a unit error.

    Returns
    -------
    PeerRun
        EEG as an in-memory RawArray; volume k at ``k * TR`` (the recording starts with the
        scan, see the module docstring).
    """
    spec = PEER_DATASETS["oddball"]
    tr = spec.tr if tr is None else float(tr)
    layout = "sub001 ... sub017 (each with EEG/ and BOLD/)"
    base = _subject_root(Path(root), subject, ("ds116",), "Oddball", layout)
    name = f"task{int(task):03d}_run{int(run):03d}"
    fix = (f"The release has {subject}/EEG/{name}/EEG_noGA.mat and "
           f"{subject}/BOLD/{name}/bold.nii.gz (tasks 1-2, runs 1-3).")
    mat = _require_file(base / subject / "EEG" / name / "EEG_noGA.mat", "EEG file", fix)
    bold = _require_file(base / subject / "BOLD" / name / "bold.nii.gz", "BOLD file", fix)
    raw = _oddball_raw(mat, _read_mat_variable(mat, variable), n_channels, include_aux,
                       sfreq, unit)
    if check_units:
        _check_volts(raw, mat, "Pass unit='uV', 'mV' or 'V' to say what the matrix holds.")
    img = _load_bold(bold, spec, expected_shape, tr)
    n_volumes = int(img.shape[3])
    onsets = _rule_onsets(n_volumes, tr)
    duration = raw.n_times / raw.info["sfreq"]
    _check_coverage(n_volumes, onsets, tr, duration, mat, sfreq)
    return PeerRun(spec.name, subject, name, raw, img, onsets,
                   "rule: k * TR from the first EEG sample (recording started by the scanner)",
                   tr, n_volumes, _n_usable(spec, n_volumes, onsets, tr, duration),
                   spec.bold_shift, mat, bold)


def _bv_options(**kw: Any) -> dict[str, Any]:
    """The BrainVision readers' options as one dict, ``onsets`` checked."""
    if kw["onsets"] not in ("auto", "markers", "start"):
        raise ValueError(f"onsets must be 'auto', 'markers' or 'start', not {kw['onsets']!r}")
    return kw


def read_noddi_run(
    root: str | os.PathLike,
    subject: str | int,
    *,
    eeg_folder: str = "export",
    bold_pattern: str = "*_cross.nii.gz",
    volume_marker: str = "R128",
    onsets: OnsetRule = "auto",
    skip_markers: int = 0,
    n_channels: int | None = 64,
    sfreq: float | None = 250.0,
    tr: float | None = None,
    expected_shape: tuple[int, int, int] | None = (64, 64, 30),
    check_units: bool = True,
) -> PeerRun:
    """Read one subject of the NODDI resting-state dataset (OSF project 94c5t).

    Parameters
    ----------
    root : path
        The folder holding ``EEG/`` (EEG1.zip and EEG2.zip merged) and ``fMRI/``.
    subject : str or int
        The subject folder's name (numbers such as ``"32"``).
    eeg_folder : str
        Sub-folder of ``EEG/<subject>/`` with the one BrainVision header (``export``, the
        gradient-corrected export the peers read).
    bold_pattern : str
        Pattern of the one BOLD file in ``fMRI/<subject>/``.
    volume_marker : str
        The scanner's volume marker in the .vmrk (assumed ``"R128"``: unchecked for this
        dataset).
    onsets : {"auto", "markers", "start"}
        ``"markers"``: require volume markers; ``"start"``: volume k at ``k * TR`` from the
        first sample (the peers' alignment); ``"auto"``: markers when present, else the rule.
    skip_markers : int
        Leading volume markers without a saved volume (dummy scans).
    n_channels, sfreq : int, float or None
        Channel count and rate the file must have (64, 250 Hz); None accepts any.
    tr : float, optional
        Repetition time; the release's 2.16 s by default.
    expected_shape : tuple of int or None
        Spatial shape the BOLD volumes must have (None accepts any).
    check_units : bool
        Refuse EEG whose amplitude shows a unit error.

    Returns
    -------
    PeerRun
        ``run`` is ``"rest"``; the EEG is not preloaded.
    """
    spec = PEER_DATASETS["noddi"]
    subject = str(subject)
    root = Path(root)
    layout = "EEG/<subject>/export/*.vhdr and fMRI/<subject>/*_cross.nii.gz"
    for folder in ("EEG", "fMRI"):
        if not (root / folder).is_dir():
            raise PeerLayoutError(
                f"{root}: no {folder} folder. Pass the folder holding EEG/ (EEG1.zip and "
                f"EEG2.zip merged) and fMRI/ (fMRI.zip): {layout}."
            )
        _subject_root(root / folder, subject, (), "NODDI", f"{folder}/<subject>/ ({layout})")
    fix = f"The release has {layout} (unzip EEG1.zip and EEG2.zip into one EEG folder)."
    vhdr = _one_match(root / "EEG" / subject / eeg_folder, "*.vhdr", "BrainVision header", fix)
    bold = _one_match(root / "fMRI" / subject, bold_pattern, "BOLD file", fix)
    opts = _bv_options(volume_marker=volume_marker, onsets=onsets, tr=tr,
                       skip_markers=skip_markers, n_channels=n_channels, sfreq=sfreq,
                       expected_shape=expected_shape, check_units=check_units)
    return _brainvision_run(spec, subject, "rest", vhdr, bold, opts)


def read_cn_epfl_run(
    root: str | os.PathLike,
    subject: str | int = "sub-02",
    run: int = 1,
    *,
    task: str = "main",
    session: str = "ses-001",
    volume_marker: str = "R128",
    onsets: OnsetRule = "auto",
    skip_markers: int = 0,
    n_channels: int | None = 64,
    sfreq: float | None = 5000.0,
    tr: float | None = None,
    expected_shape: tuple[int, int, int] | None = (108, 108, 64),
    check_units: bool = True,
) -> PeerRun:
    """Read one run of the CN-EPFL dataset (OpenNeuro ds002158 v1.0.2, BIDS).

    Parameters
    ----------
    root : path
        The BIDS root holding ``sub-02`` ... ``sub-26`` (or the ``ds002158-download`` folder
        OpenNeuro's download creates).
    subject : str or int
        ``"sub-02"``, ``"02"`` or ``2``.
    run : int
        Run of the task (1-6; the peers use run 1).
    task, session : str
        BIDS entities (``main``, ``ses-001``).
    volume_marker, onsets, skip_markers : see :func:`read_noddi_run`
        The volume marker is assumed ``"R128"`` (unchecked for this dataset).
    n_channels, sfreq : int, float or None
        Channel count and rate the file must have (64, 5000 Hz); None accepts any.
    tr : float, optional
        Repetition time; the release's 1.28 s by default.
    expected_shape : tuple of int or None
        Spatial shape the BOLD volumes must have (108 x 108 x 64; None accepts any).
    check_units : bool
        Refuse EEG whose amplitude shows a unit error.

    Returns
    -------
    PeerRun
        The raw EEG (gradient artifacts not removed), not preloaded. A header whose
        ``DataFile=``/``MarkerFile=`` still name the files before the BIDS renaming is read
        from the renamed files beside it, without rewriting it.
    """
    spec = PEER_DATASETS["cn_epfl"]
    text = str(subject)
    subject = text if text.startswith("sub-") else f"sub-{int(text):02d}"
    layout = "sub-XX/ses-001/{eeg,func}/ (the BIDS tree of ds002158)"
    base = _subject_root(Path(root), subject, ("ds002158-download", "ds002158"), "CN-EPFL",
                         layout)
    stem = f"{subject}_{session}_task-{task}_run-{int(run):03d}"
    fix = f"The release has {subject}/{session}/eeg/{stem}_eeg.vhdr and func/{stem}_bold.nii.gz."
    folder = base / subject / session
    vhdr = _require_file(folder / "eeg" / f"{stem}_eeg.vhdr", "EEG header", fix)
    bold = _require_file(folder / "func" / f"{stem}_bold.nii.gz", "BOLD file", fix)
    opts = _bv_options(volume_marker=volume_marker, onsets=onsets, tr=tr,
                       skip_markers=skip_markers, n_channels=n_channels, sfreq=sfreq,
                       expected_shape=expected_shape, check_units=check_units)
    return _brainvision_run(spec, subject, f"task-{task}_run-{int(run):03d}", vhdr, bold, opts)


def read_peer_run(dataset: str, root: str | os.PathLike, *args: Any, **kwargs: Any) -> PeerRun:
    """Read a run of any peer dataset: ``"oddball"``, ``"noddi"`` or ``"cn_epfl"``.

    The other arguments are those of :func:`read_oddball_run`, :func:`read_noddi_run` or
    :func:`read_cn_epfl_run`.
    """
    readers = {"oddball": read_oddball_run, "noddi": read_noddi_run,
               "cn_epfl": read_cn_epfl_run}
    key = dataset.lower().replace("-", "_")
    if key not in readers:
        raise ValueError(f"unknown peer dataset {dataset!r}; one of {sorted(readers)}")
    return readers[key](root, *args, **kwargs)
