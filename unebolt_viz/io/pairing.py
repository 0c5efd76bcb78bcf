"""One scan's model-ready pair: EEG windows and the BOLD targets they predict.

Simulation (:mod:`unebolt_viz.simulation`) and ingestion of real files both end in a
:class:`ScanPair`; training, inference and the apps start from it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import xarray as xr

from ..data.containers import InvalidDataError, validate_eeg_windows, validate_roi_timeseries

__all__ = ["ScanPair"]


@dataclass(frozen=True)
class ScanPair:
    """EEG windows and BOLD targets of one scan, aligned one to one.

    Attributes
    ----------
    windows : xarray.DataArray
        ``eeg_windows`` container ``(window, channel, time)``; window ``i`` precedes volume
        ``windows.tr_index[i]``.
    bold : xarray.DataArray
        ``roi_timeseries`` container ``(time, roi)`` of the same volumes, in the same order
        (``bold.tr_index`` equals ``windows.tr_index``).
    """

    windows: xr.DataArray
    bold: xr.DataArray

    def __post_init__(self) -> None:
        validate_eeg_windows(self.windows)
        validate_roi_timeseries(self.bold)
        n_w, n_t = self.windows.sizes["window"], self.bold.sizes["time"]
        if n_w != n_t:
            raise InvalidDataError(
                f"Scan {self.scan!r}: {n_w} EEG windows but {n_t} BOLD volumes; pair them with "
                "unebolt_viz.io.pair_scan (it drops volumes without a full window)."
            )
        if not np.array_equal(self.windows.tr_index.values, self.bold.tr_index.values):
            raise InvalidDataError(f"Scan {self.scan!r}: windows and volumes have different tr_index.")
        for coord in ("scan", "subject"):
            if set(map(str, self.windows[coord].values)) != set(map(str, self.bold[coord].values)):
                raise InvalidDataError(f"Scan {self.scan!r}: windows and BOLD disagree on '{coord}'.")
        if self.windows.attrs["data_source"] != self.bold.attrs["data_source"]:
            raise InvalidDataError(
                f"Scan {self.scan!r}: EEG is {self.windows.attrs['data_source']} but BOLD is "
                f"{self.bold.attrs['data_source']}; a semi-synthetic pair must say so on both."
            )

    @property
    def scan(self) -> str:
        """Scan identifier."""
        return str(self.bold.scan.values[0])

    @property
    def subject(self) -> str:
        """Subject identifier."""
        return str(self.bold.subject.values[0])

    @property
    def n_windows(self) -> int:
        """Number of (window, volume) pairs."""
        return int(self.windows.sizes["window"])

    @property
    def data_source(self) -> str:
        """``"simulated"``, ``"semi-synthetic"`` or ``"real"``."""
        return str(self.bold.attrs["data_source"])

    def subset(self, index: np.ndarray | slice) -> ScanPair:
        """The pairs at the given window positions (e.g. a train/val/test range)."""
        return ScanPair(self.windows.isel(window=index), self.bold.isel(time=index))
