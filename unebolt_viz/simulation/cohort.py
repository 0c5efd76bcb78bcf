"""The simulated cohort: a study design whose scans are generated lazily, one at a time."""

from __future__ import annotations

import hashlib
import json
import re
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from .._utils import atomic_path
from ..atlases import Atlas
from ..conventions import WINDOW_SECONDS
from ..data.containers import eeg_windows, roi_timeseries
from ..io.pairing import ScanPair
from ..preprocessing import regular_starts, window_starts, window_views
from .bold import noise_ceiling as _noise_ceiling
from .presets import SimulationParams, preset_params
from .scan import SIMULATOR_VERSION, ScanSpec, simulate_scan

__all__ = ["SimulatedCohort", "simulate_cohort", "scan_pair"]

_SCAN_RE = re.compile(r"^sub(\d+)-scan(\d+)$")
_MEMORY_CACHE = 3  # scans kept in memory (a paper-sized scan holds ~25 MB of EEG)


def _design(params: SimulationParams) -> pd.DataFrame:
    if params.scan_names:
        names = list(params.scan_names)
    else:
        twice = params.n_scans - params.n_subjects
        names = []
        for s in range(1, params.n_subjects + 1):
            names += [f"sub{s:02d}-scan{k:02d}" for k in range(1, (3 if s <= twice else 2))]
    rows = []
    for name in names:
        match = _SCAN_RE.match(name)
        if match is None:
            raise ValueError(f"Scan name {name!r} must look like 'sub01-scan01'.")
        rows.append({
            "scan": name,
            "subject": f"sub{match.group(1)}",
            "session": int(match.group(2)),
            "site": params.site,
            "condition": params.condition,
            "n_volumes": params.n_volumes,
        })
    design = pd.DataFrame(rows, columns=["scan", "subject", "session", "site", "condition",
                                         "n_volumes"])
    if design["scan"].duplicated().any():
        raise ValueError("Scan names must be unique.")
    return design


def scan_pair(ds: xr.Dataset, atlas: Atlas | None = None) -> ScanPair:
    """The model-ready pair of one scan's Dataset (as made by ``scan_data``).

    EEG windows are the 16 s before each volume's trigger, as read-only strided views on the
    continuous EEG; the BOLD targets are the processed ``targets``; volumes without a full
    window are dropped.
    """
    sfreq = float(ds.attrs["sfreq"])
    eeg = ds["eeg"].values
    n_window = int(round(WINDOW_SECONDS * sfreq))
    starts, kept = window_starts(ds["volume_sample"].values, n_window, eeg.shape[1])
    starts = regular_starts(starts)
    windows = window_views(eeg, starts, n_window)
    source = ds.attrs["data_source"]
    scan, subject = ds.attrs["scan"], ds.attrs["subject"]
    tr_index = ds["volume"].values[kept]
    pos = np.column_stack([ds["ch_x"].values, ds["ch_y"].values, ds["ch_z"].values])
    win = eeg_windows(
        windows, [str(c) for c in ds["channel"].values], sfreq, scan=scan, subject=subject,
        tr_index=tr_index, onset=ds["volume_time"].values[kept] - float(ds.attrs["eeg_t_start"]),
        ch_pos=pos, data_source=source,
        attrs={"site": ds.attrs["site"], "condition": ds.attrs["condition"],
               "reference": ds.attrs["reference"]},
    )
    rois = atlas if atlas is not None else ds
    bold = roi_timeseries(
        ds["targets"].values[kept], rois, float(ds.attrs["tr"]), scan=scan, subject=subject,
        tr_index=tr_index, data_source=source,
        attrs={"atlas": ds.attrs["atlas"], "site": ds.attrs["site"],
               "condition": ds.attrs["condition"],
               "target_processing": "butterworth5 lowpass 0.15 Hz zero-phase; demean; / p95(|x|)"},
    )
    return ScanPair(win, bold)


