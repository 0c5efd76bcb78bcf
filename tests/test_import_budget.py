"""``import unebolt_viz`` stays light (like mne/tests/test_import_nesting.py)."""

import subprocess
import sys

HEAVY = ("torch", "panel", "plotly", "holoviews", "bokeh", "mne", "nilearn", "matplotlib", "sklearn")


def test_import_loads_no_heavy_dependency():
    code = (
        "import sys, unebolt_viz, unebolt_viz.data, unebolt_viz.networks, unebolt_viz.atlas; "
        f"print(sorted({{m.split('.')[0] for m in sys.modules}} & set({HEAVY!r})))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", f"import unebolt_viz pulled in {out.stdout.strip()}"


def test_lazy_names_resolve():
    import unebolt_viz

    for name in unebolt_viz._LAZY:
        assert callable(getattr(unebolt_viz, name)), name
