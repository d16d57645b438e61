"""Tests for sro_analysis.metrics.disparity against the SPEC §3.4 RRI worked example."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sro_analysis.metrics.disparity import RRI_STAGES, relative_rate_index, rri_table

@pytest.fixture(scope="module")
def reference(reference_values) -> dict:
    # reference_values (tests/conftest.py) skips with the reason when ../shared is absent.
    return reference_values["rri_example"]


def test_rri_reference_example(reference):
    focal, ref = reference["focal"], reference["reference"]
    result = relative_rate_index(focal["events"], focal["base"], ref["events"], ref["base"])
    assert round(result.rri, 4) == reference["rri"]
    assert round(result.log_se, 4) == reference["log_se"]
    assert [round(result.ci_low, 4), round(result.ci_high, 4)] == reference["ci95"]
    assert round(100 * result.rate, 4) == focal["rate_per_100"]
    assert round(100 * result.ref_rate, 4) == ref["rate_per_100"]


def test_complement_rri_reference_example(reference):
    # Alternatives-to-arrest complement: (400-120)/400 vs (100-15)/100.
    focal, ref = reference["focal"], reference["reference"]
    result = relative_rate_index(
        focal["base"] - focal["events"], focal["base"], ref["base"] - ref["events"], ref["base"]
    )
    assert round(result.rri, 4) == reference["complement_ata_rri"]
    assert [round(result.ci_low, 4), round(result.ci_high, 4)] == reference["complement_ci95"]


def test_log_se_formula_by_hand():
    result = relative_rate_index(30, 90, 12, 80)
    assert result.log_se == pytest.approx(math.sqrt(1 / 30 - 1 / 90 + 1 / 12 - 1 / 80))
    assert result.rri == pytest.approx((30 / 90) / (12 / 80))


def test_other_levels_widen_the_interval():
    r95 = relative_rate_index(120, 400, 15, 100)
    r99 = relative_rate_index(120, 400, 15, 100, level=0.99)
    assert r99.ci_low < r95.ci_low and r99.ci_high > r95.ci_high
    assert r99.ci_low * r99.ci_high == pytest.approx(r99.rri**2)  # symmetric on the log scale


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((0, 100, 15, 100), "focal group has 0 events"),
        ((10, 100, 0, 100), "reference group has 0 events"),
        ((120, 100, 15, 100), "0 <= events <= base"),
        ((5, 0, 15, 100), "base > 0"),
    ],
)
def test_relative_rate_index_errors(args, message):
    with pytest.raises(ValueError, match=message):
        relative_rate_index(*args)


@pytest.fixture
def matrix_counts() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "stage": ["custodial_arrest"] * 4 + ["force"] * 3 + ["notification"] * 2,
            "group": ["black", "white", "latino", "asian", "black", "white", "latino", "black", "white"],
            "events": [120, 15, 40, 4, 20, 4, 9, 300, 20],
            "base": [400, 100, 200, 8, 400, 100, 200, 5000, 800],
        }
    )


def test_rri_table_reference_row_and_reasons(matrix_counts):
    table = rri_table(matrix_counts)
    assert list(table.columns) == [
        "stage", "group", "events", "base", "rate", "ref_group", "ref_rate",
        "rri", "ci_low", "ci_high", "computed", "reason",
    ]  # fmt: skip
    # Stages in pipeline order, groups alphabetical inside a stage.
    assert list(zip(table["stage"], table["group"])) == [
        ("notification", "black"), ("notification", "white"),
        ("custodial_arrest", "asian"), ("custodial_arrest", "black"),
        ("custodial_arrest", "latino"), ("custodial_arrest", "white"),
        ("force", "black"), ("force", "latino"), ("force", "white"),
    ]  # fmt: skip
    row = table.set_index(["stage", "group"])
    black = row.loc[("custodial_arrest", "black")]
    assert bool(black["computed"]) and black["reason"] == ""
    assert [round(black[c], 4) for c in ("rri", "ci_low", "ci_high")] == [2.0, 1.2253, 3.2646]
    assert black["ref_group"] == "white" and black["ref_rate"] == pytest.approx(0.15)

    asian = row.loc[("custodial_arrest", "asian")]
    assert not asian["computed"] and asian["reason"] == "base < 10; events < 5"
    assert np.isnan(asian["rri"]) and asian["rate"] == pytest.approx(0.5)

    white = row.loc[("custodial_arrest", "white")]
    assert (white["rri"], white["computed"], white["reason"]) == (1.0, False, "reference group")

    # White has 4 force events: nobody at that stage can be compared with white.
    assert row.loc[("force", "black"), "reason"] == "reference group not computable"
    assert row.loc[("force", "latino"), "reason"] == "reference group not computable"
    assert row.loc[("force", "white"), "reason"] == "reference group not computable"
    assert not table.loc[table["stage"] == "force", "computed"].any()

    notification = row.loc[("notification", "black")]
    assert notification["rri"] == pytest.approx((300 / 5000) / (20 / 800))


def test_rri_table_all_others_reference(matrix_counts):
    table = rri_table(matrix_counts, reference="all_others").set_index(["stage", "group"])
    latino = table.loc[("custodial_arrest", "latino")]
    expected = relative_rate_index(40, 200, 120 + 15 + 4, 400 + 100 + 8)
    assert latino["computed"] and latino["ref_group"] == "all_others"
    assert latino["rri"] == pytest.approx(expected.rri)
    assert latino["ci_low"] == pytest.approx(expected.ci_low)
    # With a pooled reference the white row is an ordinary comparison.
    white = table.loc[("custodial_arrest", "white")]
    assert white["computed"] and white["rri"] == pytest.approx((15 / 100) / ((120 + 40 + 4) / (400 + 200 + 8)))
    # Small force cells: white's 4 events fail on their own, others compare against a pool that passes.
    assert table.loc[("force", "white"), "reason"] == "events < 5"
    assert table.loc[("force", "black"), "computed"]


def test_rri_table_population_share_rule(matrix_counts):
    population = {"black": 20000, "white": 4000, "latino": 24000, "asian": 300}
    table = rri_table(matrix_counts, population=population).set_index(["stage", "group"])
    # asian = 300 / 48300 = 0.6% of the population.
    assert "group < 1% of population" in table.loc[("custodial_arrest", "asian"), "reason"]
    assert table.loc[("custodial_arrest", "latino"), "computed"]
    small_white = dict(population, white=100)  # 100 / 44400 < 1%: the reference itself fails
    table = rri_table(matrix_counts, population=small_white).set_index(["stage", "group"])
    assert table.loc[("custodial_arrest", "black"), "reason"] == "reference group not computable"
    assert table.loc[("custodial_arrest", "white"), "reason"] == "reference group not computable"


def test_rri_table_missing_reference_group():
    counts = pd.DataFrame({"stage": ["contact", "contact"], "group": ["black", "latino"],
                           "events": [50, 60], "base": [100, 120]})  # fmt: skip
    table = rri_table(counts)
    assert (table["reason"] == "reference group not computable").all()
    assert table["ref_rate"].isna().all()


def test_rri_table_custom_columns_thresholds_and_no_mutation(matrix_counts):
    renamed = matrix_counts.rename(columns={"stage": "decision_point", "group": "race", "events": "k", "base": "m"})
    before = renamed.copy()
    table = rri_table(renamed, stage="decision_point", group="race", events="k", base="m", min_events=3, min_base=5)
    pd.testing.assert_frame_equal(renamed, before)
    row = table.set_index(["stage", "group"])
    assert row.loc[("custodial_arrest", "asian"), "computed"]
    assert row.loc[("force", "black"), "computed"]


@pytest.mark.parametrize(
    ("counts", "kwargs", "message"),
    [
        (pd.DataFrame({"stage": ["arrest"], "group": ["black"], "events": [1], "base": [2]}), {}, "unknown stage"),
        (pd.DataFrame({"stage": ["force"] * 2, "group": ["black"] * 2, "events": [1, 2], "base": [20, 20]}), {},
         "duplicate"),
        (pd.DataFrame({"stage": ["force"], "group": ["black"], "events": [30], "base": [20]}), {},
         "0 <= events <= base"),
        (pd.DataFrame({"stage": ["force"], "group": ["black"], "events": [3]}), {}, "missing column"),
        (pd.DataFrame({"stage": ["force"], "group": ["black"], "events": [3], "base": [20]}),
         {"population": {"white": 10}}, "no count for group"),
    ],
)  # fmt: skip
def test_rri_table_errors(counts, kwargs, message):
    with pytest.raises(ValueError, match=message):
        rri_table(counts, **kwargs)


def test_stage_names_follow_spec():
    assert RRI_STAGES == ("notification", "contact", "custodial_arrest", "formal_processing", "force")


@settings(max_examples=100, deadline=None)
@given(
    a=st.integers(1, 500), extra1=st.integers(0, 500),
    c=st.integers(1, 500), extra2=st.integers(0, 500),
)  # fmt: skip
def test_rri_interval_contains_estimate_and_swapping_groups_inverts(a, extra1, c, extra2):
    forward = relative_rate_index(a, a + extra1, c, c + extra2)
    backward = relative_rate_index(c, c + extra2, a, a + extra1)
    assert forward.ci_low <= forward.rri <= forward.ci_high
    assert backward.rri == pytest.approx(1.0 / forward.rri)
    assert backward.ci_low == pytest.approx(1.0 / forward.ci_high)
    assert backward.log_se == pytest.approx(forward.log_se)
