"""benchmarks/gpu_check.py: its CPU smoke mode runs the GPU code path and reports sound numbers.

The GPU itself is not needed: with ``--allow-cpu --preset tiny`` the script trains, predicts and
compares precisions with the same functions it uses on a GPU. Timings are not asserted (they
belong to the benchmark's output), only that they were measured and that the numerics hold.
"""

from __future__ import annotations

import importlib.util
import json
import math
from pathlib import Path

import pytest
import torch

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "gpu_check.py"
# bf16 keeps 8 significant bits: a few per mille per operation, about a percent through a tiny
# network; a broken cast (wrong dtype, overflow, a skipped layer) is off by the whole signal
BF16_MAX_REL = 0.1


@pytest.fixture(scope="module")
def gpu_check():
    spec = importlib.util.spec_from_file_location("gpu_check", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def cpu_report(gpu_check, tmp_path_factory):
    if torch.cuda.is_available():
        pytest.skip("a CUDA GPU is present: the CPU smoke mode is not what main() would run")
    out = tmp_path_factory.mktemp("gpu_check") / "result.json"
    # inductor's C++ build takes minutes on a shared CPU: the compiled path is traced by dynamo
    # and AOTAutograd and run eagerly instead (the GPU run uses inductor)
    status = gpu_check.main(["--allow-cpu", "--preset", "tiny", "--n-rois", "4", "--batch", "4",
                             "--scan-windows", "6", "--max-steps", "1", "--budget-s", "600",
                             "--compile-backend", "aot_eager", "--out", str(out)])
    assert status == 0
    return json.loads(out.read_text())


def test_refuses_to_run_without_a_gpu_unless_asked(gpu_check, capsys):
    if torch.cuda.is_available():
        pytest.skip("a CUDA GPU is present")
    assert gpu_check.main([]) == 2
    assert "no CUDA GPU" in capsys.readouterr().err
    assert gpu_check.main(["--allow-cpu"]) == 2  # the paper size is not run on a CPU


def test_cpu_smoke_run_reports_every_measurement(cpu_report):
    assert cpu_report["complete"] is True and "stopped" not in cpu_report
    assert cpu_report["environment"]["torch"] == torch.__version__
    assert cpu_report["environment"]["device"] == "cpu"
    for name in ("unebolt", "neurobolt"):
        record = cpu_report[name]
        assert record["n_parameters"] > 0
        for precision in ("fp32", "bf16"):
            train = record["train"][precision]
            assert train["timed_steps"] >= 1 and train["windows_per_s"] > 0
            assert record["inference_whole_scan"][precision]["scan_seconds"] > 0
        assert record["inference_whole_scan"]["n_windows"] == 6
        assert record["compiled_vs_eager"]["compile_seconds"] > 0
    ratios = cpu_report["roi_specific_over_unified_time"]
    assert set(ratios) == {"train_time_fp32", "train_time_bf16", "inference_time_fp32",
                           "inference_time_bf16"}
    assert all(math.isfinite(v) and v > 0 for v in ratios.values())


@pytest.mark.parametrize("name", ["unebolt", "neurobolt"])
def test_bf16_and_compiled_predictions_are_close_to_fp32_eager(cpu_report, name):
    bf16 = cpu_report[name]["bf16_vs_fp32"]
    assert bf16["fp32_prediction_sd"] > 0
    # bf16 differs (autocast ran) but only by rounding
    assert 0 < bf16["max_rel_to_sd"] < BF16_MAX_REL
    compiled = cpu_report[name]["compiled_vs_eager"]
    assert math.isfinite(compiled["max_abs"]) and compiled["max_rel_to_sd"] < 1e-3


def test_a_broken_cast_would_be_caught(gpu_check):
    """The difference measure flags a prediction that is off by the signal, not by rounding."""
    reference = torch.linspace(-1, 1, 64).reshape(8, 8)
    assert gpu_check._difference(reference * 1.002, reference)["max_rel_to_sd"] < BF16_MAX_REL
    assert gpu_check._difference(torch.zeros_like(reference), reference)["max_rel_to_sd"] > 1
