"""UnEBOLT FC explorer: true vs predicted functional connectivity in the browser.

Run it with::

    panel serve apps/fc_explorer.py

It opens on the embedded simulated cohort (offline); the real shared data and any results
file inside the app's data directory ($UNEBOLT_VIZ_APP_DATA) can be chosen in the app, e.g. the
file written by ``unebolt-viz predict``. Loaded data and rendered images are shared by all
sessions of the server process; each session builds only its own figures and releases them
when its tab closes. Do not add ``--num-threads``: the explorer updates its Bokeh figures in
place, which must happen on the server's own thread (with a thread pool the readouts stop
updating). To serve many users, run several processes behind a proxy
(``panel serve --num-procs N``).
"""

import panel as pn

from unebolt_viz.app import FCExplorer

pn.extension(notifications=False)

FCExplorer().servable(title="UnEBOLT FC explorer")
