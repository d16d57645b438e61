"""Sources described by a YAML mapping: another jurisdiction's files without new code.

A mapping (``docs/mapping.md``, ``examples/riverton/mapping.yaml``) becomes, at run time, one
:class:`~sro_analysis.clean.declare.Source` with one layout per file description: the columns
it reads (found by header, any order, any file name), how each is typed and mapped, the record
key, and a generic derivation (in SQL on the run's DuckDB) that fills the canonical tables.
The engine reads, types and checks the cells like any built-in source's, so every rule of the
engine holds here too: every raw row ends kept, merged or rejected in the ledger; an unmapped
label is rejected with file, row, column and value; an out-of-range value of an optional field
is blanked and flagged; a file missing a column the mapping reads stops the run naming it.

A field the file does not have is **unknown**, never "no": a column marked ``optional`` that is
absent gives the field's blank (``unknown`` for enums), and ``deescalation_documented``, when
not mapped itself, is ``yes``/``no`` only for files that have the de-escalation column(s).

Example:
    >>> from pathlib import Path
    >>> root = Path(__file__).resolve().parents[3] / "examples" / "riverton"
    >>> [source.name for source in sources_from_mapping(root / "mapping.yaml")]
    ['mapped:riverton']
    >>> [lay.name for lay in sources_from_mapping(root / "mapping.yaml")[0].layouts]
    ['riverton_use_of_force', 'riverton_campuses']
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import yaml

from sro_analysis.clean.declare import Col, Layout, Source
from sro_analysis.clean.derive import (
    DeriveContext, Derived, first_problem_sql, map_distinct, problem_fates_sql, resolve_keys,
)
from sro_analysis.clean.labels import LabelMap, inline_map, normalise_label
from sro_analysis.clean.sql import clean_text_sql, ident, literal, mint_id_sql, school_year_sql
from sro_analysis.schema.registry import LIST_SEPARATOR, table
from sro_analysis.standardize import hundred_block_key, name_ns, normalise_street

MAPPED_TABLES = ("schools", "incidents", "incident_subjects", "incident_officers", "officers", "outcomes",
                 "force_reports")
#: Keys of a table block that are not registry fields.
SPECIAL_KEYS = {"incident_officers": ("officer_key",), "officers": ("first_name", "last_name", "star"),
                "outcomes": ("labels", "label_patterns", "label_default")}
#: Fields the derivation fills itself (ids, links, provenance): a mapping cannot set them.
DERIVED_FIELDS = {
    "incidents": ("incident_id", "source_system", "school_year", "source_file"),
    "incident_subjects": ("subject_id", "incident_id", "source_file"),
    "incident_officers": ("incident_id", "officer_uid", "source_file"),
    "officers": ("officer_uid", "first_name_ns", "last_name_ns", "source"),
    "outcomes": ("outcome_id", "subject_id", "incident_id", "decided_by_officer_uid", "outcome_source_vocab",
                 "outcome_canonical", "taken_into_custody", "diversion_timing", "station_adjustment_type",
                 "source_file"),
    "force_reports": ("force_report_id", "incident_id", "subject_id", "officer_uid", "source_file"),
    "schools": (),
}
#: Required fields a mapping must fill (the rest have defaults, listed in docs/mapping.md).
MUST_MAP = {"incidents": ("source_record_id", "occurred_at"), "outcomes": ("police_contact", "warrant_or_alert_arrest",
            "outcome_raw"), "force_reports": ("source_report_id",), "schools": ("school_id", "name", "address")}
#: Text fields a record cannot do without: a blank cell rejects the row (``missing_value``).
REQUIRED_TEXT = (("incidents", "source_record_id"), ("force_reports", "source_report_id"), ("schools", "school_id"),
                 ("schools", "name"), ("schools", "address"))
OUTCOME_FIELDS = ("outcome_canonical", "taken_into_custody", "diversion_timing", "station_adjustment_type")
RULE_KEYS = ("column", "columns", "value", "type", "values", "patterns", "default", "blank", "optional", "separator")
TYPES = {"text": "text", "str": "text", "int": "int", "float": "float", "date": "date", "datetime": "datetime",
         "bool": "bool"}
FILE_KEYS = ("name", "recognise", "header_row", "record_key", "date_formats", "list_separator", *MAPPED_TABLES)
TOP_KEYS = ("mapping_version", "jurisdiction", "source_system", "outcome_vocab", "name", "files")


class MappingError(ValueError):
    """The YAML mapping itself is wrong; the message names the mapping file and the key."""


# -- reading and checking the YAML ----------------------------------------------------------------

def load_mapping(path: str | Path) -> dict:
    """Read and check a YAML mapping; errors name the file and the offending key."""
    path = Path(path)
    try:
        spec = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise MappingError(f"{path}: not valid YAML: {exc}") from exc
    except OSError as exc:
        raise MappingError(f"{path}: cannot be read: {exc}") from exc
    if not isinstance(spec, dict) or not isinstance(spec.get("files"), list) or not spec["files"]:
        raise MappingError(f"{path}: a mapping needs a non-empty 'files' list")
    _known_keys(spec, TOP_KEYS, f"{path}")
    names = [f.get("name") for f in spec["files"] if isinstance(f, dict)]
    for i, f in enumerate(spec["files"]):
        where = f"{path}: files[{i}]"
        if not isinstance(f, dict):
            raise MappingError(f"{where}: a file description is a mapping of keys, not {type(f).__name__}")
        _known_keys(f, FILE_KEYS, where)
        for key in ("name", "record_key"):
            if key not in f:
                raise MappingError(f"{where}: missing key {key!r}")
        _check_key(f, where)
        if names.count(f["name"]) > 1:
            raise MappingError(f"{where}: name {f['name']!r} is used by another file description")
        if "incidents" not in f and "schools" not in f:
            raise MappingError(f"{where}: every file must fill 'incidents' or 'schools' (the record each row is)")
        if "outcomes" in f and "incident_subjects" not in f:
            raise MappingError(f"{where}.outcomes: outcomes need incident_subjects in the same file")
        for tname in MAPPED_TABLES:
            if tname in f:
                _check_block(f[tname], tname, f"{where}.{tname}")
    return spec


def _check_key(f: dict, where: str) -> None:
    """``record_key``: a list of column names or ``{column: C, may_be_blank: true}``; ``recognise``: names."""
    key = f["record_key"]
    if not isinstance(key, list) or not key:
        raise MappingError(f"{where}.record_key: give a list of columns, e.g. [\"Report #\"]")
    for i, part in enumerate(key):
        if isinstance(part, dict):
            _known_keys(part, ("column", "may_be_blank"), f"{where}.record_key[{i}]")
            if "column" not in part:
                raise MappingError(f"{where}.record_key[{i}]: give the column ({{column: C, may_be_blank: true}})")
        elif not isinstance(part, (str, int, float)):
            raise MappingError(f"{where}.record_key[{i}]: a column name or {{column: C, may_be_blank: true}}")
    if not isinstance(f.get("recognise", []), list):
        raise MappingError(f"{where}.recognise: give a list of columns")


def _known_keys(block: dict, known: Iterable[str], where: str) -> None:
    unknown = [k for k in block if k not in known]
    if unknown:
        raise MappingError(f"{where}: unknown key(s) {', '.join(map(repr, unknown))}; known keys: {', '.join(known)}")


def _check_block(block, tname: str, where: str) -> None:
    if not isinstance(block, dict):
        raise MappingError(f"{where}: a table block maps field names to rules")
    t = table(tname)
    for fname, rule in block.items():
        if fname in SPECIAL_KEYS.get(tname, ()):
            continue
        if fname not in t.columns:
            raise MappingError(f"{where}: unknown field {fname!r}; fields of {tname}: {', '.join(t.columns)}")
        if fname in DERIVED_FIELDS[tname]:
            raise MappingError(f"{where}.{fname}: this field is filled by the engine (ids, links, provenance), "
                               "not by a mapping")
        if isinstance(rule, dict):
            _known_keys(rule, RULE_KEYS, f"{where}.{fname}")
            if "type" in rule and rule["type"] not in TYPES:
                raise MappingError(f"{where}.{fname}.type: {rule['type']!r} is not one of {', '.join(TYPES)}")
    for fname in MUST_MAP.get(tname, ()):
        if fname not in block:
            raise MappingError(f"{where}: needs {fname} (it has no default)")
    if tname == "outcomes":
        if "column" not in _rule(block["outcome_raw"]):
            raise MappingError(f"{where}.outcome_raw: name the column holding the outcome label")
        shape = f"give [{', '.join(OUTCOME_FIELDS)}]"
        for key in ("labels", "label_patterns"):
            for label, values in (block.get(key) or {}).items():
                if not isinstance(values, list) or len(values) != len(OUTCOME_FIELDS):
                    raise MappingError(f"{where}.{key}.{label}: {shape}")
        default = block.get("label_default")
        if default is not None and (not isinstance(default, list) or len(default) != len(OUTCOME_FIELDS)):
            raise MappingError(f"{where}.label_default: {shape}")


# -- from the YAML to declarations ------------------------------------------------------------------

@dataclass(frozen=True)
class FieldPlan:
    """How one canonical field is filled: a constant, a declared column's value, or a list of items."""

    table: str
    field: str
    constant: object = None
    is_constant: bool = False
    column: str | None = None  # staging column holding the value (scalar fields)
    items: tuple[tuple[str, str], ...] = ()  # list fields: (raw header, staging text column) per column
    item_map: LabelMap | None = None
    separator: str = ";"
    headers: tuple[str, ...] = ()


