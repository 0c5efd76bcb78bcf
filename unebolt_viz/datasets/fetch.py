"""Download the external data sets and model files of ``data_manifest.yaml``, verified.

Every file that unebolt_viz can download is listed, with its URL, licence, citation and
(where known) sha256, in the manifest. :func:`fetch` downloads an entry with pooch into
``<data_dir>/<name>/``: the download goes to a temporary file beside its destination and is
moved into place only once its sha256 matches the manifest, so a corrupted or tampered
download leaves nothing behind. An entry without a known hash is refused unless the caller
passes ``allow_unverified=True``.
"""

from __future__ import annotations

import copy
import re
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .._utils.cache import CACHE_ENV_VAR, cache_dir

__all__ = [
    "DATA_DIR_ENV",
    "DownloadError",
    "FetchError",
    "HashMismatchError",
    "ManifestError",
    "ManualDownloadError",
    "UnknownDatasetError",
    "UnverifiedDataError",
    "fetch",
    "list_datasets",
    "load_manifest",
]

MANIFEST_FILENAME = "data_manifest.yaml"
#: Environment variable naming the default data folder (default ``~/.cache/unebolt_viz``).
DATA_DIR_ENV = CACHE_ENV_VAR
MANIFEST_VERSION = 1
KINDS = ("atlas", "dataset", "model_weights", "recording")
ACCESS_MODES = ("download", "manual")

_REQUIRED_KEYS = (
    "description",
    "kind",
    "access",
    "url",
    "size_bytes",
    "sha256",
    "license",
    "citation",
)
_OPTIONAL_KEYS = ("filename", "files", "doi", "homepage", "notes")
_FILE_KEYS = ("filename", "url", "size_bytes", "sha256")
_SHA256 = re.compile(r"[0-9a-fA-F]{64}")
_POOCH_ACTUAL_HASH = re.compile(r"but got ([0-9a-fA-F]{64})")


class FetchError(Exception):
    """Base class of the errors raised while reading the manifest or fetching data."""


class ManifestError(FetchError, ValueError):
    """The manifest is missing or does not follow its schema."""


class UnknownDatasetError(FetchError, LookupError):
    """The requested name is not an entry of the manifest."""


class UnverifiedDataError(FetchError, ValueError):
    """The entry has no sha256 to verify against and ``allow_unverified`` was not given.

    The message names the Python argument; :meth:`with_option` words it for another caller
    (the command line names its ``--allow-unverified`` flag).
    """

    def __init__(self, problem: str, then: str) -> None:
        self.problem, self.then = problem, then
        super().__init__(self.with_option("allow_unverified=True"))

    def with_option(self, option: str) -> str:
        """The message, telling the user to pass ``option`` to go ahead."""
        return f"{self.problem} Pass {option} {self.then}"


class HashMismatchError(FetchError, ValueError):
    """A downloaded file does not have the sha256 that the manifest records."""


class DownloadError(FetchError, OSError):
    """The server could not be reached or answered with an error."""


class ManualDownloadError(FetchError, FileNotFoundError):
    """The entry cannot be downloaded automatically and is not in the data folder yet."""


def load_manifest(path: str | Path | Mapping | None = None) -> dict[str, Any]:
    """Read and validate the data manifest.

    Parameters
    ----------
    path : str, Path, Mapping or None
        A YAML file, or an already parsed manifest (validated as a copy). ``None`` reads
        ``data_manifest.yaml`` at the root of a source checkout, or else the copy shipped in
        ``unebolt_viz/resources/``.

    Returns
    -------
    dict
        ``{"version": 1, "datasets": {name: entry}}`` with every sha256 in lower case.

    Raises
    ------
    ManifestError
        If no manifest is found, or if an entry lacks a required field (``url``, ``license``,
        ``citation``, ...), has an unknown field or a sha256 that is not 64 hex digits.
    """
    if isinstance(path, Mapping):
        raw: Any = copy.deepcopy(dict(path))
        source = "the manifest mapping"
    else:
        manifest_path = Path(path).expanduser() if path is not None else _default_manifest_path()
        if not manifest_path.is_file():
            raise ManifestError(f"manifest file {manifest_path} does not exist")
        import yaml

        with open(manifest_path, encoding="utf-8") as stream:
            raw = yaml.safe_load(stream)
        source = str(manifest_path)
    return _validate_manifest(raw, source)


