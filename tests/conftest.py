"""Shared fixtures: tiny synthetic containers and the location of the real shared data."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """Path of ../shared/data; skips the test when it is absent (a user's fresh clone)."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real recordings not available: {SHARED_DATA} is absent")
    return SHARED_DATA


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
