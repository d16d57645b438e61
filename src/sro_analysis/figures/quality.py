"""Row accounting at a glance: what became of every raw row, per source file."""

from __future__ import annotations

import matplotlib.pyplot as plt  # noqa: F401 (doctest)
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.transforms import blended_transform_factory

from sro_analysis.figures._base import (
    add_note,
    as_float,
    as_text,
    count_label,
    legend_above,
    record,
    require_columns,
    resolve_ax,
)
from sro_analysis.figures.style import STATUS_COLOURS

__all__ = ["data_quality_plot"]

LEDGER_STATUSES: tuple[str, ...] = ("kept", "merged", "rejected")
_MAX_NAME = 80


def _short_name(path: str) -> str:
    """Last path part, middle-elided to fit the width of a column."""
    name = str(path).replace("\\", "/").rstrip("/").split("/")[-1] or str(path)
    if len(name) <= _MAX_NAME:
        return name
    keep = (_MAX_NAME - 1) // 2
    return f"{name[:keep]}…{name[-keep:]}"


def data_quality_plot(
    ledger_summary: pd.DataFrame,
    *,
    source: str = "source_file",
    status: str = "status",
    count: str = "n",
    ax: Axes | None = None,
    **kwargs,
) -> Axes:
    """What share of each source file's rows was kept, merged into another record, or rejected?

    Horizontal 100% stacked bars, one per source file (sorted by name), segments in ledger order
    kept → merged → rejected as shares of the file's rows, so a small file's rejections show as
    plainly as a big file's; the row total and the rejected share stand at the right.

    Args:
        ledger_summary: Counts of ledger rows by source file and status (repeated pairs are summed).
        source: Column of source files.
        status: Column of ledger statuses (kept, merged, rejected).
        count: Column of row counts.
        ax: Axes to draw on; default the current Axes or a new figure sized to the files.
        **kwargs: Passed to ``Axes.barh``.

    Returns:
        The Axes.

    Example:
        >>> summary = pd.DataFrame({"source_file": ["trr.csv", "trr.csv"], "status": ["kept", "rejected"],
        ...                         "n": [90, 10]})
        >>> fig, ax = plt.subplots()
        >>> [round(float(p.get_width()), 2) for p in data_quality_plot(summary, ax=ax).patches]
        [0.9, 0.0, 0.1]
    """
    require_columns(ledger_summary, [source, status, count], "data_quality_plot")
    frame = pd.DataFrame({
        "source": as_text(ledger_summary, source, "data_quality_plot"),
        "status": as_text(ledger_summary, status, "data_quality_plot"),
        "n": as_float(ledger_summary[count]),
    })
    unknown = sorted(set(frame["status"]) - set(LEDGER_STATUSES))
    if unknown:
        raise ValueError(f"data_quality_plot: {status} values {unknown} are not ledger statuses {LEDGER_STATUSES}")
    if frame["n"].isna().any() or (frame["n"] < 0).any():
        raise ValueError(f"data_quality_plot: {count!r} must be a count >= 0 in every row")
    table = (frame.pivot_table(index="source", columns="status", values="n", aggfunc="sum", fill_value=0.0)
             .reindex(columns=list(LEDGER_STATUSES), fill_value=0.0).sort_index())
    files = table.index.tolist()
    ax = resolve_ax(ax, height=max(1.8, 0.42 * len(files) + 1.3))

    ys = np.arange(len(files), dtype=float)
    left = np.zeros(len(files))
    totals = table.sum(axis=1).to_numpy()
    shares = table.div(np.where(totals > 0, totals, 1.0), axis=0)
    for name in LEDGER_STATUSES:
        widths = shares[name].to_numpy(dtype=float)
        ax.barh(ys, widths, left=left, height=0.5, color=STATUS_COLOURS[name], label=name,
                gid=f"quality-{name}", **kwargs)
        left += widths
    text_x = blended_transform_factory(ax.transAxes, ax.transData)
    for y, total, rejected, name in zip(ys, totals, table["rejected"].to_numpy(), files, strict=True):
        share = f"\n{100 * rejected / total:.1f}% rejected" if total else ""
        ax.text(1.02, y, f"{count_label(total)}{share}", transform=text_x, va="center", ha="left",
                fontsize=6.5, color="#333333")
        # File names sit above their bars: long names then cost height, not plot width.
        ax.text(0.0, y - 0.3, _short_name(name), transform=text_x, va="bottom", ha="left", fontsize=7,
                color="#222222", gid="quality-file-name")
    ax.set_yticks([])
    ax.spines["left"].set_visible(False)
    ax.set_ylim(len(files) - 0.5, -0.75)
    ax.set_xlim(0, 1.0)
    ax.xaxis.set_major_formatter(lambda v, _p: f"{100 * v:.0f}%")
    ax.set_xlabel("Share of the file's raw rows")
    legend_above(ax)
    add_note(ax, [f"{count_label(totals.sum())} raw rows in {len(files)} file(s); every row is kept, merged or rejected."])

    parts = [f"{_short_name(f)}: {int(r.kept):,} kept, {int(r.merged):,} merged, {int(r.rejected):,} rejected"
             for f, r in zip(files, table.itertuples(index=False), strict=True)]
    alt = f"Horizontal stacked bar chart of what became of the raw rows of {len(files)} source file(s). " + "; ".join(parts) + "."
    plotted = table.reset_index().melt(id_vars="source", var_name="status", value_name="n")
    plotted = plotted.rename(columns={"source": source, "status": status, "n": count})
    record(ax, alt=alt, data=plotted)
    return ax
