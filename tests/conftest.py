"""Shared fixtures: tiny synthetic containers, the real shared data and missing-input policy.

Inputs that live outside the repository (the real recordings of ``../shared/data``, Debian's
chromium, Playwright) may be absent on a user's fresh clone: the tests that need them are then
skipped with the reason. Under ``CI=true`` they must be there, so a missing one fails the test
instead of silently shrinking the suite.
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import NoReturn

import numpy as np
import pytest

CI_ENV = "CI"
SHARED_ENV = "UNEBOLT_VIZ_SHARED_DATA"
SHARED_FOLDERS = ("neurobolt_rest_difumo64", "difumo_labels")
SCRIPTS = Path(__file__).resolve().parents[1] / "scripts"


def running_in_ci() -> bool:
    """Whether ``CI`` is set to a true value (``true``, ``1``, ``yes``; any case)."""
    return os.environ.get(CI_ENV, "").strip().lower() in {"true", "1", "yes"}


def _missing_input(reason: str) -> NoReturn:
    """Skip with ``reason`` on a developer's machine; fail under ``CI=true``."""
    if running_in_ci():
        pytest.fail(f"{reason}. {CI_ENV}=true, so a missing test input is an error, not a skip.",
                    pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def missing_input() -> Callable[[str], NoReturn]:
    """``missing_input(reason)``: skip outside CI, fail under ``CI=true``."""
    return _missing_input


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The folder of real recordings, as the package finds it (``shared_data_dir()``)."""
    from unebolt_viz.datasets import shared_data_dir

    found = shared_data_dir()
    override = os.environ.get(SHARED_ENV)
    if override and found is None:
        _missing_input(f"real recordings not available: {SHARED_ENV}={override} is not a folder "
                       f"(set it to the folder that holds neurobolt_rest_difumo64/, or unset it)")
    if found is None:
        _missing_input("real recordings not available: no ../shared/data beside the checkout "
                       f"and {SHARED_ENV} is unset")
    absent = [name for name in SHARED_FOLDERS if not (found / name).is_dir()]
    if absent:
        _missing_input(f"real recordings incomplete: {found} lacks {', '.join(absent)}")
    return found


@pytest.fixture(scope="session")
def shared_path(shared_data) -> Callable[..., Path]:
    """``shared_path(*parts)``: a file or folder inside the shared data that must exist."""

    def require(*parts: str) -> Path:
        path = shared_data.joinpath(*parts)
        if not path.exists():
            _missing_input(f"real recordings incomplete: {path} is absent")
        return path

    return require


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(12345)


@pytest.fixture
def tiny_rois() -> dict:
    """Six ROIs in three networks, in a deliberately interleaved atlas order."""
    return {
        "roi": ["A", "B", "C", "D", "E", "F"],
        "network": ["Default", "Visual", "Default", "Somatomotor", "Visual", "Subcortical"],
        "hemisphere": ["L", "R", "R", "L", "B", "B"],
        "x": [-40.0, 30.0, 20.0, -35.0, 0.0, 1.0],
        "y": [10.0, -80.0, 40.0, -20.0, -90.0, -10.0],
        "z": [30.0, 5.0, 20.0, 60.0, 0.0, 5.0],
    }


@pytest.fixture
def tiny_bold(rng, tiny_rois):
    import unebolt_viz as uv

    return uv.roi_timeseries(rng.standard_normal((50, 6)), tiny_rois, 2.1, scan="sub01-scan01",
                             subject="sub01", data_source="simulated")


@pytest.fixture(scope="session")
def import_script() -> Callable[[str], object]:
    """Import a module of ``scripts/`` by name (they are scripts, not a package); the modules
    and the path entry are removed again at the end of the session.

    Environment variables a script sets when imported (the training script's OpenMP wait
    policy) are put back, so that they do not reach processes other tests start.
    """
    added = str(SCRIPTS) not in sys.path
    if added:
        sys.path.insert(0, str(SCRIPTS))

    def _import(name: str) -> object:
        environment = dict(os.environ)
        try:
            return importlib.import_module(name)
        finally:
            os.environ.clear()
            os.environ.update(environment)

    yield _import
    if added:
        sys.path.remove(str(SCRIPTS))
    for name, module in list(sys.modules.items()):
        if Path(getattr(module, "__file__", None) or "/").parent == SCRIPTS:
            del sys.modules[name]
