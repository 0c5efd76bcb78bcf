"""fetch(): real downloads over HTTP from a server on 127.0.0.1, verified by sha256.

The server serves the real files of ``../shared/data``; no other address is ever contacted.
"""

from __future__ import annotations

import hashlib
import http.server
import os
import threading
from functools import partial
from pathlib import Path

import pytest

from unebolt_viz.datasets import shared_data_dir
from unebolt_viz.datasets.fetch import (
    DATA_DIR_ENV,
    DownloadError,
    HashMismatchError,
    ManifestError,
    ManualDownloadError,
    UnknownDatasetError,
    UnverifiedDataError,
    fetch,
    list_datasets,
    load_manifest,
)

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = shared_data_dir() or REPO_ROOT.parent / "shared" / "data"
LABELS = "difumo_labels/labels_64_dictionary.csv"
OTHER_LABELS = "difumo_labels/labels_128_dictionary.csv"
REQUIRED_ENTRIES = (
    "difumo_64",
    "difumo_128",
    "difumo_256",
    "neurobolt",
    "labram_base",
    "oddball_ds000116",
    "noddi",
    "cn_epfl",
)


def needs_shared_data(test):
    """Mark a test as reading the shared real data (skipped when absent, failed under CI)."""
    return pytest.mark.shared_data(pytest.mark.usefixtures("shared_labels")(test))


@pytest.fixture(scope="module")
def shared_labels(shared_path):
    """The label tables the server serves must exist."""
    return shared_path(LABELS), shared_path(OTHER_LABELS)


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _all_paths(folder: Path) -> list[Path]:
    """Every file and folder below ``folder``, hidden ones included."""
    return sorted(
        Path(root) / name for root, dirs, files in os.walk(folder) for name in dirs + files
    )


