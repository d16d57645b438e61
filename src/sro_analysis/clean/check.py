"""Checking one sheet's rows against its layout, in DuckDB: types, dates, ranges, labels, policies.

Driven by the field registry: a column declared with ``field="table.field"`` takes its type,
range, enum and bad-value policy from there (``Field.invalid_policy``: required fields reject
the row, optional fields blank the value and flag the row). For every column the engine
computes the value and, where the raw cell cannot give one, a problem code:

==================  =======================================================================
``unparseable``     a number, date, time or flag that does not parse (``unparseable_date`` for
                    dates and times, ``invalid_number`` for numbers, ``invalid_flag``)
``out_of_range``    a number or date outside the field's range (an age of 212, a latitude of 999)
``unmapped_label``  a label the column's map does not know
``not_in_enum``     a value outside the field's allowed values
``bad_pattern``     a value that does not match the declared pattern
``missing_value``   a blank cell in a column whose value is required
==================  =======================================================================

The first problem of a *reject* column rejects the row (the ledger names the column and the
value); problems of *blank* columns blank the value and are kept as the row's flag, which the
ledger shows on the kept row. Nothing is dropped or coerced silently.

Dates declared with ``formats=("auto",)`` (or a format list holding both ``%m/%d`` and
``%d/%m`` orders) have their day/month order read off the data: a first part above 12 proves
day-first, a second part above 12 month-first; the choice is a note in the provenance.

Example:
    >>> import duckdb, pyarrow as pa
    >>> from sro_analysis.clean.declare import Col, Layout
    >>> lay = Layout("t", (Col("id", need=True), Col("age", field="incident_subjects.age_at_incident")))
    >>> con = duckdb.connect()
    >>> _ = con.register("raw", pa.table({"source_row": [1, 2, 3], "c0": ["a", "b", "c"], "c1": ["15", "212", "x"]}))
    >>> out = check_rows(con, "raw", lay, {"id": "c0", "age": "c1"}, "f.csv")
    >>> con.execute("SELECT id, age, flag_reason FROM checked ORDER BY source_row").fetchall()
    [('a', 15, None), ('b', None, 'out_of_range'), ('c', None, 'invalid_number')]
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sro_analysis.clean.declare import Col, Layout, header_key
from sro_analysis.clean.labels import LabelMap, label_table
from sro_analysis.clean.sql import NULL_MARKERS, ident, literal, number_text_sql
from sro_analysis.schema.registry import Field, table

#: ISO forms a spreadsheet cell or a careful export writes; always accepted after the declared ones.
ISO_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d")
TIME_FORMATS = ("%H:%M:%S", "%H:%M", "%I:%M:%S %p", "%I:%M %p", "%H%M")
_DTYPE_KIND = {"str": "text", "int": "int", "float": "float", "date": "date", "datetime": "datetime",
               "bool": "bool", "enum": "text", "list[enum]": "text"}
_PROBLEM_MESSAGES = {
    "unparseable_date": "is not a date/time in the expected format",
    "invalid_number": "is not a number",
    "invalid_flag": "is not a yes/no flag",
    "out_of_range": "is outside the allowed range",
    "unmapped_label": "is not in the label map",
    "not_in_enum": "is not an allowed value",
    "bad_pattern": "does not have the expected form",
    "missing_value": "is blank, and this column needs a value",
}
_TRUE = ("TRUE", "T", "Y", "YES", "1")
_FALSE = ("FALSE", "F", "N", "NO", "0")


@dataclass(frozen=True)
class ColumnMatch:
    """Which header cell each declared column is read from, and what the header lacks."""

    source: dict[str, str | tuple[str, ...]]  # staging name -> raw column (c0..cN), or columns joined
    missing_needed: tuple[str, ...]
    unused_header: tuple[str, ...]
    matched: int
    excluded: tuple[str, ...] = ()  # header cells the layout's ``excludes`` name

    @property
    def complete(self) -> bool:
        return not self.missing_needed and not self.excluded


def match_header(header: list[str], layout: Layout) -> ColumnMatch:
    """Match header cells to the layout's columns by their spellings (first match wins).

    Example:
        >>> from sro_analysis.clean.declare import Col, Layout
        >>> lay = Layout("t", (Col("case_number", ("Case Number",), need=True), Col("block", ("Block",))))
        >>> m = match_header(["CASE_NUMBER", "Notes"], lay)
        >>> m.source, m.missing_needed, m.unused_header
        ({'case_number': 'c0'}, (), ('Notes',))
        >>> match_header(["CASE_NUMBER", "trr_id"], Layout("t", lay.columns, excludes=("TRR ID",))).complete
        False
    """
    keys = [header_key(h) for h in header]
    taken: set[int] = set()
    source: dict[str, str] = {}
    for col in layout.columns:
        if col.cell_of or col.cells_of:
            continue
        for want in col.keys:
            hit = next((i for i, k in enumerate(keys) if k == want and i not in taken), None)
            if hit is not None:
                taken.add(hit)
                source[col.name] = f"c{hit}"
                break
    for col in layout.columns:
        if col.cell_of and col.cell_of in source:
            source[col.name] = source[col.cell_of]
        parts = tuple(source[n] for n in col.cells_of if n in source)
        if parts:
            source[col.name] = parts
    missing = tuple(c.name for c in layout.needed if c.name not in source)
    unused = tuple(h for i, h in enumerate(header) if i not in taken)
    banned = {header_key(e) for e in layout.excludes}
    excluded = tuple(h for h, k in zip(header, keys) if k in banned)
    return ColumnMatch(source, missing, unused, len(source), excluded)


@dataclass
class ColumnRule:
    """What the engine does with one column: kind, formats, map, range, policy."""

    col: Col
    kind: str
    formats: tuple[str, ...]
    label_map: tuple[str | LabelMap, str] | None
    minimum: float | None
    maximum: float | None
    enum: tuple[str, ...] | None
    pattern: str | None
    policy: str
    notes: list[str] = field(default_factory=list)


def registry_field(spec: str) -> Field:
    """The registry field ``"table.field"``."""
    table_name, _, field_name = spec.partition(".")
    return table(table_name).field(field_name)


def column_rule(col: Col) -> ColumnRule:
    """Resolve a declared column against the registry."""
    f = registry_field(col.field) if col.field else None
    kind = col.kind or ("label" if col.label_map else (_DTYPE_KIND[f.dtype] if f else "text"))
    if col.label_map and kind != "label":
        kind = "label"
    label_map = None
    if isinstance(col.label_map, LabelMap):
        label_map = (col.label_map, col.label_map.value_column([n for n in (f.name if f else None, col.name) if n]))
    elif col.label_map:
        name, _, column = col.label_map.partition(":")
        label_map = (name, column or (f.name if f else col.name))
    return ColumnRule(
        col=col, kind=kind, formats=tuple(col.formats), label_map=label_map,
        minimum=col.minimum if col.minimum is not None else (f.minimum if f else None),
        maximum=col.maximum if col.maximum is not None else (f.maximum if f else None),
        enum=f.enum if f is not None and f.dtype == "enum" else None,
        pattern=col.pattern or (f.pattern if f else None),
        policy=col.policy or (f.invalid_policy if f else "reject"),
    )


# -- per-kind SQL ---------------------------------------------------------------------------------
# Every column is trimmed once (``t__<name>``); kinds work on that text. Label columns are joined
# to a table of their distinct raw cells, mapped in Python (:mod:`.labels`): no per-row regex.

_WHITESPACE = "' \t\n\r\x0b\x0c\xa0'"


def _trimmed(src: str) -> str:
    return f"nullif(trim({src}, {_WHITESPACE}), '')"


def _cell(source: str | tuple[str, ...]) -> str:
    """The raw text of a column: one header cell, or several joined by a space (blank ones left out)."""
    if isinstance(source, str):
        return ident(source)
    return f"concat_ws(' ', {', '.join(_trimmed(ident(c)) for c in source)})"


def _blank_marked(t: str) -> str:
    markers = ", ".join(literal(m) for m in NULL_MARKERS if m)
    return f"CASE WHEN upper({t}) IN ({markers}) THEN NULL ELSE {t} END"


def _auto_order(con, source: str, t: str, rule: ColumnRule) -> str:
    """``%m/%d`` or ``%d/%m``, read off the data (a part above 12 proves the order), with a note."""
    day_first, month_first = con.execute(
        f"SELECT count(*) FILTER (WHERE try_cast(p[1] AS INT) > 12), count(*) FILTER (WHERE try_cast(p[2] AS INT) > 12) "
        f"FROM (SELECT regexp_extract({t}, '^(\\d{{1,2}})[/.-](\\d{{1,2}})[/.-]', ['a', 'b']) AS s FROM {source}), "
        f"LATERAL (SELECT [s.a, s.b] AS p)").fetchall()[0]
    if day_first and not month_first:
        order, why = "%d/%m", f"{day_first} value(s) have a first part above 12"
    elif month_first and not day_first:
        order, why = "%m/%d", f"{month_first} value(s) have a second part above 12"
    else:
        order = "%m/%d"
        why = ("both orders occur" if day_first else "no value tells the order") + "; month first assumed"
    rule.notes.append(f"column {rule.col.name}: day/month order {order[1]}/{order[4]} ({why})")
    return order


def _date_formats(con, source: str, t: str, rule: ColumnRule) -> tuple[str, ...]:
    """Declared formats (``auto`` resolved from the data), most successful on a sample first."""
    formats = list(rule.formats)
    if rule.kind == "time":
        formats = formats or list(TIME_FORMATS)
    else:
        both = any(f.startswith("%m/%d") for f in formats) and any(f.startswith("%d/%m") for f in formats)
        if formats == ["auto"] or both:
            order = _auto_order(con, source, t, rule)
            formats = [f for f in formats if f != "auto" and f.startswith(order)] or \
                [f"{order}/%Y %H:%M:%S", f"{order}/%Y %I:%M:%S %p", f"{order}/%Y %I:%M %p", f"{order}/%Y %H:%M",
                 f"{order}/%Y"]
        formats = list(dict.fromkeys([*formats, *ISO_FORMATS]))
    counts = con.execute("SELECT " + ", ".join(f"count(try_strptime(v, {literal(f)}))" for f in formats)
                         + f" FROM (SELECT {t} AS v FROM {source} WHERE {t} IS NOT NULL LIMIT 2000)").fetchall()[0]
    # Trying the format most values have first keeps parsing to one attempt per value.
    ranked = sorted(range(len(formats)), key=lambda i: (-counts[i], i))
    return tuple(formats[i] for i in ranked)


def _value_and_problem(con, source: str, rule: ColumnRule) -> tuple[str, str]:
    """(value SQL, problem SQL) for one present column, over the trimmed text ``t__<name>``."""
    name, kind = rule.col.name, rule.kind
    t = ident("t__" + name)
    if kind == "raw":
        return ident("raw__" + name), "NULL"
    if kind in ("text", "upper"):
        return (f"upper({t})" if kind == "upper" else t), "NULL"
    if kind == "label":
        value, mapped = ident("lv__" + name), ident("lm__" + name)
        return value, f"CASE WHEN {t} IS NOT NULL AND NOT coalesce({mapped}, FALSE) THEN 'unmapped_label' END"
    b = _blank_marked(t)
    if kind in ("int", "count", "float"):
        plain = f"try_cast({b} AS DOUBLE)"
        number = f"CASE WHEN {plain} IS NOT NULL THEN {plain} ELSE try_cast({number_text_sql(b)} AS DOUBLE) END"
        bad = f"({b} IS NOT NULL AND ({number} IS NULL" + (f" OR {number} <> floor({number})))" if kind != "float" else "))")
        value = f"CASE WHEN {bad} THEN NULL ELSE " + (f"CAST({number} AS BIGINT)" if kind != "float" else number) + " END"
        return value, f"CASE WHEN {bad} THEN 'invalid_number' END"
    if kind in ("date", "datetime", "time"):
        formats = _date_formats(con, source, b, rule)
        parsed = "try_strptime(" + b + ", [" + ", ".join(literal(f) for f in formats) + "])"
        value = {"date": f"CAST({parsed} AS DATE)", "datetime": parsed, "time": f"CAST({parsed} AS TIME)"}[kind]
        return value, f"CASE WHEN {b} IS NOT NULL AND {parsed} IS NULL THEN 'unparseable_date' END"
    if kind == "bool":
        up = f"upper({b})"
        value = (f"CASE WHEN {up} IN ({', '.join(map(literal, _TRUE))}) THEN TRUE "
                 f"WHEN {up} IN ({', '.join(map(literal, _FALSE))}) THEN FALSE END")
        return value, f"CASE WHEN {up} IS NOT NULL AND ({value}) IS NULL THEN 'invalid_flag' END"
    raise ValueError(f"column {name!r}: unknown kind {kind!r}")


def _extra_problems(value: str, rule: ColumnRule) -> list[str]:
    checks = []
    if rule.minimum is not None or rule.maximum is not None:
        if rule.kind in ("int", "count", "float"):
            lo = f"{value} < {rule.minimum}" if rule.minimum is not None else "FALSE"
            hi = f"{value} > {rule.maximum}" if rule.maximum is not None else "FALSE"
            checks.append(f"CASE WHEN {value} IS NOT NULL AND ({lo} OR {hi}) THEN 'out_of_range' END")
    if rule.enum and rule.kind in ("text", "label", "upper"):
        allowed = ", ".join(literal(v) for v in rule.enum)
        checks.append(f"CASE WHEN {value} IS NOT NULL AND {value} NOT IN ({allowed}) THEN 'not_in_enum' END")
    if rule.pattern and rule.kind in ("text", "upper"):
        checks.append(f"CASE WHEN {value} IS NOT NULL AND NOT regexp_full_match({value}, {literal(rule.pattern)}) "
                      f"THEN 'bad_pattern' END")
    return checks


# -- the check ---------------------------------------------------------------------------------------

@dataclass
class CheckResult:
    """Names of the DuckDB tables a check created, and notes for the provenance."""

    checked: str  # rows that passed (reject-policy columns), with flag_* columns
    rejected: str  # source_row, reason, column, value, message
    notes: list[str]


def _label_join(con, raw: str, rule: ColumnRule, src: str) -> str:
    """Register the label table of one column (distinct raw cells -> value) and return its join."""
    from sro_analysis.clean.labels import normalise_label

    name = rule.col.name
    cells = [c for (c,) in con.execute(f"SELECT DISTINCT {src} FROM {raw}").fetchall()]
    frame = label_table(rule.label_map[0], [normalise_label(c) for c in cells], rule.label_map[1])
    looked = dict(zip(frame["key"], zip(frame["value"], frame["mapped"])))
    import pandas as pd

    rows = pd.DataFrame({"cell": cells, "value": [looked.get(normalise_label(c), (None, False))[0] for c in cells],
                         "mapped": [bool(looked.get(normalise_label(c), (None, False))[1]) for c in cells]})
    table_name = f"labels__{name}"
    con.register(f"{table_name}_df", rows.astype({"cell": "string", "value": "string", "mapped": bool}))
    con.execute(f"CREATE OR REPLACE TEMP TABLE {ident(table_name)} AS SELECT * FROM {ident(table_name + '_df')}")
    return f"LEFT JOIN {ident(table_name)} ON {ident(table_name)}.cell = {src}"


def check_rows(con, raw: str, layout: Layout, source: dict[str, str], label: str) -> CheckResult:
    """Type and check the rows of table ``raw`` (``source_row`` + ``c0..cN`` text) for ``layout``.

    Creates tables ``checked`` (``source_row``, one typed column per declared column, the
    flag of the row's first blanked value) and ``rejected``.
    """
    rules = [column_rule(c) for c in layout.columns]
    present = [r for r in rules if r.col.name in source]
    cleaned, joins = ["source_row"], []
    for r in present:
        src = _cell(source[r.col.name])
        cleaned += [f"{src} AS {ident('raw__' + r.col.name)}", f"{_trimmed(src)} AS {ident('t__' + r.col.name)}"]
        if r.kind == "label":
            joins.append(_label_join(con, raw, r, src))
            t = ident(f"labels__{r.col.name}")
            cleaned += [f"{t}.value AS {ident('lv__' + r.col.name)}", f"{t}.mapped AS {ident('lm__' + r.col.name)}"]
    con.execute(f"CREATE OR REPLACE TEMP TABLE cleaned AS SELECT {', '.join(cleaned)} FROM {raw} {' '.join(joins)}")
    selects = []
    for r in rules:
        name = r.col.name
        if name not in source:
            # The file lacks the column: its value is the declared blank (``unknown``), never a guess.
            selects.append(f"CAST({literal(r.col.blank)} AS {sql_type(r.kind)}) AS {ident(name)}")
            continue
        value, problem = _value_and_problem(con, "cleaned", r)
        checks = _extra_problems(f"({value})", r)
        if problem != "NULL":
            checks.insert(0, problem)
        t = ident("t__" + name)
        if r.col.blank is not None:
            value = f"CASE WHEN {t} IS NULL THEN {literal(r.col.blank)} ELSE {value} END"
        if r.col.required_value:
            checks.insert(0, f"CASE WHEN {t} IS NULL THEN 'missing_value' END")
        code = f"coalesce({', '.join(checks)})" if len(checks) > 1 else (checks[0] if checks else "NULL")
        selects += [f"{value} AS {ident(name)}", f"{code} AS {ident('p__' + name)}",
                    f"{ident('raw__' + name)} AS {ident('raw__' + name)}"]
    con.execute(f"CREATE OR REPLACE TEMP TABLE typed AS SELECT source_row, {', '.join(selects)} FROM cleaned")
    reject_cols = [r.col.name for r in present if r.policy == "reject" or (r.kind == "label" and r.col.policy != "blank")]
    blank_cols = [r.col.name for r in present if r.col.name not in reject_cols]

    def first(cols: list[str]) -> str:
        if not cols:
            return "NULL"
        parts = [f"CASE WHEN {ident('p__' + c)} IS NOT NULL THEN {{'reason': {ident('p__' + c)}, 'column': "
                 f"{literal(c)}, 'value': {ident('raw__' + c)}}} END" for c in cols]
        return f"coalesce({', '.join(parts)})" if len(parts) > 1 else parts[0]

    con.execute(f"CREATE OR REPLACE TEMP TABLE typed2 AS SELECT *, {first(reject_cols)} AS reject, "
                f"{first(blank_cols)} AS flag FROM typed")
    value_cols = ", ".join(
        (f"CASE WHEN {ident('p__' + r.col.name)} IS NULL THEN {ident(r.col.name)} END AS {ident(r.col.name)}"
         if r.col.name in blank_cols else ident(r.col.name)) for r in rules)
    con.execute(f"""CREATE OR REPLACE TEMP TABLE checked AS
        SELECT source_row, {value_cols}, flag.reason AS flag_reason, flag.column AS flag_column,
               flag.value AS flag_value, {_message_sql('flag')} AS flag_message
        FROM typed2 WHERE reject IS NULL""")
    con.execute(f"""CREATE OR REPLACE TEMP TABLE rejected AS
        SELECT source_row, reject.reason AS reason, reject.column AS "column", reject.value AS value,
               {_message_sql('reject')} AS message
        FROM typed2 WHERE reject IS NOT NULL""")
    notes = [f"{label}: {n}" for r in rules for n in r.notes]
    return CheckResult("checked", "rejected", notes)


def _message_sql(struct: str) -> str:
    cases = " ".join(f"WHEN {literal(code)} THEN {literal(text)}" for code, text in _PROBLEM_MESSAGES.items())
    return (f"CASE WHEN {struct} IS NULL THEN NULL ELSE {struct}.column || ' ' || "
            f"coalesce('''' || nullif(trim({struct}.value), '') || '''', '(blank)') || ' ' || "
            f"CASE {struct}.reason {cases} END END")


def sql_type(kind: str) -> str:
    return {"int": "BIGINT", "count": "BIGINT", "float": "DOUBLE", "date": "DATE", "datetime": "TIMESTAMP",
            "time": "TIME", "bool": "BOOLEAN"}.get(kind, "VARCHAR")


def problem_reasons() -> tuple[str, ...]:
    """Every reason code a check can give (documented in docs/mapping.md)."""
    return tuple(_PROBLEM_MESSAGES)


