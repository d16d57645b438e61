"""Tests for sro_analysis.metrics.suppression (SPEC §3.5 rules 2, 3, 4 and 8)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sro_analysis.metrics.suppression import (
    COMPLEMENTARY_DISPLAY,
    LOG_COLUMNS,
    MARGIN_LABEL,
    SMALL_COUNT_DISPLAY,
    SuppressionResult,
    SuppressionRules,
    TableLink,
    _build_grid,
    determined_cells,
    determined_cells_linked,
    is_recoverable,
    suppress_linked_tables,
    suppress_rates,
    suppress_table,
)
from sro_analysis.schema.registry import table as registry_table

SMALL_MSG = "count between 1 and 9: shown as <10"
COMP_MSG = "protects a suppressed cell from recovery by subtraction"


def rates_frame(rows: list[tuple[int, int]], **extra: list) -> pd.DataFrame:
    """A rates frame with rate = x/n and a dummy interval (only suppression is under test)."""
    x = [r[0] for r in rows]
    n = [r[1] for r in rows]
    rate = [xi / ni if ni else math.nan for xi, ni in rows]
    frame = pd.DataFrame({
        "numerator": x, "denominator": n, "rate": rate,
        "ci_low": [max(r - 0.1, 0.0) if not math.isnan(r) else math.nan for r in rate],
        "ci_high": [min(r + 0.1, 1.0) if not math.isnan(r) else math.nan for r in rate],
    })
    for column, values in extra.items():
        frame[column] = values
    return frame


def log_frame(rows: list[tuple[str, str, str, int | None, str]]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=LOG_COLUMNS)
    return frame.astype({"table": "str", "cell": "str", "rule": "str", "threshold": "Int64", "message": "str"})


def with_margins(table: pd.DataFrame, row_margin: bool = True, col_margin: bool = True) -> pd.DataFrame:
    """True counts with margins, labelled like suppress_table's output."""
    grid = _build_grid(table, row_margin, col_margin, "t")
    return pd.DataFrame(grid.values, index=list(grid.row_labels), columns=list(grid.col_labels))


# ------------------------------------------------------------------------------------------
# SuppressionRules


def test_rules_defaults_match_spec_3_5():
    rules = SuppressionRules()
    assert (rules.min_denominator, rules.small_cell_max, rules.unstable_below) == (10, 9, 20)
    assert (rules.all_or_none_code_min_n, rules.unknown_withhold, rules.unknown_flag) == (20, 0.25, 0.10)
    assert rules.small_display_threshold == 10


def test_rule2_min_denominator_configurable_but_never_below_5():
    assert SuppressionRules(min_denominator=5).min_denominator == 5
    with pytest.raises(ValueError, match="never below 5"):
        SuppressionRules(min_denominator=4)


def test_rules_are_frozen():
    with pytest.raises(AttributeError):
        SuppressionRules().min_denominator = 3  # type: ignore[misc]


# ------------------------------------------------------------------------------------------
# suppress_rates: one hand example per rule


def test_rule2_min_denominator_withholds_rate_and_small_denominator():
    out = suppress_rates(rates_frame([(4, 9)])).table.iloc[0]
    assert out["suppressed"] and out["suppression_reason"] == "min_denominator"
    assert out["rate_display"] == "" and math.isnan(out["rate"])
    assert math.isnan(out["ci_low"]) and math.isnan(out["ci_high"])
    assert out["numerator"] is pd.NA and out["denominator"] is pd.NA
    assert out["numerator_display"] == "<10" and out["denominator_display"] == "<10"


def test_rule2_min_denominator_threshold_follows_rules():
    rules = SuppressionRules(min_denominator=15, small_cell_max=4)
    result = suppress_rates(rates_frame([(6, 12)]), rules=rules, table_name="ata_by_school")
    row = result.table.iloc[0]
    assert row["suppression_reason"] == "min_denominator"
    assert row["denominator"] == 12 and row["denominator_display"] == "12"  # 12 is not a small count
    assert row["numerator"] is pd.NA and row["numerator_display"] == ""
    pd.testing.assert_frame_equal(result.log, log_frame(
        [("ata_by_school", "row=0", "min_denominator", 15, "denominator below 15: rate withheld")]))