class SimulatedCohort:
    """A simulated simultaneous EEG-fMRI study whose scans are generated on demand.

    Build one with :func:`simulate_cohort`. Nothing is generated until a scan is asked for;
    each scan depends only on the seed, the parameters, the atlas and its own identity, so any
    subset can be generated, in any order, with the same result.

    Attributes
    ----------
    preset : str
    seed : int
    params : SimulationParams
    atlas : Atlas
    condition : str
    design : pandas.DataFrame
        One row per scan: ``scan, subject, session, site, condition, n_volumes``.
    data_source : str
        ``"simulated"`` (``"semi-synthetic"`` for :func:`semi_synthetic_cohort`).
    """

    data_source = "simulated"

    def __init__(self, params: SimulationParams, seed: int, atlas: Atlas, preset: str = "custom",
                 cache_dir: str | Path | None = None, progress: bool = True) -> None:
        self.params = params
        self.seed = int(seed)
        self.atlas = atlas
        self.preset = preset
        self.condition = params.condition
        self.cache_dir = None if cache_dir is None else Path(cache_dir)
        self.progress = progress
        self.design = self._make_design()
        self._memory: OrderedDict[str, xr.Dataset] = OrderedDict()

    def _make_design(self) -> pd.DataFrame:
        return _design(self.params)

    # -- description -------------------------------------------------------------------------

    @property
    def scans(self) -> list[str]:
        """Scan names, e.g. ``"sub01-scan01"``."""
        return list(self.design["scan"])

    @property
    def subjects(self) -> list[str]:
        """Subject names, in order of first appearance."""
        return list(dict.fromkeys(self.design["subject"]))

    @property
    def ch_names(self) -> list[str]:
        """EEG channel names, in model order."""
        return list(self.params.channels)

    def __len__(self) -> int:
        return len(self.design)

    def __repr__(self) -> str:
        p = self.params
        return (f"<{type(self).__name__} preset={self.preset!r} condition={self.condition!r} "
                f"seed={self.seed}: {len(self.subjects)} subjects, {len(self)} scans x "
                f"{p.n_volumes} volumes (TR {p.tr} s), {len(p.channels)} EEG channels at "
                f"{p.sfreq:g} Hz, atlas {self.atlas.name!r} ({self.atlas.n_rois} ROIs); "
                f"data_source={self.data_source!r}>")

    # -- generation --------------------------------------------------------------------------

    def _check_scan(self, scan: str) -> pd.Series:
        rows = self.design[self.design["scan"] == scan]
        if rows.empty:
            raise KeyError(f"No scan {scan!r} in this cohort; its scans are {self.scans}.")
        return rows.iloc[0]

    def cache_key(self) -> str:
        """Hash of everything that determines the data (parameters, seed, atlas, version)."""
        blob = json.dumps({
            "params": self.params.to_dict(), "seed": self.seed, "source": self.data_source,
            "atlas": [self.atlas.name, list(self.atlas.roi), list(map(str, self.atlas.network)),
                      np.round(self.atlas.centroid, 3).tolist()],
            "version": SIMULATOR_VERSION, **self._extra_key(),
        }, sort_keys=True)
        return hashlib.sha256(blob.encode()).hexdigest()[:16]

    def _extra_key(self) -> dict[str, Any]:
        return {}

    def _cache_path(self, scan: str) -> Path | None:
        if self.cache_dir is None:
            return None
        return self.cache_dir / f"{self.data_source}-{self.cache_key()}" / f"{scan}.nc"

    def _spec(self, row: pd.Series) -> ScanSpec:
        return ScanSpec(row["scan"], row["subject"], self.subjects.index(row["subject"]),
                        int(row["session"]), int(row["n_volumes"]))

    def _generate(self, row: pd.Series, include_eeg: bool = True) -> xr.Dataset:
        return simulate_scan(self._spec(row), self.atlas, self.params, self.seed,
                             preset=self.preset, include_eeg=include_eeg)

    def _bold_data(self, scan: str) -> xr.Dataset:
        """The scan's Dataset if at hand, else its BOLD alone (no EEG: much cheaper)."""
        path = self._cache_path(scan)
        if scan in self._memory or (path is not None and path.exists()):
            return self.scan_data(scan)
        return self._generate(self._check_scan(scan), include_eeg=False)

    def scan_data(self, scan: str) -> xr.Dataset:
        """Everything about one scan, generated (or read from the cache) on first use.

        Returns
        -------
        xarray.Dataset
            ``eeg`` (channel, sample): continuous EEG in µV, referenced to FCz, starting
            ``attrs["eeg_t_start"]`` s before the first volume; ``volume_sample`` (volume):
            the EEG sample of each volume's trigger; ``latent`` (node, roi): latent neural
            activity on the TR grid ``node_time``; ``band_log_amplitude`` (band, node, roi):
            the coupled EEG envelopes; ``bold_raw`` (scanner units), ``bold_clean`` (detrended,
            z-scored), ``bold_noiseless`` (% signal change), ``targets`` and
            ``targets_noiseless`` (the paper's processing), all (volume, roi); ``hrf_delay``
            (roi); task ``event_time``/``event_type``; ``blink_time``. ``attrs`` hold the
            scan's identity, ``tr``, ``sfreq``, the subject's alpha peak, the parameters
            (JSON) and ``data_source``.
        """
        row = self._check_scan(scan)
        if scan in self._memory:
            self._memory.move_to_end(scan)
            return self._memory[scan]
        path = self._cache_path(scan)
        if path is not None and path.exists():
            ds = xr.load_dataset(path, engine="h5netcdf")
        else:
            ds = self._generate(row)
            if path is not None:
                with atomic_path(path) as tmp:
                    ds.to_netcdf(tmp, engine="h5netcdf")
        self._memory[scan] = ds
        while len(self._memory) > _MEMORY_CACHE:
            self._memory.popitem(last=False)
        return ds

    def pair(self, scan: str) -> ScanPair:
        """The model-ready :class:`~unebolt_viz.io.pairing.ScanPair` of one scan."""
        return scan_pair(self.scan_data(scan), self.atlas)

    def pairs(self, scans: Sequence[str] | None = None) -> list[ScanPair]:
        """ScanPairs of several scans (all by default), with a progress bar when asked."""
        names = self.scans if scans is None else list(scans)
        for name in names:
            self._check_scan(name)
        iterator = names
        if self.progress and len(names) > 1:
            from tqdm.auto import tqdm

            iterator = tqdm(names, desc=f"simulating {self.preset} cohort", unit="scan")
        return [self.pair(name) for name in iterator]

    def noise_ceiling(self, scan: str | None = None) -> xr.DataArray:
        """Per-ROI noise ceiling: Pearson r between noiseless and measured processed BOLD.

        No model, however good, can correlate better with the measured targets on average
        than the noiseless BOLD does. With ``scan=None``, the mean over all scans.
        """
        names = self.scans if scan is None else [scan]
        values = []
        for name in names:
            ds = self._bold_data(name)
            values.append(_noise_ceiling(ds["targets_noiseless"].values, ds["targets"].values))
        roi = self.atlas.roi_coords()
        return xr.DataArray(
            np.mean(values, axis=0), dims=("roi",), coords=roi, name="noise_ceiling",
            attrs={"data_source": self.data_source, "scans": ",".join(names),
                   "description": "Pearson r between noiseless and noisy processed BOLD"},
        )

    def write(self, path: str | Path, scans: Sequence[str] | None = None) -> list[Path]:
        """Write the scans as BIDS-like files (see :func:`write_recordings`)."""
        from .writer import write_recordings

        return write_recordings(self, path, scans=scans)


