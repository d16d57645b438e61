"""The one label mapper: map files, one vocabulary of a shared file, maps written in a YAML mapping."""

from __future__ import annotations

import pickle

import duckdb
import pyarrow as pa
import pytest

from sro_analysis.clean.check import check_rows
from sro_analysis.clean.declare import Col, Layout
from sro_analysis.clean.labels import inline_map, label_table, load_map, normalise_label


def test_one_vocabulary_of_a_shared_map_file():
    gender = load_map("synthetic_labels.csv", where=("column", "gender"))
    sex = load_map("synthetic_labels.csv", where=("column", "sex"))
    # The same label means different things in two columns of the release: X is "other" for an
    # officer's gender, "nonbinary" for a subject's sex.
    assert gender.lookup("X") == {"value": "other"} and sex.lookup("X") == {"value": "nonbinary"}
    assert gender.value_columns == ("value",) and gender.lookup("U") is None
    with pytest.raises(KeyError, match="has no rows with column = 'colour'"):
        load_map("synthetic_labels.csv", where=("column", "colour"))


def test_inline_map_exact_then_patterns_then_default():
    m = inline_map("uof.Force", {"Escort hold": "escort_or_control_hold", "Taser": "taser_discharge"},
                   [(r"TASER.*", "taser_display"), (r".*WARRANT.*", "warrant")], default="other")
    looked = {v: m.lookup(normalise_label(v))["value"] for v in ("escort  HOLD", "taser", "Taser (drive stun)",
                                                                  "arrest on warrant", "Sprint")}
    assert looked == {"escort  HOLD": "escort_or_control_hold", "taser": "taser_discharge",
                      "Taser (drive stun)": "taser_display", "arrest on warrant": "warrant", "Sprint": "other"}
    assert inline_map("m", {"A": "a"}).lookup("B") is None  # no default: unmapped
    assert m.lookup(None) is None  # blank is blank, never a default
    again = pickle.loads(pickle.dumps(m))  # declarations travel to Dask workers
    assert again.lookup("SPRINT") == {"value": "other"}


def test_a_column_declared_with_a_map_object_is_checked_like_a_map_file():
    race = inline_map("corpus.Race", {"B": "black", "W": "white"})
    layout = Layout("t", (Col("id", need=True), Col("race", label_map=race, field="incident_subjects.race_ethnicity",
                                                      blank="unknown")))
    con = duckdb.connect()
    con.register("raw", pa.table({"source_row": [1, 2, 3], "c0": ["a", "b", "c"], "c1": ["b", "", "Q"]}))
    check_rows(con, "raw", layout, {"id": "c0", "race": "c1"}, "f.csv")
    assert con.execute("SELECT id, race FROM checked ORDER BY source_row").fetchall() == [("a", "black"), ("b", "unknown")]
    assert con.execute("SELECT source_row, reason, \"column\", value, message FROM rejected").fetchall() == [
        (3, "unmapped_label", "race", "Q", "race 'Q' is not in the label map")]
    assert hash(layout.columns[1])  # declarations stay hashable with a map object in them


def test_label_table_names_the_map_and_the_missing_column():
    table = label_table(inline_map("m", {"Y": "yes"}), ["Y", "N", None], "value")
    assert table.astype(object).where(table.notna(), None).values.tolist() == [["N", None, False], ["Y", "yes", True]]
    with pytest.raises(KeyError, match=r"label map schema/maps/cpd_trr_sex.csv has no column 'colour'"):
        label_table("cpd_trr_sex.csv", ["M"], "colour")
