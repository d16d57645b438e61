"""Registry validation in DuckDB finds what pandera finds, on planted failures, by column and rule."""

from __future__ import annotations

import duckdb
import pandas as pd
import pytest

from sro_analysis.schema.models import SchemaError, conform, validate
from sro_analysis.schema.sql_checks import foreign_key_problems, outcome_problems, table_problems


@pytest.fixture()
def con():
    return duckdb.connect()


def example_tables() -> dict[str, pd.DataFrame]:
    """One incident with five subjects and their outcomes: every required field filled."""
    incidents = pd.DataFrame({
        "incident_id": ["inc-1"], "source_system": ["other"], "source_record_id": ["R1"],
        "occurred_at": [pd.Timestamp("2021-10-04 10:00")], "school_year": ["2021-22"],
        "school_match_method": ["none"], "school_match_ambiguous": [False], "location_type": ["school_building"],
        "during_school_hours": ["yes"], "referral_source": ["unknown"], "police_notified": ["unknown"],
        "offense_class": ["misdemeanor"], "geocode_precision": ["none"], "source_file": ["a.csv"]})
    ids = [f"sub-{i}" for i in range(5)]
    subjects = pd.DataFrame({"subject_id": ids, "incident_id": "inc-1", "role": "suspect", "is_student": "yes",
                             "age_at_incident": [14, 15, 16, 17, 15], "race_ethnicity": "black", "sex": "female",
                             "source_file": "a.csv"})
    outcomes = pd.DataFrame({
        "outcome_id": [f"out-{i}" for i in range(5)], "subject_id": ids, "incident_id": "inc-1",
        "police_contact": True, "taken_into_custody": "no", "warrant_or_alert_arrest": False,
        "outcome_raw": "warning", "outcome_source_vocab": "other", "outcome_canonical": "warning_no_action",
        "diversion_timing": "not_applicable", "station_adjustment_type": "not_applicable", "source_file": "a.csv"})
    return {"incidents": incidents, "incident_subjects": subjects, "outcomes": outcomes}


def test_a_valid_table_passes(con):
    tables = {name: conform(frame, name) for name, frame in example_tables().items()}
    for name, frame in tables.items():
        con.register(name, frame)
        assert table_problems(con, name, name) == []
    assert foreign_key_problems(con, {n: n for n in tables}) == []
    assert outcome_problems(con, "outcomes") == []


def test_planted_failures_are_named_with_counts_and_examples(con):
    subjects = conform(example_tables()["incident_subjects"], "incident_subjects")
    bad = subjects.copy()
    bad.loc[0, "sex"] = "mars"
    bad.loc[1, "age_at_incident"] = 212
    bad.loc[2, "subject_id"] = bad.loc[3, "subject_id"]
    bad.loc[4, "role"] = pd.NA
    con.register("bad", bad)
    problems = table_problems(con, "bad", "incident_subjects")
    assert problems == [
        "table 'incident_subjects', column role: is required but missing: 1 row(s)",
        "table 'incident_subjects', column age_at_incident: must be <= 120: 1 row(s), e.g. '212'",
        "table 'incident_subjects', column sex: must be one of ['female', 'male', 'nonbinary', 'unknown']: 1 row(s), "
        "e.g. 'mars'",
        "table 'incident_subjects': 1 primary key value(s) (subject_id) repeat",
    ]
    with pytest.raises(SchemaError):  # pandera agrees that the frame is invalid
        validate(bad, "incident_subjects")


def test_orphan_foreign_keys_and_outcome_rules(con):
    tables = {name: conform(frame, name) for name, frame in example_tables().items()}
    outcomes = tables["outcomes"].copy()
    outcomes.loc[0, "incident_id"] = "inc-nowhere"
    outcomes.loc[1, ["outcome_canonical", "taken_into_custody"]] = ["custodial_arrest", "no"]
    tables["outcomes"] = outcomes
    for name, frame in tables.items():
        con.register(name, frame)
    assert foreign_key_problems(con, {n: n for n in tables}) == [
        "outcomes.incident_id: 1 value(s) not in incidents.incident_id, e.g. inc-nowhere"]
    assert outcome_problems(con, "outcomes") == [
        f"custodial_arrest implies taken_into_custody = yes: 1 row(s), e.g. {outcomes.loc[1, 'outcome_id']}"]
