"""Public data sets and model files: the manifest, verified fetching, and their readers.

:func:`fetch` downloads an entry of the data manifest (URL, sha256, licence, citation) with
pooch and refuses a file whose checksum differs; :func:`load_neurobolt_rest` reads the
resting-state DiFuMo ROI time series of the NeuroBOLT dataset (Li et al., "NeuroBOLT: Resting-state
EEG-to-fMRI Synthesis with Multi-dimensional Feature Mapping", NeurIPS 2024).
"""

import lazy_loader as _lazy

__getattr__, __dir__, __all__ = _lazy.attach_stub(__name__, __file__)