@dataclass
class FilePlan:
    """One file description compiled: its layout, its key and how each table's fields are filled."""

    name: str
    layout: Layout
    key: tuple[str, ...]  # staging text columns of the record key
    key_headers: tuple[str, ...]
    blank_key_ok: tuple[bool, ...]
    fields: dict[str, dict[str, FieldPlan]]

    @property
    def primary(self) -> str:
        return "incidents" if "incidents" in self.fields else "schools"

    def plan(self, tname: str, fname: str) -> FieldPlan | None:
        return self.fields.get(tname, {}).get(fname)


def _yaml_text(value: object, dtype: str | None) -> str | None:
    """A YAML scalar as the text a map holds (YAML 1.1 reads an unquoted yes/no as a boolean)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return ("yes" if value else "no") if dtype in ("enum", "list[enum]") else ("true" if value else "false")
    return str(value)


@dataclass
class _Columns:
    """Declared columns of a layout under construction: one reading column per header, variants as cell_of.

    A header read several ways (the outcome label as text and through four maps) gets one column
    per way; the first typed or mapped one carries the header's own name, so a problem names the
    file's column; the others read the same cell (``"Result → outcomes.taken_into_custody"``).
    """

    date_formats: tuple[str, ...]
    readers: dict[str, dict] = field(default_factory=dict)  # header -> {"need": bool, "variants": {sig: ...}}
    joined: list[tuple[str, tuple[str, ...], dict]] = field(default_factory=list)

    def header(self, name: str, need: bool) -> None:
        entry = self.readers.setdefault(str(name), {"need": False, "variants": {}})
        entry["need"] = entry["need"] or need

    def variant(self, header: str, purpose: str | None = None, options: dict | None = None) -> tuple[str, str]:
        """Ask for ``header`` read as text (``purpose`` None) or typed/mapped for ``purpose``; returns its handle."""
        signature = "text" if purpose is None else purpose
        self.readers[header]["variants"].setdefault(signature, options or {})
        return header, signature

    def join(self, headers: tuple[str, ...], options: dict, purpose: str) -> str:
        """The staging name of the cells of ``headers`` joined by a space, read as ``options``."""
        name = ", ".join(headers)
        for other, parts, opts in self.joined:
            if other == name and opts == options:
                return name
        if any(other == name for other, _, _ in self.joined):
            name = f"{name} → {purpose}"
        self.joined.append((name, headers, options))
        return name

    def build(self) -> tuple[tuple[Col, ...], dict[tuple[str, str], str]]:
        """The declared columns, and handle -> staging name."""
        cols, names = [], {}
        for header, entry in self.readers.items():
            variants = sorted(entry["variants"].items() or [("text", {})], key=lambda v: v[0] == "text")
            for i, (signature, options) in enumerate(variants):
                if i == 0:
                    name = header
                    cols.append(Col(name, need=entry["need"], **options))
                else:
                    name = f"{header} (text)" if signature == "text" else f"{header} → {signature}"
                    cols.append(Col(name, cell_of=header, **options))
                names[(header, signature)] = name
        for name, headers, options in self.joined:
            cols.append(Col(name, cells_of=tuple(names[(h, "text")] for h in headers), **options))
        return tuple(cols), names


def _rule(raw) -> dict:
    return raw if isinstance(raw, dict) else {"column": raw}


def _label_map(rule: dict, dtype: str | None, name: str, where: str, enum) -> LabelMap | None:
    if not any(k in rule for k in ("values", "patterns", "default")):
        return None
    values = {str(k): _yaml_text(v, dtype) for k, v in (rule.get("values") or {}).items()}
    patterns = [(str(k), _yaml_text(v, dtype)) for k, v in (rule.get("patterns") or {}).items()]
    default = _yaml_text(rule.get("default"), dtype)
    for k in (rule.get("values") or {}):
        if isinstance(k, bool):
            raise MappingError(f"{where}.values: the label {k!r} was read by YAML as a boolean; quote it (\"yes\")")
    allowed = set(enum or ()) | ({"true", "false"} if dtype == "bool" else set())
    if allowed:
        bad = sorted({v for v in [*values.values(), *(v for _, v in patterns), default] if v is not None} - allowed)
        if bad:
            raise MappingError(f"{where}: value(s) {', '.join(map(repr, bad))} are not allowed; allowed: "
                               f"{', '.join(sorted(allowed))}")
    return inline_map(name, values, patterns, default)


def _compile_file(fspec: dict, path: Path) -> FilePlan:
    """One file description -> its layout and field plans (raises MappingError naming the key)."""
    where = f"{path.name}: {fspec['name']}"
    columns = _Columns(tuple(fspec.get("date_formats") or ()))
    separator = str(fspec.get("list_separator", ";"))
    for header in fspec.get("recognise") or ():
        columns.header(header, need=True)
    key_headers, key_blank = [], []
    for part in fspec["record_key"]:
        part = part if isinstance(part, dict) else {"column": part}
        key_headers.append(str(part["column"]))
        key_blank.append(bool(part.get("may_be_blank", False)))
        columns.header(key_headers[-1], need=True)
    key_handles = [columns.variant(h) for h in key_headers]
    rules = [(t, f, _rule(raw)) for t in MAPPED_TABLES for f, raw in (fspec.get(t) or {}).items()
             if not (t == "outcomes" and f in SPECIAL_KEYS["outcomes"])]
    location = _rule((fspec.get("incidents") or {}).get("location_type", {"value": None}))
    if "column" in location and "location_raw" not in fspec.get("incidents", {}):
        # The text a location type is mapped from is kept beside it (location_raw).
        rules.append(("incidents", "location_raw", {"column": location["column"],
                                                    "optional": location.get("optional", False)}))
    for _, _, rule in rules:
        for header in rule.get("columns") or ([rule["column"]] if "column" in rule else []):
            columns.header(str(header), need=not rule.get("optional", False))
    requests = [_field_request(t, f, rule, columns, separator, where) for t, f, rule in rules]
    if "outcomes" in fspec:
        requests += _outcome_requests(fspec["outcomes"], columns, where)
    cols, names = columns.build()
    layout = Layout(fspec["name"], cols, key=tuple(names[h] for h in key_handles),
                    header_search=int(fspec.get("header_row", 30)), description=f"{path.name}: {fspec['name']}")
    plans: dict[str, dict[str, FieldPlan]] = {t: {} for t in MAPPED_TABLES if t in fspec}
    for request in requests:
        plan = request(names)
        plans[plan.table][plan.field] = plan
    return FilePlan(fspec["name"], layout, layout.key, tuple(key_headers), tuple(key_blank), plans)


def _field_request(tname: str, fname: str, rule: dict, columns: _Columns, separator: str, where: str):
    """Register the columns a field rule reads; return a function giving its FieldPlan once they are named."""
    f = table(tname).field(fname) if fname in table(tname).columns else None
    dtype = f.dtype if f is not None else "str"
    here = f"{where}.{tname}.{fname}"
    if "value" in rule:
        text = _yaml_text(rule["value"], dtype)
        if f is not None and dtype == "enum" and text not in f.enum:
            raise MappingError(f"{here}.value: {text!r} is not one of {', '.join(f.enum)}")
        return lambda names: FieldPlan(tname, fname, constant=text, is_constant=True)
    headers = [str(h) for h in (rule.get("columns") or ([rule["column"]] if "column" in rule else []))]
    if not headers:
        raise MappingError(f"{here}: give 'column', 'columns' or 'value'")
    if dtype == "list[enum]":
        # Items of every listed column (each cell split on the separator), mapped one by one.
        item_map = _label_map(rule, dtype, f"{where} {tname}.{fname}", here, f.enum) or \
            inline_map(f"{where} {tname}.{fname}", {v: v for v in f.enum})
        handles = [columns.variant(h) for h in headers]
        sep = str(rule.get("separator", separator))
        return lambda names: FieldPlan(tname, fname, items=tuple((h, names[x]) for h, x in zip(headers, handles)),
                                       item_map=item_map, separator=sep, headers=tuple(headers))
    options = _column_options(tname, fname, f, rule, columns.date_formats, where)
    if len(headers) > 1:  # cells joined with a space (a date and a time)
        for h in headers:
            columns.variant(h)
        name = columns.join(tuple(headers), options, f"{tname}.{fname}")
        return lambda names: FieldPlan(tname, fname, column=name, headers=tuple(headers))
    handle = columns.variant(headers[0], f"{tname}.{fname}" if options else None, options)
    return lambda names: FieldPlan(tname, fname, column=names[handle], headers=tuple(headers))


def _column_options(tname: str, fname: str, f, rule: dict, date_formats: tuple[str, ...], where: str) -> dict:
    """How the engine types, maps and checks a field's column (empty: plain text)."""
    dtype = f.dtype if f is not None else "str"
    kind = TYPES[rule["type"]] if rule.get("type") else None
    lmap = _label_map(rule, dtype, f"{where} {tname}.{fname}", f"{where}.{tname}.{fname}",
                      f.enum if f is not None else None)
    options: dict = {}
    if f is not None and dtype != "str":  # the registry gives range, allowed values and bad-value policy
        options["field"] = f"{tname}.{fname}"
    if kind and kind != "text":
        options["kind"] = kind
    if (kind or dtype) in ("date", "datetime"):
        options["formats"] = date_formats
    if lmap is not None:
        options["label_map"] = lmap
    blank = _yaml_text(rule.get("blank"), dtype)
    if blank is None and f is not None and f.enum and "unknown" in f.enum:
        blank = "unknown"  # an enum the source left blank, or a column the file lacks: unknown
    if blank is not None:
        options["blank"] = blank
    if f is not None and f.required and blank is None and dtype != "str" and not rule.get("optional", False):
        options["required_value"] = True
    return options


