"""The embedded simulated simultaneous EEG-fMRI cohort, with a known EEG-BOLD coupling.

Nothing real can be downloaded here, and a student's laptop has no network: this simulator is
the package's default data. Its ground truth is known (latent neural activity, noiseless BOLD,
the coupling of each EEG band to each network), so a tutorial can show what a model can and
cannot recover; its statistics (BOLD autocorrelation and network structure, EEG 1/f slope and
alpha peak) are checked against real recordings. Everything it makes says
``data_source="simulated"`` (``"semi-synthetic"`` when the BOLD is real).

>>> from unebolt_viz.simulation import simulate_cohort  # doctest: +SKIP
>>> cohort = simulate_cohort("tiny", seed=0)  # doctest: +SKIP
>>> pairs = cohort.pairs()  # doctest: +SKIP
"""

import lazy_loader as _lazy

__getattr__, __dir__, __all__ = _lazy.attach_stub(__name__, __file__)
