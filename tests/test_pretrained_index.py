"""The shipped index and model cards are exactly what ``scripts/pretrained_index.py`` makes of
the shipped training records (nothing in them was edited by hand or left stale)."""

from __future__ import annotations

import json
import shutil

import pytest

from unebolt_viz.models.pretrained import PRETRAINED_DIR


@pytest.fixture()
def pretrained_index(import_script):
    return import_script("pretrained_index")


def test_rebuilding_the_index_from_the_records_changes_nothing(pretrained_index, tmp_path):
    copy = tmp_path / "embedded"
    shutil.copytree(PRETRAINED_DIR, copy)
    for made in [copy / "pretrained.json", *copy.glob("*.card.md")]:
        made.unlink()
    entries = pretrained_index.write_index(copy)
    assert len(entries) == len(list(PRETRAINED_DIR.glob("*.training.json")))
    for shipped in [PRETRAINED_DIR / "pretrained.json", *PRETRAINED_DIR.glob("*.card.md")]:
        assert (copy / shipped.name).read_text() == shipped.read_text(), shipped.name


def test_every_training_record_matches_the_files_shipped_beside_it(pretrained_index):
    """A model file copied in without its record (or the reverse) would show here."""
    for record_path in sorted(PRETRAINED_DIR.glob("*.training.json")):
        record = json.loads(record_path.read_text())
        assert record["files"], record_path.name
        for name, digest in record["files"].items():
            actual = pretrained_index.file_sha256(PRETRAINED_DIR / name)
            assert actual == digest, f"{name} differs from {record_path.name}'s record"
