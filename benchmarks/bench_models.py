"""Whole-brain inference cost: one UnEBOLT versus one NeuroBOLT network per ROI.

Times the forward pass (eval mode, no gradients) of a unified UnEBOLT model predicting all P
ROIs and of P ROI-specific NeuroBOLT networks, on the same random EEG windows (microvolts), in
one run, and reports both times and their ratio. Inputs are random: this measures compute
only, not prediction quality.

Example
-------
    python benchmarks/bench_models.py --n-rois 64 --batch 8 --threads 2 --out bench.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n-rois", type=int, default=64, help="number of ROIs P (default 64)")
    parser.add_argument("--batch", type=int, default=8, help="windows per forward pass")
    parser.add_argument("--repeats", type=int, default=3, help="timed repeats (median reported)")
    parser.add_argument("--threads", type=int, default=2, help="torch.set_num_threads value")
    parser.add_argument("--preset", default="paper", choices=("paper", "compact", "tiny"))
    parser.add_argument(
        "--reuse-one-net",
        action="store_true",
        help="time one NeuroBOLT network run P times instead of P distinct networks "
        "(same compute, 1/P of the memory)",
    )
    parser.add_argument("--device", default="cpu", help="torch device, e.g. cpu or cuda")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=None, help="write the result as JSON here")
    return parser.parse_args(argv)


def _sync(device) -> None:
    import torch

    if device.type == "cuda":
        torch.cuda.synchronize(device)


def time_interleaved(runs: dict, repeats: int, device) -> dict[str, list[float]]:
    """Seconds per call of each ``runs[name]()``, alternating them within each repeat.

    Alternating keeps the candidates under the same machine load when other jobs share the
    CPU; every function is called once untimed first (warm-up).
    """
    for run in runs.values():
        run()
    _sync(device)
    times: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(repeats):
        for name, run in runs.items():
            start = time.perf_counter()
            run()
            _sync(device)
            times[name].append(time.perf_counter() - start)
    return times


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)
    import torch

    try:
        from unebolt_viz.models import build_model
    except ModuleNotFoundError:  # run from a source checkout without installing
        sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
        from unebolt_viz.models import build_model

    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    generator = torch.Generator().manual_seed(args.seed)
    x = (torch.randn(args.batch, 26, 3200, generator=generator) * 20).to(device)

    unebolt = build_model("unebolt", n_outputs=args.n_rois, preset=args.preset, seed=args.seed)
    unebolt = unebolt.to(device).eval()
    if args.reuse_one_net:
        nets = [build_model("neurobolt_unified", n_outputs=1, preset=args.preset, seed=args.seed)]
        calls_per_net = args.n_rois
    else:
        roi_specific = build_model(
            "neurobolt", n_outputs=args.n_rois, preset=args.preset, seed=args.seed
        )
        nets = list(roi_specific.nets)
        calls_per_net = 1
    nets = [net.to(device).eval() for net in nets]

    @torch.no_grad()
    def run_unebolt():
        return unebolt(x)

    @torch.no_grad()
    def run_neurobolt():
        outputs = [net(x) for net in nets for _ in range(calls_per_net)]
        return torch.cat(outputs, dim=1)

    with torch.no_grad():
        assert unebolt(x).shape == (args.batch, args.n_rois)

    @torch.no_grad()
    def run_one_net():
        return nets[0](x)

    times = time_interleaved(
        {"unebolt": run_unebolt, "neurobolt": run_neurobolt, "one_net": run_one_net},
        args.repeats,
        device,
    )
    t_unebolt, t_neurobolt = times["unebolt"], times["neurobolt"]
    median_u, median_n = statistics.median(t_unebolt), statistics.median(t_neurobolt)
    median_one = statistics.median(times["one_net"])
    result = {
        "what": "whole-brain inference, forward pass only, random inputs (timing, not accuracy)",
        "n_rois": args.n_rois,
        "batch": args.batch,
        "preset": args.preset,
        "threads": args.threads,
        "device": str(device),
        "neurobolt_mode": (
            f"one network run {args.n_rois} times"
            if args.reuse_one_net
            else f"{args.n_rois} distinct networks"
        ),  # fmt: skip
        "unebolt_seconds": median_u,
        "neurobolt_roi_specific_seconds": median_n,
        "ratio_neurobolt_over_unebolt": median_n / median_u,
        "one_neurobolt_network_seconds": median_one,
        "ratio_one_neurobolt_network_over_unebolt": median_one / median_u,
        "unebolt_seconds_all": t_unebolt,
        "neurobolt_roi_specific_seconds_all": t_neurobolt,
        "unebolt_parameters": unebolt.count_parameters(),
        "neurobolt_roi_specific_parameters": sum(n.count_parameters() for n in nets)
        * calls_per_net,
        "torch": torch.__version__,
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
    }
    if device.type == "cuda":
        result["gpu"] = torch.cuda.get_device_name(device)
    print(
        f"P={args.n_rois}, batch={args.batch}, preset={args.preset}, threads={args.threads}, "
        f"device={device}\n"
        f"  UnEBOLT (1 model):            {median_u:8.3f} s\n"
        f"  NeuroBOLT ({result['neurobolt_mode']}): {median_n:8.3f} s\n"
        f"  ratio NeuroBOLT / UnEBOLT:    {median_n / median_u:8.1f}x\n"
        f"  one NeuroBOLT network:        {median_one:8.3f} s "
        f"({median_one / median_u:.2f}x UnEBOLT)"
    )
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=args.out.parent, suffix=".tmp")
        with os.fdopen(fd, "w") as f:
            json.dump(result, f, indent=2)
        os.replace(tmp, args.out)
        print(f"  written to {args.out}")
    return result


if __name__ == "__main__":
    main()
