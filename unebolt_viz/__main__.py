"""``python -m unebolt_viz`` runs the ``unebolt-viz`` command line (also under ``torchrun -m``)."""

import sys

from .cli import main

sys.exit(main())
