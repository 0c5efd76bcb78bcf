"""EEG-to-fMRI models: UnEBOLT, NeuroBOLT (ROI-specific and unified), unified baselines, ridge.

All torch models share one contract (:class:`~unebolt_viz.models.base.EEGModelMixin`):
attributes ``n_chans``, ``n_outputs``, ``n_times`` (3200), ``sfreq`` (200.0), ``ch_names``,
``name`` and ``preset``; ``forward`` maps EEG windows in microvolts, (batch, n_chans, n_times),
to (batch, n_outputs) ROI values; ``get_config`` / ``from_config``; ``param_groups`` for AdamW.

Torch is imported only when a torch-backed name is first used, so
``from unebolt_viz.models import RidgeBaseline, MODEL_NAMES, PRESETS`` stays light.
"""

import lazy_loader as _lazy

__getattr__, __dir__, __all__ = _lazy.attach_stub(__name__, __file__)
