"""unebolt_viz: EEG-to-fMRI translation with UnEBOLT, as data, models, metrics and apps.

Scalp EEG windows go in; whole-brain BOLD ROI time series and functional connectivity come out,
as labelled xarray objects. The subpackages follow the pipeline: :mod:`~unebolt_viz.io` reads
recordings, :mod:`~unebolt_viz.datasets` fetches public data, :mod:`~unebolt_viz.simulation`
makes the embedded simulated cohort, :mod:`~unebolt_viz.data` holds the xarray containers,
:mod:`~unebolt_viz.models` and :mod:`~unebolt_viz.training` learn and predict,
:mod:`~unebolt_viz.metrics` judges, :mod:`~unebolt_viz.viz` draws and :mod:`~unebolt_viz.app`
serves.

Importing this package is light: PyTorch, Panel, Plotly, MNE and nilearn are imported only when
a name that needs them is first used (the public API is declared in ``__init__.pyi`` and loaded
with ``lazy_loader``, as MNE-Python does).
"""

import lazy_loader as _lazy

from . import data  # noqa: F401  (light; registers the ``.unebolt`` accessor on xarray objects)

__version__ = "0.1.0"

__getattr__, __dir__, __all__ = _lazy.attach_stub(__name__, __file__)
__all__ = [*__all__, "__version__"]
