"""Validation against the field registry in DuckDB: any size, frames or Parquet files alike.

The registry (:mod:`.registry`) says, per field, its type, whether it is required, its enum,
pattern and range, and per table its primary key and foreign keys; SPEC §2.6 adds the outcome
consistency rules. :func:`table_problems`, :func:`foreign_key_problems` and
:func:`outcome_problems` turn those into SQL over a DuckDB relation (a registered pandas frame, a
table, or ``read_parquet(...)``), so a ten-million-row Dataset is checked without loading it
into pandas. Each returns readable lines (what fails, how many rows, a few example values); an
empty list means the table passes.

Example:
    >>> import duckdb, pandas as pd
    >>> con = duckdb.connect()
    >>> frame = pd.DataFrame({"outcome_id": ["o1", "o1"], "outcome_canonical": ["custodial_arrest", "jail"],
    ...     "taken_into_custody": ["no", "yes"], "diversion_timing": ["not_applicable"] * 2})
    >>> _ = con.register("o", frame)
    >>> outcome_problems(con, "o")
    ['custodial_arrest implies taken_into_custody = yes: 1 row(s), e.g. o1']
"""

from __future__ import annotations

from sro_analysis.schema.registry import LIST_SEPARATOR, Field, table

_SQL_TYPES = {"str": "VARCHAR", "int": "BIGINT", "float": "DOUBLE", "bool": "BOOLEAN", "date": "DATE",
              "datetime": "TIMESTAMP", "enum": "VARCHAR", "list[enum]": "VARCHAR"}

#: SPEC §2.6 consistency rules on outcomes: (rule, SQL predicate that is TRUE for a violation).
OUTCOME_RULES: tuple[tuple[str, str], ...] = (
    ("custodial_arrest implies taken_into_custody = yes",
     "outcome_canonical = 'custodial_arrest' AND taken_into_custody IS DISTINCT FROM 'yes'"),
    ("station_adjustment implies taken_into_custody = yes (5-301 presupposes arrest)",
     "outcome_canonical = 'station_adjustment' AND taken_into_custody IS DISTINCT FROM 'yes'"),
    ("diversion_referral: taken_into_custody = yes exactly when diversion_timing = post_arrest",
     "outcome_canonical = 'diversion_referral' AND diversion_timing IN ('post_arrest', 'pre_arrest') "
     "AND ((taken_into_custody = 'yes') <> (diversion_timing = 'post_arrest'))"),
    ("citation, school discipline and warning imply taken_into_custody = no",
     "outcome_canonical IN ('citation_summons', 'school_discipline_restorative', 'warning_no_action') "
     "AND taken_into_custody IS DISTINCT FROM 'no'"),
    ("nibrs_arrest_type S (summoned/cited) implies taken_into_custody = no",
     "nibrs_arrest_type = 'S' AND taken_into_custody IS DISTINCT FROM 'no'"),
    ("nibrs_arrest_type O or T implies taken_into_custody = yes",
     "nibrs_arrest_type IN ('O', 'T') AND taken_into_custody IS DISTINCT FROM 'yes'"),
)


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _lit(value) -> str:
    return "'" + str(value).replace("'", "''") + "'"


def _columns(con, relation: str) -> list[str]:
    return [row[0] for row in con.execute(f"DESCRIBE SELECT * FROM {relation}").fetchall()]


def _field_checks(f: Field) -> list[tuple[str, str]]:
    """(what, SQL predicate TRUE for a failing non-null value) for one field."""
    col = _q(f.name)
    checks = []
    if f.dtype == "enum":
        allowed = ", ".join(_lit(v) for v in f.enum)
        checks.append((f"must be one of {list(f.enum)}", f"CAST({col} AS VARCHAR) NOT IN ({allowed})"))
    if f.dtype == "list[enum]":
        allowed = "[" + ", ".join(_lit(v) for v in f.enum) + "]"
        checks.append((f"every '{LIST_SEPARATOR}'-separated value must be one of {list(f.enum)}",
                       f"{col} <> '' AND NOT list_has_all({allowed}, string_split({col}, {_lit(LIST_SEPARATOR)}))"))
    if f.pattern:
        checks.append((f"must match {f.pattern}", f"NOT regexp_full_match(CAST({col} AS VARCHAR), {_lit(f.pattern)})"))
    if f.minimum is not None:
        checks.append((f"must be >= {f.minimum}", f"{col} < {f.minimum}"))
    if f.maximum is not None:
        checks.append((f"must be <= {f.maximum}", f"{col} > {f.maximum}"))
    return checks


