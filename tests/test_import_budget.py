"""``import unebolt_viz`` stays light, and the lazy public API resolves (as MNE-Python tests
its own in ``mne/tests/test_import_nesting.py``)."""

import os
import subprocess
import sys

import pytest

HEAVY = ("torch", "panel", "plotly", "holoviews", "bokeh", "mne", "nilearn", "matplotlib", "sklearn")


def _run(code: str, **env: str) -> str:
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, env={**os.environ, **env})
    return out.stdout.strip()


def test_import_loads_no_heavy_dependency():
    code = (
        "import sys, unebolt_viz as uv, unebolt_viz.data, unebolt_viz.networks, "
        "unebolt_viz.atlases, unebolt_viz.conventions; "
        "uv.metrics, uv.viz, uv.models, uv.training, uv.app, uv.io, uv.datasets, uv.simulation; "
        f"print(sorted({{m.split('.')[0] for m in sys.modules}} & set({HEAVY!r})))"
    )
    assert _run(code) == "[]", "import unebolt_viz (or touching its subpackages) pulled in heavy deps"


def test_subpackages_are_attributes():
    """``uv.metrics`` and friends work without importing them first (issue: AttributeError)."""
    code = ("import unebolt_viz as uv, types; "
            "print(all(isinstance(m, types.ModuleType) for m in "
            "(uv.metrics, uv.viz, uv.models, uv.training, uv.app, uv.io, uv.datasets)))")
    assert _run(code) == "True"


def test_every_public_name_resolves():
    """Every name a stub declares exists (EAGER_IMPORT makes lazy_loader load them all now)."""
    code = ("import importlib, unebolt_viz as uv; "
            "pkgs = [uv] + [importlib.import_module('unebolt_viz.' + p) for p in "
            "('io', 'datasets', 'simulation', 'models', 'training', 'viz', 'app')]; "
            "missing = [f'{p.__name__}.{n}' for p in pkgs for n in p.__all__ "
            "if getattr(p, n, None) is None]; print(missing)")
    assert _run(code, EAGER_IMPORT="1") == "[]"


def test_top_level_names_of_earlier_releases_still_work():
    import unebolt_viz as uv

    for name in ("load_atlas", "simulate_cohort", "semi_synthetic_cohort", "load_scan_pair",
                 "find_bids_runs", "fetch", "load_manifest", "load_neurobolt_rest",
                 "build_model", "load_model", "save_model", "evaluate", "train_model",
                 "predict", "run_experiment", "eeg_windows", "roi_timeseries", "predictions",
                 "fc_matrix", "save", "load", "validate"):
        assert callable(getattr(uv, name)), name
    assert uv.NETWORK_NAMES[0] == "Visual" and isinstance(uv.Atlas, type)
    with pytest.raises(AttributeError):
        uv.no_such_name  # noqa: B018


@pytest.mark.parametrize(("old", "new", "name"), [
    ("unebolt_viz.atlas", "unebolt_viz.atlases", "load_atlas"),
    ("unebolt_viz.channels", "unebolt_viz.conventions", "PAPER_CHANNELS"),
    ("unebolt_viz.data.simulate", "unebolt_viz.simulation", "simulate_cohort"),
])
def test_old_module_paths_warn_and_forward(old, new, name):
    code = ("import importlib, warnings; warnings.simplefilter('always'); "
            "caught = []; warnings.showwarning = lambda m, *a, **k: caught.append(str(m)); "
            f"old = importlib.import_module({old!r}); new = importlib.import_module({new!r}); "
            f"print(getattr(old, {name!r}) is getattr(new, {name!r}), "
            f"any({new!r} in c and 'deprecated' in c for c in caught))")
    assert _run(code) == "True True"
