"""Shared cleaning verbs."""

from __future__ import annotations

import pandas as pd
import pytest

from sro_analysis import standardize as s


def test_parse_dates_tries_formats_and_reports_impossible_dates():
    values = pd.Series(["2014-03-01", "03/14/2014 04:45:00 PM", "28/8/2004", "31/02/2014", "", "soon"])
    parsed, failed = s.parse_dates(values, ["%Y-%m-%d", "%m/%d/%Y %I:%M:%S %p", "%d/%m/%Y"])
    assert parsed.iloc[2] == pd.Timestamp("2004-08-28")
    assert parsed.iloc[1] == pd.Timestamp("2014-03-14 16:45")
    assert failed.tolist() == [False, False, False, True, False, True]
    assert pd.isna(parsed.iloc[4])


@pytest.mark.parametrize("when,year", [("2014-06-30", "2013-14"), ("2014-07-01", "2014-15"), ("1999-12-01", "1999-00")])
def test_school_year_cuts_on_1_july(when, year):
    assert s.school_year(pd.Series([pd.Timestamp(when)])).iloc[0] == year


@pytest.mark.parametrize("a,b", [
    ("032XX W ADAMS ST", "3245 W Adams Street"),
    ("32XX West ADAMS ST", "3200 W. ADAMS ST."),
    ("1XX S CAMPBELL AVE", "120 South Campbell Avenue"),
    ("0000X W MADISON ST", "45 W Madison St"),
])
def test_hundred_block_keys_match_street_addresses(a, b):
    assert s.hundred_block_key(a) == s.hundred_block_key(b)


def test_hundred_block_keys_differ_across_blocks_and_directions():
    assert s.hundred_block_key("3245 W ADAMS ST") != s.hundred_block_key("3345 W ADAMS ST")
    assert s.hundred_block_key("3245 W ADAMS ST") != s.hundred_block_key("3245 E ADAMS ST")
    assert s.hundred_block_key("ADAMS ST") is None


def test_name_ns_and_clean_text():
    assert s.name_ns(pd.Series(["Mary-Ann", "o'neil jr"])).tolist() == ["MARYANN", "ONEILJR"]
    assert s.clean_text(pd.Series(["  a   b ", "N/A"])).tolist() == ["a b", pd.NA]