def test_rule2_unstable_flag_for_published_rates_under_20():
    # With the default 1-9 rule every 10 <= n < 20 rate has x or n-x in 1-9, so the flag only
    # matters for a partner rule with a smaller small-cell bound.
    rules = SuppressionRules(min_denominator=5, small_cell_max=4)
    out = suppress_rates(rates_frame([(6, 12), (30, 60)]), rules=rules).table
    assert out["rate_display"].tolist() == ["50.0%", "50.0%"]
    assert out["unstable"].tolist() == [True, False]
    assert not out["suppressed"].any()


def test_rule3_primary_small_numerator():
    result = suppress_rates(rates_frame([(3, 50)]))
    row = result.table.iloc[0]
    assert row["suppression_reason"] == "primary_small_count"
    assert row["numerator_display"] == "<10" and row["denominator_display"] == "50"
    assert row["denominator"] == 50 and row["numerator"] is pd.NA and math.isnan(row["rate"])
    pd.testing.assert_frame_equal(result.log, log_frame(
        [("rates", "row=0", "primary_small_count", 10, "numerator between 1 and 9: rate withheld")]))


def test_rule3_complement_small():
    row = suppress_rates(rates_frame([(47, 50)])).table.iloc[0]
    assert row["suppression_reason"] == "complement_small"
    # 47 shown next to n = 50 would give the complement 3 back.
    assert row["numerator_display"] == "" and row["numerator"] is pd.NA
    assert row["rate_display"] == "" and math.isnan(row["ci_high"])


def test_rule3_all_or_none_under_20_withheld():
    out = suppress_rates(rates_frame([(0, 15), (15, 15), (0, 19)])).table
    assert out["suppression_reason"].tolist() == ["all_or_none_withheld"] * 3
    assert out["rate_display"].tolist() == ["", "", ""]
    assert out["numerator_display"].tolist() == ["", "", ""]  # "0" would tell everyone's outcome
    assert out["numerator"].isna().all() and out["rate"].isna().all()


def test_rule3_all_or_none_from_20_coded():
    result = suppress_rates(rates_frame([(0, 40), (40, 40), (0, 20)]))
    out = result.table
    assert out["rate_display"].tolist() == ["<=5%", ">=95%", "<=5%"]
    assert out["suppression_reason"].tolist() == ["all_or_none_coded"] * 3
    assert out["suppressed"].all()
    assert out["rate"].isna().all() and out["ci_low"].isna().all() and out["ci_high"].isna().all()
    assert out["numerator"].isna().all() and out["denominator"].tolist() == [40, 40, 20]
    pd.testing.assert_frame_equal(result.log, log_frame([
        ("rates", "row=0", "all_or_none_coded", 20,
         "all-or-none result with denominator at least 20: rate coded <=5%"),
        ("rates", "row=1", "all_or_none_coded", 20,
         "all-or-none result with denominator at least 20: rate coded >=95%"),
        ("rates", "row=2", "all_or_none_coded", 20,
         "all-or-none result with denominator at least 20: rate coded <=5%"),
    ]))


def test_spec_3_2_unknown_share_withholds_and_flags():
    frame = rates_frame([(30, 100), (30, 100), (30, 100)], unknown_share=[0.30, 0.15, 0.05])
    out = suppress_rates(frame).table
    assert out["suppression_reason"].tolist() == ["unknown_share", "", ""]
    assert out["rate_display"].tolist() == ["", "30.0%", "30.0%"]
    assert out["withheld_unknown"].tolist() == [True, False, False]
    assert out["incomplete_outcomes"].tolist() == [True, True, False]
    assert out["rate"].iloc[1] == pytest.approx(0.30)


