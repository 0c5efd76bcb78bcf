"""UnEBOLT coupling lab: EEG-BOLD coupling, the HRF and noise on sliders, on simulated data.

Run it with::

    panel serve apps/coupling_lab.py

Everything it shows is simulated (offline): a small study is re-simulated with the coupling of
each EEG band to each network, the HRF and the noise set by the sliders, and a ridge model is
refitted on three scans and scored on the fourth.
"""

import panel as pn

from unebolt_viz.app import CouplingLab

pn.extension(notifications=False)

CouplingLab().servable(title="UnEBOLT coupling lab")
