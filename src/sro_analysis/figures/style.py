"""The one house style for sro-analysis figures: palette, tier colours, theme.

The style lives in ``sro.mplstyle`` next to this module; :func:`theme` applies it for a block
(like ``seaborn.axes_style``), :func:`set_theme` applies it globally (like ``seaborn.set_theme``).
Plot functions never change global state; the theme is chosen by the caller.

Okabe-Ito palette: Okabe & Ito (2008), *Color Universal Design*, the usual colour-blind-safe
qualitative palette; it stays distinguishable under deuteranopia, protanopia and tritanopia.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import matplotlib as mpl
import matplotlib.pyplot as plt

from sro_analysis.metrics.shrinkage import EB_TIERS

__all__ = [
    "FULL_WIDTH_IN",
    "OKABE_ITO",
    "PALETTE",
    "SINGLE_COLUMN_IN",
    "STATUS_COLOURS",
    "STYLE_PATH",
    "TIER_COLOURS",
    "set_theme",
    "theme",
    "tier_colour",
]

STYLE_PATH: Path = Path(__file__).with_name("sro.mplstyle")

SINGLE_COLUMN_IN = 3.5
FULL_WIDTH_IN = 7.0

OKABE_ITO: dict[str, str] = {
    "black": "#000000",
    "orange": "#E69F00",
    "sky_blue": "#56B4E9",
    "bluish_green": "#009E73",
    "yellow": "#F0E442",
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "reddish_purple": "#CC79A7",
}

# Order of the colour cycle: the strongest contrasts first; yellow (weak on white) late.
PALETTE: tuple[str, ...] = tuple(
    OKABE_ITO[name]
    for name in ("blue", "orange", "bluish_green", "vermillion", "reddish_purple", "sky_blue", "yellow", "black")
)

# Neutral greys for reference lines, pooled units and "not distinguishable" results.
GREY = "#7F7F7F"
LIGHT_GREY = "#BBBBBB"

# Tiers published instead of ranks (SPEC §3.3, §3.5 rule 6), keyed by the labels of
# sro_analysis.metrics.shrinkage.EB_TIERS. Below/above are a blue/vermillion pair (safe for
# red-green colour blindness); "not distinguishable" is grey so the eye goes to the units the
# data can actually tell apart.
TIER_COLOURS: dict[str, str] = {
    EB_TIERS[0]: OKABE_ITO["blue"],
    EB_TIERS[1]: GREY,
    EB_TIERS[2]: OKABE_ITO["vermillion"],
}

# Ledger row fates (data-quality figure): kept is the calm colour, rejected the alarming one.
STATUS_COLOURS: dict[str, str] = {
    "kept": OKABE_ITO["bluish_green"],
    "merged": OKABE_ITO["sky_blue"],
    "rejected": OKABE_ITO["vermillion"],
}

_WIDTHS = {"single": SINGLE_COLUMN_IN, "full": FULL_WIDTH_IN}


def tier_colour(tier: str) -> str:
    """Colour of an EB tier; tiers the palette does not know fall back to neutral grey.

    Args:
        tier: Tier label from :func:`sro_analysis.metrics.shrinkage.empirical_bayes`.

    Returns:
        A hex colour.

    Example:
        >>> tier_colour("credibly above overall")
        '#D55E00'
    """
    if tier in TIER_COLOURS:
        return TIER_COLOURS[tier]
    # Tiers worded differently (an external target, another shrinkage run) by their direction.
    key = str(tier).lower()
    if "below" in key:
        return OKABE_ITO["blue"]
    if "above" in key:
        return OKABE_ITO["vermillion"]
    return GREY


def _rc(width: str | float, height: float | None) -> dict:
    if isinstance(width, str):
        if width not in _WIDTHS:
            raise ValueError(f"width must be 'single', 'full' or inches, got {width!r}")
        inches = _WIDTHS[width]
    else:
        inches = float(width)
    if height is None:
        # About 3:4 at column width; a full-width figure does not need to grow taller.
        height = min(round(inches * 0.74, 2), 4.0)
    return {"figure.figsize": (inches, float(height))}


@contextlib.contextmanager
def theme(width: str | float = "single", height: float | None = None) -> Iterator[None]:
    """Apply the house style inside a ``with`` block, restoring rcParams afterwards.

    Args:
        width: "single" (3.5 in column), "full" (7 in page) or a width in inches.
        height: Figure height in inches; default keeps a readable aspect for the width.

    Example:
        >>> import matplotlib.pyplot as plt

from sro_analysis.metrics.shrinkage import EB_TIERS
        >>> with theme():
        ...     fig, ax = plt.subplots()
        >>> [round(float(v), 2) for v in fig.get_size_inches()]
        [3.5, 2.59]
    """
    with plt.style.context(str(STYLE_PATH)), mpl.rc_context(_rc(width, height)):
        yield


def set_theme(width: str | float = "single", height: float | None = None) -> None:
    """Apply the house style globally (for notebooks); :func:`theme` is the scoped form.

    Args:
        width: "single" (3.5 in column), "full" (7 in page) or a width in inches.
        height: Figure height in inches.

    Example:
        >>> set_theme()
        >>> import matplotlib as mpl
        >>> mpl.rcParams["font.sans-serif"][0]
        'DejaVu Sans'
    """
    plt.style.use(str(STYLE_PATH))
    mpl.rcParams.update(_rc(width, height))
