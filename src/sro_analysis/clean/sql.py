"""SQL building blocks the engine and the derivations share (DuckDB dialect).

Short named expressions, kept beside the code that uses them: text cleaning, null markers,
number parsing, ids. Every expression takes a column *expression* (already quoted) and returns
an expression; values are never formatted into SQL, only identifiers and constants we own.

Ids (:func:`mint_id_sql`) are the package's id scheme (:func:`sro_analysis.ids.mint_id`) in SQL:
``prefix-`` + the first 16 hex digits of the SHA-256 of the parts joined by U+001F, a missing
part hashing as the empty string. The same record gets the same id from Python and from SQL.

Example:
    >>> import duckdb
    >>> from sro_analysis.ids import mint_id
    >>> con = duckdb.connect()
    >>> sql = f"SELECT {mint_id_sql('inc', [literal('cpd_trr'), literal('55')])}"
    >>> con.execute(sql).fetchone()[0] == mint_id("inc", "cpd_trr", "55")
    True
    >>> con.execute(f"SELECT {clean_text_sql(literal('  SCHOOL,   PUBLIC '))}").fetchone()[0]
    'SCHOOL, PUBLIC'
"""

from __future__ import annotations

from collections.abc import Sequence

#: Cell texts meaning "no value" in numeric and date columns (not in label columns, where
#: "None" can be a real answer, e.g. NYPD's Type Of Force = None).
NULL_MARKERS = ("", "NA", "N/A", "NULL", "NONE", "NAN", "-", "--", "#N/A")
UNIT_SEPARATOR = "\x1f"


def ident(name: str) -> str:
    """A quoted SQL identifier.

    Example:
        >>> print(ident('Case "No" 1'))
        "Case ""No"" 1"
    """
    return '"' + str(name).replace('"', '""') + '"'


def literal(value: object) -> str:
    """A SQL literal for a constant we own (strings quoted, None as NULL)."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, (int, float)):
        return repr(value)
    return "'" + str(value).replace("'", "''") + "'"


def clean_text_sql(expr: str) -> str:
    """Trimmed text with inner whitespace collapsed; empty becomes NULL."""
    # The replacement runs only on text that needs it (a run of spaces, a tab or line break):
    # most cells do not, and a regex replacement per cell is the cost of this expression.
    return (f"nullif(CASE WHEN regexp_matches({expr}, '\\s\\s|[\\t\\n\\r\\f\\v]') "
            f"THEN trim(regexp_replace({expr}, '\\s+', ' ', 'g')) ELSE trim({expr}) END, '')")


def label_key_sql(expr: str) -> str:
    """The key labels are matched on: cleaned and upper case."""
    return f"upper({clean_text_sql(expr)})"


def blank_marker_sql(expr: str) -> str:
    """Cleaned text, with the conventional null markers of numeric/date columns as NULL."""
    markers = ", ".join(literal(m) for m in NULL_MARKERS if m)
    text = clean_text_sql(expr)
    return f"CASE WHEN upper({text}) IN ({markers}) THEN NULL ELSE {text} END"


def number_text_sql(expr: str) -> str:
    """Number text without thousands separators ('1,234' and '1 234' give '1234')."""
    # Applied twice: each pass removes every other separator of a long run ('1,234,567').
    inner = f"regexp_replace({expr}, '(\\d)[, ](\\d{{3}})(\\D|$)', '\\1\\2\\3', 'g')"
    return f"regexp_replace({inner}, '(\\d)[, ](\\d{{3}})(\\D|$)', '\\1\\2\\3', 'g')"


def mint_id_sql(prefix: str, parts: Sequence[str]) -> str:
    """SQL for :func:`sro_analysis.ids.mint_id` over column expressions ``parts``."""
    joined = f" || {literal(UNIT_SEPARATOR)} || ".join(f"coalesce(CAST({p} AS VARCHAR), '')" for p in parts)
    return f"({literal(prefix + '-')} || substr(sha256({joined}), 1, 16))"


def salted_hash_sql(expr: str, salt: str) -> str:
    """SQL for :func:`sro_analysis.ids.salted_hash` (NULL stays NULL); ``salt`` is an SQL expression.

    Bind the salt (a secret, not a constant we own) rather than writing it into the SQL text,
    e.g. a one-row table made with a bound parameter and read as ``(SELECT salt FROM t)``.

    Example:
        >>> import duckdb
        >>> from sro_analysis.ids import salted_hash
        >>> con = duckdb.connect()
        >>> _ = con.execute("CREATE TABLE secret AS SELECT ? AS salt", ["s3cret"])
        >>> sql = salted_hash_sql(literal("P0000001"), "(SELECT salt FROM secret)")
        >>> con.execute(f"SELECT {sql}").fetchone()[0] == salted_hash("P0000001", "s3cret")
        True
    """
    return f"CASE WHEN {expr} IS NULL THEN NULL ELSE sha256({salt} || {literal(UNIT_SEPARATOR)} || {expr}) END"


def school_year_sql(expr: str, start_month: int = 7) -> str:
    """School year ``YYYY-YY`` of a timestamp expression (1 July cut by default); NULL stays NULL."""
    year = f"(year({expr}) - CASE WHEN month({expr}) < {int(start_month)} THEN 1 ELSE 0 END)"
    return (f"CASE WHEN {expr} IS NULL THEN NULL ELSE CAST({year} AS VARCHAR) || '-' || "
            f"lpad(CAST(({year} + 1) % 100 AS VARCHAR), 2, '0') END")
