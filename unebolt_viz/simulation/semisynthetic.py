"""Semi-synthetic cohorts: real BOLD, EEG synthesized from it through the same forward model.

The BOLD (and so its FC) is real; the EEG is what the simulator's coupling would produce if the
real BOLD's neural causes were the latent activity. Those causes are estimated by undoing the
HRF: a Wiener deconvolution of each ROI's (detrended, standardized) series by the canonical
double-gamma HRF sampled at the TR, with a noise-to-signal ratio of 0.1 relative to the HRF's
peak power, then standardized. High frequencies, where the HRF passes little, are damped
rather than amplified, so the estimate is a smoothed latent activity shifted back by the
haemodynamic delay (about 5 s). The EEG then follows it through the band-envelope coupling
exactly as in :func:`simulate_cohort`. There is no noiseless BOLD, hence no noise ceiling.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from ..atlases import Atlas
from ..data.containers import InvalidDataError, validate_roi_timeseries
from ..preprocessing import bold_targets
from .bold import detrend_standardize
from .cohort import SimulatedCohort
from .hrf import HRF_LENGTH_S, hrf_kernels
from .presets import preset_params
from .scan import EEG_TAIL_S, ScanSpec, simulate_scan

__all__ = ["semi_synthetic_cohort", "SemiSyntheticCohort", "deconvolve_hrf"]

WIENER_NSR = 0.1


def deconvolve_hrf(bold: np.ndarray, tr: float, nsr: float = WIENER_NSR) -> np.ndarray:
    """Estimate latent activity from BOLD (n_times, n_rois) by Wiener deconvolution.

    Parameters
    ----------
    bold : ndarray, shape (n_times, n_rois)
    tr : float
    nsr : float
        Noise-to-signal ratio, relative to the peak power of the HRF's transfer function.

    Returns
    -------
    ndarray, shape (n_times, n_rois)
        Standardized estimate; ``convolve_hrf`` of it approximates the standardized BOLD.
    """
    x = np.asarray(bold, dtype=float)
    x = x - x.mean(axis=0)
    n = x.shape[0]
    n_fft = 2 * n  # zero padding: no wrap-around of the causal kernel
    kernel = hrf_kernels(tr, np.zeros(1))[:, 0]
    h = np.fft.rfft(kernel, n_fft)
    power = np.abs(h) ** 2
    wiener = np.conj(h) / (power + nsr * power.max())
    z = np.fft.irfft(np.fft.rfft(x, n_fft, axis=0) * wiener[:, None], n_fft, axis=0)[:n]
    z -= z.mean(axis=0)
    return z / (z.std(axis=0) + 1e-12)


def _atlas_from(bold: xr.DataArray) -> Atlas:
    centroid = np.column_stack([bold[c].values.astype(float) for c in ("x", "y", "z")])
    if not np.all(np.isfinite(centroid)):
        raise InvalidDataError(
            "The real BOLD lacks ROI centroids (x, y, z): pass atlas=... so the EEG sources can "
            "be placed.")
    return Atlas(name=str(bold.attrs.get("atlas", "real")), roi=tuple(map(str, bold.roi.values)),
                 network=bold.network.values, hemisphere=bold.hemisphere.values,
                 centroid=centroid, description="ROIs of the real BOLD given to the simulator.")


class SemiSyntheticCohort(SimulatedCohort):
    """A cohort with real BOLD and EEG synthesized from it (see :func:`semi_synthetic_cohort`)."""

    data_source = "semi-synthetic"

    def __init__(self, bold_by_scan: Mapping[str, xr.DataArray], params, seed: int, atlas: Atlas,
                 cache_dir=None, progress: bool = True) -> None:
        self._bold = dict(bold_by_scan)
        super().__init__(params, seed, atlas, preset="semi-synthetic", cache_dir=cache_dir,
                         progress=progress)

    def _make_design(self) -> pd.DataFrame:
        design = pd.DataFrame([
            {"scan": name, "subject": str(da.subject.values[0]),
             "session": int(name.split("scan")[-1]) if "scan" in name else 1,
             "site": self.params.site, "condition": self.params.condition,
             "n_volumes": int(da.sizes["time"])}
            for name, da in self._bold.items()
        ], columns=["scan", "subject", "session", "site", "condition", "n_volumes"])
        return design

    def _extra_key(self) -> dict[str, Any]:
        digest = hashlib.sha256()
        for name in sorted(self._bold):
            digest.update(name.encode())
            digest.update(np.ascontiguousarray(self._bold[name].values, dtype=np.float64).tobytes())
        return {"bold": digest.hexdigest()}

    def _generate(self, row: pd.Series, include_eeg: bool = True) -> xr.Dataset:
        real = self._bold[row["scan"]]
        tr = self.params.tr
        n_vol = int(real.sizes["time"])
        clean = np.asarray(real.values, dtype=float)
        latent = deconvolve_hrf(detrend_standardize(clean), tr)
        n_pad = int(np.ceil(HRF_LENGTH_S / tr)) + 1
        n_after = int(np.ceil(EEG_TAIL_S / tr)) + 2
        nodes = np.pad(latent, ((n_pad, n_after), (0, 0)), mode="reflect")
        spec = ScanSpec(row["scan"], row["subject"], self.subjects.index(row["subject"]),
                        int(row["session"]), n_vol)
        ds = simulate_scan(spec, self.atlas, self.params.replace(n_volumes=n_vol), self.seed,
                           preset=self.preset, data_source="semi-synthetic", latent=nodes,
                           include_eeg=include_eeg)
        ds = ds.drop_vars(["bold_noiseless", "targets_noiseless", "hrf_delay"])
        ds["bold_raw"] = (("volume", "roi"), np.asarray(real.values, dtype=float))
        ds["bold_clean"] = (("volume", "roi"), clean)
        ds["targets"] = (("volume", "roi"), bold_targets(clean, tr))
        ds.attrs["description"] = (
            "Semi-synthetic scan (unebolt_viz.simulation): the BOLD is real "
            f"({real.attrs.get('source_file', 'given')}); the EEG is simulated from the latent "
            "activity estimated by Wiener deconvolution of the HRF; eeg in uV.")
        return ds

    def noise_ceiling(self, scan: str | None = None) -> xr.DataArray:
        """Not defined: the BOLD is real, its noiseless part unknown."""
        raise ValueError("A semi-synthetic cohort has real BOLD, whose noiseless part is "
                         "unknown: there is no noise ceiling. Use simulate_cohort for one.")


def semi_synthetic_cohort(bold_by_scan: Mapping[str, xr.DataArray], seed: int = 0,
                          atlas: Atlas | None = None, cache_dir=None, progress: bool = True,
                          **param_overrides: Any) -> SemiSyntheticCohort:
    """A cohort whose BOLD is real and whose EEG is synthesized from it.

    Parameters
    ----------
    bold_by_scan : mapping of str to DataArray
        Real ROI time series, one ``roi_timeseries`` per scan (e.g.
        ``unebolt_viz.data.load_neurobolt_rest()``), all on the same ROIs and TR; scan names
        like ``"sub01-scan01"``.
    seed : int
        Seed of the EEG synthesis.
    atlas : Atlas, optional
        The ROIs' atlas (default: built from the DataArrays' ROI coordinates, which must
        include centroids).
    cache_dir : path, optional
    progress : bool
    **param_overrides
        :class:`SimulationParams` fields for the EEG (e.g. ``coupling={"strength": 2}``).

    Returns
    -------
    SemiSyntheticCohort
        Same interface as :class:`SimulatedCohort`; everything says
        ``data_source="semi-synthetic"``; ``noise_ceiling`` is not available.
    """
    if not bold_by_scan:
        raise ValueError("bold_by_scan is empty: pass {scan: roi_timeseries}, e.g. "
                         "load_neurobolt_rest().")
    first = next(iter(bold_by_scan.values()))
    for name, da in bold_by_scan.items():
        validate_roi_timeseries(da)
        if list(da.roi.values) != list(first.roi.values):
            raise InvalidDataError(f"Scan {name!r} has other ROIs than the first scan.")
        if float(da.attrs["tr"]) != float(first.attrs["tr"]):
            raise InvalidDataError(f"Scan {name!r} has another TR than the first scan.")
    if atlas is None:
        atlas = _atlas_from(first)
    elif list(atlas.roi) != [str(r) for r in first.roi.values]:
        raise InvalidDataError("The atlas's ROIs differ from those of the BOLD.")
    n_max = max(int(da.sizes["time"]) for da in bold_by_scan.values())
    params = preset_params("paper", "rest", tr=float(first.attrs["tr"]), n_volumes=n_max,
                           **param_overrides)
    return SemiSyntheticCohort(bold_by_scan, params, seed, atlas, cache_dir=cache_dir,
                               progress=progress)
