"""What a source adapter declares: its file layouts, their columns, keys and derivation.

An adapter (``sources/<name>.py``) holds no reading, checking or ledger code. It declares:

* :class:`Col`: a raw column it can read: the header spellings it answers to, whether the layout
  *needs* it, and how its cells are typed (from a registry field, or a staging kind), mapped
  through a label map, range-checked, and what happens to a bad value (the field's policy).
* :class:`Layout`: one file layout: its columns, the record key, whether identical rows in one
  file are copies (merged) or distinct records (kept), and file facts read off the file name,
  sheet name or title rows (a quarter, a release).
* :class:`Source`: the layouts of one source and its ``derive`` step, which turns the checked
  staging tables into canonical tables and says what became of every staged row (its *fates*).

The engine (:mod:`sro_analysis.clean`) does everything else, once, for every source.

Example:
    >>> layout = Layout("demo", columns=(
    ...     Col("case_number", ("Case Number", "CASE_NUMBER"), need=True),
    ...     Col("occurred_at", ("Date",), need=True, field="incidents.occurred_at",
    ...         formats=("%m/%d/%Y %I:%M:%S %p",)),
    ... ), key=("case_number",))
    >>> [c.name for c in layout.needed]
    ['case_number', 'occurred_at']
    >>> header_key("Case  Number") == header_key("CASE_NUMBER")
    True
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:  # pragma: no cover
    from sro_analysis.clean.derive import DeriveContext, Derived
    from sro_analysis.clean.labels import LabelMap

#: Staging kinds a column can be typed as when it is not a registry field.
Kind = Literal["text", "upper", "int", "float", "date", "datetime", "time", "bool", "label", "count", "raw"]
#: What happens to a non-blank value that cannot be used (unparseable, out of range, unmapped).
Policy = Literal["reject", "blank"]


def header_key(name: object) -> str:
    """The form header cells are matched on: lower case, letters and digits only.

    ``Case Number``, ``CASE_NUMBER`` and ``case number `` all give ``casenumber``; so do the
    NYPD's quarterly variants of one column once their spellings are declared.

    Example:
        >>> header_key(" Enforcment By"), header_key("TYPE_OF_FORCE_USED1")
        ('enforcmentby', 'typeofforceused1')
    """
    return re.sub(r"[^a-z0-9]", "", str(name or "").lower())


@dataclass(frozen=True)
class Col:
    """One raw column of a layout.

    Attributes:
        name: staging name (snake_case), the column's name for the engine and ``derive``.
        spellings: header spellings it answers to (matched with :func:`header_key`); the name
            itself is always accepted.
        need: the layout is recognised only when this column is present.
        field: ``"table.field"`` of the registry: type, range, enum and bad-value policy come
            from there (the one place a field is described).
        kind: staging type when there is no registry field (``text`` by default).
        formats: strftime formats of a date/datetime/time column, tried in order; ``"auto"``
            lets the engine choose day/month order from the data and say so.
        label_map: ``"file.csv:column"``: non-blank cells are looked up in the map's
            ``raw_label`` (or ``key`` column) and replaced by ``column``; unmapped values follow
            the policy (reason ``unmapped_label``). Or a :class:`~sro_analysis.clean.labels.
            LabelMap` (one vocabulary of a shared file, or a map written in a YAML mapping): its
            value column named like the field or the column, else its only one.
        blank: value for blank cells after mapping (e.g. ``"unknown"`` for an enum).
        required_value: a blank cell rejects the row (``missing_value``).
        policy: overrides the field's policy for bad values.
        minimum, maximum: override the field's range.
        pattern: a regular expression non-blank values must match (else a bad value).
        cell_of: read the same header cell as the column of this name (e.g. a location's raw
            text and its mapped type from one cell).
        cells_of: read the cells of these declared columns joined by a space, blank cells left
            out (a date and a time in two columns); present when any of them is.
    """

    name: str
    spellings: tuple[str, ...] = ()
    need: bool = False
    field: str | None = None
    kind: Kind | None = None
    formats: tuple[str, ...] = ()
    label_map: "str | LabelMap | None" = None
    blank: str | None = None
    required_value: bool = False
    policy: Policy | None = None
    minimum: float | None = None
    maximum: float | None = None
    pattern: str | None = None
    cell_of: str | None = None
    cells_of: tuple[str, ...] = ()

    @property
    def keys(self) -> tuple[str, ...]:
        """Header keys this column answers to."""
        return tuple(dict.fromkeys(header_key(s) for s in (self.name, *self.spellings)))


@dataclass(frozen=True)
class Fact:
    """A value every row of a file shares, read off its name, sheet name or title rows.

    ``pattern`` is a regular expression with named groups; the first place it matches wins
    (``where`` in order). ``required``: a file where it matches nowhere stops the run, naming
    the file and what it lacks.

    Example:
        >>> f = Fact("quarter", r"(?P<q>[1-4])q-(?P<year>\\d{4})", where=("file_name",))
        >>> f.read({"file_name": "ssa-report-school-3q-2019.xlsx"})
        {'q': '3', 'year': '2019'}
    """

    name: str
    pattern: str
    where: tuple[Literal["file_name", "path", "sheet_name", "title"], ...] = ("file_name", "sheet_name", "title")
    required: bool = True
    hint: str = ""

    def read(self, places: dict[str, str]) -> dict[str, str] | None:
        """The named groups of the first match among ``places`` (``None`` when none matches)."""
        for where in self.where:
            text = places.get(where) or ""
            m = re.search(self.pattern, text, flags=re.IGNORECASE)
            if m:
                return {k: v for k, v in m.groupdict().items() if v is not None}
        return None


@dataclass(frozen=True)
class Layout:
    """One file layout of a source.

    Attributes:
        name: unique within the source (``"main"``, ``"school_report"``).
        columns: the columns it can read (needed ones recognise it).
        key: staging names that identify a row's record within the layout; empty when rows
            have no key (each row is its own record).
        duplicates: ``"merge"``: a row identical to an earlier row of the same file is a copy
            (merged into that row's record, reason ``duplicate_row_in_file``); ``"distinct"``:
            identical rows are distinct records (NYPD interventions carry no id).
        facts: file-level facts (see :class:`Fact`).
        min_columns: a file is only taken if at least this many of its header cells are
            declared columns (guards a two-column layout against any file with those words).
        excludes: header spellings that mark a file as *another* layout's: a header holding any
            of them is never taken by this one (a TRR officers table carries ``trr_id``, a
            personnel roster with the same name and star columns never does).
        header_search: how many leading rows may be title rows above the header.
        description: what the layout is, shown in errors and provenance.
    """

    name: str
    columns: tuple[Col, ...]
    key: tuple[str, ...] = ()
    duplicates: Literal["merge", "distinct"] = "merge"
    facts: tuple[Fact, ...] = ()
    min_columns: int = 1
    excludes: tuple[str, ...] = ()
    header_search: int = 30
    description: str = ""

    def __post_init__(self) -> None:
        names = [c.name for c in self.columns]
        dup = {n for n in names if names.count(n) > 1}
        if dup:
            raise ValueError(f"layout {self.name!r} declares column(s) {sorted(dup)} twice")
        unknown = set(self.key) - set(names)
        if unknown:
            raise ValueError(f"layout {self.name!r}: key column(s) {sorted(unknown)} are not declared")
        if not self.needed:
            raise ValueError(f"layout {self.name!r} needs at least one column (need=True) to be recognised")
        derived = [c.name for c in self.columns if (c.cell_of or c.cells_of) and c.need]
        if derived:
            raise ValueError(f"layout {self.name!r}: column(s) {derived} read other columns' cells and cannot be "
                             "needed (declare the columns they read as needed)")
        unknown = {n for c in self.columns for n in (c.cell_of, *c.cells_of) if n} - set(names)
        if unknown:
            raise ValueError(f"layout {self.name!r} reads the cells of undeclared column(s) {sorted(unknown)}")

    @property
    def needed(self) -> tuple[Col, ...]:
        return tuple(c for c in self.columns if c.need)

    def column(self, name: str) -> Col:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(f"layout {self.name!r} has no column {name!r}")


@dataclass(frozen=True)
class Source:
    """A source: its layouts and the derivation from checked staging rows to canonical tables.

    ``derive(ctx) -> Derived`` receives every checked row of every file of each layout (see
    :mod:`sro_analysis.clean.derive`) and must give every staged row exactly one fate.
    """

    name: str
    description: str
    layouts: tuple[Layout, ...]
    derive: "Callable[[DeriveContext], Derived]"
    family: str = ""
    notes: tuple[str, ...] = field(default_factory=tuple)

    def layout(self, name: str) -> Layout:
        for lay in self.layouts:
            if lay.name == name:
                return lay
        raise KeyError(f"source {self.name!r} has no layout {name!r}")

    def __repr__(self) -> str:
        return f"<Source {self.name!r}: {self.description} ({len(self.layouts)} layout(s))>"
