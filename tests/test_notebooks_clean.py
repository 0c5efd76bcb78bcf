"""Committed notebooks are clean: no outputs, no execution counts, a kernelspec, and provenance.

Notebooks are executed by nbval (``--nbval-lax``) as part of the suite; this file checks what
nbval does not: that what is committed carries no stale outputs (which would show numbers that
the current code may no longer produce) and that every tutorial says where its data come from.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK_DIRS = ("tutorials", "notebooks")
PROVENANCE_WORDS = ("simulated", "semi-synthetic", "real")


def _notebooks() -> list[Path]:
    found = []
    for folder in NOTEBOOK_DIRS:
        found += sorted(
            p for p in (REPO_ROOT / folder).glob("*.ipynb") if ".ipynb_checkpoints" not in p.parts
        )
    return found


NOTEBOOKS = _notebooks()
TUTORIALS = [p for p in NOTEBOOKS if p.parent.name == "tutorials"]


def _read(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def _source(cell: dict) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else src


def _ids(paths: list[Path]) -> list[str]:
    return [f"{p.parent.name}/{p.name}" for p in paths]


def test_there_are_notebooks_to_check():
    # Guards the parametrised tests below against silently checking nothing.
    assert TUTORIALS, "no tutorial notebooks found under tutorials/"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_notebook_has_no_outputs_or_execution_counts(path: Path):
    nb = _read(path)
    dirty = [
        i
        for i, cell in enumerate(nb["cells"])
        if cell["cell_type"] == "code" and (cell.get("outputs") or cell.get("execution_count") is not None)
    ]
    assert not dirty, (
        f"{path.name}: code cells {dirty} carry outputs or execution counts; strip them "
        "(e.g. `jupyter nbconvert --clear-output --inplace`) before committing."
    )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_notebook_has_a_python_kernelspec(path: Path):
    spec = _read(path).get("metadata", {}).get("kernelspec", {})
    assert spec.get("name"), f"{path.name}: metadata.kernelspec.name is missing"
    assert spec.get("language", "python") == "python", f"{path.name}: kernelspec is not Python"


@pytest.mark.parametrize("path", TUTORIALS, ids=_ids(TUTORIALS))
def test_tutorial_states_data_provenance_first(path: Path):
    cells = [c for c in _read(path)["cells"] if c["cell_type"] == "markdown"]
    assert cells, f"{path.name}: no markdown cell"
    first = _source(cells[0]).lower()
    said = [w for w in PROVENANCE_WORDS if re.search(rf"\b{re.escape(w)}\b", first)]
    assert said, (
        f"{path.name}: the first markdown cell must say where the data come from "
        f"(one of {PROVENANCE_WORDS})."
    )


def test_provenance_check_rejects_a_tutorial_without_it(tmp_path: Path):
    # The rule above must be able to fail: a first cell that says nothing about the data.
    nb = {"cells": [{"cell_type": "markdown", "source": ["# A title\n", "Some text."]}]}
    bad = tmp_path / "bad.ipynb"
    bad.write_text(json.dumps(nb))
    with pytest.raises(AssertionError, match="where the data come from"):
        test_tutorial_states_data_provenance_first(bad)
