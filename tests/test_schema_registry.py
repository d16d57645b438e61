"""The field registry is the one description of every table; models, codebook and schemas follow it."""

from __future__ import annotations

import pandas as pd
import pytest

from sro_analysis.schema import codebook, frictionless
from sro_analysis.schema.models import SchemaError, conform, empty_frame, pandera_schema, validate
from sro_analysis.schema.registry import CANONICAL_TABLES, TABLES, Field, table

SPEC_TABLES = {"schools", "officers", "officer_identifiers", "sro_assignments", "incidents",
               "incident_subjects", "incident_officers", "outcomes", "force_reports", "counts"}


def test_every_spec_table_is_registered_and_canonical():
    assert SPEC_TABLES <= set(CANONICAL_TABLES) <= set(TABLES)


@pytest.mark.parametrize("name", sorted(TABLES))
def test_each_table_has_described_fields_keys_and_sensitivity(name):
    t = table(name)
    assert t.primary_key and set(t.primary_key) <= set(t.columns)
    for f in t.fields:
        assert f.description.strip(), f"{name}.{f.name} has no description"
        assert f.sensitivity in ("public", "restricted", "never")
        if f.dtype in ("enum", "list[enum]"):
            assert f.enum and len(set(f.enum)) == len(f.enum)
    for col, ref_table, ref_field in t.foreign_keys:
        assert ref_field in table(ref_table).columns, f"{name}.{col} -> {ref_table}.{ref_field}"


@pytest.mark.parametrize("name", sorted(TABLES))
def test_generated_artifacts_cover_every_field(name):
    t = table(name)
    schema = pandera_schema(name)
    assert list(schema.columns) == t.columns
    fl = frictionless.table_schema(name)
    assert [f["name"] for f in fl["fields"]] == t.columns
    md = codebook.table_markdown(t)
    for f in t.fields:
        assert f"`{f.name}`" in md and f.description in md
    assert validate(empty_frame(name), name).shape == (0, len(t.fields))


def test_spec_enums_are_exact_for_the_outcome_ladder():
    assert table("outcomes").field("outcome_canonical").enum == (
        "custodial_arrest", "station_adjustment", "diversion_referral", "citation_summons",
        "school_discipline_restorative", "warning_no_action", "other_unknown")
    assert table("incident_subjects").field("race_ethnicity").enum[-1] == "unknown"


def test_identifying_fields_are_never_public():
    for name, col in [("incidents", "incident_id"), ("incident_subjects", "person_key"),
                      ("officers", "officer_uid"), ("incident_subjects", "age_at_incident"),
                      ("incidents", "occurred_at"), ("incidents", "block_address")]:
        assert table(name).field(col).sensitivity != "public", (name, col)


def test_enum_without_values_is_refused():
    with pytest.raises(ValueError, match="lists no allowed values"):
        Field("x", "enum", "an enum")


def test_unknown_table_error_lists_the_known_tables():
    with pytest.raises(KeyError, match="known tables: schools"):
        table("nope")


def test_conform_orders_casts_and_requires():
    raw = pd.DataFrame({"name": ["A"], "school_id": [609966], "address": ["1 MAIN ST"], "school_type": ["high"],
                        "lat": ["41.9"], "extra": [1]})
    out = conform(raw, "schools")
    assert list(out.columns) == table("schools").columns
    assert out.loc[0, "school_id"] == "609966" and out.loc[0, "lat"] == pytest.approx(41.9)
    assert str(out["school_id"].dtype) == "string"
    with pytest.raises(SchemaError, match="required column\\(s\\) missing: address"):
        conform(raw.drop(columns="address"), "schools")


def test_validate_gives_a_readable_message_naming_column_check_and_values():
    frame = conform(pd.DataFrame({"school_id": ["1", "2"], "name": ["A", "B"], "address": ["x", "y"],
                                  "school_type": ["high", "college"]}), "schools")
    with pytest.raises(SchemaError) as err:
        validate(frame, "schools")
    text = str(err.value)
    assert "column school_type" in text and "'college'" in text and "1 failing value(s)" in text


def test_list_enum_values_are_checked():
    base = {"force_report_id": ["f1"], "source_report_id": ["1"], "report_type": ["cpd_trr"],
            "subject_resistance": ["unknown"], "reportable_force_level": ["unknown"],
            "deescalation_documented": ["yes"], "subject_injured": ["no"], "member_injured": ["no"],
            "source_file": ["a.csv"]}
    ok = conform(pd.DataFrame({**base, "force_options": ["handcuffing;member_presence"]}), "force_reports")
    validate(ok, "force_reports")
    bad = conform(pd.DataFrame({**base, "force_options": ["handcuffing;teleport"]}), "force_reports")
    with pytest.raises(SchemaError, match="force_options"):
        validate(bad, "force_reports")


def test_codebook_is_markdown_with_every_table():
    text = codebook.codebook_markdown()
    for name in TABLES:
        assert f"## `{name}`" in text
