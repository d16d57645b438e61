"""Test helpers: clean chosen raw files (linked into a temporary folder) with chosen sources."""

from __future__ import annotations

import os
from pathlib import Path

from sro_analysis.clean import clean


def raw_folder(tmp: Path, files: dict[str, Path]) -> Path:
    """A raw folder holding ``files`` (name in the folder -> real path), as symbolic links."""
    tmp.mkdir(parents=True, exist_ok=True)
    for name, path in files.items():
        target = tmp / name
        target.parent.mkdir(parents=True, exist_ok=True)
        os.symlink(path, target)
    return tmp


def clean_files(tmp: Path, files: dict[str, Path], sources, **options):
    """Clean exactly ``files`` with ``sources`` (a list of Source declarations) into a Dataset."""
    return clean(options.pop("family", "test"), raw_folder(tmp, files), sources=sources, progress=False, **options)
