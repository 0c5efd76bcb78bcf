"""Packaging: environment.yml and pyproject.toml list the same dependencies."""

import re
from pathlib import Path

import tomllib
import yaml

ROOT = Path(__file__).resolve().parents[1]
# conda names that differ from PyPI names
CONDA_TO_PYPI = {"pytorch": "torch"}
CONDA_ONLY = {"python", "pip", "cpuonly"}


def _name(spec: str) -> str:
    return re.split(r"[<>=!~ \[]", spec.strip(), maxsplit=1)[0].lower().replace("_", "-")


def _pyproject_requirements() -> dict[str, str]:
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    specs = list(meta["dependencies"])
    for reqs in meta["optional-dependencies"].values():
        specs += [r for r in reqs if not r.startswith("unebolt_viz")]
    return {_name(s): s.replace(" ", "") for s in specs}


def _conda_requirements() -> dict[str, str]:
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    out = {}
    for dep in env["dependencies"]:
        if isinstance(dep, dict):
            for spec in dep["pip"]:
                if not spec.startswith("-"):
                    out[_name(spec)] = spec.replace(" ", "")
            continue
        name = _name(dep)
        if name in CONDA_ONLY:
            continue
        pypi = CONDA_TO_PYPI.get(name, name)
        out[pypi] = dep.replace(name, pypi, 1).replace(" ", "")
    return out


def test_environment_yml_matches_pyproject():
    py, conda = _pyproject_requirements(), _conda_requirements()
    assert set(py) == set(conda), (
        f"only in pyproject: {sorted(set(py) - set(conda))}; "
        f"only in environment.yml: {sorted(set(conda) - set(py))}"
    )
    assert {k: py[k] for k in py} == {k: conda[k] for k in py}, "version bounds differ"


def test_all_extra_covers_every_extra():
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras = set(meta["optional-dependencies"]) - {"all"}
    listed = re.search(r"\[(.*)\]", meta["optional-dependencies"]["all"][0]).group(1).split(",")
    assert extras == set(listed)


def test_manifest_at_top_level_is_valid_yaml():
    manifest = yaml.safe_load((ROOT / "data_manifest.yaml").read_text())
    assert isinstance(manifest, dict) and manifest