def list_datasets(manifest: str | Path | Mapping | None = None) -> list[str]:
    """Names of the manifest's entries, sorted; each is a valid argument of :func:`fetch`."""
    return sorted(load_manifest(manifest)["datasets"])


def fetch(
    name: str,
    data_dir: str | Path | None = None,
    *,
    allow_unverified: bool = False,
    progress: bool = True,
    manifest: str | Path | Mapping | None = None,
) -> Path | list[Path]:
    """Download a manifest entry (once) and verify its sha256.

    Files land in ``<data_dir>/<name>/``. A file already there with the recorded hash is
    returned without downloading it again; one with another hash is downloaded afresh.

    Parameters
    ----------
    name : str
        The entry, e.g. ``"difumo_64"`` or ``"labram_base"``; see :func:`list_datasets`.
    data_dir : str, Path or None
        Root of the local data folder. ``None`` uses the environment variable
        ``UNEBOLT_VIZ_DATA`` if set, else ``~/.cache/unebolt_viz``.
    allow_unverified : bool
        Accept an entry whose sha256 is not known (the manifest has ``sha256: null``). Its
        hash is then computed and reported in a warning, so that it can be added to the
        manifest. Default False: such entries are refused.
    progress : bool
        Show a tqdm progress bar while downloading.
    manifest : str, Path, Mapping or None
        Another manifest to read the entry from (see :func:`load_manifest`).

    Returns
    -------
    Path or list of Path
        The downloaded file; a list for entries with several files; the folder for entries
        that have to be downloaded by hand (``access: manual``) once it has been filled.

    Raises
    ------
    UnknownDatasetError
        If ``name`` is not in the manifest (the message lists the known names).
    UnverifiedDataError
        If the entry has no sha256 and ``allow_unverified`` is False.
    HashMismatchError
        If a download does not match its sha256; the download is deleted.
    DownloadError
        If the server cannot be reached or answers with an error; nothing is kept.
    ManualDownloadError
        If the entry has to be downloaded by hand and its folder is still missing or empty.
    """
    datasets = load_manifest(manifest)["datasets"]
    if name not in datasets:
        raise UnknownDatasetError(
            f"unknown data set {name!r}; the manifest knows: {', '.join(sorted(datasets))}"
        )
    entry = datasets[name]
    folder = _resolve_data_dir(data_dir) / name
    if entry["access"] == "manual":
        return _fetch_manual(name, entry, folder, allow_unverified)

    specs = entry["files"] if "files" in entry else [_single_file_spec(entry)]
    unverified = [spec["filename"] for spec in specs if spec["sha256"] is None]
    if unverified and not allow_unverified:
        raise UnverifiedDataError(
            f"the manifest records no sha256 for {', '.join(unverified)} of {name!r}, so a "
            "download could not be verified.",
            "to download it anyway (its hash is then reported so that it can be added to the "
            "manifest).",
        )
    paths = [_fetch_file(name, spec, folder, progress) for spec in specs]
    return paths if "files" in entry else paths[0]


