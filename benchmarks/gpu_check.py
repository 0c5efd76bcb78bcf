"""A ready GPU check: paper-size UnEBOLT versus 64 ROI-specific NeuroBOLT networks on one GPU.

One run of at most 8 minutes on one NVIDIA GPU reports, as JSON, for the paper-size unified
UnEBOLT (``build_model("unebolt", n_outputs=64, preset="paper")``) and for NeuroBOLT as
published (``build_model("neurobolt", ...)``: one network per ROI, 64 networks):

* training windows/s at batch 64 in fp32 (TF32 off) and with bf16 autocast (AdamW, the
  package's multi-objective loss; the ROI-specific networks are stepped one after the other,
  each on its own ROI, as they would be trained);
* the time to predict a whole 20-minute scan (575 windows, batch 64) in fp32 and bf16;
* peak GPU memory of each part (``torch.cuda.max_memory_allocated``);
* the largest difference between bf16 and fp32 predictions, and between ``torch.compile`` and
  eager fp32 predictions (for the ROI-specific model: one of its networks), absolute and
  relative to the standard deviation of the fp32 predictions;
* the unified-vs-ROI-specific cost ratios (time of the 64 networks over that of UnEBOLT),
  the torch / CUDA versions and the device name.

Inputs are random EEG-shaped windows (26 channels x 3200 samples, tens of microvolts) and
random targets, and the weights are untrained: this measures cost and numerics, not prediction
quality. Every part has a time budget and the whole run stops by ``--budget-s`` (default 420 s),
writing what it has measured. Without CUDA it exits with status 2, unless ``--allow-cpu`` is
given (with ``--preset tiny``: a smoke check of the same code on the CPU).

Example
-------
    python benchmarks/gpu_check.py --out gpu_check.json
    # smoke check without a GPU (tiny models, the compiled path traced but not built):
    python benchmarks/gpu_check.py --allow-cpu --preset tiny --n-rois 4 --batch 4 --scan-windows 6
        --max-steps 1 --compile-backend aot_eager   (one command line)
"""

from __future__ import annotations

import argparse
import contextlib
import json
import platform
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

N_CHANS, N_TIMES, SCAN_WINDOWS = 26, 3200, 575
EEG_SCALE_UV = 20.0
#: Seconds each part may take at most (the run's own deadline can cut them shorter).
SECTION_S = {"train": 30.0, "train_roi": 45.0, "infer": 20.0, "infer_roi": 40.0,
             "compile": 90.0, "compile_roi": 70.0}


class OutOfTime(Exception):
    """The run's deadline passed."""


class Budget:
    """The run's deadline and each part's share of what is left."""

    def __init__(self, seconds: float, max_steps: int = 20) -> None:
        self.start = time.perf_counter()
        self.deadline = self.start + seconds
        self.max_steps = max_steps

    def left(self) -> float:
        return self.deadline - time.perf_counter()

    def allow(self, want: float, reserve: float = 5.0) -> float:
        """Seconds granted to a part wanting ``want``; OutOfTime when too little is left."""
        granted = min(want, self.left() - reserve)
        if granted < 1.0:
            raise OutOfTime(f"{self.left():.0f} s left")
        return granted


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=None, help="also write the JSON here")
    parser.add_argument("--preset", default="paper", choices=("paper", "compact", "tiny"))
    parser.add_argument("--n-rois", type=int, default=64, help="ROIs P (networks of NeuroBOLT)")
    parser.add_argument("--batch", type=int, default=64, help="windows per step")
    parser.add_argument("--scan-windows", type=int, default=SCAN_WINDOWS,
                        help="windows of the whole scan predicted (575 = 20 min at TR 2.1 s)")
    parser.add_argument("--budget-s", type=float, default=420.0,
                        help="time limit of the measurements (a hard stop follows 40 s later)")
    parser.add_argument("--compile-backend", default="inductor", help="torch.compile backend")
    parser.add_argument("--allow-cpu", action="store_true",
                        help="run on the CPU when there is no CUDA GPU (with --preset tiny)")
    parser.add_argument("--max-steps", type=int, default=20,
                        help="timed repeats of each measurement at most (after one warm-up)")
    parser.add_argument("--seed", type=int, default=0)
    return parser.parse_args(argv)


