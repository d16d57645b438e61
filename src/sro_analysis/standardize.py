"""Text, date and address verbs shared by sources and linkage (label mapping lives in clean.labels).

Each verb takes and returns pandas objects and never mutates its input. Verbs that can fail on
a value return the failures alongside the result, so the adapter can reject the row in the
ledger with file, row, column and value instead of silently coercing it.

Example:
    >>> import pandas as pd
    >>> parsed, bad = parse_dates(pd.Series(["2014-03-01", "03/14/2014 04:45:00 PM", "31/02/2014"]),
    ...                          ["%Y-%m-%d", "%m/%d/%Y %I:%M:%S %p", "%d/%m/%Y"])
    >>> parsed.dt.strftime("%Y-%m-%d %H:%M").tolist()[:2], bad.tolist()
    (['2014-03-01 00:00', '2014-03-14 16:45'], [False, False, True])
    >>> school_year(pd.Series(pd.to_datetime(["2014-06-30", "2014-07-01"]))).tolist()
    ['2013-14', '2014-15']
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np
import pandas as pd

#: Month on which a new school year starts (SPEC §2.3: "default cut 1 July").
SCHOOL_YEAR_START_MONTH = 7

BLANKS = ("", "NA", "N/A", "NULL", "NONE", "NAN", "-")


def is_blank(series: pd.Series) -> pd.Series:
    """True where the source left the cell empty (or wrote a conventional null marker)."""
    text = series.astype("string").str.strip().str.upper()
    return (text.isna() | text.isin(BLANKS)).astype(bool)


#: Below this share of distinct values, per-value verbs work on the distinct values only.
_DISTINCT_SHARE = 0.5


def _per_distinct(series: pd.Series, verb) -> pd.Series:
    """Apply an element-wise string ``verb`` once per distinct value, then spread the results.

    Raw columns repeat a few labels over millions of rows (locations, roles, codes): cleaning
    each distinct label once is what makes the verbs cheap at scale. Same result as ``verb(series)``.
    """
    text = series.astype("string")
    if len(text) < 1000:
        return verb(text)
    sample = text.iloc[:: max(1, len(text) // 2000)]
    if sample.nunique(dropna=False) > _DISTINCT_SHARE * len(sample):  # mostly distinct: no gain
        return verb(text)
    codes, distinct = pd.factorize(text, use_na_sentinel=True)
    if len(distinct) > _DISTINCT_SHARE * len(text):
        return verb(text)
    done = verb(pd.Series(distinct, dtype="string"))
    return pd.Series(done.array.take(codes, allow_fill=True), index=series.index, name=series.name)


def _clean_text(text: pd.Series) -> pd.Series:
    stripped = text.str.strip().str.replace(r"\s+", " ", regex=True)
    return stripped.mask(is_blank(text))


def is_in(series: pd.Series, values) -> pd.Series:
    """``series.isin(values)`` for text, computed by Arrow (bool Series, NA is never in).

    pandas' ``isin`` on Arrow-backed strings turns every candidate value into a Python object
    first: about a second per 10^5 candidate ids. ``values``: a Series, set, list or array.

    Example:
        >>> is_in(pd.Series(["a", "b", None]), {"b", "c"}).tolist()
        [False, True, False]
    """
    import pyarrow
    import pyarrow.compute as compute

    def as_text(v) -> "pyarrow.Array":
        v = pd.Series(list(v) if isinstance(v, (set, frozenset)) else v, dtype="string")
        return pyarrow.array(v.to_numpy(dtype=object, na_value=None), type=pyarrow.string())

    candidates = as_text(values).unique() if len(values) else pyarrow.array([], type=pyarrow.string())
    hit = compute.is_in(as_text(series), value_set=candidates, skip_nulls=True)
    return pd.Series(hit.to_numpy(zero_copy_only=False).astype(bool), index=series.index, name=series.name)


def clean_text(series: pd.Series) -> pd.Series:
    """Strip, collapse internal whitespace; blanks become NA.

    Example:
        >>> clean_text(pd.Series(["  SCHOOL,  PUBLIC ", ""])).tolist()
        ['SCHOOL, PUBLIC', <NA>]
    """
    return _per_distinct(series, _clean_text)


def name_ns(series: pd.Series) -> pd.Series:
    """Names the Invisible Institute way: upper case, letters only (no spaces/punctuation).

    Example:
        >>> name_ns(pd.Series(["O'Brien", "de la Cruz", "Peña"])).tolist()
        ['OBRIEN', 'DELACRUZ', 'PENA']
    """
    # NFKD first so accented letters keep their base letter (Peña -> PENA, not PEA).
    return _per_distinct(series, lambda text: text.str.normalize("NFKD").str.upper()
                         .str.replace(r"[^A-Z]", "", regex=True).replace("", pd.NA))


def parse_dates(series: pd.Series, formats: Sequence[str]) -> tuple[pd.Series, pd.Series]:
    """Parse with each format in turn (first success wins); return (datetimes, failed mask).

    Blank cells are NaT and *not* failures; a non-blank value no format parses (or an
    impossible date such as 31 February) is a failure.
    """
    text = clean_text(series)
    out = pd.Series(pd.NaT, index=series.index, dtype="datetime64[ns]")
    todo = text.notna()
    for fmt in formats:
        if not todo.any():
            break
        parsed = pd.to_datetime(text[todo], format=fmt, errors="coerce")
        ok = parsed.notna()
        out.loc[ok[ok].index] = parsed[ok].astype("datetime64[ns]")
        todo.loc[ok[ok].index] = False
    return out, todo.astype(bool)


def school_year(when: pd.Series, start_month: int = SCHOOL_YEAR_START_MONTH) -> pd.Series:
    """School year ``YYYY-YY`` of each timestamp (1 July cut by default); NaT gives NA."""
    year = when.dt.year - (when.dt.month < start_month).astype("Int64")
    valid = when.notna()
    y = year[valid].astype(int)
    out = pd.Series(pd.NA, index=when.index, dtype="string")
    out[valid] = (y.astype(str) + "-" + ((y + 1) % 100).map("{:02d}".format)).to_numpy()
    return out


_DIRECTIONS = {"NORTH": "N", "SOUTH": "S", "EAST": "E", "WEST": "W", "N": "N", "S": "S", "E": "E", "W": "W"}
_SUFFIXES = {
    "AVENUE": "AVE", "AV": "AVE", "AVE": "AVE", "STREET": "ST", "ST": "ST", "BOULEVARD": "BLVD", "BLVD": "BLVD",
    "ROAD": "RD", "RD": "RD", "DRIVE": "DR", "DR": "DR", "PLACE": "PL", "PL": "PL", "PARKWAY": "PKWY",
    "PKWY": "PKWY", "COURT": "CT", "CT": "CT", "LANE": "LN", "LN": "LN", "TERRACE": "TER", "TER": "TER",
    "HIGHWAY": "HWY", "HWY": "HWY", "EXPRESSWAY": "EXPY", "EXPY": "EXPY", "SQUARE": "SQ", "WAY": "WAY",
}


def normalise_street(text: str | None) -> str | None:
    """USPS-style street: upper case, abbreviated direction and suffix, single spaces.

    Example:
        >>> normalise_street("3245 West Adams Street")
        '3245 W ADAMS ST'
    """
    if text is None or text is pd.NA or (isinstance(text, float) and np.isnan(text)):
        return None
    words = re.sub(r"[^A-Z0-9 ]", " ", str(text).upper()).split()
    out = []
    for i, w in enumerate(words):
        if w in _DIRECTIONS and i <= 1 and len(words) > i + 1:
            out.append(_DIRECTIONS[w])
        elif w in _SUFFIXES and i == len(words) - 1 and i > 0:
            out.append(_SUFFIXES[w])
        else:
            out.append(w)
    return " ".join(out) or None


def hundred_block_key(text: str | None) -> str | None:
    """Key matching a hundred-block address to a street address: ``'32XX W ADAMS ST'``.

    Both ``'032XX W ADAMS ST'`` (crimes), ``'32XX' + 'West' + 'ADAMS ST'`` (TRR, joined) and
    ``'3245 W Adams St'`` (a school) give ``'32XX W ADAMS ST'``.

    Example:
        >>> hundred_block_key("032XX W ADAMS ST") == hundred_block_key("3245 W Adams Street")
        True
    """
    street = normalise_street(text)
    if not street:
        return None
    first, _, rest = street.partition(" ")
    if not rest:
        return None
    masked = re.fullmatch(r"(\d*)(X+)", first)
    if masked:
        # '032XX' is the 3200 block; the portal writes the 0-99 block as '0000X'.
        digits, xs = masked.group(1) or "0", len(masked.group(2))
        hundreds = int(digits) // 10 ** max(0, 2 - xs)
    elif first.isdigit():
        hundreds = int(first) // 100
    else:
        return None
    return f"{hundreds}XX {rest}"
