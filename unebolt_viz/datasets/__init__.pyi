__all__ = [
    "DownloadError",
    "FetchError",
    "HashMismatchError",
    "ManifestError",
    "ManualDownloadError",
    "UnknownDatasetError",
    "UnverifiedDataError",
    "difumo_roi_table",
    "fetch",
    "list_datasets",
    "load_manifest",
    "load_neurobolt_rest",
    "read_neurobolt_scan",
    "read_neurobolt_split",
    "shared_data_dir",
]

from .fetch import (
    DownloadError,
    FetchError,
    HashMismatchError,
    ManifestError,
    ManualDownloadError,
    UnknownDatasetError,
    UnverifiedDataError,
    fetch,
    list_datasets,
    load_manifest,
)
from .neurobolt import (
    difumo_roi_table,
    load_neurobolt_rest,
    read_neurobolt_scan,
    read_neurobolt_split,
    shared_data_dir,
)
