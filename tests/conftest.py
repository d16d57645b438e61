"""Shared fixtures: paths to the real public records (../shared/data) and a small synthetic release."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import settings

# Property tests are derandomized everywhere (CI and a fresh clone alike): the same examples on
# every run, so a seed can never decide whether main is green. Set SRO_HYPOTHESIS_PROFILE=explore
# to search new examples locally; a failure found there becomes an @example or a fix, not a retry.
settings.register_profile("deterministic", derandomize=True, database=None, print_blob=True)
settings.register_profile("explore", derandomize=False, max_examples=500)
settings.load_profile(os.environ.get("SRO_HYPOTHESIS_PROFILE", "deterministic"))

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("SRO_SHARED_DIR", ROOT.parent / "shared"))


def pytest_collection_modifyitems(config, items):
    """Tests that read ../shared/data are ``real``; notebook, report and browser tests are ``slow``.

    ``make test-fast`` deselects both for the edit loop; ``make test`` runs everything.
    """
    for item in items:
        if "shared_data" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.real)
        path = str(item.fspath)
        if any(part in path for part in ("notebooks", "test_reports", "test_publish", "test_interrupted")):
            item.add_marker(pytest.mark.slow)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """../shared/data (real Chicago records); skips with the reason when it is absent."""
    path = SHARED / "data"
    if not path.is_dir() and os.environ.get("CI"):
        pytest.fail(f"CI must have the real public records at {path}; they are missing")
    if not path.is_dir():
        pytest.skip(f"real public records not found at {path} (a fresh clone without ../shared); CI has them")
    return path


@pytest.fixture(scope="session")
def reference_values() -> dict:
    """../shared/reference/methods_reference_values.json."""
    import json

    path = SHARED / "reference" / "methods_reference_values.json"
    if not path.exists():
        pytest.skip(f"reference values not found at {path}")
    return json.loads(path.read_text())


@pytest.fixture(scope="session")
def shared_tmp(tmp_path_factory, worker_id) -> Path:
    """A temporary folder every pytest-xdist worker of this session shares (see tests/builds.py)."""
    base = tmp_path_factory.getbasetemp()
    return base if worker_id == "master" else base.parent


@pytest.fixture(scope="session")
def chicago_dataset_dir(shared_data, shared_tmp) -> Path:
    """A saved Dataset of every Chicago record in ../shared/data (built once per session)."""
    from builds import shared_build
    from sro_analysis.clean import clean

    def build(folder: Path) -> None:
        raw = folder / "raw"
        raw.mkdir()
        for name in ("chicago-crimes", "chicago-juvenile", "chicago-trr", "cps-schools"):
            (raw / name).symlink_to(shared_data / name)
        clean("chicago", raw, progress=False).save(folder / "dataset")

    return shared_build(shared_tmp, "chicago", build) / "dataset"


@pytest.fixture(scope="session")
def synthetic_dataset_dir(shared_tmp) -> Path:
    """A saved Dataset of the default synthetic demo release (what `make demo` cleans)."""
    from builds import shared_build
    from sro_analysis import synthetic
    from sro_analysis.clean import clean

    def build(folder: Path) -> None:
        synthetic.write_release(folder / "raw", seed=20181)
        clean("synthetic", folder / "raw", progress=False, parameters={"seed": 20181}).save(folder / "dataset")

    return shared_build(shared_tmp, "synthetic", build) / "dataset"


@pytest.fixture(scope="session")
def louisiana_dataset_dir(shared_data, shared_tmp) -> Path:
    """A saved Dataset of every NIBRS Louisiana CDE table in ../shared/data (built once per session)."""
    from builds import shared_build
    from sro_analysis.clean import clean

    def build(folder: Path) -> None:
        clean("louisiana", shared_data / "nibrs-louisiana", progress=False).save(folder / "dataset")

    return shared_build(shared_tmp, "louisiana", build) / "dataset"


#: NYPD Student Safety Act workbooks and the NYC school directory, as a raw folder of the ``nyc`` family.
NYC_FOLDERS = {"nyc-ssa": "*/*.xlsx", "nyc-schools": "*.csv"}


def nyc_raw_folder(shared_data: Path, folder: Path) -> Path:
    """A raw folder linking every NYC file (nyc-ssa/ and nyc-schools/) one by one."""
    for name, pattern in NYC_FOLDERS.items():
        for path in sorted((shared_data / name).glob(pattern)):
            target = folder / path.relative_to(shared_data)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.symlink_to(path)
    return folder


@pytest.fixture(scope="session")
def nyc_dataset_dir(shared_data, shared_tmp) -> Path:
    """A saved Dataset of every NYC record in ../shared/data (``clean("nyc", ...)``, built once per session)."""
    from builds import shared_build
    from sro_analysis.clean import clean

    def build(folder: Path) -> None:
        clean("nyc", nyc_raw_folder(shared_data, folder / "raw"), progress=False).save(folder / "dataset")

    return shared_build(shared_tmp, "nyc", build) / "dataset"
