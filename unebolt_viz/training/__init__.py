"""Training, inference and experiments (imports PyTorch; load it on demand).

- :class:`Trainer` / :func:`train_model`: the paper's training recipe, resumable, DDP-ready.
- :func:`predict`: whole scans to a predictions Dataset.
- :func:`run_experiment`: the paper's experiments from a config (YAML or dict).
"""

import lazy_loader as _lazy

__getattr__, __dir__, __all__ = _lazy.attach_stub(__name__, __file__)
