"""The coupling lab: a Panel app for teaching EEG-BOLD coupling on simulated data.

:mod:`.model` simulates the lab's small study and fits the ridge model (no Panel import);
:mod:`.figures` draws its Bokeh figures; :mod:`.app` is the Panel app,
:class:`unebolt_viz.app.CouplingLab`, served by ``panel serve apps/coupling_lab.py``.
"""
