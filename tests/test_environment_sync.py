"""environment.yml (conda users) must list every dependency of pyproject.toml, same ranges."""

from __future__ import annotations

import re
import tomllib

import yaml

from conftest import ROOT

# PyPI name -> conda-forge name, where they differ.
CONDA_NAMES: dict[str, str] = {"duckdb": "python-duckdb"}


def _split(requirement: str) -> tuple[str, str]:
    m = re.match(r"^\s*([A-Za-z0-9_.\-]+)\s*(.*)$", requirement)
    assert m, requirement
    return m.group(1).lower().replace("_", "-"), m.group(2).replace(" ", "")


def test_environment_lists_every_pyproject_dependency_with_the_same_range():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = dict(_split(r) for r in project["dependencies"] + project["optional-dependencies"]["dev"])
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    listed = dict(_split(d) for d in env["dependencies"] if isinstance(d, str))
    missing = {name: spec for name, spec in wanted.items() if CONDA_NAMES.get(name, name) not in listed}
    assert not missing, f"environment.yml lacks: {missing}"
    different = {n: (s, listed[CONDA_NAMES.get(n, n)]) for n, s in wanted.items() if listed[CONDA_NAMES.get(n, n)] != s}
    assert not different, f"ranges differ (pyproject, environment.yml): {different}"


def test_environment_installs_the_package_itself_with_pip():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip_sections = [d["pip"] for d in env["dependencies"] if isinstance(d, dict) and "pip" in d]
    assert pip_sections == [["-e ."]]
    assert "conda-forge" in env["channels"]
    python = [d for d in env["dependencies"] if isinstance(d, str) and _split(d)[0] == "python"]
    assert python == ["python>=3.11"]