def simulate_cohort(preset: str = "tiny", seed: int = 0, atlas: Atlas | None = None,
                    condition: str = "rest", cache_dir: str | Path | None = None,
                    progress: bool = True, **param_overrides: Any) -> SimulatedCohort:
    """A simulated simultaneous EEG-fMRI cohort with a known EEG-BOLD coupling.

    Parameters
    ----------
    preset : {"tiny", "teaching", "paper"}
        Study size. ``"tiny"``: 4 subjects x 3 min (tests, seconds). ``"teaching"``: 8 subjects,
        10 scans x 7 min (a laptop trains a compact model in minutes). ``"paper"``: the
        NeuroBOLT/UnEBOLT design, rest 22 subjects / 29 scans x 20 min at TR 2.1 s (the real
        scan names), task 10 subjects / 16 scans at another site.
    seed : int
        Everything is deterministic from it; each scan draws from its own child stream.
    atlas : Atlas, optional
        The parcellation the BOLD is simulated on (default ``load_atlas("embedded", 64)``);
        any :class:`~unebolt_viz.atlases.Atlas` works (embedded 64/128/256, DiFuMo).
    condition : {"rest", "task"}
        Eyes-closed rest, or the auditory task at the second site (tones, targets, button
        presses; another cap with 23 channels shared with the resting cap).
    cache_dir : path, optional
        Keep every generated scan there as netCDF and read it back next time.
    progress : bool
        Show a progress bar when several scans are generated.
    **param_overrides
        Any field of :class:`SimulationParams` (e.g. ``n_volumes=300``, ``bad_channel="T8"``,
        ``coupling={"strength": 0}``).

    Returns
    -------
    SimulatedCohort

    Examples
    --------
    >>> cohort = simulate_cohort("tiny", seed=0, progress=False)  # doctest: +SKIP
    >>> pair = cohort.pair(cohort.scans[0])  # doctest: +SKIP
    >>> pair.windows.shape  # (window, channel, time)  # doctest: +SKIP
    """
    params = preset_params(preset, condition, **param_overrides)
    if atlas is None:
        from ..atlases import load_atlas

        atlas = load_atlas("embedded", 64)
    if not isinstance(atlas, Atlas):
        raise TypeError(f"atlas must be an unebolt_viz Atlas (load_atlas(...)), got "
                        f"{type(atlas).__name__}.")
    return SimulatedCohort(params, seed, atlas, preset=preset, cache_dir=cache_dir,
                           progress=progress)