def _fetch_file(name: str, spec: Mapping[str, Any], folder: Path, progress: bool) -> Path:
    """Retrieve one file with pooch, translating its errors and cleaning up after them."""
    import pooch
    import requests

    destination = folder / spec["filename"]
    already_there = destination.exists()
    new_dirs = _missing_dirs(folder)
    known_hash = f"sha256:{spec['sha256']}" if spec["sha256"] is not None else None
    try:
        path = pooch.retrieve(
            url=spec["url"],
            known_hash=known_hash,
            fname=spec["filename"],
            path=folder,
            downloader=pooch.HTTPDownloader(progressbar=progress),
        )
    except requests.exceptions.RequestException as error:
        _remove_empty_dirs(new_dirs)
        raise DownloadError(
            f"could not download {spec['filename']!r} of {name!r} from {spec['url']}: {error}. "
            f"Nothing was kept. If you can get the file another way, put it at {destination}; "
            "fetch() then verifies it instead of downloading."
        ) from error
    except ValueError as error:
        _remove_empty_dirs(new_dirs)
        if "does not match the known hash" not in str(error):
            raise
        found = _POOCH_ACTUAL_HASH.search(str(error))
        actual = found.group(1).lower() if found else "unknown (not reported by pooch)"
        kept = (
            f"The file that was already at {destination} does not match either and was left "
            "untouched; delete or replace it."
            if already_there
            else f"The download was deleted: nothing was kept in {folder}."
        )
        raise HashMismatchError(
            f"sha256 mismatch for {spec['filename']!r} of {name!r} downloaded from "
            f"{spec['url']}: expected {spec['sha256']}, got {actual}. {kept}"
        ) from error
    path = Path(path)
    if known_hash is None and not already_there:
        warnings.warn(
            f"{path} was downloaded without verification (the manifest has no sha256 for "
            f"{name!r}); its sha256 is {pooch.file_hash(str(path))}.",
            UserWarning,
            stacklevel=3,
        )
    return path


def _fetch_manual(
    name: str, entry: Mapping[str, Any], folder: Path, allow_unverified: bool
) -> Path:
    if not folder.is_dir() or not any(folder.iterdir()):
        notes = f" {entry['notes']}" if entry.get("notes") else ""
        raise ManualDownloadError(
            f"{name!r} cannot be downloaded automatically; get it from {entry['url']} and put "
            f"it in {folder}.{notes}"
        )
    if not allow_unverified:
        raise UnverifiedDataError(
            f"{folder} holds {name!r}, placed there by hand; there is no sha256 to verify it "
            "against.",
            "to use it.",
        )
    return folder


def _single_file_spec(entry: Mapping[str, Any]) -> dict[str, Any]:
    return {key: entry[key] for key in _FILE_KEYS}


def _resolve_data_dir(data_dir: str | Path | None) -> Path:
    return cache_dir() if data_dir is None else Path(data_dir).expanduser()


def _default_manifest_path() -> Path:
    package_dir = Path(__file__).resolve().parents[1]
    candidates = (
        package_dir.parent / MANIFEST_FILENAME,  # a source checkout
        package_dir / "resources" / MANIFEST_FILENAME,  # an installed package
    )
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    raise ManifestError(
        f"no {MANIFEST_FILENAME} found; looked for {candidates[0]} and {candidates[1]}. "
        "Pass manifest= explicitly."
    )


def _missing_dirs(folder: Path) -> list[Path]:
    """The folders, deepest first, that creating ``folder`` would create."""
    missing = []
    for candidate in (folder, *folder.parents):
        if candidate.exists():
            break
        missing.append(candidate)
    return missing


def _remove_empty_dirs(dirs: list[Path]) -> None:
    for directory in dirs:
        if directory.is_dir() and not any(directory.iterdir()):
            directory.rmdir()


# --- manifest validation -------------------------------------------------------------------


def _validate_manifest(raw: Any, source: str) -> dict[str, Any]:
    if not isinstance(raw, Mapping):
        raise ManifestError(f"{source}: expected a mapping with 'version' and 'datasets'")
    if raw.get("version") != MANIFEST_VERSION:
        raise ManifestError(
            f"{source}: unsupported manifest version {raw.get('version')!r}; "
            f"expected {MANIFEST_VERSION}"
        )
    datasets = raw.get("datasets")
    if not isinstance(datasets, Mapping) or not datasets:
        raise ManifestError(f"{source}: 'datasets' must be a non-empty mapping of name -> entry")
    validated = {}
    for name, entry in datasets.items():
        where = f"{source}: entry {name!r}"
        if not isinstance(name, str) or not re.fullmatch(r"[a-z0-9_]+", name):
            raise ManifestError(f"{where}: names must be lower-case letters, digits and '_'")
        validated[name] = _validate_entry(entry, where)
    return {"version": MANIFEST_VERSION, "datasets": validated}