def test_rule3_small_unknown_count_is_withheld_with_its_share():
    frame = rates_frame([(30, 100), (30, 100)], unknown=[3, 40])
    result = suppress_rates(frame)
    out = result.table
    assert out["unknown_display"].tolist() == ["<10", "40"]
    assert out["unknown"].iloc[0] is pd.NA and math.isnan(out["unknown_share"].iloc[0])
    assert out["unknown_share"].iloc[1] == pytest.approx(40 / 140)
    # the share 40/140 > 0.25 withholds the second rate
    assert out["suppression_reason"].tolist() == ["", "unknown_share"]
    pd.testing.assert_frame_equal(result.log, log_frame([
        ("rates", "row=0;column=unknown", "primary_small_count", 10,
         "unknown-outcome count between 1 and 9: count and share withheld"),
        ("rates", "row=1", "unknown_share", None, "unknown outcome share above 0.25: rate withheld"),
    ]))


def test_published_rate_keeps_its_numbers():
    frame = rates_frame([(35, 100)])
    out = suppress_rates(frame).table.iloc[0]
    assert out["rate_display"] == "35.0%" and out["rate"] == pytest.approx(0.35)
    assert out["numerator"] == 35 and out["denominator"] == 100
    assert out["numerator_display"] == "35" and out["denominator_display"] == "100"
    assert not out["suppressed"] and out["suppression_reason"] == ""


def test_reason_priority_min_denominator_before_all_or_none():
    out = suppress_rates(rates_frame([(0, 5), (0, 0)])).table
    assert out["suppression_reason"].tolist() == ["min_denominator", "min_denominator"]
    assert out["denominator_display"].tolist() == ["<10", "0"]


def test_rule8_log_uses_registry_key_columns_and_columns():
    frame = rates_frame([(35, 100), (3, 50)])
    frame.insert(0, "measure", ["ata", "ata"])
    frame.insert(1, "unit_id", ["609674", "610212"])
    result = suppress_rates(frame, table_name="ata_by_school")
    assert list(result.log.columns) == registry_table("disclosure_log").columns
    assert result.log["cell"].tolist() == ["measure=ata;unit_id=610212"]
    assert set(result.log["rule"]) <= set(registry_table("disclosure_log").field("rule").enum)


def test_rule8_log_messages_never_state_a_withheld_value():
    frame = rates_frame([(3, 50), (47, 50), (4, 9), (0, 15)])
    result = suppress_rates(frame)
    for message in result.log["message"]:
        for value in ("3", "47", "4 ", " 4"):
            assert value not in message.replace("1 and 9", "").replace("below 10", "")


def test_suppress_rates_does_not_mutate_input():
    frame = rates_frame([(3, 50), (35, 100)])
    before = frame.copy()
    suppress_rates(frame)
    pd.testing.assert_frame_equal(frame, before)


def test_suppress_rates_rejects_bad_input():
    with pytest.raises(ValueError, match="lacks column"):
        suppress_rates(rates_frame([(3, 50)]).drop(columns="ci_low"))
    with pytest.raises(ValueError, match="numerator > denominator"):
        suppress_rates(rates_frame([(60, 50)]))
    bad = rates_frame([(3, 50)])
    bad["numerator"] = [-1]
    with pytest.raises(ValueError, match="row 0 holds -1"):
        suppress_rates(bad)


# ------------------------------------------------------------------------------------------
# suppress_table: hand examples


def test_rule3_and_rule4_two_by_two():
    counts = pd.DataFrame({"arrest": [3, 40], "alternative": [25, 32]}, index=["A", "B"])
    result = suppress_table(counts, table_name="school_by_outcome")
    assert isinstance(result, SuppressionResult)
    expected = pd.DataFrame(
        [["<10", "suppressed", "28"], ["suppressed", "suppressed", "72"], ["43", "57", "100"]],
        index=["A", "B", "Total"], columns=["arrest", "alternative", "Total"], dtype="str")
    pd.testing.assert_frame_equal(result.table, expected)
    assert result.mask.to_numpy().tolist() == [[True, True, False], [True, True, False], [False] * 3]
    pd.testing.assert_frame_equal(result.log, log_frame([
        ("school_by_outcome", "row=A;col=arrest", "primary_small_count", 10, SMALL_MSG),
        ("school_by_outcome", "row=A;col=alternative", "complementary", None, COMP_MSG),
        ("school_by_outcome", "row=B;col=arrest", "complementary", None, COMP_MSG),
        ("school_by_outcome", "row=B;col=alternative", "complementary", None, COMP_MSG),
    ]))


