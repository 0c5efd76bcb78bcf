"""Interactive views for notebooks: ipywidgets explorers, plotly 3-D views, HoloViews links.

``compute``  pure functions each control calls (testable without a browser or a kernel)
``widgets``  ipywidgets explorers: controls + summary line + figure, ``box.result`` holds numbers
``figures``  plotly 3-D (atlas centroids, connectome, surface R) and a HoloViews FC tap link
``volumes``  true | predicted slices of BOLD volumes with a slice slider, SSIM/PSNR per volume

ipywidgets, plotly, HoloViews and matplotlib are imported only when a view is built.
"""

import lazy_loader as _lazy

__getattr__, __dir__, __all__ = _lazy.attach_stub(__name__, __file__)
