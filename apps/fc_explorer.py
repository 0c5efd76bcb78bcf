"""UnEBOLT FC explorer: true vs predicted functional connectivity in the browser.

Run it with::

    panel serve apps/fc_explorer.py

It opens on the embedded simulated cohort (offline); the real shared data and any results
file inside the app's data directory ($UNEBOLT_VIZ_APP_DATA) can be chosen in the app.
"""

import panel as pn

from unebolt_viz.app import FCExplorer

pn.extension(notifications=False)

FCExplorer().servable(title="UnEBOLT FC explorer")
