"""A generic adapter driven by a YAML mapping: another jurisdiction's files without new code.

A mapping (see ``docs/mapping.md`` and ``examples/riverton/mapping.yaml``) says, per file
layout: which header columns recognise it, where its header is, which columns make a record
key, the date formats, and for each canonical table how each field is filled: from a column
(optionally through a value map or a type), from several columns joined, or a constant.

Values not in a value map are *unmapped*: the row is rejected in the ledger with file, row,
column and value, never coerced to ``unknown``. Blank cells map to ``unknown`` (enums) or
missing (optional fields).

Example:
    >>> from pathlib import Path
    >>> root = Path(__file__).resolve().parents[3] / "examples" / "riverton"
    >>> [a.name for a in adapters_from_mapping(root / "mapping.yaml")]
    ['mapped:riverton_use_of_force', 'mapped:riverton_campuses']
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import yaml

from sro_analysis.ids import mint_ids
from sro_analysis.ledger import Ledger
from sro_analysis.schema.models import conform
from sro_analysis.schema.registry import LIST_SEPARATOR, table
from sro_analysis.sources.base import (
    AdapterOutput, CleanContext, RawHead, SourceAdapter, SourceFile, read_raw_csv, reject_bad_lines,
)
from sro_analysis.standardize import clean_text, hundred_block_key, name_ns, normalise_street, parse_dates, school_year

MAPPED_TABLES = ("schools", "incidents", "incident_subjects", "incident_officers", "officers", "outcomes", "force_reports")
_OUTCOME_FIELDS = ("outcome_canonical", "taken_into_custody", "diversion_timing", "station_adjustment_type")


class MappingError(ValueError):
    """The YAML mapping itself is wrong; the message names the file and the key."""


@dataclass
class RowProblems:
    """Per-row first problem found (reason, message, column, value), in row order."""

    frame: pd.DataFrame

    @classmethod
    def empty(cls, index) -> "RowProblems":
        return cls(pd.DataFrame({"reason": pd.Series(pd.NA, index=index, dtype="string"),
                                 "message": pd.Series(pd.NA, index=index, dtype="string"),
                                 "column": pd.Series(pd.NA, index=index, dtype="string"),
                                 "value": pd.Series(pd.NA, index=index, dtype="string")}))

    def add(self, mask: pd.Series, reason: str, message: str, column: str, values: pd.Series) -> None:
        new = mask & self.frame["reason"].isna()
        self.frame.loc[new, "reason"] = reason
        self.frame.loc[new, "message"] = message
        self.frame.loc[new, "column"] = column
        self.frame.loc[new, "value"] = values[new].astype("string")

    @property
    def bad(self) -> pd.Series:
        return self.frame["reason"].notna()


def load_mapping(path: str | Path) -> dict:
    """Read and check a YAML mapping; errors name the file and the offending key."""
    path = Path(path)
    try:
        spec = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise MappingError(f"{path}: not valid YAML: {exc}") from exc
    if not isinstance(spec, dict) or not isinstance(spec.get("files"), list) or not spec["files"]:
        raise MappingError(f"{path}: a mapping needs a non-empty 'files' list")
    for i, f in enumerate(spec["files"]):
        where = f"{path}: files[{i}]"
        for key in ("name", "recognise", "record_key"):
            if key not in f:
                raise MappingError(f"{where}: missing key {key!r}")
        if "incidents" not in f and "schools" not in f:
            raise MappingError(f"{where}: every file must fill 'incidents' or 'schools' (the record each row is)")
        for tname in f:
            if tname in MAPPED_TABLES:
                known = set(table(tname).columns) | {"officer_key", "first_name", "last_name", "star", "labels"}
                for field_name in f[tname]:
                    if field_name not in known:
                        raise MappingError(f"{where}.{tname}: unknown field {field_name!r}; "
                                           f"fields of {tname}: {', '.join(table(tname).columns)}")
    return spec


def adapters_from_mapping(path: str | Path) -> list["MappedAdapter"]:
    """One adapter per file layout described in the mapping."""
    spec = load_mapping(path)
    return [MappedAdapter(spec, f, Path(path)) for f in spec["files"]]


class MappedAdapter(SourceAdapter):
    """Reads one file layout of a YAML mapping into the canonical tables."""

    def __init__(self, spec: dict, file_spec: dict, mapping_path: Path) -> None:
        self.spec, self.file_spec, self.mapping_path = spec, file_spec, mapping_path
        self.name = f"mapped:{file_spec['name']}"
        self.description = f"{spec.get('jurisdiction', 'mapped source')}: {file_spec['name']} ({mapping_path.name})"

    def recognises(self, head: RawHead) -> bool:
        header = set(head.header_at(int(self.file_spec.get("header_row", 1)) - 1))
        return set(self.file_spec["recognise"]) <= header

    # -- field evaluation ----------------------------------------------------------------------
    def _column(self, raw: pd.DataFrame, name: str, where: str) -> pd.Series:
        if name not in raw.columns:
            raise MappingError(f"{self.mapping_path}: {where} names column {name!r}, which the file does not have "
                               f"(columns: {', '.join(c for c in raw.columns if c != 'source_row')})")
        return raw[name]

    def _value(self, raw: pd.DataFrame, tname: str, fname: str, rule, problems: RowProblems) -> pd.Series:
        """Evaluate one field rule over the raw frame; unmapped/unparseable values go to problems."""
        where = f"{self.file_spec['name']}.{tname}.{fname}"
        if not isinstance(rule, dict):
            rule = {"column": rule}
        f = table(tname).field(fname) if fname in table(tname).columns else None
        if "value" in rule:
            value = rule["value"]
            if isinstance(value, bool) and f is not None and f.dtype == "enum":
                value = "yes" if value else "no"  # YAML reads an unquoted yes/no as a boolean
            return pd.Series([value] * len(raw), index=raw.index, dtype="object")
        cols = rule.get("columns") or [rule["column"]]
        parts = [clean_text(self._column(raw, c, where)) for c in cols]
        text = parts[0]
        for p in parts[1:]:
            text = text.str.cat(p, sep=" ", na_rep="").str.strip().replace("", pd.NA)
        label = ", ".join(cols)
        if "values" in rule:
            return self._map(text, rule["values"], f, label, problems, multi=f is not None and f.dtype == "list[enum]")
        kind = rule.get("type") or (f.dtype if f is not None else "str")
        if kind in ("date", "datetime"):
            parsed, failed = parse_dates(text, self.file_spec.get("date_formats", ["%Y-%m-%d"]))
            problems.add(failed, "unparseable_date", f"{label}: not a date in any of the mapping's date_formats",
                         label, text)
            return parsed
        if kind in ("int", "float"):
            # "1,234" is a thousands separator, not a decimal comma (US agency exports).
            num = pd.to_numeric(text.str.replace(r"(?<=\d),(?=\d{3}\b)", "", regex=True), errors="coerce")
            bad = text.notna() & num.isna()
            if kind == "int":
                bad |= num.notna() & (num != num.round())  # 15.5 is not an age in years
            what = "a whole number" if kind == "int" else "a number"
            problems.add(bad.fillna(False), "invalid_number", f"{label}: not {what} ({fname})", label, text)
            low = f.minimum if f is not None and f.minimum is not None else -float("inf")
            high = f.maximum if f is not None and f.maximum is not None else float("inf")
            outside = (num < low) | (num > high)
            problems.add(outside.fillna(False), "out_of_range",
                         f"{label}: outside the range {low:g} to {high:g} allowed for {fname}", label, text)
            return num.where(~(bad | outside))
        return text

    def _map(self, text: pd.Series, values: dict, f, label: str, problems: RowProblems, *, multi: bool) -> pd.Series:
        lookup = {str(k).strip().upper(): v for k, v in values.items()}
        if multi:
            sep = self.file_spec.get("list_separator", ";")

            def one(cell):
                if cell is pd.NA or cell is None:
                    return "", []
                items = [p.strip().upper() for p in str(cell).split(sep) if p.strip()]
                missing = [p for p in items if p not in lookup]
                return LIST_SEPARATOR.join(sorted({lookup[p] for p in items if p in lookup})), missing

            pairs = text.map(one)
            out = pairs.map(lambda p: p[0]).astype("string")
            missing = pairs.map(lambda p: "; ".join(p[1]))
            problems.add(missing != "", "unmapped_label", f"{label}: label(s) not in the mapping's values",
                         label, missing)
            return out
        key = text.str.upper()
        out = key.map(lookup)
        unmapped = key.notna() & out.isna()
        problems.add(unmapped, "unmapped_label", f"{label}: label not in the mapping's values", label, text)
        if f is not None and f.dtype == "enum" and "unknown" in (f.enum or ()):
            out = out.where(key.notna(), "unknown")
        return out

    # -- building tables -----------------------------------------------------------------------
    def _fill(self, raw, tname, problems, extra=()) -> pd.DataFrame:
        rules = {k: v for k, v in self.file_spec.get(tname, {}).items() if k not in extra}
        return pd.DataFrame({k: self._value(raw, tname, k, v, problems) for k, v in rules.items()}, index=raw.index)

    @property
    def primary(self) -> str:
        """The table each row of the file is a record of."""
        return "incidents" if "incidents" in self.file_spec else "schools"

    def _schools(self, raw: pd.DataFrame, problems: RowProblems) -> dict[str, pd.DataFrame]:
        sch = self._fill(raw, "schools", problems)
        if "school_id" not in sch:
            raise MappingError(f"{self.mapping_path}: {self.file_spec['name']}.schools needs school_id")
        problems.add(sch["school_id"].isna(), "missing_key", "the school has no id", "school_id",
                     pd.Series("", index=raw.index))
        sch["address"] = sch["address"].map(normalise_street, na_action="ignore").astype("string")
        if "school_type" not in sch:
            sch["school_type"] = "unknown"
        return {"schools": sch}

    def _tables(self, raw: pd.DataFrame, relpath: str, problems: RowProblems) -> dict[str, pd.DataFrame]:
        spec = self.file_spec
        if self.primary == "schools":
            return self._schools(raw, problems)
        system = self.spec.get("source_system", "other")
        inc = self._fill(raw, "incidents", problems)
        if "source_record_id" not in inc:
            raise MappingError(f"{self.mapping_path}: {spec['name']}.incidents needs source_record_id")
        inc["source_system"] = system
        inc["incident_id"] = mint_ids("inc", system, inc["source_record_id"])
        if "occurred_at" in inc:
            problems.add(inc["occurred_at"].isna(), "missing_date", "the incident has no date", "occurred_at",
                         pd.Series("", index=raw.index))
            inc["school_year"] = school_year(inc["occurred_at"])
        if "block_address" in inc:
            inc["block_address"] = inc["block_address"].map(hundred_block_key, na_action="ignore").astype("string")
        has_school = inc["school_id_occurrence"].notna() if "school_id_occurrence" in inc else pd.Series(False, index=raw.index)
        defaults = {"school_match_method": has_school.map({True: "source_id", False: "none"}),
                    "school_match_ambiguous": False, "location_type": "unknown", "during_school_hours": "unknown",
                    "referral_source": "unknown", "police_notified": "unknown", "offense_class": "unknown",
                    "geocode_precision": "block" if "block_address" in inc else "none", "source_file": relpath}
        for k, v in defaults.items():
            if k not in inc:
                inc[k] = v
        out = {"incidents": inc}
        if "incident_subjects" in spec:
            sub = self._fill(raw, "incident_subjects", problems)
            sub["incident_id"] = inc["incident_id"]
            sub["subject_id"] = mint_ids("sub", system, inc["source_record_id"], self._row_key(raw))
            for k, v in {"role": "unknown", "is_student": "unknown", "race_ethnicity": "unknown", "sex": "unknown"}.items():
                if k not in sub:
                    sub[k] = v
            sub["source_file"] = relpath
            out["incident_subjects"] = sub
        officer_uid = None
        if "incident_officers" in spec:
            io = self._fill(raw, "incident_officers", problems, extra=("officer_key",))
            key_rule = spec["incident_officers"].get("officer_key")
            if key_rule is None:
                raise MappingError(f"{self.mapping_path}: {spec['name']}.incident_officers needs officer_key")
            key = self._value(raw, "incident_officers", "officer_key", key_rule, problems)
            officer_uid = mint_ids("off", system, key.fillna(""))
            io["incident_id"], io["officer_uid"] = inc["incident_id"], officer_uid
            io["is_assigned_sro"], io["source_file"] = False, relpath
            out["incident_officers"] = io.loc[key.notna()]
            if "officers" in spec:
                o = spec["officers"]
                first = self._value(raw, "officers", "first_name", o["first_name"], problems) if "first_name" in o else pd.NA
                last = self._value(raw, "officers", "last_name", o["last_name"], problems)
                out["officers"] = pd.DataFrame({
                    "officer_uid": officer_uid, "first_name_ns": name_ns(pd.Series(first, index=raw.index)),
                    "last_name_ns": name_ns(last), "gender": "unknown", "race": "unknown", "source": relpath,
                }).loc[key.notna()]
                if "star" in o:
                    star = self._value(raw, "officers", "star", o["star"], problems)
                    ids = pd.DataFrame({"officer_uid": officer_uid, "id_type": "star", "value": star,
                                        "valid_from": inc.get("occurred_at"), "valid_to": inc.get("occurred_at"),
                                        "source": relpath}).loc[star.notna()]
                    out["officer_identifiers"] = ids
        if "outcomes" in spec:
            out["outcomes"] = self._outcomes(raw, inc, out.get("incident_subjects"), officer_uid, relpath, problems)
        if "force_reports" in spec:
            fr = self._fill(raw, "force_reports", problems)
            fr["incident_id"] = inc["incident_id"]
            fr["subject_id"] = out["incident_subjects"]["subject_id"] if "incident_subjects" in out else pd.NA
            fr["officer_uid"] = officer_uid if officer_uid is not None else pd.NA
            fr["force_report_id"] = mint_ids("frc", system, fr["source_report_id"], self._row_key(raw))
            tactics = fr["deescalation_tactics"] if "deescalation_tactics" in fr else pd.Series("", index=raw.index)
            if "deescalation_documented" not in fr:
                fr["deescalation_documented"] = tactics.fillna("").ne("").map({True: "yes", False: "no"})
            fr["source_file"] = relpath
            out["force_reports"] = fr
        return out

    def _referenced_columns(self) -> list[tuple[str, str]]:
        """(column, where) for every raw column the layout reads (record key, field rules)."""
        name = self.file_spec["name"]
        out = [(c, f"{name}.record_key") for c in self.file_spec["record_key"]]
        for tname in MAPPED_TABLES:
            for fname, rule in self.file_spec.get(tname, {}).items():
                if fname == "labels":
                    continue
                rule = rule if isinstance(rule, dict) else {"column": rule}
                cols = rule.get("columns") or ([rule["column"]] if "column" in rule else [])
                out += [(c, f"{name}.{tname}.{fname}") for c in cols]
        return out

    def _check_header(self, raw_table, relpath: str, notes: list[str]) -> None:
        """All columns the layout reads must be in the header (one error listing every missing one);
        columns it does not read are ignored with a note."""
        have = [c for c in raw_table.frame.columns if c != "source_row"]
        used = self._referenced_columns()
        missing = [(c, where) for c, where in used if c not in have]
        if missing:
            raise MappingError(
                f"{relpath} (header on line {raw_table.header_row}): mapping {self.mapping_path.name}: "
                + "; ".join(f"{where} names column {c!r}, which the file does not have" for c, where in missing)
                + f" (columns: {', '.join(have)})")
        unused = [c for c in have if c not in {c for c, _ in used}]
        if unused:
            notes.append(f"{relpath}: column(s) not used by mapping layout {self.file_spec['name']!r}, ignored: "
                         + ", ".join(unused))
        if raw_table.n_rows == 0:
            notes.append(f"{relpath}: header only, no data rows")

    def _key_columns(self, raw: pd.DataFrame) -> list[str]:
        keys = list(self.file_spec["record_key"])
        for k in keys:
            self._column(raw, k, f"{self.file_spec['name']}.record_key")
        return keys

    def _row_key(self, raw: pd.DataFrame) -> pd.Series:
        """Key of a row within its record: the record key plus the row's content (order-free)."""
        cols = [c for c in raw.columns if c != "source_row"]
        return raw[cols].fillna("").astype("string").agg("\x1e".join, axis=1)

    def _outcomes(self, raw, inc, subjects, officer_uid, relpath, problems) -> pd.DataFrame:
        rules = dict(self.file_spec["outcomes"])
        labels = rules.pop("labels", {})
        if subjects is None:
            raise MappingError(f"{self.mapping_path}: outcomes need incident_subjects in the same file")
        o = pd.DataFrame({k: self._value(raw, "outcomes", k, v, problems) for k, v in rules.items()}, index=raw.index)
        lookup = {str(k).strip().upper(): v for k, v in labels.items()}
        key = o["outcome_raw"].astype("string").str.upper()
        blank = key.isna()
        # Built as "string" columns: Series.map over an all-blank column gives a null-typed
        # arrow column that refuses the defaults below.
        for i, (name, default) in enumerate(zip(_OUTCOME_FIELDS, ("other_unknown", "unknown", "unknown", "unknown"))):
            values = [lookup[k][i] if isinstance(k, str) and k in lookup else None for k in key]
            o[name] = pd.Series(values, index=o.index, dtype="string").mask(blank, default)
        o["outcome_raw"] = o["outcome_raw"].fillna("(blank)")
        problems.add(~blank & o["outcome_canonical"].isna(), "unmapped_label",
                     "outcome label not in the mapping's labels", "outcome_raw", o["outcome_raw"])
        o["incident_id"], o["subject_id"] = inc["incident_id"], subjects["subject_id"]
        o["outcome_id"] = mint_ids("out", subjects["subject_id"])
        o["outcome_source_vocab"] = self.spec.get("outcome_vocab", "other")
        if officer_uid is not None:
            o["decided_by_officer_uid"] = officer_uid
        o["source_file"] = relpath
        return o

    # -- the adapter contract ------------------------------------------------------------------
    def load(self, files: list[SourceFile], ctx: CleanContext) -> AdapterOutput:
        ledger = Ledger()
        notes: list[str] = []
        parts: dict[str, list[pd.DataFrame]] = {}
        for f in files:
            raw_table = read_raw_csv(f.path, relpath=f.relpath, header_row=int(self.file_spec.get("header_row", 1)))
            self._check_header(raw_table, f.relpath, notes)
            ledger.expect(f.relpath, raw_table.n_rows)
            reject_bad_lines(raw_table, ledger)
            raw = raw_table.frame
            if raw.empty:  # header only, or only malformed lines (already in the ledger)
                continue
            problems = RowProblems.empty(raw.index)
            key_cols = self._key_columns(raw)
            blank_key = pd.concat([clean_text(raw[c]).isna() for c in key_cols], axis=1).any(axis=1)
            problems.add(blank_key, "missing_key", f"the record key ({', '.join(key_cols)}) is blank",
                         ", ".join(key_cols), pd.Series("", index=raw.index))
            tables = self._tables(raw, f.relpath, problems)
            bad = problems.bad
            for _, p in problems.frame[bad].groupby(["reason", "column"], sort=True).groups.items():
                sub = problems.frame.loc[p]
                ledger.reject(f.relpath, raw.loc[p, "source_row"].tolist(), sub["reason"].iloc[0],
                              sub["message"].tolist(), column=sub["column"].iloc[0], values=sub["value"].tolist())
            good = raw.index[~bad]
            primary = self.primary
            id_col = table(primary).primary_key[0]
            records = tables[primary].loc[good]
            row_key = self._row_key(raw.loc[good])
            record_key = raw.loc[good, self._key_columns(raw)].fillna("").astype("string").agg("\x1e".join, axis=1)
            first = ~record_key.duplicated()
            # A later row is a copy only if it equals the row that was *kept* for its key (not
            # merely an earlier rejected conflicting row).
            kept_content = row_key.groupby(record_key, sort=False).transform("first")
            same = (~first) & (row_key == kept_content)
            conflict = (~first) & ~same
            ledger.keep(f.relpath, raw.loc[good[first.to_numpy()], "source_row"].tolist(), primary,
                        records.loc[first.to_numpy(), id_col].tolist())
            dup = good[same.to_numpy()]
            if len(dup):
                ledger.merge(f.relpath, raw.loc[dup, "source_row"].tolist(), primary,
                             tables[primary].loc[dup, id_col].tolist(), "exact_duplicate",
                             "identical to an earlier row of the same record")
            clash = good[conflict.to_numpy()]
            if len(clash):
                ledger.reject(f.relpath, raw.loc[clash, "source_row"].tolist(), "conflicting_duplicate_key",
                              "same record key as an earlier row but different content; the first row was kept",
                              column=", ".join(self.file_spec["record_key"]), values=record_key[conflict].tolist())
            keep_idx = good[first.to_numpy()]
            for name, frame in tables.items():
                frame = frame.loc[frame.index.intersection(keep_idx)]
                parts.setdefault(name, []).append(frame)
        out = AdapterOutput(ledger=ledger, notes=notes)
        for name, frames in parts.items():
            merged = pd.concat(frames)
            key = list(table(name).primary_key)
            merged = merged.drop_duplicates(key, keep="first") if set(key) <= set(merged.columns) else merged
            out.tables[name] = conform(merged, name)
        return out
