"""pandera models and type conforming, generated from the field registry.

Example:
    >>> import pandas as pd
    >>> from sro_analysis.schema.models import conform, validate
    >>> raw = pd.DataFrame({"school_id": ["609966"], "name": ["Lane Tech"],
    ...                     "address": ["2501 W ADDISON ST"], "school_type": ["high"]})
    >>> schools = validate(conform(raw, "schools"), "schools")
    >>> list(schools.columns)[:3]
    ['school_id', 'nces_school_id', 'name']
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import pandas as pd
import pandera.pandas as pa
from pandera.errors import SchemaErrors

from sro_analysis.schema.registry import LIST_SEPARATOR, Field, table

PANDAS_DTYPES: dict[str, str] = {
    "str": "string",
    "enum": "string",
    "list[enum]": "string",
    "int": "Int64",
    "float": "float64",
    "bool": "boolean",
    "date": "datetime64[ns]",
    "datetime": "datetime64[ns]",
}


class SchemaError(ValueError):
    """A table does not satisfy the registry; the message says which table, column and rows."""


def empty_frame(name: str) -> pd.DataFrame:
    """An empty frame with the table's columns and dtypes.

    Example:
        >>> empty_frame("ledger").shape
        (0, 9)
    """
    t = table(name)
    return pd.DataFrame({f.name: pd.Series(dtype=PANDAS_DTYPES[f.dtype]) for f in t.fields})


def _cast(series: pd.Series, f: Field) -> pd.Series:
    if f.dtype in ("date", "datetime"):
        out = pd.to_datetime(series, errors="raise")
        out = out.astype("datetime64[ns]")
        return out.dt.normalize() if f.dtype == "date" else out
    if f.dtype == "int":
        return pd.to_numeric(series, errors="raise").astype("Int64")
    if f.dtype == "float":
        return pd.to_numeric(series, errors="raise").astype("float64")
    if f.dtype == "bool":
        return series.astype("boolean")
    return series.astype("string")


def conform(df: pd.DataFrame, name: str, *, drop_extra: bool = True) -> pd.DataFrame:
    """Return ``df`` with the registry's columns, order and dtypes (does not mutate ``df``).

    Optional columns that are absent are added as missing; an absent required column raises
    :class:`SchemaError` naming it. Extra columns are dropped unless ``drop_extra=False``.
    """
    t = table(name)
    missing = [f.name for f in t.fields if f.required and f.name not in df.columns]
    if missing:
        raise SchemaError(f"table {name!r}: required column(s) missing: {', '.join(missing)}")
    out = {}
    for f in t.fields:
        if f.name in df.columns:
            try:
                out[f.name] = _cast(df[f.name], f)
            except (ValueError, TypeError) as exc:
                raise SchemaError(f"table {name!r}, column {f.name!r}: cannot convert to {f.dtype}: {exc}") from exc
        else:
            out[f.name] = pd.Series(pd.NA, index=df.index, dtype=PANDAS_DTYPES[f.dtype]) \
                if f.dtype != "float" else pd.Series(np.nan, index=df.index, dtype="float64")
    result = pd.DataFrame(out, index=df.index)
    if not drop_extra:
        extra = [c for c in df.columns if c not in result.columns]
        result = pd.concat([result, df[extra]], axis=1)
    return result.reset_index(drop=True)


def _list_enum_check(allowed: tuple[str, ...]) -> pa.Check:
    allowed_set = set(allowed)

    def ok(series: pd.Series) -> pd.Series:
        def row_ok(value) -> bool:
            if value is pd.NA or value is None or value == "":
                return True
            return set(str(value).split(LIST_SEPARATOR)) <= allowed_set
        return series.map(row_ok).astype(bool)

    return pa.Check(ok, element_wise=False, error=f"every ';'-separated value must be one of {list(allowed)}")


def _column(f: Field) -> pa.Column:
    checks = []
    if f.dtype == "enum":
        checks.append(pa.Check.isin(list(f.enum), error=f"must be one of {list(f.enum)}"))
    if f.dtype == "list[enum]":
        checks.append(_list_enum_check(f.enum))
    if f.pattern:
        checks.append(pa.Check.str_matches(f.pattern, error=f"must match {f.pattern}"))
    if f.minimum is not None:
        checks.append(pa.Check.ge(f.minimum, error=f"must be >= {f.minimum}"))
    if f.maximum is not None:
        checks.append(pa.Check.le(f.maximum, error=f"must be <= {f.maximum}"))
    return pa.Column(
        PANDAS_DTYPES[f.dtype], checks=checks, nullable=not f.required, required=True,
        description=f.description, title=f.name,
    )


@lru_cache(maxsize=None)
def pandera_schema(name: str) -> pa.DataFrameSchema:
    """The pandera schema of a registered table (types, enums, ranges, primary key).

    Example:
        >>> "taken_into_custody" in pandera_schema("outcomes").columns
        True
    """
    t = table(name)
    return pa.DataFrameSchema(
        {f.name: _column(f) for f in t.fields},
        unique=list(t.primary_key),
        strict=True,
        ordered=True,
        name=name,
        description=t.description,
    )


def validate(df: pd.DataFrame, name: str) -> pd.DataFrame:
    """Validate ``df`` against the registry; raise :class:`SchemaError` with readable messages.

    The message lists, per column and check, how many rows fail and a few example values, so a
    person can find the problem without reading a pandera traceback.
    """
    try:
        return pandera_schema(name).validate(df, lazy=True)
    except SchemaErrors as exc:
        raise SchemaError(_describe_failures(name, exc.failure_cases)) from None


def _describe_failures(name: str, cases: pd.DataFrame) -> str:
    lines = [f"table {name!r} does not match the field registry:"]
    cases = cases.astype({"column": "string", "check": "string"}).fillna({"column": "(table)"})
    for (column, check), group in cases.groupby(["column", "check"], sort=True, dropna=False):
        examples = ", ".join(sorted({repr(v) for v in group["failure_case"].head(50)})[:5])
        rows = group["index"].dropna().astype(int).head(5).tolist() if "index" in group else []
        where = f" (rows {rows})" if rows else ""
        lines.append(f"  - column {column}: {check}: {len(group)} failing value(s){where}, e.g. {examples}")
    return "\n".join(lines)