def _outcome_requests(block: dict, columns: _Columns, where: str) -> list:
    """The outcome ladder fields from the outcome label (``labels``, ``label_patterns``, ``label_default``)."""
    header = str(_rule(block["outcome_raw"]).get("column"))
    labels, patterns, default = block.get("labels") or {}, block.get("label_patterns") or {}, block.get("label_default")
    requests = []
    for i, fname in enumerate(OUTCOME_FIELDS):
        f = table("outcomes").field(fname)
        values = {str(k): _yaml_text(v[i], f.dtype) for k, v in labels.items()}
        rules = [(str(k), _yaml_text(v[i], f.dtype)) for k, v in patterns.items()]
        fallback = None if default is None else _yaml_text(default[i], f.dtype)
        bad = sorted({v for v in [*values.values(), *(v for _, v in rules), fallback] if v is not None} - set(f.enum))
        if bad:
            raise MappingError(f"{where}.outcomes.labels: {fname} value(s) {', '.join(map(repr, bad))} are not one "
                               f"of {', '.join(f.enum)}")
        lmap = inline_map(f"{where} outcomes.{fname}", values, rules, fallback)
        # A blank outcome label is "other_unknown / unknown": recorded as such, never a diversion.
        options = {"label_map": lmap, "field": f"outcomes.{fname}", "blank": "other_unknown" if i == 0 else "unknown"}
        handle = columns.variant(header, f"outcomes.{fname}", options)
        requests.append(lambda names, fname=fname, handle=handle: FieldPlan(
            "outcomes", fname, column=names[handle], headers=(header,)))
    return requests


