"""The canonical model: one field registry and what is generated from it."""

from sro_analysis.schema.registry import CANONICAL_TABLES, TABLES, Field, Table, table
from sro_analysis.schema.models import SchemaError, conform, empty_frame, pandera_schema, validate

__all__ = [
    "CANONICAL_TABLES", "TABLES", "Field", "Table", "table",
    "SchemaError", "conform", "empty_frame", "pandera_schema", "validate",
]
