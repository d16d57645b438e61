"""The Markdown codebook, generated from the field registry (never written by hand).

Example:
    >>> text = codebook_markdown(["outcomes"])
    >>> "taken_into_custody" in text and text.startswith("# Codebook")
    True
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from sro_analysis.schema.registry import TABLES, Table

_SENSITIVITY_NOTE = {
    "public": "public",
    "restricted": "restricted tier only",
    "never": "never published",
}


def _allowed(f) -> str:
    if f.enum:
        return ", ".join(f"`{v}`" for v in f.enum)
    bits = []
    if f.pattern:
        bits.append(f"pattern `{f.pattern}`")
    if f.minimum is not None:
        bits.append(f">= {f.minimum:g}")
    if f.maximum is not None:
        bits.append(f"<= {f.maximum:g}")
    return "; ".join(bits)


def table_markdown(t: Table, *, examples: Mapping[str, str] | None = None, columns: Iterable[str] | None = None) -> str:
    """One table's section: grain, keys, then one row per field."""
    keep = list(columns) if columns is not None else t.columns
    lines = [f"## `{t.name}`", "", t.description, "", f"*Grain*: {t.grain}. *Primary key*: "
             + ", ".join(f"`{k}`" for k in t.primary_key) + "."]
    fks = [fk for fk in t.foreign_keys if fk[0] in keep]
    if fks:
        lines.append("*Foreign keys*: " + "; ".join(f"`{c}` → `{rt}.{rf}`" for c, rt, rf in fks) + ".")
    header = "| field | type | required | allowed values | sensitivity | description |"
    sep = "|---|---|---|---|---|---|"
    if examples is not None:
        header = header[:-1] + "| example |"
        sep += "---|"
    lines += ["", header, sep]
    for f in t.fields:
        if f.name not in keep:
            continue
        row = (f"| `{f.name}` | {f.dtype} | {'yes' if f.required else 'no'} | {_allowed(f)} | "
               f"{_SENSITIVITY_NOTE[f.sensitivity]} | {f.description} |")
        if examples is not None:
            row += f" {examples.get(f.name, '')} |"
        lines.append(row)
    return "\n".join(lines) + "\n"


def codebook_markdown(tables: Iterable[str] | None = None) -> str:
    """The codebook of the given tables (all registered tables by default)."""
    names = list(tables) if tables is not None else list(TABLES)
    parts = ["# Codebook", "",
             "Generated from the field registry (`sro_analysis.schema.registry`). Missing values are "
             "empty cells; `unknown` is a value meaning the source said it did not know. Lists are "
             "`;`-separated. Dates are ISO 8601.", ""]
    parts += [table_markdown(TABLES[n]) for n in names]
    return "\n".join(parts)