def sources_from_mapping(path: str | Path) -> list[Source]:
    """The source a YAML mapping describes (one layout per file description), for ``clean(sources=...)``."""
    path = Path(path)
    spec = load_mapping(path)
    plans = [_compile_file(f, path) for f in spec["files"]]
    name = "mapped:" + str(spec.get("name") or (path.parent.name if path.stem == "mapping" else path.stem))
    system = str(spec.get("source_system", "other"))
    allowed = table("incidents").field("source_system").enum
    if system not in allowed:
        raise MappingError(f"{path}: source_system {system!r} is not one of {', '.join(allowed)}")
    vocab = str(spec.get("outcome_vocab", "other"))
    if vocab not in table("outcomes").field("outcome_source_vocab").enum:
        raise MappingError(f"{path}: outcome_vocab {vocab!r} is not one of "
                           f"{', '.join(table('outcomes').field('outcome_source_vocab').enum)}")
    derive = MappedDerivation(tuple(plans), system, vocab)
    description = f"{spec.get('jurisdiction', 'mapped source')} ({path.name})"
    return [Source(name, description, tuple(p.layout for p in plans), derive, family="mapped",
                   notes=(f"mapping {path.name}, version {spec.get('mapping_version', '?')}",))]


def sources_with_mapping(family: str | None, mapping) -> list[Source]:
    """A family's built-in sources plus the mapped ones (``--source chicago --mapping x.yaml``).

    ``mapping`` is one YAML path or several; ``family`` ``"mapped"`` (or None) means the mapped
    sources alone.

    Example:
        >>> from pathlib import Path
        >>> yaml_path = Path(__file__).resolve().parents[3] / "examples" / "riverton" / "mapping.yaml"
        >>> [s.name for s in sources_with_mapping("synthetic", yaml_path)]
        ['synthetic_release', 'mapped:riverton']
    """
    from sro_analysis.sources import sources_for

    paths = [] if mapping is None else [mapping] if isinstance(mapping, (str, Path)) else list(mapping)
    builtin = sources_for(family) if family and family != "mapped" else []
    return builtin + [s for path in paths for s in sources_from_mapping(path)]


