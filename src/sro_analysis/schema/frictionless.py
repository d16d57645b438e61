"""Frictionless Table Schemas generated from the field registry.

Example:
    >>> schema = table_schema("outcomes")
    >>> schema["primaryKey"], schema["fields"][0]["name"]
    (['outcome_id'], 'outcome_id')
"""

from __future__ import annotations

from collections.abc import Iterable

from sro_analysis.schema.registry import TABLES

_TYPES = {
    "str": "string", "enum": "string", "list[enum]": "string", "int": "integer", "float": "number",
    "bool": "boolean", "date": "date", "datetime": "datetime",
}

#: How missing values are written in published CSVs.
MISSING_VALUES = [""]


def field_descriptor(f) -> dict:
    """The Frictionless field descriptor of one registry field."""
    out = {"name": f.name, "type": _TYPES[f.dtype], "description": f.description}
    constraints = {}
    if f.required:
        constraints["required"] = True
    if f.dtype == "enum":
        constraints["enum"] = list(f.enum)
    if f.dtype == "list[enum]":
        constraints["pattern"] = "(" + "|".join(f.enum) + ")(;(" + "|".join(f.enum) + "))*"
    if f.pattern:
        constraints["pattern"] = f.pattern.lstrip("^").rstrip("$")
    if f.minimum is not None:
        constraints["minimum"] = int(f.minimum) if f.dtype == "int" else f.minimum
    if f.maximum is not None:
        constraints["maximum"] = int(f.maximum) if f.dtype == "int" else f.maximum
    if constraints:
        out["constraints"] = constraints
    if f.dtype == "bool":
        out["trueValues"], out["falseValues"] = ["true"], ["false"]
    return out


def table_schema(name: str, *, columns: Iterable[str] | None = None, foreign_tables: Iterable[str] = ()) -> dict:
    """Frictionless Table Schema of a registry table (optionally a subset of its columns).

    Foreign keys are declared only to tables in ``foreign_tables`` (those published alongside).
    """
    t = TABLES[name]
    keep = list(columns) if columns is not None else t.columns
    fields = [field_descriptor(f) for f in t.fields if f.name in keep]
    schema = {"fields": fields, "missingValues": MISSING_VALUES}
    if all(k in keep for k in t.primary_key):
        schema["primaryKey"] = list(t.primary_key)
    fks = [
        {"fields": col, "reference": {"resource": ref_table, "fields": ref_field}}
        for col, ref_table, ref_field in t.foreign_keys
        if col in keep and ref_table in set(foreign_tables)
    ]
    if fks:
        schema["foreignKeys"] = fks
    return schema