def test_rule3_small_margin_is_suppressed_and_protected():
    counts = pd.DataFrame({"x": [2, 20], "y": [3, 30]}, index=["A", "B"])
    result = suppress_table(counts)
    assert result.table.loc["A"].tolist() == ["<10", "<10", "<10"]  # row total 5 is small too
    assert result.table.loc["B"].tolist() == [COMPLEMENTARY_DISPLAY] * 3
    assert result.table.loc[MARGIN_LABEL].tolist() == ["22", "33", "55"]
    assert result.log["rule"].tolist() == ["primary_small_count"] * 3 + ["complementary"] * 3


def test_rule4_greedy_picks_smallest_nonzero_cell_and_skips_zeros():
    # Row A: 4 is small; its smallest published non-zero partner is 12 (not the 0).
    counts = pd.DataFrame({"x": [4, 50, 60], "y": [0, 70, 80], "z": [12, 15, 90]}, index=["A", "B", "C"])
    result = suppress_table(counts)
    mask = result.mask
    assert mask.loc["A", "x"] and mask.loc["A", "z"] and not mask.loc["A", "y"]
    assert result.table.loc["A", "y"] == "0"
    # columns x and z now need partners: the smallest non-zero cells 50 (x) and 15 (z)
    assert mask.loc["B", "x"] and mask.loc["B", "z"]
    assert int(mask.to_numpy().sum()) == 4
    assert not is_recoverable(mask, with_margins(counts))


def test_rule4_greedy_rule_alone_leaves_a_bridge_that_is_repaired():
    counts = pd.DataFrame([[8, 30, 33, 6], [0, 5, 5, 6], [18, 24, 30, 3], [35, 8, 25, 27]],
                          index=["r0", "r1", "r2", "r3"], columns=["c0", "c1", "c2", "c3"])
    values = with_margins(counts)
    # The pattern SPEC's greedy rule stops at: every line holds 0 or >= 2 suppressed cells...
    greedy = pd.DataFrame(False, index=values.index, columns=values.columns)
    for row, col in [("r0", "c0"), ("r0", "c3"), ("r1", "c1"), ("r1", "c2"), ("r1", "c3"),
                     ("r2", "c0"), ("r2", "c3"), ("r3", "c1"), ("r3", "c2")]:
        greedy.loc[row, col] = True
    assert not is_recoverable(greedy, values)
    # ...yet r1/c3 (= 6) follows from rows r0, r2 and columns c0, c3: it is a bridge.
    assert determined_cells(greedy, values) == [("r1", "c3")]
    result = suppress_table(counts, table_name="t")
    assert result.table.loc["r2", "c1"] == COMPLEMENTARY_DISPLAY  # the cheapest cycle-closing cell
    assert determined_cells(result.mask, values) == []
    assert result.log["cell"].tolist() == [
        "row=r0;col=c0", "row=r0;col=c3", "row=r1;col=c1", "row=r1;col=c2", "row=r1;col=c3",
        "row=r2;col=c0", "row=r2;col=c1", "row=r2;col=c3", "row=r3;col=c1", "row=r3;col=c2"]
    assert result.log["rule"].tolist() == (
        ["primary_small_count"] * 5 + ["complementary"] * 2 + ["primary_small_count"] * 2 + ["complementary"])


def test_rule4_without_row_margin_only_columns_are_constrained():
    counts = pd.DataFrame({"x": [4, 50], "y": [20, 70]}, index=["A", "B"])
    result = suppress_table(counts, row_margin=False)
    assert list(result.table.columns) == ["x", "y"]
    assert result.table.loc["A"].tolist() == ["<10", "20"]  # row A's total is not published
    assert result.table.loc["B"].tolist() == [COMPLEMENTARY_DISPLAY, "70"]
    assert result.table.loc[MARGIN_LABEL].tolist() == ["54", "90"]


