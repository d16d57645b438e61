"""Publish a figure: SVG, PDF and PNG, the plotted numbers as CSV, the alt text and a manifest.

Every output is byte-identical across re-renders of the same figure (no dates, fixed SVG id
salt, fixed producer strings, sorted CSV with ``\\n`` line ends) and written atomically (a
temporary file in the target folder, then ``os.replace``), so a crashed run never leaves half a
figure behind a good name.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
import textwrap
from collections.abc import Sequence
from pathlib import Path

import matplotlib as mpl
import pandas as pd
from matplotlib.figure import Figure

from sro_analysis import __version__
from sro_analysis.figures._base import describe, plotted_data

__all__ = ["DPI", "FORMATS", "SOURCE_GID", "save_figure", "source_note"]

FORMATS: tuple[str, ...] = ("svg", "pdf", "png")
DPI = 300
SOURCE_GID = "sro-source"
_PRODUCER = "sro-analysis"

# Per-format metadata with every date removed and the producer fixed, so bytes do not change
# between runs or between matplotlib patch releases.
_METADATA: dict[str, dict[str, str | None]] = {
    "svg": {"Date": None, "Creator": _PRODUCER},
    "pdf": {"CreationDate": None, "ModDate": None, "Producer": _PRODUCER, "Creator": _PRODUCER},
    "png": {"Software": None},
}
# Applied at save time even when the caller did not use theme(): determinism and editable
# text are properties of the published file, not of the look.
_DETERMINISTIC_RC = {"svg.hashsalt": "sro-analysis", "svg.fonttype": "none", "pdf.fonttype": 42, "ps.fonttype": 42}
_STEM_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


def source_note(records: str | Sequence[str], start: str, end: str | None = None) -> str:
    """Format the source line every published figure carries.

    Args:
        records: Record families used, e.g. ``["CPD Tactical Response Reports", "school locations"]``.
        start: First school year covered, ``"YYYY-YY"``.
        end: Last school year covered; omit (or equal to ``start``) for a single year.

    Returns:
        The source line, ending with the package name and version.

    Example:
        >>> source_note(["CPD Tactical Response Reports", "school locations"], "2004-05", "2020-21")
        'Source: CPD Tactical Response Reports, school locations, 2004-05 to 2020-21. sro-analysis 0.1.0'
    """
    names = [records] if isinstance(records, str) else list(records)
    if not names or not all(str(n).strip() for n in names):
        raise ValueError("source_note: name at least one record family")
    period = start if end is None or end == start else f"{start} to {end}"
    return f"Source: {', '.join(str(n).strip() for n in names)}, {period}. sro-analysis {__version__}"


def _write_atomic(path: Path, write) -> None:
    """Call ``write(tmp_path)`` then move the result over ``path`` in one step."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _add_source_line(fig: Figure, source: str) -> None:
    """Add the source line bottom-left, below everything drawn, unless it is already there."""
    existing = [t for t in fig.texts if t.get_gid() == SOURCE_GID]
    if any(t.get_text().replace("\n", " ") == source for t in existing):
        return
    for text in existing:  # a figure re-saved with another source: replace, never stack
        text.remove()
    if any(t.get_text() == source for t in fig.texts):
        return
    width_in, height_in = fig.get_size_inches()
    # Place it under the tight bounding box of what is drawn (tick labels, notes included),
    # so it never overlaps the axes however tall their labels are.
    fig.draw_without_rendering()  # lays out labels so the box below is the real one
    bbox = fig.get_tightbbox()
    fontsize = 6.0
    chars = max(30, int(width_in * 72.0 / (0.5 * fontsize)))
    fig.text(
        bbox.x0 / width_in,
        (bbox.y0 - 3.0 / 72.0) / height_in,
        textwrap.fill(source, chars, break_on_hyphens=False),
        ha="left",
        va="top",
        fontsize=fontsize,
        color="#555555",
        gid=SOURCE_GID,
    )