def _sync(device) -> None:
    import torch

    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _reset_peak(device) -> None:
    import torch

    if device.type == "cuda":
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats(device)


def _peak_mb(device) -> float | None:
    import torch

    return torch.cuda.max_memory_allocated(device) / 2**20 if device.type == "cuda" else None


def _autocast(device, precision: str):
    import torch

    if precision == "bf16":
        return torch.autocast(device_type=device.type, dtype=torch.bfloat16)
    return contextlib.nullcontext()


@contextlib.contextmanager
def _true_fp32():
    """fp32 means fp32: no TF32 in matmuls or convolutions while inside."""
    import torch

    matmul, conv = torch.get_float32_matmul_precision(), torch.backends.cudnn.allow_tf32
    torch.set_float32_matmul_precision("highest")
    torch.backends.cudnn.allow_tf32 = False
    try:
        yield
    finally:
        torch.set_float32_matmul_precision(matmul)
        torch.backends.cudnn.allow_tf32 = conv


def _timed(step: Callable[[], None], seconds: float, device,
           max_steps: int = 20) -> dict[str, Any]:
    """Run ``step`` once untimed, then as often as ``seconds`` allow (at most ``max_steps``)."""
    start = time.perf_counter()
    step()
    _sync(device)
    warm_s = time.perf_counter() - start
    times: list[float] = []
    while len(times) < max_steps and sum(times) + warm_s < seconds:
        t0 = time.perf_counter()
        step()
        _sync(device)
        times.append(time.perf_counter() - t0)
    if not times:  # the warm-up alone used the budget: report it rather than nothing
        times = [warm_s]
    return {"seconds_per_step": sum(times) / len(times), "timed_steps": len(times),
            "warmup_seconds": warm_s}


def _train_step_fn(model, x, y, precision: str, device) -> Callable[[], None]:
    """One optimiser step; the ROI-specific networks each on their ROI, one after the other."""
    import torch

    from unebolt_viz.models import MultiObjectiveLoss

    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)
    nets = getattr(model, "nets", None)
    unified_loss, roi_loss = MultiObjectiveLoss(), MultiObjectiveLoss(variant="no_scorr")

    def step() -> None:
        optimizer.zero_grad(set_to_none=True)
        if nets is None:
            with _autocast(device, precision):
                loss = unified_loss(model(x).float(), y)
            loss.backward()
        else:
            for i, net in enumerate(nets):  # backward per network frees its activations
                with _autocast(device, precision):
                    loss = roi_loss(net(x).float(), y[:, i:i + 1])
                loss.backward()
        optimizer.step()

    return step


def measure_training(model, x, y, device, budget: Budget, part: str) -> dict[str, Any]:
    """Training windows/s and peak memory in fp32 (TF32 off) and bf16 autocast."""
    out: dict[str, Any] = {}
    model.train()
    for precision in ("fp32", "bf16"):
        _reset_peak(device)
        with _true_fp32():
            timing = _timed(_train_step_fn(model, x, y, precision, device),
                            budget.allow(SECTION_S[part]), device, budget.max_steps)
        out[precision] = {**timing, "windows_per_s": x.shape[0] / timing["seconds_per_step"],
                          "peak_gpu_mb": _peak_mb(device)}
    return out


def _predict(model, windows, batch: int, precision: str, device):
    import torch

    model.eval()
    with torch.no_grad(), _autocast(device, precision):
        return torch.cat([model(windows[a:a + batch]).float()
                          for a in range(0, windows.shape[0], batch)])


def measure_inference(model, scan, batch: int, device, budget: Budget,
                      part: str) -> dict[str, Any]:
    """Seconds to predict the whole scan, fp32 (TF32 off) and bf16, with peak memory."""
    out: dict[str, Any] = {}
    for precision in ("fp32", "bf16"):
        _reset_peak(device)
        with _true_fp32():
            timing = _timed(lambda p=precision: _predict(model, scan, batch, p, device),
                            budget.allow(SECTION_S[part]), device, budget.max_steps)
        out[precision] = {"scan_seconds": timing["seconds_per_step"],
                          "timed_runs": timing["timed_steps"], "peak_gpu_mb": _peak_mb(device)}
    return out


