"""Tests for sro_analysis.figures: what is drawn (geometry), what is not, and byte-stable files."""

from __future__ import annotations

import json
import os
import re

os.environ.setdefault("MPLBACKEND", "Agg")

import matplotlib  # noqa: E402

matplotlib.use("Agg")

import matplotlib as mpl  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from sro_analysis.figures import (  # noqa: E402
    PALETTE,
    TIER_COLOURS,
    caterpillar_plot,
    data_quality_plot,
    deescalation_plot,
    describe,
    funnel_plot,
    plotted_data,
    rri_forest_plot,
    save_figure,
    school_map,
    set_theme,
    source_note,
    theme,
    trend_plot,
)
from sro_analysis.metrics.disparity import rri_table  # noqa: E402
from sro_analysis.metrics.funnel import funnel  # noqa: E402
from sro_analysis.metrics.shrinkage import EB_TIERS, empirical_bayes  # noqa: E402

# SPEC §3.3 reference units (methods_reference_values.json "funnel_example").
REF_UNITS = pd.DataFrame({
    "unit": list("ABCDEFGH"),
    "x": [7, 30, 2, 60, 12, 45, 5, 90],
    "n": [20, 50, 10, 200, 15, 120, 40, 150],
})
# Two units too small to draw alone (n < 10); together n = 13, so they may be drawn pooled.
SMALL_UNITS = pd.DataFrame({"unit": ["S1", "S2"], "x": [3, 2], "n": [6, 7]})
RANK_TEXT = re.compile(r"(^|\s)#?\d+(st|nd|rd|th)?\.?(\s|$)|\brank", re.IGNORECASE)
SOURCE = "Source: test records, 2016-17 to 2018-19. sro-analysis 0.1.0"


@pytest.fixture(autouse=True)
def _close_figures():
    """Every test starts and ends with no open figure (plot functions draw on plt.gca())."""
    plt.close("all")
    yield
    plt.close("all")


def _offsets(ax, prefix: str) -> np.ndarray:
    parts = [c.get_offsets() for c in ax.collections if (c.get_gid() or "").startswith(prefix)]
    return np.concatenate(parts) if parts else np.empty((0, 2))


def _segments(ax, prefix: str) -> list[np.ndarray]:
    return [s for c in ax.collections if (c.get_gid() or "").startswith(prefix) for s in c.get_segments()]


def _line(ax, gid: str):
    (line,) = [ln for ln in ax.lines if ln.get_gid() == gid]
    return line


def _all_text(fig) -> list[str]:
    return [t.get_text() for t in fig.findobj(mpl.text.Text) if t.get_text()]


# --- data builders, one per plot function ---------------------------------------------------------

def _rates_by_year() -> pd.DataFrame:
    return pd.DataFrame({
        "measure": "ata", "unit_type": "city", "unit_id": "chicago", "group_type": "all", "group": "all",
        "school_year": ["2016-17", "2017-18", "2018-19", "2019-20"],
        "numerator": [40, 0, 30, 12], "denominator": [100, 8, 90, 15],
        "rate": [0.40, np.nan, 1 / 3, 0.80], "ci_low": [0.31, np.nan, 0.24, 0.55],
        "ci_high": [0.50, np.nan, 0.43, 0.93],
    })


def _deescalation_rates() -> pd.DataFrame:
    return pd.DataFrame({
        "subject_resistance": ["unknown", "active_resister", "cooperative", "assailant_deadly_force"],
        "rate": [0.30, 0.65, 0.80, np.nan],
        "ci_low": [0.17, 0.59, 0.72, np.nan],
        "ci_high": [0.46, 0.70, 0.86, np.nan],
        "denominator": [40, 300, 120, 6],
    })


def _rri() -> pd.DataFrame:
    counts = pd.DataFrame({
        "stage": ["custodial_arrest"] * 3,
        "group": ["black", "white", "asian"],
        "events": [120, 15, 3],
        "base": [400, 100, 30],
    })
    return rri_table(counts)


