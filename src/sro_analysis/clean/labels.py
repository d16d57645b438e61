"""The one label mapper: raw labels -> canonical values through the versioned maps in schema/maps/.

A map file has one or more *key* columns (the raw label; ``raw_label`` by default, else the
first column), value columns, and optionally a ``match`` column: rows with ``match = regex``
hold a regular expression (Python syntax, matched against the whole normalised label, case
insensitive) tried, in file order, for labels no exact row names. Keys are compared normalised:
trimmed, whitespace collapsed, upper case. A blank cell is *blank* (the caller decides what a
blank means for its field); a non-blank label the map does not know is *unmapped*, never
``unknown``.

Mapping works on the distinct labels of a column (a few hundred labels over millions of rows)
and is applied as a join, in pandas (:func:`map_labels`) or DuckDB (:func:`label_table`).

A map need not be a file of its own: :func:`load_map` takes ``where=(column, value)`` to use the
rows of one vocabulary of a shared file (``synthetic_labels.csv`` holds every column's labels,
keyed by ``column``), and :func:`inline_map` builds a map from values written elsewhere (a YAML
mapping's ``values``, ``patterns`` and ``default``). A declaration's ``Col.label_map`` takes
either a ``"file.csv:column"`` spec or such a :class:`LabelMap`.

Example:
    >>> import pandas as pd
    >>> values, unmapped = map_labels(pd.Series(["School, Public, Building", "", "CAFÉ"]),
    ...                               "cpd_trr_location.csv", "location_type")
    >>> values.tolist(), unmapped.tolist()  # its last row, a pattern, sends a place that names no school to "other"
    (['school_building', <NA>, 'other'], [False, False, False])
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

import pandas as pd

from sro_analysis.schema.label_maps import read_map

KEY_SEPARATOR = " | "


def normalise_label(value: object) -> str | None:
    """The form labels are matched on (None for blank).

    Example:
        >>> normalise_label("  School,  public "), normalise_label("  ")
        ('SCHOOL, PUBLIC', None)
    """
    if value is None or value is pd.NA or (isinstance(value, float) and value != value):
        return None
    text = " ".join(str(value).split()).upper()
    return text or None


@dataclass(frozen=True, eq=False)
class LabelMap:
    """A loaded map: exact keys, regex patterns (in file order) and value columns.

    Compared and hashed by identity (it holds dicts), so declarations holding one stay hashable.
    """

    name: str
    key_columns: tuple[str, ...]
    exact: dict[str, dict[str, str]]
    patterns: tuple[tuple[re.Pattern, dict[str, str]], ...]
    value_columns: tuple[str, ...]

    def value_column(self, preferred: Sequence[str] = ()) -> str:
        """The value column a declaration reads: the first of ``preferred`` the map has, else its only one."""
        for name in preferred:
            if name in self.value_columns:
                return name
        if len(self.value_columns) == 1:
            return self.value_columns[0]
        raise KeyError(f"label map {self.name} has several value columns ({', '.join(self.value_columns)}); "
                       f"name one with 'file.csv:column'")

    def lookup(self, key: str | None) -> dict[str, str] | None:
        """The values of the row naming ``key`` (normalised), else of the first matching pattern."""
        if key is None:
            return None
        hit = self.exact.get(key)
        if hit is not None:
            return hit
        for pattern, values in self.patterns:
            if pattern.fullmatch(key):
                return values
        return None


@lru_cache(maxsize=None)
def load_map(name: str, key_columns: tuple[str, ...] | None = None, where: tuple[str, str] | None = None) -> LabelMap:
    """Load ``schema/maps/<name>``; ``key_columns`` default to ``raw_label`` or the first column.

    ``where=(column, value)`` keeps the rows of one vocabulary of a shared map file (the column
    is then not a value column).

    Example:
        >>> sex = load_map("synthetic_labels.csv", where=("column", "sex"))
        >>> sex.lookup("X"), load_map("synthetic_labels.csv", where=("column", "gender")).lookup("X")
        ({'value': 'nonbinary'}, {'value': 'other'})
    """
    frame = read_map(name)
    if key_columns is None:
        key_columns = ("raw_label",) if "raw_label" in frame.columns else (frame.columns[0],)
    missing = [k for k in key_columns if k not in frame.columns]
    if missing:
        raise KeyError(f"label map schema/maps/{name} has no key column(s) {missing}")
    if where is not None:
        column, wanted = where
        if column not in frame.columns:
            raise KeyError(f"label map schema/maps/{name} has no column {column!r}")
        frame = frame[frame[column] == wanted]
        if frame.empty:
            raise KeyError(f"label map schema/maps/{name} has no rows with {column} = {wanted!r}")
        name = f"{name}[{column}={wanted}]"
    values = tuple(c for c in frame.columns if c not in key_columns and c != "match" and (where is None or c != where[0]))
    exact: dict[str, dict[str, str]] = {}
    patterns = []
    for record in frame.to_dict("records"):
        parts = [normalise_label(record[k]) or "" for k in key_columns]
        payload = {c: record[c] for c in values}
        if str(record.get("match", "")).strip().lower() == "regex":
            source = KEY_SEPARATOR.join(str(record[k]).strip() for k in key_columns)
            patterns.append((re.compile(source, re.IGNORECASE), payload))
        else:
            exact.setdefault(KEY_SEPARATOR.join(parts), payload)
    return LabelMap(name, key_columns, exact, tuple(patterns), values)


def inline_map(name: str, values: dict[str, object], patterns: Sequence[tuple[str, object]] = (),
               default: object | None = None, value_column: str = "value") -> LabelMap:
    """A map written outside ``schema/maps/``: exact labels, then regex patterns, then a default.

    ``values`` maps labels to values (compared normalised, like a map file's keys); ``patterns``
    are ``(regular expression, value)`` pairs tried in order on labels no exact key names
    (matched against the whole normalised label, case insensitive); ``default``, when given,
    is the value of any other non-blank label (so nothing is unmapped). Values are text.

    Example:
        >>> m = inline_map("demo", {"Taser": "taser_discharge"}, [(r".*WARRANT.*", "yes")], default="no")
        >>> [m.lookup(normalise_label(v))["value"] for v in ("taser", "Warrant arrest", "Theft")]
        ['taser_discharge', 'yes', 'no']
    """
    def text(v: object) -> str:
        return "" if v is None else str(v)

    exact: dict[str, dict[str, str]] = {}
    for label, value in values.items():
        key = normalise_label(label)
        if key is not None:
            exact.setdefault(key, {value_column: text(value)})
    compiled = [(re.compile(p, re.IGNORECASE), {value_column: text(v)}) for p, v in patterns]
    if default is not None:
        compiled.append((re.compile(".*", re.DOTALL), {value_column: text(default)}))
    return LabelMap(name, ("label",), exact, tuple(compiled), (value_column,))


def resolve_map(spec: "str | LabelMap") -> LabelMap:
    """The :class:`LabelMap` of a declaration's ``label_map`` (a file name or a map)."""
    return spec if isinstance(spec, LabelMap) else load_map(spec)


def _keys(frame: pd.DataFrame, columns: Sequence[str]) -> pd.Series:
    # as string: under pandas 3 a column whose cells are all blank would map to a null-typed array.
    parts = [frame[c].map(normalise_label).astype("string") for c in columns]
    if len(parts) == 1:
        return parts[0]
    joined = parts[0].fillna("")
    for p in parts[1:]:
        joined = joined + KEY_SEPARATOR + p.fillna("")
    return joined.where(pd.concat(parts, axis=1).notna().any(axis=1))


def map_labels(series: pd.Series, name: "str | LabelMap", value_column: str) -> tuple[pd.Series, pd.Series]:
    """Map one label column; return (values, unmapped mask). Blank cells give NA, not unmapped."""
    out = map_label_frame(series.to_frame("label"), ["label"], name, [value_column])
    return out[value_column], out["unmapped"]


def map_label_frame(frame: pd.DataFrame, key_columns: Sequence[str], name: "str | LabelMap",
                    value_columns: Sequence[str] | None = None, *,
                    map_key_columns: Sequence[str] | None = None) -> pd.DataFrame:
    """Map rows keyed on several columns (e.g. TRR person + action + form box).

    Returns one column per value column (NA where unmapped or blank) plus ``unmapped`` (bool)
    and ``blank`` (bool: every key cell blank), aligned with ``frame``.
    """
    lmap = name if isinstance(name, LabelMap) else load_map(name, tuple(map_key_columns) if map_key_columns else None)
    value_columns = list(value_columns or lmap.value_columns)
    keys = _keys(frame, key_columns)
    distinct = pd.unique(keys.dropna())
    table = {k: lmap.lookup(k) for k in distinct}
    out = pd.DataFrame(index=frame.index)
    for col in value_columns:
        looked = {k: (v or {}).get(col) for k, v in table.items()}
        out[col] = keys.map(looked).astype("string").replace("", pd.NA)
    hit = keys.map({k: v is not None for k, v in table.items()})
    out["blank"] = keys.isna()
    out["unmapped"] = (~out["blank"]) & ~hit.fillna(False).astype(bool)
    return out


def label_table(name: "str | LabelMap", labels: Iterable[str | None], value_column: str) -> pd.DataFrame:
    """``key, value, mapped`` for distinct normalised labels: what the DuckDB engine joins on."""
    lmap = resolve_map(name)
    if value_column not in lmap.value_columns:
        where = f"schema/maps/{name}" if isinstance(name, str) else lmap.name
        raise KeyError(f"label map {where} has no column {value_column!r} "
                       f"(columns: {', '.join(lmap.value_columns)})")
    rows = []
    for key in sorted({k for k in labels if k is not None}):
        hit = lmap.lookup(key)
        rows.append((key, None if hit is None else (hit.get(value_column) or None), hit is not None))
    return pd.DataFrame(rows, columns=["key", "value", "mapped"]).astype(
        {"key": "string", "value": "string", "mapped": bool})
