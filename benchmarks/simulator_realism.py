"""Realism of the simulated cohort, side by side with real recordings.

Usage::

    python benchmarks/simulator_realism.py [--n-scans 6] [--out realism.json]

Simulated: the ``paper`` preset (rest, seed 0), its first ``--n-scans`` scans, simulated on the
DiFuMo-64 ROIs (the atlas of the real tables, built from their label table) and, for the BOLD
rows, also on the embedded 64-ROI atlas. Real: the 23 NeuroBOLT resting-state DiFuMo-64 tables
(``../shared/data/neurobolt_rest_difumo64``) and the PhysioNet resting EEG
(``../shared/data/eeg/physionet_eegmat_Subject00_1_rest.edf``). The statistics are defined in
:mod:`unebolt_viz.simulation.realism` and computed identically on both sides:

- BOLD lag-1 autocorrelation and within/between-network FC: simulated ``bold_clean``
  (detrended, z-scored) against the real tables as given (z-scored); the lag-1 also after the
  paper's target processing (0.15 Hz low-pass, demean, 95th-percentile scaling) on both sides;
- EEG: O1, O2 and Pz resampled to 200 Hz, 30 s segments, aperiodic slope and alpha peak ratio;
  the real range is min..max over the three channels and all segments; a simulated channel's
  value is its median over segments (pooled over scans). The real EEG is referenced to linked
  ears, the simulated to FCz;
- alpha-BOLD coupling: simulated only (no simultaneous real recording exists here).

Every simulated number comes from simulated data; nothing here is a result of the paper.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"
POSTERIOR = ("O1", "O2", "PZ")


def difumo64_atlas(shared: Path):
    from unebolt_viz.atlases import Atlas
    from unebolt_viz.datasets.neurobolt import difumo_roi_table

    table = difumo_roi_table(shared / "difumo_labels" /
                             "labels_64_dictionary_osf_names_with_centroids.csv")
    return Atlas(name="difumo", roi=tuple(table["roi"]), network=table["network"].to_numpy(),
                 hemisphere=table["hemisphere"].to_numpy(),
                 centroid=table[["x", "y", "z"]].to_numpy(),
                 description="DiFuMo-64 ROI table with centroids (no maps)")


def real_bold_stats(shared: Path) -> dict:
    from unebolt_viz.datasets.neurobolt import load_neurobolt_rest
    from unebolt_viz.preprocessing import bold_targets
    from unebolt_viz.simulation.realism import lag1_autocorrelation, within_between_fc

    scans = load_neurobolt_rest(shared)
    lag, lag_t, wb = [], [], []
    for da in scans.values():
        lag.append(lag1_autocorrelation(da.values))
        lag_t.append(lag1_autocorrelation(bold_targets(da).values))
        wb.append(within_between_fc(da.values, da.network.values))
    wb = np.array(wb)
    return {"n_scans": len(scans), "lag1": float(np.mean(lag)), "lag1_targets": float(np.mean(lag_t)),
            "within": float(wb[:, 0].mean()), "between": float(wb[:, 1].mean()),
            "difference": float((wb[:, 0] - wb[:, 1]).mean())}


def real_eeg_stats(shared: Path) -> dict:
    import mne

    from unebolt_viz.simulation.realism import segment_spectral_features

    raw = mne.io.read_raw_edf(shared / "eeg" / "physionet_eegmat_Subject00_1_rest.edf",
                              preload=True, verbose="error")
    raw.resample(200.0, verbose="error")
    per_channel = {}
    for ch in POSTERIOR:
        name = "EEG " + ("Pz" if ch == "PZ" else ch)
        x = raw.get_data(picks=[name], units="uV")[0]
        per_channel[ch] = {k: v.tolist() for k, v in segment_spectral_features(x, 200.0).items()}
    slopes = np.concatenate([v["slope"] for v in per_channel.values()])
    ratios = np.concatenate([v["alpha_ratio"] for v in per_channel.values()])
    return {"per_channel": per_channel,
            "slope_range": [float(slopes.min()), float(slopes.max())],
            "alpha_ratio_range": [float(ratios.min()), float(ratios.max())],
            "slope_median": float(np.median(slopes)), "alpha_ratio_median": float(np.median(ratios))}


def simulated_stats(n_scans: int, atlas, with_eeg: bool = True) -> dict:
    from unebolt_viz.preprocessing import bold_targets
    from unebolt_viz.simulation import simulate_cohort
    from unebolt_viz.simulation.realism import (
        alpha_bold_coupling,
        lag1_autocorrelation,
        segment_spectral_features,
        within_between_fc,
    )

    cohort = simulate_cohort("paper", seed=0, atlas=atlas, progress=False)
    scans = cohort.scans[:n_scans]
    lag, lag_t, wb, ceiling, coupling = [], [], [], [], []
    seg = {ch: {"slope": [], "alpha_ratio": []} for ch in POSTERIOR}
    for scan in scans:
        ds = cohort.scan_data(scan) if with_eeg else cohort._bold_data(scan)
        clean = ds["bold_clean"].values
        lag.append(lag1_autocorrelation(clean))
        lag_t.append(lag1_autocorrelation(bold_targets(clean, ds.attrs["tr"])))
        wb.append(within_between_fc(clean, ds["network"].values))
        ceiling.append(float(cohort.noise_ceiling(scan).mean()))
        if not with_eeg:
            continue
        chans = list(ds["channel"].values)
        pick = [chans.index(c) for c in POSTERIOR]
        eeg = ds["eeg"].values
        for ch, i in zip(POSTERIOR, pick):
            feats = segment_spectral_features(eeg[i], ds.attrs["sfreq"])
            seg[ch]["slope"] += feats["slope"].tolist()
            seg[ch]["alpha_ratio"] += feats["alpha_ratio"].tolist()
        visual = ds["targets"].values[:, ds["network"].values == "Visual"].mean(axis=1)
        coupling.append(alpha_bold_coupling(eeg[pick], ds.attrs["sfreq"],
                                            ds["volume_sample"].values, visual, ds.attrs["tr"]))
    wb = np.array(wb)
    out = {"atlas": f"{atlas.name}{atlas.n_rois}", "scans": scans,
           "lag1": float(np.mean(lag)), "lag1_targets": float(np.mean(lag_t)),
           "within": float(wb[:, 0].mean()), "between": float(wb[:, 1].mean()),
           "difference": float((wb[:, 0] - wb[:, 1]).mean()),
           "noise_ceiling_per_scan": ceiling, "noise_ceiling": float(np.mean(ceiling))}
    if with_eeg:
        out["eeg"] = {ch: {"slope_median": float(np.median(v["slope"])),
                           "alpha_ratio_median": float(np.median(v["alpha_ratio"]))}
                      for ch, v in seg.items()}
        out["alpha_visual_r_per_scan"] = coupling
        out["alpha_visual_r"] = float(np.mean(coupling))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-scans", type=int, default=6)
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--shared", type=Path, default=SHARED)
    args = parser.parse_args()
    if not (args.shared / "neurobolt_rest_difumo64").is_dir():
        sys.exit(f"Real data not found at {args.shared}: pass --shared <folder>.")
    start = time.perf_counter()
    real = {"bold": real_bold_stats(args.shared), "eeg": real_eeg_stats(args.shared)}
    sim = simulated_stats(args.n_scans, difumo64_atlas(args.shared))
    from unebolt_viz.atlases import load_atlas

    sim_embedded = simulated_stats(args.n_scans, load_atlas("embedded", 64), with_eeg=False)
    rb, re = real["bold"], real["eeg"]
    lo_s, hi_s = re["slope_range"]
    lo_r, hi_r = re["alpha_ratio_range"]
    checks = {
        "lag1_within_0.1": abs(sim["lag1"] - rb["lag1"]) <= 0.1,
        "fc_difference_within_0.1": abs(sim["difference"] - rb["difference"]) <= 0.1,
        "eeg_slope_in_real_range": all(lo_s <= v["slope_median"] <= hi_s for v in sim["eeg"].values()),
        "eeg_alpha_ratio_in_real_range": all(lo_r <= v["alpha_ratio_median"] <= hi_r
                                             for v in sim["eeg"].values()),
        "noise_ceiling_in_0.5_0.8": 0.5 <= sim["noise_ceiling"] <= 0.8,
        "alpha_visual_r_negative": sim["alpha_visual_r"] < 0,
    }

    rows = [
        ("BOLD lag-1 autocorrelation (z-scored)", sim["lag1"], sim_embedded["lag1"], rb["lag1"]),
        ("BOLD lag-1 autocorrelation (targets)", sim["lag1_targets"], sim_embedded["lag1_targets"],
         rb["lag1_targets"]),
        ("FC within Yeo-7 networks", sim["within"], sim_embedded["within"], rb["within"]),
        ("FC between Yeo-7 networks", sim["between"], sim_embedded["between"], rb["between"]),
        ("FC within - between", sim["difference"], sim_embedded["difference"], rb["difference"]),
    ]
    print(f"Simulated: paper preset, seed 0, {len(sim['scans'])} scans ({', '.join(sim['scans'])}). "
          f"Real: {rb['n_scans']} NeuroBOLT scans; PhysioNet Subject00 rest EEG.")
    print(f"{'statistic':44s} {'sim DiFuMo-64':>14s} {'sim embedded-64':>16s} {'real':>9s}")
    for name, a, b, c in rows:
        print(f"{name:44s} {a:14.3f} {b:16.3f} {c:9.3f}")
    for ch in POSTERIOR:
        v = sim["eeg"][ch]
        print(f"{'EEG ' + ch + ' aperiodic slope (median of 30 s)':44s} {v['slope_median']:14.2f} "
              f"{'':16s} {lo_s:5.2f}..{hi_s:5.2f}")
        print(f"{'EEG ' + ch + ' alpha peak ratio (median of 30 s)':44s} "
              f"{v['alpha_ratio_median']:14.1f} {'':16s} {lo_r:5.1f}..{hi_r:5.1f}")
    print(f"{'mean per-ROI noise ceiling':44s} {sim['noise_ceiling']:14.3f} "
          f"{sim_embedded['noise_ceiling']:16.3f} {'-':>9s}")
    print(f"{'r(HRF * posterior alpha power, visual BOLD)':44s} {sim['alpha_visual_r']:14.3f} "
          f"{'':16s} {'-':>9s}   per scan: "
          + ", ".join(f"{r:.2f}" for r in sim["alpha_visual_r_per_scan"]))
    for name, ok in checks.items():
        print(f"  {'PASS' if ok else 'FAIL'}  {name}")
    print(f"({time.perf_counter() - start:.0f} s; all simulated numbers are from simulated data)")
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps({"data_source": "simulated vs real", "real": real,
                                        "simulated_difumo64": sim,
                                        "simulated_embedded64": sim_embedded,
                                        "checks": checks}, indent=2))


if __name__ == "__main__":
    main()