def _schools() -> pd.DataFrame:
    return pd.DataFrame({
        "school_id": ["609674", "610034", "400117", "999999"],
        "lon": [-87.6510, -87.7130, -87.6020, np.nan],
        "lat": [41.7344, 41.8630, 41.9375, 41.80],
        "students": [1200, 300, 650, 100],
        "level": ["HS", "ES", "ES", "HS"],
    })


def _ledger_summary() -> pd.DataFrame:
    return pd.DataFrame({
        "source_file": ["trr/trr_main.csv", "trr/trr_main.csv", "trr/trr_main.csv", "cps/profile.csv", "cps/profile.csv"],
        "status": ["kept", "merged", "rejected", "kept", "rejected"],
        "n": [5120, 300, 41, 660, 1],
    })


def _eb() -> pd.DataFrame:
    return empirical_bayes(pd.concat([REF_UNITS, SMALL_UNITS], ignore_index=True))


# --- funnel --------------------------------------------------------------------------------------

def test_funnel_points_sit_at_each_units_volume_and_rate():
    ax = funnel_plot(REF_UNITS)
    drawn = _offsets(ax, "funnel-units-")
    expected = REF_UNITS.assign(rate=REF_UNITS["x"] / REF_UNITS["n"])
    got = sorted(map(tuple, drawn.round(12)))
    want = sorted(zip(expected["n"].astype(float), expected["rate"].round(12), strict=True))
    assert got == want


def test_funnel_limit_lines_are_limits_curve_values():
    ax = funnel_plot(REF_UNITS)
    result = funnel(REF_UNITS)
    for column in ("lo95", "hi95", "lo998", "hi998"):
        line = _line(ax, f"funnel-{column}")
        n_values = np.asarray(line.get_xdata(), dtype=float)
        np.testing.assert_allclose(line.get_ydata(), result.limits_curve(n_values)[column], rtol=0, atol=1e-12)
    # At unit G's n = 40 the drawn OD 95% limits are the SPEC reference [0.1122, 0.7594].
    lo95, hi95 = _line(ax, "funnel-lo95"), _line(ax, "funnel-hi95")
    assert np.interp(40, lo95.get_xdata(), lo95.get_ydata()) == pytest.approx(0.1122, abs=5e-4)
    assert np.interp(40, hi95.get_xdata(), hi95.get_ydata()) == pytest.approx(0.7594, abs=5e-4)
    assert _line(ax, "funnel-target").get_ydata()[0] == pytest.approx(251 / 605)


def test_funnel_caption_reports_phi_and_tau2():
    ax = funnel_plot(REF_UNITS)
    text = " ".join(_all_text(ax.figure)).replace("\n", " ")
    assert "φ = 7.26" in text and "τ² = 0.0272" in text and "limits are widened" in text


def test_funnel_never_draws_a_unit_with_n_below_10_but_pools_them():
    data = pd.concat([REF_UNITS, SMALL_UNITS], ignore_index=True)
    ax = funnel_plot(data)
    drawn = _offsets(ax, "funnel-units-")
    assert len(drawn) == len(REF_UNITS)
    assert not np.isin(drawn[:, 0], [6.0, 7.0]).any()
    pooled = _offsets(ax, "funnel-pooled")
    np.testing.assert_allclose(pooled, [[13.0, 5 / 13]])
    assert "other units (n<10)" in _all_text(ax.figure)


def test_funnel_drops_a_pool_that_is_itself_below_10():
    data = pd.concat([REF_UNITS, SMALL_UNITS.iloc[:1]], ignore_index=True)
    ax = funnel_plot(data)
    assert len(_offsets(ax, "funnel-pooled")) == 0
    assert not np.isin(_offsets(ax, "funnel-units-")[:, 0], [6.0]).any()
    assert "S1" not in set(plotted_data(ax.figure)["label"])


def test_funnel_labels_units_outside_the_998_limits_only():
    # Without overdispersion adjustment, D (0.30 at n=200), E, G and H lie outside 99.8%.
    ax = funnel_plot(REF_UNITS, overdispersion=False)
    result = funnel(REF_UNITS, overdispersion=False)
    outside = set(result.units.loc[result.units["position"].str.endswith("998"), "unit"])
    assert outside  # the test must exercise labels
    labels = {t.get_text() for t in ax.texts} & set(REF_UNITS["unit"])
    assert labels == outside