def test_table_without_small_cells_is_published_whole():
    counts = pd.DataFrame({"x": [12, 0], "y": [25, 32]}, index=["A", "B"])
    result = suppress_table(counts)
    assert result.table.loc["A"].tolist() == ["12", "25", "37"]
    assert result.log.empty and list(result.log.columns) == LOG_COLUMNS
    assert not result.mask.to_numpy().any()


def test_suppress_table_rejects_bad_input():
    with pytest.raises(ValueError, match="row 'B', column 'y' holds -2"):
        suppress_table(pd.DataFrame({"x": [1, 2], "y": [3, -2]}, index=["A", "B"]))
    with pytest.raises(ValueError, match="non-negative integers"):
        suppress_table(pd.DataFrame({"x": [1.5, 2]}, index=["A", "B"]))
    with pytest.raises(ValueError, match="reserved"):
        suppress_table(pd.DataFrame({"x": [1, 2]}, index=["A", "Total"]))
    with pytest.raises(ValueError, match="duplicate"):
        suppress_table(pd.DataFrame([[1, 2]], columns=["x", "x"]))


def test_is_recoverable_and_lp_check_on_hand_masks():
    values = pd.DataFrame([[3, 25, 28], [40, 32, 72], [43, 57, 100]],
                          index=["A", "B", "Total"], columns=["x", "y", "Total"])
    only_primary = values.eq(3)
    assert is_recoverable(only_primary, values)
    assert determined_cells(only_primary, values) == [("A", "x")]
    cycle = values.isin([3, 25, 40, 32])
    assert not is_recoverable(cycle, values)
    assert determined_cells(cycle, values) == []


# ------------------------------------------------------------------------------------------
# suppress_linked_tables (rule 4, last bullet)


def test_rule4_linked_identical_officer_table_gets_same_pattern():
    school = pd.DataFrame({"arrest": [3, 40], "alternative": [25, 32]}, index=["S1", "S2"])
    officer = pd.DataFrame({"arrest": [3, 40], "alternative": [25, 32]}, index=["S1", "S2"])
    out = suppress_linked_tables({"school": school, "officer": officer}, [TableLink("school", "officer")])
    assert out["school"].mask.equals(out["officer"].mask)
    assert out["officer"].log["table"].unique().tolist() == ["officer"]


def test_rule4_linked_school_and_district_tables_are_consistent():
    # School x outcome for district D1; the district table repeats D1's column totals.
    school = pd.DataFrame({"arrest": [3, 40, 22], "alternative": [25, 32, 41]}, index=["S1", "S2", "S3"])
    district = pd.DataFrame({"arrest": [65, 4], "alternative": [98, 60]}, index=["D1", "D2"])
    link = TableLink("school", "district", rows={MARGIN_LABEL: "D1"})
    out = suppress_linked_tables({"school": school, "district": district}, [link])
    s_mask, d_mask = out["school"].mask, out["district"].mask
    # same published number, same fate
    for col in ["arrest", "alternative", MARGIN_LABEL]:
        assert s_mask.loc[MARGIN_LABEL, col] == d_mask.loc["D1", col]
    # district D2's small arrest count forces D1 cells, which the school table then protects
    assert d_mask.loc["D2", "arrest"] and d_mask.loc["D1", "arrest"]
    assert s_mask.loc[MARGIN_LABEL, "arrest"]
    forced = out["school"].log.set_index("cell").loc[f"row={MARGIN_LABEL};col=arrest"]
    assert forced["rule"] == "complementary" and "district cell row=D1;col=arrest" in forced["message"]
    for name, table in (("school", school), ("district", district)):
        values = with_margins(table)
        assert not is_recoverable(out[name].mask, values)
        assert determined_cells(out[name].mask, values) == []
    # and jointly, with the two tables' constraints combined
    grids = {"school": _build_grid(school, True, True, "school"),
             "district": _build_grid(district, True, True, "district")}
    masks = {name: out[name].mask.to_numpy() for name in grids}
    pairs = [(link, [((3, j), (0, j)) for j in range(3)])]
    assert determined_cells_linked(grids, masks, pairs) == []


