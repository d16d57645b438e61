"""Bad input: every case of tests/corpus/ gets an exact error or exact ledger entries, and the good
rows around it still flow (tests/corpus/README.md lists the cases). One rule everywhere: a bad
value of a field whose policy is *reject* rejects the row, of a field whose policy is *blank*
(optional fields: an age, a latitude) blanks the value and flags the kept row."""

from __future__ import annotations

import shutil
import zipfile
import zlib
from pathlib import Path

import pandas as pd
import pytest

from conftest import ROOT
from sro_analysis.clean import clean
from sro_analysis.clean.discover import CleanError, UnusedFilesError
from sro_analysis.sources.mapped import sources_from_mapping

CORPUS = ROOT / "tests" / "corpus"
MAPPING = CORPUS / "mapping.yaml"
GOOD_IDS = {"G-1", "G-2", "G-3"}
UOF_COLUMNS = ["Report #", "Incident Date", "Time", "Campus Code", "Officer Badge", "Officer Last", "Officer First",
               "Subject Type", "Age", "Race", "Gender", "Result"]


def _raw(tmp_path: Path, *cases: str, good: bool = True) -> Path:
    """A raw folder holding the good baseline files plus the files of the named corpus cases."""
    raw = tmp_path / "raw"
    raw.mkdir(exist_ok=True)
    for case in (("good",) if good else ()) + cases:
        for f in sorted((CORPUS / case).iterdir()):
            shutil.copy(f, raw / f.name)
    return raw


def _clean(raw: Path, roster: Path | None = None, **options):
    return clean("mapped", raw, sources=sources_from_mapping(MAPPING), roster=roster, progress=False, **options)


def _entries(ds, source_file: str) -> list[tuple]:
    """Ledger rows of a file that are not plainly kept: (row, status, reason, message, column, value)."""
    led = ds.ledger[(ds.ledger["source_file"] == source_file) & ((ds.ledger["status"] != "kept")
                                                                 | ds.ledger["reason"].notna())]
    return [(int(r.source_row), r.status, r.reason, r.message, None if pd.isna(r.column) else r.column,
             None if pd.isna(r.value) else r.value) for r in led.itertuples()]


def _kept_ids(ds) -> set[str]:
    return set(ds.incidents["source_record_id"])


def _summary(ds, source_file: str) -> list[int]:
    s = ds.ledger_summary().set_index("source_file")
    return s.loc[source_file, ["rows", "kept", "merged", "rejected"]].astype(int).tolist()


def _by_report(ds, table: str) -> pd.DataFrame:
    return ds.tables[table].merge(ds.incidents[["incident_id", "source_record_id"]]).set_index("source_record_id")


def _unused_lines(info) -> list[str]:
    return [line for line in str(info.value).splitlines() if line.startswith("  - ")]