# --- caterpillar ---------------------------------------------------------------------------------

def test_caterpillar_intervals_span_eb_low_to_eb_high():
    eb = _eb()
    ax = caterpillar_plot(eb)
    # name order, first name at the top (y counts from the bottom): never sorted by the estimate
    shown = eb.loc[eb["n"] >= 10].sort_values("unit", key=lambda u: u.str.lower(), ascending=False).reset_index(drop=True)
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels == shown["unit"].tolist()
    by_y = {float(seg[0, 1]): (float(seg[0, 0]), float(seg[1, 0])) for seg in _segments(ax, "caterpillar-intervals")}
    assert len(by_y) == len(shown)
    for y, row in shown.iterrows():
        assert by_y[float(y)] == pytest.approx((row["eb_low"], row["eb_high"]))
    points = {float(p[1]): float(p[0]) for p in _offsets(ax, "caterpillar-estimates")}
    for y, row in shown.iterrows():
        assert points[float(y)] == pytest.approx(row["eb_mean"])


def test_caterpillar_has_no_rank_numbers_and_no_small_units():
    eb = _eb()
    ax = caterpillar_plot(eb)
    texts = _all_text(ax.figure)
    tick_texts = [t.get_text() for t in ax.get_yticklabels()]
    assert not [t for t in tick_texts if RANK_TEXT.search(t)]  # no "1", "#2", "3rd" row labels
    assert not [t for t in texts if re.search(r"#\d|\b\d+(st|nd|rd|th)\b|\brank(ed|ing)?\b", t)]
    assert "S1" not in tick_texts and "S2" not in tick_texts
    assert "S1" not in set(plotted_data(ax.figure)["unit"])


def test_caterpillar_colours_by_tier_and_marks_the_overall_rate():
    eb = _eb()
    ax = caterpillar_plot(eb)
    for collection in ax.collections:
        gid = collection.get_gid() or ""
        if gid.startswith("caterpillar-intervals-"):
            tier = gid.removeprefix("caterpillar-intervals-")
            assert mpl.colors.to_hex(collection.get_colors()[0]).upper() == TIER_COLOURS[tier].upper()
    reference = [ln for ln in ax.lines if ln.get_gid() == "caterpillar-reference"][0]
    assert reference.get_xdata()[0] == pytest.approx((251 + 5) / (605 + 13))


def test_caterpillar_skips_suppressed_estimates():
    eb = _eb()
    eb.loc[eb["unit"] == "D", ["eb_mean", "eb_low", "eb_high"]] = np.nan
    ax = caterpillar_plot(eb)
    assert "D" not in [t.get_text() for t in ax.get_yticklabels()]
    assert len(_segments(ax, "caterpillar-intervals")) == 7
    assert any("1 suppressed estimate(s) not drawn" in t.replace("\n", " ") for t in _all_text(ax.figure))


# --- trend ---------------------------------------------------------------------------------------

def test_trend_draws_rates_and_intervals_but_not_suppressed_years():
    rates = _rates_by_year()
    ax = trend_plot(rates)
    points = _offsets(ax, "trend-points-")
    np.testing.assert_allclose(points, [[0, 0.40], [2, 1 / 3], [3, 0.80]])
    segments = sorted((float(s[0, 0]), float(s[0, 1]), float(s[1, 1])) for s in _segments(ax, "trend-intervals-"))
    np.testing.assert_allclose(segments, [(0, 0.31, 0.50), (2, 0.24, 0.43), (3, 0.55, 0.93)])
    line = _line(ax, "trend-line-all")
    assert np.isnan(line.get_ydata()[1])  # the gap breaks the line instead of bridging it
    assert [t.get_text() for t in ax.get_xticklabels()] == ["2016-17\nN=100", "2017-18\nN<10", "2018-19\nN=90", "2019-20\nN=15"]
    assert "suppressed" in [t.get_text() for t in ax.texts]
    assert "2017-18" not in set(plotted_data(ax.figure)["school_year"])