def _sorted_for_csv(data: pd.DataFrame) -> pd.DataFrame:
    # Stable order whatever order the rows were plotted in: sort on every column, left to right.
    if data.empty or not len(data.columns):
        return data.reset_index(drop=True)
    return data.sort_values(list(data.columns), kind="mergesort", na_position="last").reset_index(drop=True)


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def save_figure(
    fig: Figure,
    stem: str,
    *,
    source: str,
    alt: str | None = None,
    data: pd.DataFrame | None = None,
    out_dir: str | os.PathLike = "reports/figures",
    formats: Sequence[str] = FORMATS,
) -> dict[str, Path]:
    """Write a figure as SVG/PDF/PNG plus ``<stem>.csv``, ``<stem>.alt.txt`` and ``<stem>.json``.

    Args:
        fig: The figure to publish.
        stem: File name without extension (letters, digits, ``.``, ``_``, ``-``).
        source: Source line (see :func:`source_note`); drawn bottom-left if not already present.
        alt: Alt text; defaults to what the sro-analysis plot functions recorded on the figure.
        data: Exactly the numbers plotted; defaults to what the plot functions recorded.
        out_dir: Output folder, created if needed.
        formats: Image formats, a subset of ``("svg", "pdf", "png")``. PNG is 300 dpi.

    Returns:
        Paths keyed by ``"svg"``, ``"pdf"``, ``"png"`` (those requested), ``"csv"``, ``"alt"`` and
        ``"json"`` (a manifest: stem, source, alt text, CSV shape and the SHA-256 of each file).

    Example:
        >>> import pandas as pd, tempfile
        >>> from sro_analysis.figures import data_quality_plot
        >>> ledger = pd.DataFrame({"source_file": ["a.csv"], "status": ["kept"], "n": [12]})
        >>> import matplotlib.pyplot as plt
        >>> fig, ax = plt.subplots()
        >>> ax = data_quality_plot(ledger, ax=ax)
        >>> paths = save_figure(ax.figure, "ledger", source="Source: test.", out_dir=tempfile.mkdtemp())
        >>> sorted(paths)
        ['alt', 'csv', 'json', 'pdf', 'png', 'svg']
    """
    if not _STEM_PATTERN.match(stem):
        raise ValueError(f"save_figure: stem {stem!r} must be a plain file name (letters, digits, . _ -)")
    unknown = [f for f in formats if f not in FORMATS]
    if unknown or not formats:
        raise ValueError(f"save_figure: formats must be a non-empty subset of {FORMATS}, got {tuple(formats)}")
    if not source or not str(source).strip():
        raise ValueError("save_figure: every published figure needs a source line")
    alt = alt if alt is not None else describe(fig)
    if not alt or not alt.strip():
        raise ValueError(f"save_figure({stem!r}): no alt text given and none recorded by a plot function")
    data = data if data is not None else plotted_data(fig)
    if not isinstance(data, pd.DataFrame):
        raise ValueError(f"save_figure({stem!r}): pass `data`, the DataFrame of the numbers plotted")

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths: dict[str, Path] = {}
    with mpl.rc_context(_DETERMINISTIC_RC):
        _add_source_line(fig, str(source))
        for fmt in formats:
            path = out / f"{stem}.{fmt}"
            _write_atomic(
                path,
                lambda tmp, fmt=fmt: fig.savefig(
                    tmp, format=fmt, dpi=DPI, metadata=_METADATA[fmt], bbox_inches="tight", pad_inches=0.05
                ),
            )
            paths[fmt] = path

    csv_path = out / f"{stem}.csv"
    csv_text = _sorted_for_csv(data).to_csv(index=False, lineterminator="\n")
    _write_atomic(csv_path, lambda tmp: Path(tmp).write_bytes(csv_text.encode("utf-8")))
    paths["csv"] = csv_path

    alt_path = out / f"{stem}.alt.txt"
    _write_atomic(alt_path, lambda tmp: Path(tmp).write_bytes((alt.strip() + "\n").encode("utf-8")))
    paths["alt"] = alt_path

    manifest = {
        "stem": stem,
        "source": str(source),
        "alt": alt.strip(),
        "data": {"rows": int(len(data)), "columns": [str(c) for c in data.columns]},
        "files": {key: {"name": p.name, "sha256": _sha256(p)} for key, p in sorted(paths.items())},
        "producer": f"sro-analysis {__version__}",
    }
    json_path = out / f"{stem}.json"
    json_text = json.dumps(manifest, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    _write_atomic(json_path, lambda tmp: Path(tmp).write_bytes(json_text.encode("utf-8")))
    paths["json"] = json_path
    return paths
