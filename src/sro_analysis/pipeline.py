"""The clean pipeline: raw folder in, validated Dataset out (adapters → link → validate).

``sro.clean(...)`` and ``sro-analysis clean`` call :func:`clean` here.

Example:
    >>> import sro_analysis as sro, tempfile, pathlib
    >>> raw = pathlib.Path(tempfile.mkdtemp())
    >>> _ = sro.synthetic.write_release(raw, n_incidents=200, seed=1)
    >>> ds = clean("synthetic", raw, progress=False)
    >>> int((ds.ledger_summary()["rows"]).sum()) == len(ds.ledger)
    True
"""

from __future__ import annotations

import os
import platform
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from sro_analysis import __version__
from sro_analysis.dataset import Dataset, file_fingerprint
from sro_analysis.ledger import Ledger
from sro_analysis.schema.models import conform, empty_frame
from sro_analysis.schema.registry import CANONICAL_TABLES, table
from sro_analysis.sources import CleanContext, SourceAdapter, SourceFile, adapters_for, read_head
from sro_analysis.sources.base import unreadable_reason

#: Files never treated as data.
_SKIP_NAMES = {"readme.md", "readme.txt", "license", "manifest.sha256", "manifest.json", "sha256sums",
               "truth.json", "mapping.yaml"}
_DATA_SUFFIXES = (".csv", ".csv.gz", ".txt", ".tsv", ".xlsx", ".xlsm", ".xls")


@dataclass
class Discovery:
    """Which adapter claimed which file, and which files were ignored and why."""

    claimed: dict[str, list[SourceFile]] = field(default_factory=dict)
    ignored: list[tuple[str, str]] = field(default_factory=list)

    def ignored_frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.ignored, columns=["file", "reason"])


def find_raw_files(raw_dir: Path) -> list[SourceFile]:
    """Every file under ``raw_dir`` (recursively, sorted), skipping hidden files."""
    out = []
    for path in sorted(raw_dir.rglob("*")):
        rel = path.relative_to(raw_dir)
        if path.is_file() and not any(part.startswith(".") for part in rel.parts):
            out.append(SourceFile(path=path, relpath=rel.as_posix()))
    return out


def discover(raw_dir: Path, adapters: list[SourceAdapter]) -> Discovery:
    """Recognise each file by its header; unrecognised files are ignored with a reason."""
    found = Discovery({a.name: [] for a in adapters})
    for f in find_raw_files(raw_dir):
        lower = f.path.name.lower()
        if lower in _SKIP_NAMES or not lower.endswith(_DATA_SUFFIXES):
            found.ignored.append((f.relpath, "not a data file (documentation, manifest or unknown extension)"))
            continue
        unreadable = unreadable_reason(f.path)
        if unreadable:
            found.ignored.append((f.relpath, unreadable))
            continue
        head = read_head(f.path, f.relpath)
        takers = [a for a in adapters if a.recognises(head)]
        if not takers:
            first = ",".join(head.header[:6]) if head.rows else "(unreadable or binary)"
            found.ignored.append((f.relpath, f"no adapter recognises its header: {first[:120]}"))
            continue
        found.claimed[takers[0].name].append(f)
    return found


def _merge_fragments(parts: dict[str, list[pd.DataFrame]]) -> dict[str, pd.DataFrame]:
    tables = {}
    for name in CANONICAL_TABLES:
        frames = [conform(p, name) for p in parts.get(name, []) if len(p)]
        merged = pd.concat(frames, ignore_index=True) if frames else empty_frame(name)
        key = list(table(name).primary_key)
        tables[name] = merged.sort_values(key, kind="stable").reset_index(drop=True)
    return tables


def clean(
    source: str,
    raw_dir: str | os.PathLike,
    *,
    adapters: list[SourceAdapter] | None = None,
    roster: str | os.PathLike | None = None,
    parameters: dict | None = None,
    progress: bool | Callable = True,
) -> Dataset:
    """Clean every recognised file under ``raw_dir`` into a validated :class:`Dataset`.

    ``source`` names the adapter family (``chicago``, ``synthetic``) or, with ``adapters``
    given (e.g. a YAML-mapped adapter), just labels the provenance. ``roster`` is an SRO
    roster CSV (officer × school × dates) to attribute incidents to assigned SROs.
    """
    from sro_analysis.link import link_dataset
    from sro_analysis.progress import progress_bar

    raw_dir = Path(raw_dir)
    if not raw_dir.is_dir():
        raise FileNotFoundError(f"raw folder {raw_dir} does not exist")
    parameters = dict(parameters or {})
    adapters = adapters if adapters is not None else adapters_for(source)
    ctx = CleanContext(raw_dir=raw_dir, parameters=parameters, salt=os.environ.get("SRO_ANALYSIS_SALT"))
    found = discover(raw_dir, adapters)
    if not any(found.claimed.values()):
        # An empty Dataset would look like "no incidents"; say why nothing was read instead.
        why = "; ".join(f"{p}: {r}" for p, r in found.ignored) or "the folder has no files"
        raise ValueError(f"no file under {raw_dir} is recognised by the {source!r} adapters ({why})")

    ledger = Ledger()
    parts: dict[str, list[pd.DataFrame]] = {}
    notes: list[str] = []
    active = [a for a in adapters if found.claimed.get(a.name)]
    with progress_bar(progress, total=len(active), description="cleaning") as advance:
        for adapter in active:
            advance(description=f"{adapter.name} ({len(found.claimed[adapter.name])} file(s))")
            out = adapter.load(found.claimed[adapter.name], ctx)
            ledger.extend(out.ledger)
            notes.extend(out.notes)
            for name, frame in out.tables.items():
                parts.setdefault(name, []).append(frame)
            advance(step=1)
    tables = _merge_fragments(parts)
    linked = link_dataset(tables, ledger, ctx, roster=Path(roster) if roster else None)
    used = sorted({f.relpath for files in found.claimed.values() for f in files})
    provenance = {
        "source": source,
        "package_version": __version__,
        "python": platform.python_version(),
        "pandas": pd.__version__,
        "parameters": parameters,
        "raw_dir": raw_dir.name,
        "inputs": [file_fingerprint(raw_dir / rel, raw_dir) for rel in used],
        "ignored_files": [{"path": p, "reason": r} for p, r in found.ignored],
        "adapters": {a.name: [f.relpath for f in found.claimed[a.name]] for a in active},
        "roster": file_fingerprint(Path(roster)) if roster else None,
        "notes": notes,
    }
    audits = dict(linked.audits)
    audits["ignored_files"] = found.ignored_frame()
    ds = Dataset(linked.tables, ledger.to_frame(), provenance, audits)
    return ds.validate()