def test_trend_marks_unstable_rates_hollow():
    ax = trend_plot(_rates_by_year())
    (collection,) = [c for c in ax.collections if c.get_gid() == "trend-points-all"]
    faces = [mpl.colors.to_hex(f) for f in collection.get_facecolors()]
    assert faces[-1] == "#ffffff" and faces[0] != "#ffffff"  # 2019-20 has n = 15 < 20


def test_trend_with_hue_draws_one_line_per_group():
    rates = pd.concat([_rates_by_year().assign(group="black"), _rates_by_year().assign(group="white")])
    ax = trend_plot(rates, hue="group")
    assert {ln.get_gid() for ln in ax.lines} == {"trend-line-black", "trend-line-white"}
    assert len(_offsets(ax, "trend-points-")) == 6


# --- RRI forest ----------------------------------------------------------------------------------

def test_rri_forest_plots_log_scale_with_reference_at_one():
    table = _rri()
    ax = rri_forest_plot(table, reference="white")
    assert ax.get_xscale() == "log"
    assert _line(ax, "rri-reference").get_xdata()[0] == 1.0
    points = _offsets(ax, "rri-points")
    assert points[:, 0].tolist() == pytest.approx([2.0])
    (segment,) = _segments(ax, "rri-intervals")
    assert (segment[0, 0], segment[1, 0]) == pytest.approx((1.2253, 3.2646), abs=1e-4)


def test_rri_forest_writes_text_for_groups_not_computed():
    ax = rri_forest_plot(_rri(), reference="white")
    texts = {t.get_text() for t in ax.texts if t.get_gid() == "rri-not-computed"}
    assert "not computed: events < 5" in texts
    assert "reference group (RRI = 1 by definition)" in texts
    assert len(_offsets(ax, "rri-points")) == 1  # asian (3 events) and white get no point
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels[0] == "custodial arrest" and set(labels[1:]) == {"Asian", "Black", "White"}  # reader words


# --- de-escalation -------------------------------------------------------------------------------

def test_deescalation_bar_lengths_are_rates_in_registry_order():
    ax = deescalation_plot(_deescalation_rates())
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels == ["cooperative", "active resister", "assailant: deadly force", "unknown"]
    bars = sorted(ax.patches, key=lambda p: p.get_y())
    assert [b.get_width() for b in bars] == pytest.approx([0.80, 0.65, 0.30])
    centres = [b.get_y() + b.get_height() / 2 for b in bars]
    assert centres == pytest.approx([0.0, 1.0, 3.0])  # row 2 (suppressed) has no bar
    segments = sorted((float(s[0, 1]), float(s[0, 0]), float(s[1, 0])) for s in _segments(ax, "deescalation-intervals"))
    np.testing.assert_allclose(segments, [(0, 0.72, 0.86), (1, 0.59, 0.70), (3, 0.17, 0.46)])
    texts = [t.get_text() for t in ax.texts]
    assert "withheld (small numbers)" in texts and "N<10" in texts and "N=300" in texts
    assert "N=6" not in texts


def test_deescalation_rejects_codes_outside_the_registry():
    bad = _deescalation_rates().assign(subject_resistance=["unknown", "resisting", "cooperative", "unknown2"])
    with pytest.raises(ValueError, match="not registry codes"):
        deescalation_plot(bad)


# --- map -----------------------------------------------------------------------------------------

def test_school_map_scatters_coordinates_with_cos_lat_aspect():
    schools = _schools()
    ax = school_map(schools, size="students", hue="level", unit="school_id")
    drawn = sorted(map(tuple, _offsets(ax, "school-points")))
    want = sorted(zip(schools["lon"][:3], schools["lat"][:3], strict=True))
    np.testing.assert_allclose(drawn, want)
    mid = (41.7344 + 41.9375) / 2
    assert ax.get_aspect() == pytest.approx(1 / np.cos(np.radians(mid)))
    assert "999999" not in set(plotted_data(ax.figure)["school_id"])
    # Marker area is proportional to the size column (largest = 60 pt²).
    sizes = {tuple(np.round(o, 4)): s for c in ax.collections for o, s in zip(c.get_offsets(), c.get_sizes(), strict=True)}
    assert sizes[(-87.651, 41.7344)] == pytest.approx(60.0)
    assert sizes[(-87.713, 41.863)] == pytest.approx(15.0)