# -- the generic derivation (SQL) -------------------------------------------------------------------

@dataclass(frozen=True)
class MappedDerivation:
    """``derive`` of a mapped source: every file description's tables and fates, in SQL."""

    plans: tuple[FilePlan, ...]
    source_system: str
    outcome_vocab: str

    def __call__(self, ctx: DeriveContext) -> Derived:
        out = Derived()
        tables: dict[str, list[str]] = {}
        for i, plan in enumerate(self.plans):
            built = _FileDerivation(ctx, plan, f"map{i}", self.source_system, self.outcome_vocab, out)
            for name, relation in built.run().items():
                tables.setdefault(name, []).append(relation)
        for name, relations in tables.items():
            union = " UNION ALL BY NAME ".join(f"SELECT * FROM {r}" for r in relations)
            ctx.con.execute(f"CREATE OR REPLACE TEMP TABLE {ident('mapped_' + name)} AS {union}")
            out.tables[name] = ident("mapped_" + name)
        return out


def _sql_constant(value: str | None, dtype: str) -> str:
    if value is None:
        return "NULL"
    cast = {"bool": "BOOLEAN", "int": "BIGINT", "float": "DOUBLE", "date": "DATE", "datetime": "TIMESTAMP"}.get(dtype)
    return f"CAST({literal(value)} AS {cast})" if cast else literal(value)