def test_linked_tables_reject_mismatched_counts():
    school = pd.DataFrame({"arrest": [3, 40]}, index=["S1", "S2"])
    officer = pd.DataFrame({"arrest": [4, 40]}, index=["S1", "S2"])
    with pytest.raises(ValueError, match="should be the same published count"):
        suppress_linked_tables({"school": school, "officer": officer}, [TableLink("school", "officer")])


# ------------------------------------------------------------------------------------------
# Properties (hypothesis)

small_heavy_count = st.one_of(st.integers(0, 9), st.integers(0, 9), st.integers(0, 40))


@st.composite
def count_tables(draw) -> pd.DataFrame:
    n_rows = draw(st.integers(2, 5))
    n_cols = draw(st.integers(2, 5))
    values = draw(st.lists(st.lists(small_heavy_count, min_size=n_cols, max_size=n_cols),
                           min_size=n_rows, max_size=n_rows))
    return pd.DataFrame(values, index=[f"r{i}" for i in range(n_rows)],
                        columns=[f"c{j}" for j in range(n_cols)])


@settings(max_examples=150, deadline=None)
@given(table=count_tables(), margins=st.sampled_from([(True, True), (True, False), (False, True)]))
def test_property_rule4_no_suppressed_cell_is_recoverable(table, margins):
    row_margin, col_margin = margins
    result = suppress_table(table, row_margin=row_margin, col_margin=col_margin)
    values = with_margins(table, row_margin, col_margin)
    mask = result.mask
    assert mask.index.equals(values.index) and mask.columns.equals(values.columns)
    assert not is_recoverable(mask, values)
    assert determined_cells(mask, values) == []
    v, m, shown = values.to_numpy(), mask.to_numpy(), result.table.to_numpy()
    # every count 1-9 is suppressed and shows "<10"; zeros are never suppressed
    assert (m[(v >= 1) & (v <= 9)]).all()
    assert not m[v == 0].any()
    assert (shown[(v >= 1) & (v <= 9)] == SMALL_COUNT_DISPLAY).all()
    assert (shown[m & (v > 9)] == COMPLEMENTARY_DISPLAY).all()
    # a published cell shows its true value, never 1-9
    assert (shown[~m] == v[~m].astype(str)).all()
    assert not any(s.isdigit() and 1 <= int(s) <= 9 for s in shown.ravel())
    assert len(result.log) == int(m.sum())


rate_rows = st.integers(0, 60).flatmap(
    lambda n: st.tuples(st.integers(0, n), st.just(n), st.one_of(st.just(math.nan), st.floats(0, 0.5)))
)


@settings(max_examples=150, deadline=None)
@given(rows=st.lists(rate_rows, min_size=1, max_size=8))
def test_property_rules_2_3_no_withheld_number_survives(rows):
    frame = rates_frame([(x, n) for x, n, _ in rows], unknown_share=[s for *_, s in rows])
    result = suppress_rates(frame)
    out = result.table
    withheld = out["suppressed"].to_numpy()
    for column in ("rate", "ci_low", "ci_high", "numerator"):
        assert out.loc[withheld, column].isna().all()
    assert (out.loc[withheld, "rate_display"].isin(["", "<=5%", ">=95%"])).all()
    x = np.array([r[0] for r in rows])
    n = np.array([r[1] for r in rows])
    small_n = (n >= 1) & (n <= 9)
    assert out.loc[small_n, "denominator"].isna().all()
    assert out.loc[small_n, "unknown_share"].isna().all()
    # published rates have n >= 10 and x, n - x outside 1-9, and keep their exact values
    published = ~withheld
    assert (n[published] >= 10).all()
    assert not (((x >= 1) & (x <= 9)) | ((n - x >= 1) & (n - x <= 9)))[published].any()
    assert (out.loc[published, "numerator"].to_numpy() == x[published]).all()
    for column in ("numerator_display", "denominator_display"):
        assert not any(s.isdigit() and 1 <= int(s) <= 9 for s in out[column])
    assert result.log["cell"].is_unique
    assert set(result.log["rule"]) <= set(registry_table("disclosure_log").field("rule").enum)