def _difference(test, reference) -> dict[str, float]:
    scale = float(reference.std())
    err = float((test - reference).abs().max())
    return {"max_abs": err, "max_rel_to_sd": err / scale if scale > 0 else float("inf"),
            "fp32_prediction_sd": scale}


def measure_bf16_difference(model, x, batch: int, device) -> dict[str, float]:
    """bf16 autocast against fp32 (TF32 off) predictions of the same windows."""
    with _true_fp32():
        fp32 = _predict(model, x, batch, "fp32", device)
        bf16 = _predict(model, x, batch, "bf16", device)
    return _difference(bf16, fp32)


def measure_compiled_difference(module, x, batch: int, device, backend: str,
                                budget: Budget, part: str) -> dict[str, Any]:
    """torch.compile'd against eager fp32 predictions, and the compile time."""
    import torch

    if budget.allow(SECTION_S[part]) < 0.5 * SECTION_S[part]:
        raise OutOfTime("too little time left to compile")  # a compile cannot be cut short
    with _true_fp32():
        eager = _predict(module, x, batch, "fp32", device)
        start = time.perf_counter()
        compiled = torch.compile(module, backend=backend)
        first = _predict(compiled, x, batch, "fp32", device)
        _sync(device)
        compile_s = time.perf_counter() - start
    return {**_difference(first, eager), "backend": backend, "compile_seconds": compile_s}


def _attempt(record: dict[str, Any], key: str, part: Callable[[], Any]) -> None:
    """``record[key] = part()``, or the error it raised: one failing part (out of memory, a
    compiler error) must not lose the numbers of the others. Running out of time stops all."""
    try:
        record[key] = part()
    except OutOfTime:
        raise
    except Exception as err:  # noqa: BLE001 - reported in the JSON, the run goes on
        record[key] = {"error": f"{type(err).__name__}: {err}"[:2000]}


def check_model(name: str, args: argparse.Namespace, device, budget: Budget,
                results: dict[str, Any]) -> None:
    """Every measurement of one model, recorded in ``results[name]`` as they complete."""
    import torch

    from unebolt_viz.models import build_model

    record = results.setdefault(name, {})
    start = time.perf_counter()
    model = build_model(name, n_outputs=args.n_rois, preset=args.preset, seed=args.seed)
    model = model.to(device)
    record.update(n_parameters=sum(p.numel() for p in model.parameters()),
                  build_seconds=time.perf_counter() - start)
    gen = torch.Generator(device="cpu").manual_seed(args.seed)
    x = (torch.randn(args.batch, N_CHANS, N_TIMES, generator=gen) * EEG_SCALE_UV).to(device)
    y = torch.randn(args.batch, args.n_rois, generator=gen).to(device)
    roi = "_roi" if name == "neurobolt" else ""
    _attempt(record, "train",
             lambda: measure_training(model, x, y, device, budget, "train" + roi))

    def whole_scan() -> dict[str, Any]:  # the scan's windows live only while measured
        scan = torch.randn(args.scan_windows, N_CHANS, N_TIMES, generator=gen) * EEG_SCALE_UV
        return {"n_windows": args.scan_windows, **measure_inference(
            model, scan.to(device), args.batch, device, budget, "infer" + roi)}

    _attempt(record, "inference_whole_scan", whole_scan)
    _attempt(record, "bf16_vs_fp32",
             lambda: measure_bf16_difference(model, x, args.batch, device))
    # off the GPU until its compile check, so that the next model's peak memory is its own
    results.setdefault("_models", {})[name] = (model.cpu(), x.cpu())


def check_compiled(name: str, args: argparse.Namespace, device, budget: Budget,
                   results: dict[str, Any]) -> None:
    """Compiled against eager predictions (for the ROI-specific model: its first network)."""
    model, x = results["_models"][name]
    module = model.nets[0] if name == "neurobolt" else model
    part = "compile_roi" if name == "neurobolt" else "compile"
    _reset_peak(device)
    _attempt(results[name], "compiled_vs_eager", lambda: {
        "scope": "one of the networks" if name == "neurobolt" else "whole model",
        **measure_compiled_difference(module.to(device), x.to(device), args.batch, device,
                                      args.compile_backend, budget, part)})
    module.cpu()