@dataclass
class _FileDerivation:
    ctx: DeriveContext
    plan: FilePlan
    prefix: str
    system: str
    vocab: str
    out: Derived

    def sql(self, query: str):
        return self.ctx.con.execute(query)

    def temp(self, name: str, query: str) -> str:
        full = ident(f"{self.prefix}_{name}")
        self.sql(f"CREATE OR REPLACE TEMP TABLE {full} AS {query}")
        return full

    def view(self, name: str, query: str) -> str:
        full = ident(f"{self.prefix}_{name}")
        self.sql(f"CREATE OR REPLACE TEMP VIEW {full} AS {query}")
        return full

    def fate(self, name: str, query: str) -> None:
        full = ident(f"{self.prefix}_{name}")
        self.sql(f"CREATE OR REPLACE TEMP VIEW {full} AS {query}")
        self.out.fates.append(full)

    # field values --------------------------------------------------------------------------------
    def value(self, tname: str, fname: str, default: str = "NULL") -> str:
        """SQL of a field over the staged rows (``r``), or ``default`` when the mapping leaves it out."""
        p = self.plan.plan(tname, fname)
        if p is None:
            return default
        dtype = table(tname).field(fname).dtype if fname in table(tname).columns else "str"
        if p.is_constant:
            return _sql_constant(p.constant, dtype)
        if p.items:
            return f"r.{ident(f'list__{tname}__{fname}')}"
        expr = f"r.{ident(p.column)}"
        if dtype == "bool":
            return f"CAST({expr} AS BOOLEAN)"
        return clean_text_sql(f"CAST({expr} AS VARCHAR)") if dtype == "str" else expr

    def text(self, tname: str, fname: str) -> str:
        """A field's cleaned text (ids are minted from text)."""
        return clean_text_sql(f"CAST({self.value(tname, fname)} AS VARCHAR)")

    def has_columns(self, headers: Iterable[str]) -> str:
        """SQL: the row's file has at least one of these columns."""
        names = set(headers)
        files = sorted(p.label for p in self.ctx.parts.get(self.plan.name, [])
                       if any(p.has_column(c.name) for c in self.plan.layout.columns if c.name in names))
        return f"r.source_file IN ({', '.join(map(literal, files))})" if files else "FALSE"

    # steps ---------------------------------------------------------------------------------------
    def run(self) -> dict[str, str]:
        view = self.ctx.view(self.plan.name)
        lists = [p for block in self.plan.fields.values() for p in block.values() if p.items]
        items = self.list_items(view, lists)
        key_parts = [clean_text_sql(f"CAST(v.{ident(k)} AS VARCHAR)") for k in self.plan.key]
        problems = []
        blank = [f"{part} IS NULL" for part, ok in zip(key_parts, self.plan.blank_key_ok) if not ok]
        if blank:
            # Named: the parts that may not be blank (a part marked may_be_blank is a value when blank).
            headers = ", ".join(h for h, ok in zip(self.plan.key_headers, self.plan.blank_key_ok) if not ok)
            problems.append((" OR ".join(blank), "missing_key", literal(f"the record key ({headers}) is blank"),
                             headers, "NULL"))
        for tname, fname in REQUIRED_TEXT:
            p = self.plan.plan(tname, fname)
            if p is not None and p.column is not None and not set(p.headers) <= set(self.plan.key_headers):
                headers = ", ".join(p.headers)
                problems.append((f"{clean_text_sql(f'CAST(v.{ident(p.column)} AS VARCHAR)')} IS NULL", "missing_value",
                                 literal(f"{headers} is blank, and {tname}.{fname} needs a value"), headers, "NULL"))
        problem = first_problem_sql(*problems) if problems else "NULL"
        # An unmapped list item comes as a whole problem struct from the list step.
        bad = [f"i.{ident(f'bad__{p.table}__{p.field}')}" for p in lists]
        problem = f"coalesce({', '.join([problem, *bad])})" if bad else problem
        list_cols = "".join(f", i.{ident(f'list__{p.table}__{p.field}')}" for p in lists)
        join = f"LEFT JOIN {items} i USING (source_file, source_row)" if items else ""
        keys = "".join(f", {part} AS {ident(f'key__{n}')}" for n, part in enumerate(key_parts))
        # One table of the staged rows with their keys, list fields, first problem and ids (the ids
        # in an outer query: they read the row's values); everything after it is a view.
        rows = self.temp("rows", f"""SELECT r.*, {self.id_columns()} FROM (
            SELECT v.*{keys}{list_cols}, {problem} AS problem FROM {view} v {join}) r""")
        self.fate("problems", problem_fates_sql(rows))
        good = self.view("good", f"SELECT * EXCLUDE (problem) FROM {rows} WHERE problem IS NULL")
        record_table, record_id = self.record()
        keyed = resolve_keys(self.ctx.con, good, [f"key__{n}" for n in range(len(key_parts))], table=record_table,
                             record_id=record_id, name=f"{self.prefix}_keys",
                             key_label=", ".join(self.plan.key_headers))
        self.out.fates.append(keyed.fates)
        return self.tables(keyed.kept)

    def list_items(self, view: str, lists: list[FieldPlan]) -> str | None:
        """Per row and list field: the sorted mapped items, and the first item no map knows."""
        if not lists:
            return None
        parts = []
        for n, p in enumerate(lists):
            for header, column in p.items:
                parts.append(f"""SELECT source_file, source_row, {n} AS field, {literal(header)} AS header,
                    {p.items.index((header, column))} AS col, i AS pos, trim(t) AS item FROM (
                    SELECT source_file, source_row, unnest(s) AS t, generate_subscripts(s, 1) AS i FROM (
                    SELECT source_file, source_row, string_split({ident(column)}, {literal(p.separator)}) AS s
                    FROM {view} WHERE {ident(column)} IS NOT NULL)) WHERE trim(t) <> ''""")
        tokens = self.temp("items", " UNION ALL ".join(parts))
        looked = []
        for n, p in enumerate(lists):
            def look(values: pd.Series, lmap=p.item_map) -> pd.DataFrame:
                hits = [lmap.lookup(normalise_label(v)) for v in values]
                return pd.DataFrame({"value": pd.Series([(h or {}).get("value") or None for h in hits], dtype="string"),
                                     "mapped": [h is not None for h in hits]})
            name = map_distinct(self.ctx.con, f"{self.prefix}_items_{n}",
                                f"SELECT item FROM {tokens} WHERE field = {n}", look)
            looked.append(f"SELECT {n} AS field, * FROM {name}")
        table_sql = self.temp("item_values", " UNION ALL ".join(looked))
        aggregates = []
        sep = literal(LIST_SEPARATOR)
        for n, p in enumerate(lists):
            message = (f"t.header || ': ' || '''' || t.item || ''' is not in the mapping''s values for "
                       f"{p.table}.{p.field}'")
            aggregates.append(
                f"string_agg(DISTINCT m.value, {sep} ORDER BY m.value) FILTER (WHERE t.field = {n}) "
                f"AS {ident(f'list__{p.table}__{p.field}')}")
            aggregates.append(
                f"(min({{'c': t.col, 'p': t.pos, 'problem': {{'reason': 'unmapped_label', 'message': {message}, "
                f"'column': t.header, 'value': t.item}}}}) FILTER (WHERE t.field = {n} AND NOT m.mapped)).problem "
                f"AS {ident(f'bad__{p.table}__{p.field}')}")
        return self.temp("lists", f"""SELECT t.source_file, t.source_row, {', '.join(aggregates)}
            FROM {tokens} t JOIN {table_sql} m ON m.field = t.field AND m.key = t.item
            GROUP BY t.source_file, t.source_row""")

    def id_columns(self) -> str:
        """The ids every table of a row shares (incident, subject, officer)."""
        system = literal(self.system)
        keys = [f"r.{ident(f'key__{n}')}" for n in range(len(self.plan.key))]
        cols = []
        if self.plan.primary == "schools":
            cols.append(f"{self.text('schools', 'school_id')} AS __school_id")
        else:
            record = self.text("incidents", "source_record_id")
            cols.append(f"{mint_id_sql('inc', [system, record])} AS __incident_id")
            cols.append(f"{mint_id_sql('sub', [system, *keys])} AS __subject_id")
            officer = self.plan.plan("incident_officers", "officer_key")
            if officer is not None:
                text = self.text("incident_officers", "officer_key")
                cols.append(f"CASE WHEN {text} IS NOT NULL THEN {mint_id_sql('off', [system, text])} END AS __officer_uid")
            else:
                cols.append("CAST(NULL AS VARCHAR) AS __officer_uid")
            if "force_reports" in self.plan.fields:
                report = self.text("force_reports", "source_report_id")
                cols.append(f"{mint_id_sql('frc', [system, report, *keys])} AS __force_report_id")
        return ", ".join(cols)

    def record(self) -> tuple[str, str]:
        """The table each row is a record of in the ledger, and its id (see docs/mapping.md)."""
        if self.plan.primary == "schools":
            return "schools", "__school_id"
        source_id = self.plan.plan("incidents", "source_record_id")
        if source_id is not None and set(source_id.headers) == set(self.plan.key_headers):
            return "incidents", "__incident_id"
        if "incident_subjects" in self.plan.fields:
            return "incident_subjects", "__subject_id"
        if "force_reports" in self.plan.fields:
            return "force_reports", "__force_report_id"
        return "incidents", "__incident_id"

    # tables --------------------------------------------------------------------------------------
    def tables(self, kept: str) -> dict[str, str]:
        if self.plan.primary == "schools":
            return {"schools": self.schools(kept)}
        out = {"incidents": self.incidents(kept)}
        if "incident_subjects" in self.plan.fields:
            out["incident_subjects"] = self.subjects(kept)
        if self.plan.plan("incident_officers", "officer_key") is not None:
            out["incident_officers"] = self.incident_officers(kept)
            out["officers"], ids = self.officers(kept)
            if ids:
                out["officer_identifiers"] = ids
        if "outcomes" in self.plan.fields:
            out["outcomes"] = self.outcomes(kept)
        if "force_reports" in self.plan.fields:
            out["force_reports"] = self.force_reports(kept)
        return out

    def select(self, tname: str, defaults: dict[str, str], kept: str, *, fixed: dict[str, str] | None = None,
               where: str = "") -> str:
        """A table's fields from the kept rows: ``fixed`` ones, the mapping's rules, else ``defaults``."""
        fixed = fixed or {}
        cols = []
        for f in table(tname).columns:
            if f in fixed:
                cols.append(f"{fixed[f]} AS {ident(f)}")
            elif self.plan.plan(tname, f) is not None or f in defaults:
                cols.append(f"{self.value(tname, f, defaults.get(f, 'NULL'))} AS {ident(f)}")
        cols += [f"{expr} AS {ident(f)}" for f, expr in fixed.items() if f not in table(tname).columns]
        return f"SELECT {', '.join(cols)} FROM {kept} r {where}"

    def per_distinct(self, name: str, tname: str, fname: str, kept: str, verb) -> str | None:
        """SQL of ``verb`` (a Series -> Series function) applied to a text field, once per distinct value."""
        p = self.plan.plan(tname, fname)
        if p is None or p.is_constant:
            return None
        text = self.text(tname, fname)
        done = map_distinct(self.ctx.con, f"{self.prefix}_{name}", f"SELECT {text} FROM {kept} r",
                            lambda s: pd.DataFrame({"out": verb(s).astype("string")}))
        return f"(SELECT out FROM {done} WHERE key = {text})"

    def schools(self, kept: str) -> str:
        address = self.per_distinct("street", "schools", "address", kept,
                                    lambda s: s.map(normalise_street)) or self.text("schools", "address")
        return self.temp("schools", self.select("schools", {"school_type": "'unknown'"}, kept, fixed={
            "school_id": "r.__school_id", "address": address}))

    def incidents(self, kept: str) -> str:
        occurred = self.value("incidents", "occurred_at")
        school = self.value("incidents", "school_id_occurrence")
        block = self.per_distinct("block", "incidents", "block_address", kept, lambda s: s.map(hundred_block_key))
        fixed = {"incident_id": "r.__incident_id", "source_system": literal(self.system),
                 "source_record_id": self.text("incidents", "source_record_id"),
                 "school_year": school_year_sql(occurred), "source_file": "r.source_file"}
        if block:
            fixed["block_address"] = block
        defaults = {
            "school_match_method": f"CASE WHEN {school} IS NOT NULL THEN 'source_id' ELSE 'none' END",
            "school_match_ambiguous": "FALSE", "location_type": "'unknown'", "during_school_hours": "'unknown'",
            "referral_source": "'unknown'", "police_notified": "'unknown'", "offense_class": "'unknown'",
            "geocode_precision": f"CASE WHEN {block or 'NULL'} IS NOT NULL THEN 'block' ELSE 'none' END",
        }
        keys = ", ".join(f"r.{ident(f'key__{n}')}" for n in range(len(self.plan.key)))
        # One incident per record number: when several rows (subjects, officers) describe it, its
        # fields come from the row with the lowest record key, whatever the rows' order.
        return self.temp("incidents", f"""SELECT * EXCLUDE (__order) FROM (
            {self.select('incidents', defaults, kept, fixed={**fixed, '__order': f'[{keys}]'})})
            QUALIFY row_number() OVER (PARTITION BY incident_id ORDER BY __order) = 1""")

    def subjects(self, kept: str) -> str:
        return self.temp("subjects", self.select("incident_subjects", {
            "role": "'unknown'", "is_student": "'unknown'", "race_ethnicity": "'unknown'", "sex": "'unknown'"}, kept,
            fixed={"subject_id": "r.__subject_id", "incident_id": "r.__incident_id", "source_file": "r.source_file"}))

    def incident_officers(self, kept: str) -> str:
        rows = self.select("incident_officers", {"role": "'involved'", "is_assigned_sro": "FALSE"}, kept, fixed={
            "incident_id": "r.__incident_id", "officer_uid": "r.__officer_uid", "source_file": "r.source_file"},
            where="WHERE r.__officer_uid IS NOT NULL")
        return self.temp("incident_officers", f"SELECT DISTINCT ON (incident_id, officer_uid, role) * FROM ({rows}) "
                                              "ORDER BY incident_id, officer_uid, role, source_file")

    def officers(self, kept: str) -> tuple[str, str | None]:
        # An officer block without names (badge only) gives empty names: linkage matches on the badge.
        first = self.per_distinct("first_name", "officers", "first_name", kept, name_ns) or "NULL"
        last = self.per_distinct("last_name", "officers", "last_name", kept, name_ns) or "NULL"
        officers = self.temp("officers", f"""SELECT DISTINCT ON (officer_uid) * FROM (
            SELECT r.__officer_uid AS officer_uid, coalesce({first}, '') AS first_name_ns,
                   coalesce({last}, '') AS last_name_ns, 'unknown' AS gender, 'unknown' AS race, r.source_file AS source
            FROM {kept} r WHERE r.__officer_uid IS NOT NULL)
            ORDER BY officer_uid, source, last_name_ns, first_name_ns""")
        if self.plan.plan("officers", "star") is None:
            return officers, None
        star = self.text("officers", "star")
        occurred = self.value("incidents", "occurred_at")
        ids = self.temp("officer_ids", f"""SELECT r.__officer_uid AS officer_uid, 'star' AS id_type, {star} AS value,
            CAST(min({occurred}) AS DATE) AS valid_from, CAST(max({occurred}) AS DATE) AS valid_to,
            r.source_file AS source
            FROM {kept} r WHERE r.__officer_uid IS NOT NULL AND {star} IS NOT NULL GROUP BY r.__officer_uid, {star},
            r.source_file""")
        return officers, ids

    def outcomes(self, kept: str) -> str:
        raw = self.text("outcomes", "outcome_raw")
        return self.temp("outcomes", self.select("outcomes", {}, kept, fixed={
            "outcome_id": mint_id_sql("out", ["r.__subject_id"]), "subject_id": "r.__subject_id",
            "incident_id": "r.__incident_id", "decided_by_officer_uid": "r.__officer_uid",
            "outcome_raw": f"coalesce({raw}, '(blank)')", "outcome_source_vocab": literal(self.vocab),
            "source_file": "r.source_file"}))

    def force_reports(self, kept: str) -> str:
        tactics = self.plan.plan("force_reports", "deescalation_tactics")
        if tactics is not None and tactics.items:
            listed = self.value("force_reports", "deescalation_tactics")
            # Documented only where the file has the de-escalation column(s); a file without them is unknown.
            documented = (f"CASE WHEN NOT ({self.has_columns(tactics.headers)}) THEN 'unknown' "
                          f"WHEN {listed} IS NOT NULL THEN 'yes' ELSE 'no' END")
        else:
            documented = "'unknown'"
        subject = "r.__subject_id" if "incident_subjects" in self.plan.fields else "NULL"
        return self.temp("force_reports", self.select("force_reports", {
            "report_type": "'other_uof'", "subject_resistance": "'unknown'", "reportable_force_level": "'unknown'",
            "deescalation_documented": documented, "subject_injured": "'unknown'", "member_injured": "'unknown'"}, kept,
            fixed={"force_report_id": "r.__force_report_id",
                   "source_report_id": self.text("force_reports", "source_report_id"),
                   "incident_id": "r.__incident_id", "subject_id": subject, "officer_uid": "r.__officer_uid",
                   "source_file": "r.source_file"}))


__all__ = ["MappingError", "load_mapping", "sources_from_mapping", "sources_with_mapping", "MappedDerivation",
           "FieldPlan", "FilePlan"]