@settings(max_examples=30, deadline=None)
@given(table=count_tables())
def test_property_deterministic_same_input_same_output(table):
    first = suppress_table(table, table_name="t")
    second = suppress_table(table.copy(), table_name="t")
    pd.testing.assert_frame_equal(first.table, second.table)
    pd.testing.assert_frame_equal(first.mask, second.mask)
    pd.testing.assert_frame_equal(first.log, second.log)


def test_rates_deterministic_same_input_same_output():
    frame = rates_frame([(3, 50), (47, 50), (0, 40), (35, 100), (4, 9)], unknown_share=[0.3, 0, 0, 0.1, 0])
    first, second = suppress_rates(frame), suppress_rates(frame.copy())
    pd.testing.assert_frame_equal(first.table, second.table)
    pd.testing.assert_frame_equal(first.log, second.log)


def test_joint_lp_check_finds_cells_fixed_only_by_combining_tables():
    # Each table alone hides its 2x2 block on a cycle, but the two shared cells move together in
    # table a (same diagonal) and against each other in table b (same row): jointly all are fixed.
    a = pd.DataFrame([[10, 20], [30, 40]], index=["r0", "r1"], columns=["c0", "c1"])
    b = pd.DataFrame([[10, 40], [50, 60]], index=["q0", "q1"], columns=["d0", "d1"])
    grids = {"a": _build_grid(a, True, True, "a"), "b": _build_grid(b, True, True, "b")}
    masks = {name: np.zeros((3, 3), dtype=bool) for name in grids}
    for name in grids:
        masks[name][:2, :2] = True
    for name, frame in (("a", a), ("b", b)):
        values = with_margins(frame)
        alone = pd.DataFrame(masks[name], index=values.index, columns=values.columns)
        assert determined_cells(alone, values) == []
        single = pd.DataFrame(False, index=values.index, columns=values.columns)
        single.iat[0, 0] = True
        assert determined_cells(single, values) == [(values.index[0], values.columns[0])]
    pairs = [(TableLink("a", "b"), [((0, 0), (0, 0)), ((1, 1), (0, 1))])]
    found = determined_cells_linked(grids, masks, pairs)
    assert found == [("a", (0, 0)), ("a", (0, 1)), ("a", (1, 0)), ("a", (1, 1)),
                     ("b", (0, 0)), ("b", (0, 1)), ("b", (1, 0)), ("b", (1, 1))]


def test_linked_repair_suppresses_smallest_cell_in_the_determined_cells_lines(monkeypatch):
    # Drive the joint-repair branch: pretend the joint check finds school cell S1/arrest fixed once.
    import sro_analysis.metrics.suppression as suppression

    real_check = suppression.determined_cells_linked
    calls = {"n": 0}

    def check_once(grids, masks, pairs, **kwargs):
        calls["n"] += 1
        return [("school", (0, 0))] if calls["n"] == 1 else real_check(grids, masks, pairs, **kwargs)

    monkeypatch.setattr(suppression, "determined_cells_linked", check_once)
    school = pd.DataFrame({"arrest": [3, 40, 22], "alternative": [25, 32, 41]}, index=["S1", "S2", "S3"])
    officer = school.copy()
    out = suppress_linked_tables({"school": school, "officer": officer}, [TableLink("school", "officer")])
    # Before the repair every interior cell is suppressed; the smallest published non-zero cell
    # in S1's row or arrest column is S1's row total 28, and the Total column then needs a
    # partner: its smallest published cell, S3's total 63.
    assert out["school"].table.loc["S1"].tolist() == ["<10", "suppressed", "suppressed"]
    assert out["school"].table[MARGIN_LABEL].tolist() == ["suppressed", "72", "suppressed", "163"]
    repaired = out["school"].log.set_index("cell").loc[f"row=S1;col={MARGIN_LABEL}"]
    assert repaired["message"] == "protects row=S1;col=arrest across the linked tables"
    assert out["officer"].mask.equals(out["school"].mask)
    for name in ("school", "officer"):
        assert determined_cells(out[name].mask, with_margins(school)) == []
