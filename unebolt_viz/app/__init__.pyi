__all__ = [
    "sources",
    "FCExplorer",
    "cached_results",
]

from . import sources
from .explorer import FCExplorer, cached_results