@pytest.mark.real
def test_school_map_draws_every_cps_school_with_coordinates(shared_data):
    path = shared_data / "cps-schools" / "Chicago_Public_Schools_-_School_Profile_Information_SY1718.csv"
    schools = pd.read_csv(path)
    ax = school_map(schools, lon="School_Longitude", lat="School_Latitude", hue="Primary_Category", unit="School_ID")
    assert len(_offsets(ax, "school-points")) == 661
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == ["ES (471)", "HS (180)", "MS (9)", "not recorded (1)"]


# --- data quality --------------------------------------------------------------------------------

def test_data_quality_bars_stack_kept_merged_rejected():
    ax = data_quality_plot(_ledger_summary())
    segments = {}
    for status in ("kept", "merged", "rejected"):
        (container,) = [c for c in ax.containers if c.get_label() == status]
        segments[status] = [(p.get_x(), p.get_width()) for p in container.patches]
    # Files sorted by name: cps/profile.csv (row 0, 661 rows), trr/trr_main.csv (row 1, 5,461 rows);
    # segments are shares of each file's rows.
    assert segments["kept"] == [(0, pytest.approx(660 / 661)), (0, pytest.approx(5120 / 5461))]
    assert segments["merged"] == [(pytest.approx(660 / 661), 0), (pytest.approx(5120 / 5461), pytest.approx(300 / 5461))]
    assert segments["rejected"] == [(pytest.approx(660 / 661), pytest.approx(1 / 661)),
                                    (pytest.approx(5420 / 5461), pytest.approx(41 / 5461))]
    texts = [t.get_text() for t in ax.texts]
    assert "N=5,461\n0.8% rejected" in texts


def test_data_quality_rejects_unknown_status():
    bad = _ledger_summary().assign(status=["kept", "merged", "dropped", "kept", "kept"])
    with pytest.raises(ValueError, match="not ledger statuses"):
        data_quality_plot(bad)


# --- save_figure and determinism -----------------------------------------------------------------

PLOTS = {
    "funnel": lambda: funnel_plot(pd.concat([REF_UNITS, SMALL_UNITS], ignore_index=True)),
    "caterpillar": lambda: caterpillar_plot(_eb()),
    "trend": lambda: trend_plot(_rates_by_year()),
    "rri": lambda: rri_forest_plot(_rri(), reference="white"),
    "deescalation": lambda: deescalation_plot(_deescalation_rates()),
    "map": lambda: school_map(_schools(), size="students", hue="level", unit="school_id"),
    "quality": lambda: data_quality_plot(_ledger_summary()),
}