def table_problems(con, relation: str, name: str, *, examples: int = 3) -> list[str]:
    """Columns, types, required values, enums, patterns, ranges and primary key of one table.

    One scan counts every check; only failing checks are asked for example values.
    """
    t = table(name)
    have = _columns(con, relation)
    wanted = [f.name for f in t.fields]
    if have != wanted:
        missing = [c for c in wanted if c not in have]
        extra = [c for c in have if c not in wanted]
        return [f"table {name!r}: columns differ from the registry (missing {missing}, extra {extra}, or another order)"]
    tests = []
    for f in t.fields:
        col = _q(f.name)
        tests.append((f, "has a value of the wrong type",
                      f"{col} IS NOT NULL AND try_cast({col} AS {_SQL_TYPES[f.dtype]}) IS NULL"))
        if f.required:
            tests.append((f, "is required but missing", f"{col} IS NULL"))
        tests += [(f, what, f"{col} IS NOT NULL AND ({pred})") for what, pred in _field_checks(f)]
    key = ", ".join(_q(k) for k in t.primary_key)
    counts = con.execute("SELECT " + ", ".join(f"count(*) FILTER (WHERE {p})" for _, _, p in tests)
                         + f", (SELECT count(*) FROM (SELECT {key} FROM {relation} GROUP BY ALL HAVING count(*) > 1))"
                         + f" FROM {relation}").fetchall()[0]
    problems = []
    for (f, what, predicate), n in zip(tests, counts):
        if n:
            col = _q(f.name)
            (sample,) = con.execute(f"SELECT list(DISTINCT CAST({col} AS VARCHAR)) FILTER (WHERE {col} IS NOT NULL)"
                                    f"[1:{examples}] FROM {relation} WHERE {predicate}").fetchall()[0]
            problems.append(f"table {name!r}, column {f.name}: {what}: {n} row(s)"
                            + (f", e.g. {', '.join(map(repr, sample))}" if sample else ""))
    if counts[-1]:
        problems.append(f"table {name!r}: {counts[-1]} primary key value(s) ({', '.join(t.primary_key)}) repeat")
    return problems


def foreign_key_problems(con, relations: dict[str, str]) -> list[str]:
    """Foreign keys of every table in ``relations`` (name -> relation) that do not resolve."""
    problems = []
    for name, relation in relations.items():
        for column, ref_table, ref_field in table(name).foreign_keys:
            if ref_table not in relations:
                continue
            n, sample = con.execute(
                f"SELECT count(*), list(DISTINCT c)[1:3] FROM (SELECT {_q(column)} AS c FROM {relation} "
                f"WHERE {_q(column)} IS NOT NULL) ANTI JOIN (SELECT {_q(ref_field)} AS c FROM {relations[ref_table]}) "
                f"USING (c)").fetchall()[0]
            if n:
                problems.append(f"{name}.{column}: {n} value(s) not in {ref_table}.{ref_field}, "
                                f"e.g. {', '.join(map(str, sample))}")
    return problems


def outcome_problems(con, relation: str) -> list[str]:
    """Outcomes breaking a SPEC §2.6 rule, one line per rule with a count and example ids."""
    have = set(_columns(con, relation))
    problems = []
    for rule, predicate in OUTCOME_RULES:
        if "nibrs_arrest_type" in predicate and "nibrs_arrest_type" not in have:
            continue
        n, ids = con.execute(f"SELECT count(*), list(outcome_id ORDER BY outcome_id)[1:3] FROM {relation} "
                             f"WHERE {predicate}").fetchall()[0]
        if n:
            problems.append(f"{rule}: {n} row(s), e.g. {', '.join(ids)}")
    return problems


def dataset_problems(con, relations: dict[str, str]) -> list[str]:
    """Every registry, primary-key, foreign-key and outcome problem of the tables in ``relations``.

    ``relations`` maps registered table names (the canonical tables, ``ledger``) to relations;
    this is what :meth:`~sro_analysis.dataset.Dataset.validate` checks, without pandas.

    Example:
        >>> import duckdb, pandas as pd
        >>> from sro_analysis.schema.models import empty_frame
        >>> con = duckdb.connect()
        >>> _ = con.register("o", empty_frame("outcomes"))
        >>> dataset_problems(con, {"outcomes": "o"})
        []
    """
    problems = [p for name, relation in relations.items() for p in table_problems(con, relation, name)]
    problems += foreign_key_problems(con, relations)
    if "outcomes" in relations:
        problems += outcome_problems(con, relations["outcomes"])
    return problems