class _CountingHandler(http.server.SimpleHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 (the name http.server calls)
        self.server.requests.append(self.path)
        super().do_GET()

    def log_message(self, format, *args):  # noqa: A002 (keeps pytest output clean)
        pass


@pytest.fixture(scope="module")
def server(shared_data):
    """A real HTTP server on 127.0.0.1 (free port) serving ../shared/data; yields its URL."""
    assert shared_data == SHARED_DATA
    handler = partial(_CountingHandler, directory=str(SHARED_DATA))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    httpd.requests = []
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    host, port = httpd.server_address[:2]
    assert host == "127.0.0.1"
    try:
        yield httpd, f"http://127.0.0.1:{port}"
    finally:
        httpd.shutdown()
        httpd.server_close()


def _entry(url: str, sha256: str | None, filename: str = "labels.csv") -> dict:
    return {
        "description": "A DiFuMo label table served from loopback.",
        "kind": "atlas",
        "access": "download",
        "url": url,
        "filename": filename,
        "size_bytes": None,
        "sha256": sha256,
        "license": "test fixture",
        "citation": "Dadi et al. 2020",
    }


def _manifest(**entries: dict) -> dict:
    return {"version": 1, "datasets": entries}


@needs_shared_data
def test_good_file_is_verified_and_lands_in_data_dir(server, tmp_path):
    httpd, base = server
    source = SHARED_DATA / LABELS
    manifest = _manifest(labels=_entry(f"{base}/{LABELS}", _sha256(source)))

    path = fetch("labels", tmp_path, manifest=manifest, progress=True)

    assert path == tmp_path / "labels" / "labels.csv"
    assert path.read_bytes() == source.read_bytes()
    assert _all_paths(tmp_path) == [tmp_path / "labels", path]  # no temporary left over


@needs_shared_data
def test_second_fetch_does_not_download_again(server, tmp_path):
    httpd, base = server
    url_path = f"/{LABELS}"
    manifest = _manifest(labels=_entry(f"{base}{url_path}", _sha256(SHARED_DATA / LABELS)))

    before = httpd.requests.count(url_path)
    first = fetch("labels", tmp_path, manifest=manifest, progress=False)
    mtime = first.stat().st_mtime_ns
    second = fetch("labels", tmp_path, manifest=manifest, progress=False)

    assert second == first
    assert httpd.requests.count(url_path) - before == 1
    assert second.stat().st_mtime_ns == mtime


@needs_shared_data
def test_local_file_with_wrong_content_is_replaced(server, tmp_path):
    httpd, base = server
    source = SHARED_DATA / LABELS
    manifest = _manifest(labels=_entry(f"{base}/{LABELS}", _sha256(source)))
    stale = tmp_path / "labels" / "labels.csv"
    stale.parent.mkdir()
    stale.write_bytes(source.read_bytes()[:-100])  # a truncated earlier download

    path = fetch("labels", tmp_path, manifest=manifest, progress=False)

    assert path.read_bytes() == source.read_bytes()


@needs_shared_data
def test_hash_mismatch_raises_and_keeps_nothing(server, tmp_path):
    httpd, base = server
    wrong = hashlib.sha256(b"not the label table").hexdigest()
    actual = _sha256(SHARED_DATA / LABELS)
    manifest = _manifest(labels=_entry(f"{base}/{LABELS}", wrong))
    data_dir = tmp_path / "data"

    with pytest.raises(HashMismatchError) as excinfo:
        fetch("labels", data_dir, manifest=manifest, progress=False)

    message = str(excinfo.value)
    assert "labels.csv" in message and wrong in message and actual in message
    assert "nothing was kept" in message
    assert not data_dir.exists() or _all_paths(data_dir) == []


@needs_shared_data
def test_hash_mismatch_leaves_existing_data_dir_without_files(server, tmp_path):
    httpd, base = server
    manifest = _manifest(labels=_entry(f"{base}/{LABELS}", _sha256(SHARED_DATA / OTHER_LABELS)))

    with pytest.raises(HashMismatchError):
        fetch("labels", tmp_path, manifest=manifest, progress=False)

    assert _all_paths(tmp_path) == []


@needs_shared_data
def test_missing_hash_is_refused_unless_allowed(server, tmp_path):
    httpd, base = server
    url_path = f"/{OTHER_LABELS}"
    manifest = _manifest(labels=_entry(f"{base}{url_path}", None))
    before = httpd.requests.count(url_path)

    with pytest.raises(UnverifiedDataError, match="allow_unverified=True"):
        fetch("labels", tmp_path, manifest=manifest, progress=False)
    assert httpd.requests.count(url_path) == before  # refused before any request
    assert _all_paths(tmp_path) == []

    expected_hash = _sha256(SHARED_DATA / OTHER_LABELS)
    with pytest.warns(UserWarning, match=expected_hash):
        path = fetch("labels", tmp_path, manifest=manifest, progress=False, allow_unverified=True)
    assert path.read_bytes() == (SHARED_DATA / OTHER_LABELS).read_bytes()


@needs_shared_data
def test_multi_file_entry_returns_every_file(server, tmp_path):
    httpd, base = server
    names = (LABELS, OTHER_LABELS)
    entry = _entry(f"{base}/difumo_labels/", None)
    del entry["filename"]
    entry["files"] = [
        {
            "filename": Path(name).name,
            "url": f"{base}/{name}",
            "size_bytes": None,
            "sha256": _sha256(SHARED_DATA / name),
        }
        for name in names
    ]

    paths = fetch("tables", tmp_path, manifest=_manifest(tables=entry), progress=False)

    assert [p.read_bytes() for p in paths] == [(SHARED_DATA / n).read_bytes() for n in names]
    assert all(p.parent == tmp_path / "tables" for p in paths)


@needs_shared_data
def test_http_404_names_the_url_and_keeps_nothing(server, tmp_path):
    httpd, base = server
    url = f"{base}/difumo_labels/no_such_table.csv"
    manifest = _manifest(labels=_entry(url, hashlib.sha256(b"x").hexdigest()))

    with pytest.raises(DownloadError) as excinfo:
        fetch("labels", tmp_path, manifest=manifest, progress=False)

    assert url in str(excinfo.value)
    assert str(tmp_path / "labels" / "labels.csv") in str(excinfo.value)  # where to put it by hand
    assert _all_paths(tmp_path) == []


@needs_shared_data
def test_default_data_dir_follows_environment(server, tmp_path, monkeypatch):
    httpd, base = server
    monkeypatch.setenv(DATA_DIR_ENV, str(tmp_path / "from_env"))
    manifest = _manifest(labels=_entry(f"{base}/{LABELS}", _sha256(SHARED_DATA / LABELS)))

    path = fetch("labels", manifest=manifest, progress=False)

    assert path == tmp_path / "from_env" / "labels" / "labels.csv"


def test_unknown_name_lists_known_names(tmp_path):
    manifest = _manifest(
        alpha=_entry("http://127.0.0.1:9/a.csv", None),
        beta=_entry("http://127.0.0.1:9/b.csv", None),
    )
    with pytest.raises(UnknownDatasetError, match="alpha, beta"):
        fetch("gamma", tmp_path, manifest=manifest)


def test_manual_entry_explains_where_to_put_it(tmp_path):
    entry = _entry("http://127.0.0.1:9/landing", None)
    del entry["filename"]
    entry["access"] = "manual"
    manifest = _manifest(big=entry)

    with pytest.raises(ManualDownloadError, match=str(tmp_path / "big")):
        fetch("big", tmp_path, manifest=manifest)

    placed = tmp_path / "big" / "sub-01.nii.gz"
    placed.parent.mkdir()
    placed.write_bytes(b"placed by hand")
    with pytest.raises(UnverifiedDataError, match="allow_unverified=True"):
        fetch("big", tmp_path, manifest=manifest)
    assert fetch("big", tmp_path, manifest=manifest, allow_unverified=True) == tmp_path / "big"


def test_repository_manifest_validates_and_has_required_entries():
    manifest = load_manifest(REPO_ROOT / "data_manifest.yaml")

    assert set(REQUIRED_ENTRIES) <= set(manifest["datasets"])
    assert list_datasets(REPO_ROOT / "data_manifest.yaml") == sorted(manifest["datasets"])
    for name in REQUIRED_ENTRIES:
        entry = manifest["datasets"][name]
        for key in ("url", "license", "citation"):
            assert entry[key].strip(), (name, key)
    assert manifest["datasets"]["labram_base"]["kind"] == "model_weights"
    assert manifest["datasets"]["difumo_64"]["url"] == "https://osf.io/pqu9r/download"


def test_default_manifest_is_the_repository_one():
    assert load_manifest() == load_manifest(REPO_ROOT / "data_manifest.yaml")


def test_packaged_manifest_copy_matches_the_top_level_file():
    packaged = REPO_ROOT / "unebolt_viz" / "resources" / "data_manifest.yaml"
    if not packaged.exists():
        pytest.skip(f"no packaged copy at {packaged} (created at build time)")
    assert packaged.read_bytes() == (REPO_ROOT / "data_manifest.yaml").read_bytes()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda e: e.pop("license"), "missing required field.*license"),
        (lambda e: e.pop("citation"), "missing required field.*citation"),
        (lambda e: e.pop("url"), "missing required field.*url"),
        (lambda e: e.update(sha256="abc123"), "64 hexadecimal digits"),
        (lambda e: e.update(sha256="g" * 64), "64 hexadecimal digits"),
        (lambda e: e.update(sha265="0" * 64), "unknown field.*sha265"),
        (lambda e: e.update(filename="../escape.csv"), "plain file name"),
        (lambda e: e.update(kind="weights"), "kind must be one of"),
        (lambda e: e.update(url="ftp://example.org/a"), "http"),
        (lambda e: e.update(size_bytes=-1), "non-negative integer"),
    ],
)
def test_manifest_schema_errors_name_the_problem(change, message):
    entry = _entry("http://127.0.0.1:9/a.csv", "0" * 64)
    change(entry)
    with pytest.raises(ManifestError, match=message):
        load_manifest(_manifest(a=entry))


def test_manifest_accepts_upper_case_hash_and_normalises_it():
    entry = _entry("http://127.0.0.1:9/a.csv", "AB" * 32)
    assert load_manifest(_manifest(a=entry))["datasets"]["a"]["sha256"] == "ab" * 32