def test_save_figure_writes_six_files(tmp_path):
    with theme():
        ax = PLOTS["deescalation"]()
        paths = save_figure(ax.figure, "deescalation", source=SOURCE, out_dir=tmp_path)
    assert sorted(paths) == ["alt", "csv", "json", "pdf", "png", "svg"]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        f"deescalation.{ext}" for ext in ("alt.txt", "csv", "json", "pdf", "png", "svg"))
    csv = paths["csv"].read_bytes()
    assert b"\r" not in csv
    table = pd.read_csv(paths["csv"])
    assert table.columns.tolist() == ["subject_resistance", "rate", "ci_low", "ci_high", "denominator"]
    assert table["subject_resistance"].tolist() == ["active_resister", "cooperative", "unknown"]  # sorted
    assert table["rate"].tolist() == [0.65, 0.80, 0.30]
    assert paths["alt"].read_text() == describe(ax.figure) + "\n"
    assert paths["png"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    manifest = json.loads(paths["json"].read_text())
    assert manifest["source"] == SOURCE and manifest["data"]["rows"] == 3
    assert not list(tmp_path.glob(".*.tmp"))  # atomic writes leave no temporary files


def test_save_figure_adds_the_source_line_once_and_keeps_text_editable(tmp_path):
    with theme():
        ax = PLOTS["trend"]()
        save_figure(ax.figure, "trend", source=SOURCE, out_dir=tmp_path)
        paths = save_figure(ax.figure, "trend", source=SOURCE, out_dir=tmp_path)
    assert [t.get_text().replace("\n", " ") for t in ax.figure.texts].count(SOURCE) == 1
    svg = paths["svg"].read_text()
    assert "<text" in svg and "sro-analysis 0.1.0" in svg  # svg.fonttype none: real text
    assert "<dc:date>" not in svg
    pdf = paths["pdf"].read_bytes()
    assert b"/CreationDate" not in pdf and b"/ModDate" not in pdf
    assert b"/FontFile2" in pdf  # TrueType (fonttype 42), editable in a vector editor


def test_save_figure_requires_alt_text_and_data_when_nothing_was_recorded(tmp_path):
    fig, ax = plt.subplots()
    ax.plot([0, 1], [0, 1])
    with pytest.raises(ValueError, match="alt text"):
        save_figure(fig, "bare", source=SOURCE, out_dir=tmp_path)
    with pytest.raises(ValueError, match="data"):
        save_figure(fig, "bare", source=SOURCE, alt="A line.", out_dir=tmp_path)
    with pytest.raises(ValueError, match="stem"):
        save_figure(fig, "../escape", source=SOURCE, alt="A line.", data=pd.DataFrame(), out_dir=tmp_path)


@pytest.mark.parametrize("name", sorted(PLOTS))
def test_rerendering_gives_byte_identical_files(name, tmp_path):
    outputs = []
    for run in ("first", "second"):
        with theme():
            ax = PLOTS[name]()
            paths = save_figure(ax.figure, name, source=SOURCE, out_dir=tmp_path / run)
        plt.close(ax.figure)
        outputs.append({key: path.read_bytes() for key, path in paths.items()})
    first, second = outputs
    assert sorted(first) == ["alt", "csv", "json", "pdf", "png", "svg"]
    for key in first:
        assert first[key] == second[key], f"{name}.{key} differs between renders"


def test_every_plot_records_alt_text_and_the_numbers_plotted():
    for name, make in PLOTS.items():
        ax = make()
        alt = describe(ax.figure)
        assert alt and len(alt) > 40, name
        assert isinstance(plotted_data(ax.figure), pd.DataFrame), name
        plt.close("all")


# --- style ---------------------------------------------------------------------------------------

def test_theme_applies_the_house_style_and_restores_rcparams():
    before = dict(mpl.rcParams)
    with theme():
        assert mpl.rcParams["font.sans-serif"][0] == "DejaVu Sans"
        assert mpl.rcParams["pdf.fonttype"] == 42 and mpl.rcParams["svg.fonttype"] == "none"
        assert mpl.rcParams["svg.hashsalt"] == "sro-analysis"
        assert [mpl.colors.to_hex(c).upper() for c in mpl.rcParams["axes.prop_cycle"].by_key()["color"]] == list(PALETTE)
        assert tuple(mpl.rcParams["figure.figsize"]) == (3.5, 2.59)
    with theme("full"):
        assert mpl.rcParams["figure.figsize"][0] == 7.0
    assert dict(mpl.rcParams) == before


def test_set_theme_is_global():
    with mpl.rc_context():
        set_theme()
        assert mpl.rcParams["savefig.dpi"] == 300


def test_tier_colours_cover_the_shrinkage_tiers():
    assert set(EB_TIERS) <= set(TIER_COLOURS)
    assert len({TIER_COLOURS[t] for t in EB_TIERS}) == 3


def test_source_note_formats_records_and_years():
    assert source_note(["CPD Tactical Response Reports", "school locations"], "2004-05", "2020-21") == (
        "Source: CPD Tactical Response Reports, school locations, 2004-05 to 2020-21. sro-analysis 0.1.0")
    assert source_note("CPS school profiles", "2017-18", "2017-18") == "Source: CPS school profiles, 2017-18. sro-analysis 0.1.0"


def test_new_figures_take_their_width_from_the_theme():
    with theme("full"):
        ax = caterpillar_plot(_eb())
    assert ax.figure.get_size_inches()[0] == pytest.approx(7.0)
    plt.close("all")  # otherwise the next plot draws on the current Axes, as seaborn does
    with theme():
        ax = deescalation_plot(_deescalation_rates())
    assert ax.figure.get_size_inches()[0] == pytest.approx(3.5)
