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


def clean_texts(tmp: Path, texts: dict[str, str | bytes], sources, **options):
    """Clean small raw files given as text (or bytes, for an encoding) with ``sources``."""
    raw = tmp / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    for name, text in texts.items():
        (raw / name).write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
    return clean_files(tmp / "run", {name: raw / name for name in texts}, sources, **options)


def file_summary(ds) -> dict[str, list[int]]:
    """``{file: [rows, kept, merged, rejected]}`` of a Dataset's ledger."""
    s = ds.ledger_summary().set_index("source_file")
    return {f: s.loc[f, ["rows", "kept", "merged", "rejected"]].tolist() for f in s.index}


def file_reasons(ds, source_file: str) -> dict[tuple[str, str], int]:
    """``{(status, reason): rows}`` of one file's ledger rows (reason ``""`` for plain kept rows)."""
    rows = ds.ledger[ds.ledger["source_file"] == source_file]
    return rows.groupby(["status", rows["reason"].fillna("")]).size().to_dict()