def _ratios(results: dict[str, Any]) -> dict[str, float]:
    """Time of the ROI-specific networks over that of the unified model, per task."""
    uni, roi = results.get("unebolt", {}), results.get("neurobolt", {})
    out = {}
    for precision in ("fp32", "bf16"):
        with contextlib.suppress(KeyError):
            out[f"train_time_{precision}"] = (uni["train"][precision]["windows_per_s"]
                                              / roi["train"][precision]["windows_per_s"])
        with contextlib.suppress(KeyError):
            out[f"inference_time_{precision}"] = (
                roi["inference_whole_scan"][precision]["scan_seconds"]
                / uni["inference_whole_scan"][precision]["scan_seconds"])
    return out


def _environment(device) -> dict[str, Any]:
    import torch

    env = {"torch": torch.__version__, "cuda": torch.version.cuda, "python":
           platform.python_version(), "device": str(device), "device_name": platform.processor()
           or platform.machine(), "tf32_default_matmul": torch.get_float32_matmul_precision()}
    if device.type == "cuda":
        props = torch.cuda.get_device_properties(device)
        env.update(device_name=props.name, gpu_memory_gb=props.total_memory / 2**30,
                   compute_capability=f"{props.major}.{props.minor}",
                   cudnn=torch.backends.cudnn.version())
    return env


def run(args: argparse.Namespace, device) -> dict[str, Any]:
    """All measurements; stops at the deadline and returns what was measured."""
    budget = Budget(args.budget_s, args.max_steps)
    results: dict[str, Any] = {
        "check": "gpu_check", "data_source": "random EEG-shaped input (no recordings)",
        "preset": args.preset, "n_rois": args.n_rois, "batch": args.batch,
        "environment": _environment(device), "complete": False,
        "precisions": "fp32 with TF32 off in matmuls and convolutions; bf16 = torch.autocast "
                      "to bfloat16 with float32 weights; AdamW, lr 1e-4, untrained weights"}
    try:
        for name in ("unebolt", "neurobolt"):
            check_model(name, args, device, budget, results)
        for name in ("unebolt", "neurobolt"):  # last: compiling takes long and is optional
            check_compiled(name, args, device, budget, results)
    except OutOfTime as stop:
        results["stopped"] = f"time budget of {args.budget_s:g} s reached ({stop})"
    results.pop("_models", None)
    results["errors"] = [f"{name}.{key}" for name in ("unebolt", "neurobolt")
                         for key, value in results.get(name, {}).items()
                         if isinstance(value, dict) and "error" in value]
    results["complete"] = "stopped" not in results and not results["errors"]
    results["roi_specific_over_unified_time"] = _ratios(results)
    results["elapsed_seconds"] = time.perf_counter() - budget.start
    return results


def _on_alarm(signum, frame) -> None:  # pragma: no cover - only when a part overruns
    raise OutOfTime("hard time limit")


def main(argv: list[str] | None = None) -> int:
    """Run the check; print the JSON (and write ``--out``). Exit status 2 without CUDA."""
    args = parse_args(argv)
    import torch

    if torch.cuda.is_available():
        device = torch.device("cuda")
    elif args.allow_cpu and args.preset != "paper":
        device = torch.device("cpu")
    else:
        print("gpu_check: no CUDA GPU is available (torch.cuda.is_available() is False, torch "
              f"{torch.__version__}, CUDA build {torch.version.cuda}). Run it on a machine with "
              "an NVIDIA GPU, or pass --allow-cpu --preset tiny for a smoke check on the CPU "
              "(the paper size is not run on a CPU).",
              file=sys.stderr)
        return 2
    if hasattr(signal, "SIGALRM"):  # a last resort if one part overruns its budget
        previous = signal.signal(signal.SIGALRM, _on_alarm)
        signal.alarm(int(args.budget_s + 40))
    try:
        results = run(args, device)
    finally:
        if hasattr(signal, "SIGALRM"):
            signal.alarm(0)
            signal.signal(signal.SIGALRM, previous)
    text = json.dumps(results, indent=2)
    print(text)
    if args.out is not None:
        from unebolt_viz._utils import atomic_path

        with atomic_path(args.out) as tmp:
            Path(tmp).write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
