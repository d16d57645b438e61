"""Shared plumbing for the plot functions: axes, notes, alt text and the plotted-data record.

Every plot function records two things on the Axes it draws into, so that
:func:`sro_analysis.figures.save_figure` can publish them without the caller repeating work:

* ``ax._sro_alt``: a plain-language description for screen readers (the alt text);
* ``ax._sro_data``: a DataFrame of exactly the numbers drawn (the figure's CSV).

:func:`describe` and :func:`plotted_data` read them back for a whole figure.
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterable, Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import PercentFormatter

__all__ = ["describe", "plotted_data"]

NOTE_GID = "sro-note"
POOLED_LABEL_TEMPLATE = "other units (n<{min_n})"


def resolve_ax(ax: Axes | None, height: float | None = None) -> Axes:
    """The Axes to draw on: the one given, the current one, or a new figure ``height`` inches tall.

    A new figure takes its width from the theme (``theme("single")`` 3.5 in, ``"full"`` 7 in).
    """
    if ax is not None:
        return ax
    if plt.get_fignums():
        return plt.gca()
    width, default_height = plt.rcParams["figure.figsize"]
    # Constrained layout keeps the figure at its (column) width and shrinks the axes to make
    # room for the legend, notes and labels drawn outside them.
    fig = plt.figure(figsize=(width, height or default_height), layout="constrained")
    return fig.add_subplot()


def require_columns(data: pd.DataFrame, columns: Iterable[str | None], func: str) -> None:
    """Raise a clear error naming the plot function and the missing columns."""
    if not isinstance(data, pd.DataFrame):
        raise TypeError(f"{func}: data must be a pandas DataFrame, got {type(data).__name__}")
    missing = [c for c in columns if c is not None and c not in data.columns]
    if missing:
        raise KeyError(f"{func}: data lacks column(s) {missing}; it has {list(data.columns)}")


def percent_axis(axis) -> None:
    """Format a 0..1 rate axis as whole percentages, ticks on whole percents (never 2.5% shown as "2%")."""
    from matplotlib.ticker import MaxNLocator

    axis.set_major_locator(MaxNLocator(nbins=6, steps=[1, 2, 5, 10], min_n_ticks=3))
    axis.set_major_formatter(PercentFormatter(xmax=1.0, decimals=0))


#: Reader words for the codes of measures, decision points and the registry's vocabularies (the
#: report tables use them too, capitalised); any other code reads with spaces for underscores.
READER_LABELS = {
    "ata": "Alternatives to arrest (ATA)", "ata_strict": "ATA-strict (no citations)",
    "custodial_arrest": "custodial arrest", "fpa": "kept out of court (FPA)",
    "force_per_contact": "force per contact", "deescalation_documented": "de-escalation documented",
    "formal_processing": "formal processing", "assigned_sro": "assigned SROs",
    "unknown": "unknown",
    "hispanic_latino": "Hispanic or Latino", "asian": "Asian", "black": "Black", "white": "White",
    "american_indian_alaska_native": "American Indian or Alaska Native",
    "native_hawaiian_pacific_islander": "Native Hawaiian or Pacific Islander", "two_or_more": "two or more races",
    "assailant_assault": "assailant (assault)", "assailant_battery": "assailant (battery)",
    "assailant_deadly_force": "assailant (deadly force)",
}


def pretty(label: object) -> str:
    """Codes to reader text: a known code by its words, any other with spaces for underscores.

    Example:
        >>> pretty("american_indian_alaska_native"), pretty("assailant_deadly_force"), pretty("school_year")
        ('American Indian or Alaska Native', 'assailant (deadly force)', 'school year')
    """
    text = str(label)
    return READER_LABELS.get(text.lower().replace(" ", "_"), text.replace("_", " "))


def wrap_for(ax: Axes, text: str, fontsize: float, share: float = 1.0) -> str:
    """Wrap ``text`` to ``share`` of the figure width so notes never run off a 3.5 in column."""
    width_pt = ax.figure.get_size_inches()[0] * 72.0 * share
    # DejaVu Sans averages ~0.45 em per character of running text (measured); 0.5 leaves slack.
    chars = max(20, int(width_pt / (0.5 * fontsize)))
    return "\n".join(textwrap.fill(line, chars, break_on_hyphens=False) for line in text.split("\n"))


def add_note(ax: Axes, lines: Sequence[str]) -> None:
    """Put a small caption (N=, method notes, what was not drawn) under the x-axis label.

    The note is anchored to the x-label's box, so it never overlaps tick labels whatever their
    size; ``save_figure`` saves with a tight bounding box, so it is never clipped.
    """
    lines = [line for line in lines if line]
    for text in list(ax.texts):
        if text.get_gid() == NOTE_GID:
            text.remove()
    if not lines:
        return
    fontsize = 6.5
    ax.annotate(
        wrap_for(ax, "\n".join(lines), fontsize, share=0.95),
        xy=(0.0, 0.0),
        # x: the left edge of the y-axis labels (flush with the source line); y: under the x label.
        xycoords=(lambda renderer: ax.yaxis.get_tightbbox(renderer) or ax.bbox, ax.xaxis.label),
        xytext=(0.0, -4.0),
        textcoords="offset points",
        ha="left",
        va="top",
        fontsize=fontsize,
        color="#444444",
        gid=NOTE_GID,
        annotation_clip=False,
    )


def record(ax: Axes, *, alt: str, data: pd.DataFrame) -> None:
    """Store the alt text and the plotted numbers on the Axes (read back by ``save_figure``)."""
    ax._sro_alt = alt
    ax._sro_data = data.reset_index(drop=True)
    ax.figure._sro_alt = describe(ax.figure)


def describe(fig: Figure) -> str | None:
    """Alt text of a figure: the descriptions its plot functions recorded, in panel order.

    Args:
        fig: A figure drawn with sro-analysis plot functions.

    Returns:
        The alt text, or None when no sro-analysis plot recorded one.

    Example:
        >>> import pandas as pd
        >>> from sro_analysis.figures import data_quality_plot
        >>> ledger = pd.DataFrame({"source_file": ["a.csv"], "status": ["kept"], "n": [5]})
        >>> import matplotlib.pyplot as plt
        >>> fig, ax = plt.subplots()
        >>> ax = data_quality_plot(ledger, ax=ax)
        >>> describe(ax.figure).startswith("Horizontal stacked bar chart")
        True
    """
    alts = [getattr(ax, "_sro_alt", None) for ax in fig.axes]
    alts = [a for a in alts if a]
    return " ".join(alts) if alts else None


def plotted_data(fig: Figure) -> pd.DataFrame | None:
    """The numbers a figure draws, as recorded by its plot functions.

    One panel gives its frame as is; several panels are stacked with a ``panel`` column (1-based).

    Args:
        fig: A figure drawn with sro-analysis plot functions.

    Returns:
        A DataFrame, or None when no sro-analysis plot recorded one.
    """
    frames = [getattr(ax, "_sro_data", None) for ax in fig.axes]
    frames = [(i, f) for i, f in enumerate(frames, start=1) if f is not None]
    if not frames:
        return None
    if len(frames) == 1:
        return frames[0][1]
    return pd.concat([f.assign(panel=i) for i, f in frames], ignore_index=True)


def count_label(n: float) -> str:
    """'N=1,234'; counts of 1 to 9 show as 'N<10' (SPEC §3.5 rule 3, primary suppression).

    Example:
        >>> count_label(1234), count_label(6), count_label(0)
        ('N=1,234', 'N<10', 'N=0')
    """
    n = int(n)
    return "N<10" if 1 <= n <= 9 else f"N={n:,}"


def legend_above(ax: Axes, handles=None, **kwargs) -> None:
    """Legend in a band above the axes, with as many columns as fit the figure width.

    It is right-aligned with the axes, so a wide legend spreads over the empty band above the
    y tick labels instead of pushing the axes narrower.
    """
    if handles is None:
        handles, _ = ax.get_legend_handles_labels()
    labels = [h.get_label() for h in handles]
    if not labels:
        return
    available = ax.figure.get_size_inches()[0] * 72.0 / (0.55 * 7.5)
    ncols = 1
    for cols in range(len(labels), 0, -1):
        rows = -(-len(labels) // cols)
        widths = [max(len(lbl) for lbl in labels[c * rows:(c + 1) * rows] or [""]) + 5 for c in range(cols)]
        if sum(widths) <= available:
            ncols = cols
            break
    ax.legend(handles=handles, loc="lower right", bbox_to_anchor=(1.0, 1.01), ncols=ncols, borderaxespad=0.0,
              handlelength=1.5, handletextpad=0.4, columnspacing=1.0, **kwargs)


def as_text(data: pd.DataFrame, column: str, func: str, *, missing: str | None = None) -> np.ndarray:
    """Column as strings; a missing value is an error unless ``missing`` names a label for it."""
    values = data[column].astype("string")
    if values.isna().any():
        if missing is None:
            raise ValueError(f"{func}: column {column!r} has {int(values.isna().sum())} missing value(s)")
        values = values.fillna(missing)
    return values.to_numpy(dtype=object).astype(str)


def as_float(values) -> np.ndarray:
    """Numeric column to float array with NaN for missing (pandas NA included)."""
    return pd.to_numeric(pd.Series(values), errors="raise").astype("float64").to_numpy()