def _png() -> bytes:
    """A real 1x1 PNG (signature, IHDR, IDAT, IEND)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return len(data).to_bytes(4, "big") + kind + data + zlib.crc32(kind + data).to_bytes(4, "big")
    ihdr = (1).to_bytes(4, "big") * 2 + bytes([8, 0, 0, 0, 0])
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\x00\x00")) + chunk(b"IEND", b"")


# -- encodings -------------------------------------------------------------------------------------
def test_cp1252_file_keeps_its_accented_characters_and_the_encoding_is_recorded(tmp_path):
    ds = _clean(_raw(tmp_path, "encoding_cp1252"))
    assert _summary(ds, "uof_cp1252.csv") == [2, 2, 0, 0]
    files = {f["file"]: f["encoding"] for f in ds.provenance["files"]}
    assert files == {"campuses.csv": "utf-8", "uof.csv": "utf-8", "uof_cp1252.csv": "cp1252"}
    assert _by_report(ds, "incidents").loc["W-1", "location_raw"] == "CAFÉ"  # CAFÉ stays CAFÉ
    out = _by_report(ds, "outcomes")
    assert out.loc["W-1", ["outcome_raw", "outcome_canonical"]].tolist() == ["Médiation scolaire", "diversion_referral"]
    assert _kept_ids(ds) == GOOD_IDS | {"W-1", "W-2"}


def test_utf8_bom_does_not_hide_the_first_column(tmp_path):
    ds = _clean(_raw(tmp_path, "encoding_utf8_bom"))
    assert _summary(ds, "uof_bom.csv") == [1, 1, 0, 0]  # recognised: the BOM is not part of "Report #"
    assert _by_report(ds, "outcomes").loc["B-1", "outcome_raw"] == "Médiation scolaire"
    assert _kept_ids(ds) == GOOD_IDS | {"B-1"}


# -- columns -----------------------------------------------------------------------------------
MISSING_AGE = ("  - uof_no_age.csv: looks like mapped:corpus / corpus_uof (header row 1 has 10 of its 11 needed columns) "
               "but lacks: Age")
RENAMED = ("  - uof_renamed.csv: looks like mapped:corpus / corpus_uof (header row 1 has 8 of its 11 needed columns) "
           "but lacks: Report #, Incident Date, Result")


@pytest.mark.parametrize("case,line,rows", [("missing_column", MISSING_AGE, 1), ("renamed_columns", RENAMED, 1)])
def test_a_file_lacking_columns_stops_the_run_naming_them_unless_unused_files_are_allowed(tmp_path, case, line, rows):
    raw = _raw(tmp_path, case)
    with pytest.raises(UnusedFilesError) as info:
        _clean(raw)
    assert _unused_lines(info) == [line]
    assert "run with --allow-unused to go on" in str(info.value)
    ds = _clean(raw, allow_unused=True)
    name = line.split(":")[0].strip("- ")
    entries = _entries(ds, name)
    assert [e[:3] for e in entries] == [(1, "rejected", "file_not_used")] * rows
    assert entries[0][3] == "no layout of the chosen source(s) reads this file: " + line.split(": ", 1)[1]
    assert ds.provenance["unused_files"] == [{"path": name, "reason": line.split(": ", 1)[1]}]
    assert _kept_ids(ds) == GOOD_IDS


def test_extra_unknown_columns_are_ignored_with_a_note(tmp_path):
    ds = _clean(_raw(tmp_path, "extra_column"))
    assert _summary(ds, "uof_extra.csv") == [2, 2, 0, 0]
    assert "uof_extra.csv: column(s) not used by mapped:corpus/corpus_uof: Weather, Notes" in ds.provenance["notes"]
    assert _kept_ids(ds) == GOOD_IDS | {"X-1", "X-2"}


def test_a_folder_where_nothing_is_read_is_an_error_not_an_empty_dataset(tmp_path):
    raw = _raw(tmp_path, "renamed_columns", "empty_file", good=False)
    with pytest.raises(CleanError) as info:
        _clean(raw, allow_unused=True)
    assert str(info.value) == f"no file under {raw} is read by the chosen source(s) ({RENAMED[4:]})"


# -- file shapes ---------------------------------------------------------------------------------
def test_empty_file_is_not_data_with_its_reason(tmp_path):
    ds = _clean(_raw(tmp_path, "empty_file"))
    assert ds.provenance["not_data_files"] == [{"path": "empty.csv", "reason": "the file is empty"}]
    assert "empty.csv" not in set(ds.ledger["source_file"])
    assert _kept_ids(ds) == GOOD_IDS


def test_header_only_file_is_read_and_has_no_rows(tmp_path):
    ds = _clean(_raw(tmp_path, "header_only"))
    files = {f["file"]: f["rows"] for f in ds.provenance["files"]}
    assert files["uof_header_only.csv"] == 0
    assert "uof_header_only.csv" not in set(ds.ledger["source_file"])
    assert _kept_ids(ds) == GOOD_IDS


def test_truncated_last_line_is_a_ledger_entry(tmp_path):
    ds = _clean(_raw(tmp_path, "truncated_last_line"))
    assert _entries(ds, "uof_truncated.csv") == [
        (2, "rejected", "truncated_line", "the file ends in the middle of this row (cut off): not a complete record",
         None, "T-2,03/02/2022,10:00,RHS,4411,Ba")]
    assert _kept_ids(ds) == GOOD_IDS | {"T-1"}


def test_blank_line_and_blank_record_key_are_rejected(tmp_path):
    ds = _clean(_raw(tmp_path, "blank_line_and_key"))
    assert _entries(ds, "uof_blank.csv") == [
        (2, "rejected", "blank_line", "blank line inside the data", None, None),
        (3, "rejected", "missing_key", "the record key (Report #) is blank", "Report #", None),
    ]
    assert _summary(ds, "uof_blank.csv") == [4, 2, 0, 2]  # trailing blank lines are not rows
    assert _kept_ids(ds) == GOOD_IDS | {"K-1", "K-3"}


# -- values --------------------------------------------------------------------------------------
def test_mixed_date_formats_parse_and_impossible_dates_are_rejected(tmp_path):
    """occurred_at is required: its policy is reject."""
    ds = _clean(_raw(tmp_path, "dates"))
    msg = "Incident Date, Time {} is not a date/time in the expected format"
    assert _entries(ds, "uof_dates.csv") == [
        (4, "rejected", "unparseable_date", msg.format("'31/02/2022 10:00'"), "Incident Date, Time", "31/02/2022 10:00"),
        (5, "rejected", "unparseable_date", msg.format("'02/31/2022 10:00'"), "Incident Date, Time", "02/31/2022 10:00"),
        (6, "rejected", "missing_value", "Incident Date, Time (blank) is blank, and this column needs a value",
         "Incident Date, Time", ""),
        (7, "rejected", "unparseable_date", msg.format("'March 18 2022 10:00'"), "Incident Date, Time",
         "March 18 2022 10:00"),
    ]
    when = ds.incidents.set_index("source_record_id")["occurred_at"]
    assert when[["D-1", "D-2", "D-3"]].tolist() == [pd.Timestamp("2022-03-14 10:00"), pd.Timestamp("2022-03-15 10:00"),
                                                    pd.Timestamp("2022-03-16")]
    assert _kept_ids(ds) == GOOD_IDS | {"D-1", "D-2", "D-3"}


def test_ages_out_of_range_or_unreadable_are_blanked_and_flagged_padding_is_not(tmp_path):
    """age_at_incident is optional: its policy is blank (the subject is kept, the age unknown, the row flagged)."""
    ds = _clean(_raw(tmp_path, "ages"))
    assert _entries(ds, "uof_ages.csv") == [
        (2, "kept", "out_of_range", "Age '-3' is outside the allowed range", "Age", "-3"),
        (3, "kept", "out_of_range", "Age '240' is outside the allowed range", "Age", "240"),
        (4, "kept", "invalid_number", "Age '15.5' is not a number", "Age", "15.5"),
        (5, "kept", "invalid_number", "Age 'fifteen' is not a number", "Age", "fifteen"),
        (6, "kept", "out_of_range", "Age '1,000' is outside the allowed range", "Age", "1,000"),  # 1000, not 1
    ]
    ages = _by_report(ds, "incident_subjects")["age_at_incident"]
    assert ages["A-1"] == 16  # " 16 ": padding stripped
    assert ages[["A-2", "A-3", "A-4", "A-5", "A-6", "A-7"]].isna().all()  # blanked, and A-7 was blank
    assert _summary(ds, "uof_ages.csv") == [7, 7, 0, 0]


def test_a_latitude_of_999_is_blanked_and_flagged_by_the_same_rule(tmp_path):
    ds = _clean(_raw(tmp_path, "coordinates"))
    assert _entries(ds, "campuses_bad_lat.csv") == [
        (1, "kept", "out_of_range", "Latitude '999' is outside the allowed range", "Latitude", "999")]
    schools = ds.schools.set_index("school_id")
    assert pd.isna(schools.at["NHS", "lat"]) and schools.at["NHS", "lon"] == pytest.approx(-88.24)
    assert schools.at["WMS", "lat"] == pytest.approx(40.099)


def test_exact_duplicates_merge_a_conflicting_key_rejects_every_version(tmp_path):
    ds = _clean(_raw(tmp_path, "duplicates"))
    conflict = ("2 rows have this Report # but differ in their other values (2 versions); which one is right cannot be "
                "told from the files, so none is used")
    assert _entries(ds, "uof_duplicates.csv") == [
        (2, "merged", "duplicate_row_in_file", "identical to row 1 of this file (an exact copy)", None, None),
        (3, "rejected", "conflicting_duplicate_key", conflict, "Report #", "U-2"),
        (4, "rejected", "conflicting_duplicate_key", conflict, "Report #", "U-2"),
        (5, "rejected", "conflicting_duplicate_key", conflict, "Report #", "U-3"),
        (6, "rejected", "conflicting_duplicate_key", conflict, "Report #", "U-3"),
        # Row 7 copies row 6: it shares its fate.
        (7, "rejected", "conflicting_duplicate_key", f"identical to row 6 of this file, which was rejected: {conflict}",
         "Report #", "U-3"),
    ]
    led = ds.ledger.set_index(["source_file", "source_row"])
    assert led.loc[("uof_duplicates.csv", 2), "record_id"] == led.loc[("uof_duplicates.csv", 1), "record_id"]
    assert _summary(ds, "uof_duplicates.csv") == [7, 1, 1, 5]
    assert _kept_ids(ds) == GOOD_IDS | {"U-1"}


def test_unmapped_labels_are_rejected_with_file_column_value_blank_is_unknown_case_is_ignored(tmp_path):
    ds = _clean(_raw(tmp_path, "unmapped_labels"))
    assert _entries(ds, "uof_unmapped.csv") == [
        (1, "rejected", "unmapped_label", "Result 'Sent to the moon' is not in the label map", "Result",
         "Sent to the moon"),
        (2, "rejected", "unmapped_label", "Race 'Q' is not in the label map", "Race", "Q"),
    ]
    assert ds.unmapped_labels().to_dict("records") == [
        {"source_file": "uof_unmapped.csv", "column": "Race", "value": "Q", "rows": 1},
        {"source_file": "uof_unmapped.csv", "column": "Result", "value": "Sent to the moon", "rows": 1}]
    out = _by_report(ds, "outcomes")
    assert out.loc["L-3", ["outcome_raw", "outcome_canonical"]].tolist() == ["(blank)", "other_unknown"]
    assert out.loc["L-5", "outcome_canonical"] == "warning_no_action"  # "warning": labels are case-insensitive
    sub = _by_report(ds, "incident_subjects")
    assert sub.loc["L-4", "race_ethnicity"] == "unknown" and sub.loc["L-5", "race_ethnicity"] == "black"
    assert _kept_ids(ds) == GOOD_IDS | {"L-3", "L-4", "L-5"}


# -- roster ---------------------------------------------------------------------------------------
def test_overlapping_roster_assignments_are_a_warning_and_unknown_school_an_error(tmp_path):
    ds = _clean(_raw(tmp_path), roster=CORPUS / "roster_overlap" / "roster.csv")
    problems = ds.audits["roster_problems"]
    assert problems[["row", "severity", "problem", "message"]].values.tolist() == [
        [2, "warning", "overlapping_assignment", "row 2 overlaps row 1: the same officer is an SRO at schools RHS and "
                                                 "ESM at the same time; both rows are used"],
        [4, "error", "unknown_school", "row 4, column school_id: 'ZZZ' is not in the school directory"],
    ]
    assert len(ds.sro_assignments) == 3  # both overlapping rows used, the unknown school not
    assert ds.incident_officers["is_assigned_sro"].tolist() == [True, True, True]


# -- not CSV at all -------------------------------------------------------------------------------
def test_files_that_are_not_tables_stop_the_run_saying_what_they_are(tmp_path):
    raw = _raw(tmp_path, "not_csv")
    (raw / "photo.png").write_bytes(_png())
    (raw / "scan.csv").write_bytes(_png())  # an image saved under a .csv name
    with zipfile.ZipFile(raw / "export.csv", "w") as z:  # a zip saved under a .csv name
        z.writestr("uof.csv", (CORPUS / "good" / "uof.csv").read_text())
    with pytest.raises(UnusedFilesError) as info:
        _clean(raw)
    assert _unused_lines(info) == [
        "  - export.csv: not a text/CSV file (a ZIP archive)",
        "  - notes.txt: no layout of the chosen sources recognises its header: These are my notes about the records "
        "request. The clerk said the files would arrive in March, ",
        "  - photo.png: not a text/CSV file (a PNG image)",
        "  - scan.csv: not a text/CSV file (a PNG image)",
    ]
    ds = _clean(raw, allow_unused=True)
    assert _entries(ds, "notes.txt") == [  # its first line is taken as a header: one row after it
        (1, "rejected", "file_not_used", "no layout of the chosen source(s) reads this file: no layout of the chosen "
         "sources recognises its header: These are my notes about the records request. The clerk said the files "
         "would arrive in March, ", None, None)]
    assert _kept_ids(ds) == GOOD_IDS


# -- Excel workbooks are read: every sheet, title rows above the header, footers below ---------------
def _workbook(path: Path) -> None:
    """A tiny .xlsx the way agencies send them: title rows above the header, a footer below, two sheets."""
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = "2021"
    ws.append(["Corpus City Police: use of force at schools"])
    ws.append(["Prepared 2022-08-01"])
    ws.append(UOF_COLUMNS)
    ws.append(["E-1", "09/14/2021", "10:05", "RHS", 4411, "Baker", "Dana", "Suspect", 15, "B", "F", "Warning"])
    ws.append(["SOURCE: records unit; figures are preliminary"])
    second = wb.create_sheet("2022")
    second.append(UOF_COLUMNS)
    second.append(["E-2", "02/01/2022", "09:00", "ESM", 5120, "Ortiz", "Luis", "Victim", 13, "H", "M", "Arrested"])
    wb.save(path)


def test_excel_workbooks_are_read_every_sheet_title_rows_and_footers(tmp_path):
    raw = _raw(tmp_path)
    _workbook(raw / "uof_2021.xlsx")
    ds = _clean(raw)
    assert _summary(ds, "uof_2021.xlsx#2021") == [2, 1, 0, 1] and _summary(ds, "uof_2021.xlsx#2022") == [1, 1, 0, 0]
    assert _entries(ds, "uof_2021.xlsx#2021") == [
        (2, "rejected", "footer_row", "a note below the table (footer), not a record",
         None, "SOURCE: records unit; figures are preliminary")]
    files = {f["file"]: (f["header_line"], f["encoding"]) for f in ds.provenance["files"]}
    assert files["uof_2021.xlsx#2021"] == (3, None) and files["uof_2021.xlsx#2022"] == (1, None)
    inc = ds.incidents.set_index("source_record_id")
    assert inc.loc["E-1", "occurred_at"] == pd.Timestamp("2021-09-14 10:05")
    assert _by_report(ds, "incident_subjects").loc["E-1", "age_at_incident"] == 15
    assert _kept_ids(ds) == GOOD_IDS | {"E-1", "E-2"}


def test_an_excel_workbook_alone_is_read(tmp_path):
    raw = tmp_path / "raw"
    raw.mkdir()
    _workbook(raw / "uof_2021.xlsx")
    ds = _clean(raw)
    assert _kept_ids(ds) == {"E-1", "E-2"}


# -- every case together: the rows accounted for, per file -------------------------------------------
def test_all_row_level_cases_together_account_for_every_row(tmp_path):
    cases = ("encoding_cp1252", "encoding_utf8_bom", "extra_column", "header_only", "truncated_last_line",
             "blank_line_and_key", "dates", "ages", "duplicates", "unmapped_labels", "coordinates", "empty_file")
    ds = _clean(_raw(tmp_path, *cases))
    s = ds.ledger_summary().set_index("source_file")[["rows", "kept", "merged", "rejected"]]
    assert s.to_dict("index") == {
        "campuses.csv": {"rows": 2, "kept": 2, "merged": 0, "rejected": 0},
        "campuses_bad_lat.csv": {"rows": 2, "kept": 2, "merged": 0, "rejected": 0},
        "uof.csv": {"rows": 3, "kept": 3, "merged": 0, "rejected": 0},
        "uof_ages.csv": {"rows": 7, "kept": 7, "merged": 0, "rejected": 0},
        "uof_blank.csv": {"rows": 4, "kept": 2, "merged": 0, "rejected": 2},
        "uof_bom.csv": {"rows": 1, "kept": 1, "merged": 0, "rejected": 0},
        "uof_cp1252.csv": {"rows": 2, "kept": 2, "merged": 0, "rejected": 0},
        "uof_dates.csv": {"rows": 7, "kept": 3, "merged": 0, "rejected": 4},
        "uof_duplicates.csv": {"rows": 7, "kept": 1, "merged": 1, "rejected": 5},
        "uof_extra.csv": {"rows": 2, "kept": 2, "merged": 0, "rejected": 0},
        "uof_truncated.csv": {"rows": 2, "kept": 1, "merged": 0, "rejected": 1},
        "uof_unmapped.csv": {"rows": 5, "kept": 3, "merged": 0, "rejected": 2},
    }
    assert len(ds.incidents) == int(s["kept"].sum()) - 4 == 25  # every kept row but the 4 campuses
    assert ds.provenance["not_data_files"] == [{"path": "empty.csv", "reason": "the file is empty"}]