def _validate_entry(entry: Any, where: str) -> dict[str, Any]:
    if not isinstance(entry, Mapping):
        raise ManifestError(f"{where}: expected a mapping of fields")
    missing = [key for key in _REQUIRED_KEYS if key not in entry]
    if missing:
        raise ManifestError(f"{where}: missing required field(s) {', '.join(missing)}")
    unknown = sorted(set(entry) - set(_REQUIRED_KEYS) - set(_OPTIONAL_KEYS))
    if unknown:
        raise ManifestError(f"{where}: unknown field(s) {', '.join(map(str, unknown))}")
    for key in ("description", "license", "citation"):
        _require_text(entry[key], f"{where}: {key}")
    if entry["kind"] not in KINDS:
        raise ManifestError(
            f"{where}: kind must be one of {', '.join(KINDS)}, not {entry['kind']!r}"
        )
    if entry["access"] not in ACCESS_MODES:
        raise ManifestError(
            f"{where}: access must be one of {', '.join(ACCESS_MODES)}, not {entry['access']!r}"
        )
    _require_url(entry["url"], f"{where}: url")
    for key in ("doi", "homepage", "notes"):
        if entry.get(key) is not None:
            _require_text(entry[key], f"{where}: {key}")
    validated = dict(entry)
    validated["size_bytes"] = _check_size(entry["size_bytes"], f"{where}: size_bytes")
    validated["sha256"] = _check_sha256(entry["sha256"], f"{where}: sha256")

    has_filename, has_files = "filename" in entry, "files" in entry
    if entry["access"] == "manual":
        if has_filename or has_files:
            raise ManifestError(f"{where}: a manual entry lists no filename or files")
    elif has_filename == has_files:
        raise ManifestError(f"{where}: a download entry needs exactly one of filename or files")
    elif has_filename:
        _check_filename(entry["filename"], f"{where}: filename")
    else:
        if validated["sha256"] is not None:
            raise ManifestError(f"{where}: with files, put each sha256 on its file")
        validated["files"] = _validate_files(entry["files"], where)
    return validated


def _validate_files(files: Any, where: str) -> list[dict[str, Any]]:
    if not isinstance(files, list) or not files:
        raise ManifestError(f"{where}: files must be a non-empty list")
    validated = []
    for index, spec in enumerate(files):
        here = f"{where}: files[{index}]"
        if not isinstance(spec, Mapping) or set(spec) != set(_FILE_KEYS):
            raise ManifestError(f"{here}: expected exactly the fields {', '.join(_FILE_KEYS)}")
        _check_filename(spec["filename"], f"{here}: filename")
        _require_url(spec["url"], f"{here}: url")
        validated.append(
            {
                "filename": spec["filename"],
                "url": spec["url"],
                "size_bytes": _check_size(spec["size_bytes"], f"{here}: size_bytes"),
                "sha256": _check_sha256(spec["sha256"], f"{here}: sha256"),
            }
        )
    names = [spec["filename"] for spec in validated]
    if len(set(names)) != len(names):
        raise ManifestError(f"{where}: file names repeat")
    return validated


def _require_text(value: Any, where: str) -> None:
    if not isinstance(value, str) or not value.strip():
        raise ManifestError(f"{where} must be a non-empty string")


def _require_url(value: Any, where: str) -> None:
    _require_text(value, where)
    if not value.startswith(("https://", "http://")):
        raise ManifestError(f"{where} must be an http(s) URL, not {value!r}")


def _check_sha256(value: Any, where: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not _SHA256.fullmatch(value):
        raise ManifestError(f"{where} must be 64 hexadecimal digits or null, not {value!r}")
    return value.lower()


def _check_size(value: Any, where: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ManifestError(f"{where} must be a non-negative integer or null, not {value!r}")
    return value


def _check_filename(value: Any, where: str) -> None:
    _require_text(value, where)
    if value in (".", "..") or "/" in value or "\\" in value:
        raise ManifestError(f"{where} must be a plain file name, not {value!r}")
