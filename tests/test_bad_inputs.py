"""Bad input: every case of tests/corpus/ gets an exact error or exact ledger reasons, and the
good rows around it still flow (tests/corpus/README.md lists the cases)."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
import zlib
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from conftest import ROOT
from sro_analysis.cli import main
from sro_analysis.clean import clean
from sro_analysis.sources.base import RawFileError, read_raw_csv
from sro_analysis.sources.mapped import MappingError, adapters_from_mapping

CORPUS = ROOT / "tests" / "corpus"
MAPPING = CORPUS / "mapping.yaml"
GOOD_IDS = {"G-1", "G-2", "G-3"}
UOF_COLUMNS = ("Report #, Incident Date, Time, Campus Code, Officer Badge, Officer Last, Officer First, "
               "Subject Type, Age, Race, Gender, Result")


def _raw(tmp_path: Path, *cases: str, good: bool = True) -> Path:
    """A raw folder holding the good baseline files plus the files of the named corpus cases."""
    raw = tmp_path / "raw"
    raw.mkdir(exist_ok=True)
    for case in (("good",) if good else ()) + cases:
        for f in sorted((CORPUS / case).iterdir()):
            shutil.copy(f, raw / f.name)
    return raw


def _clean(raw: Path, roster: Path | None = None):
    return clean("mapped", raw, adapters=adapters_from_mapping(MAPPING), roster=roster, progress=False)


def _not_kept(ds, source_file: str) -> list[tuple]:
    led = ds.ledger[(ds.ledger["source_file"] == source_file) & (ds.ledger["status"] != "kept")]
    return [(int(r.source_row), r.status, r.reason, r.message, None if pd.isna(r.column) else r.column,
             None if pd.isna(r.value) else r.value) for r in led.itertuples()]


def _kept_ids(ds) -> set[str]:
    return set(ds.incidents["source_record_id"])


def _ignored(ds) -> dict[str, str]:
    return {item["path"]: item["reason"] for item in ds.provenance["ignored_files"]}


def _summary(ds, source_file: str) -> list[int]:
    s = ds.ledger_summary().set_index("source_file")
    return s.loc[source_file, ["rows", "kept", "merged", "rejected"]].astype(int).tolist()


def _png() -> bytes:
    """A real 1x1 PNG (signature, IHDR, IDAT, IEND)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return len(data).to_bytes(4, "big") + kind + data + zlib.crc32(kind + data).to_bytes(4, "big")
    ihdr = (1).to_bytes(4, "big") * 2 + bytes([8, 0, 0, 0, 0])
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\x00\x00")) + chunk(b"IEND", b"")


# -- encodings -------------------------------------------------------------------------------------
def test_cp1252_file_is_decoded_and_its_accented_label_maps(tmp_path):
    ds = _clean(_raw(tmp_path, "encoding_cp1252"))
    assert read_raw_csv(CORPUS / "encoding_cp1252" / "uof_cp1252.csv", relpath="x").encoding == "cp1252"
    assert _summary(ds, "uof_cp1252.csv") == [2, 2, 0, 0]
    out = ds.outcomes.merge(ds.incidents[["incident_id", "source_record_id"]]).set_index("source_record_id")
    assert out.loc["W-1", ["outcome_raw", "outcome_canonical"]].tolist() == ["Médiation scolaire", "diversion_referral"]
    assert _kept_ids(ds) == GOOD_IDS | {"W-1", "W-2"}


def test_utf8_bom_does_not_hide_the_first_column(tmp_path):
    ds = _clean(_raw(tmp_path, "encoding_utf8_bom"))
    assert _summary(ds, "uof_bom.csv") == [1, 1, 0, 0]  # recognised: the BOM is not part of "Report #"
    out = ds.outcomes.merge(ds.incidents[["incident_id", "source_record_id"]]).set_index("source_record_id")
    assert out.loc["B-1", "outcome_raw"] == "Médiation scolaire"
    assert _kept_ids(ds) == GOOD_IDS | {"B-1"}


# -- columns -----------------------------------------------------------------------------------
MISSING_AGE = ("uof_no_age.csv (header on line 1): mapping mapping.yaml: corpus_uof.incident_subjects.age_at_incident "
               "names column 'Age', which the file does not have (columns: Report #, Incident Date, Time, Campus Code, "
               "Officer Badge, Officer Last, Officer First, Subject Type, Race, Gender, Result)")


def test_missing_required_column_is_an_error_naming_file_line_and_column(tmp_path):
    with pytest.raises(MappingError) as info:
        _clean(_raw(tmp_path, "missing_column"))
    assert str(info.value) == MISSING_AGE


def test_missing_column_via_the_cli_exits_1_with_the_message_and_no_traceback(tmp_path):
    raw = _raw(tmp_path, "missing_column")
    args = ["clean", "--source", "mapped", "--mapping", str(MAPPING), "--raw", str(raw),
            "--out", str(tmp_path / "ds"), "--quiet"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 1
    assert result.output.strip() == f"Error: {MISSING_AGE}"
    assert not (tmp_path / "ds").exists()
    # The same through a real process (console script), as a user runs it.
    script = Path(sys.executable).with_name("sro-analysis")
    cmd = [str(script)] if script.exists() else [sys.executable, "-m", "sro_analysis.cli"]
    proc = subprocess.run(cmd + args, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1
    assert proc.stderr.strip() == f"Error: {MISSING_AGE}"
    assert "Traceback" not in proc.stderr + proc.stdout


def test_extra_unknown_columns_are_ignored_with_a_note(tmp_path):
    ds = _clean(_raw(tmp_path, "extra_column"))
    assert _summary(ds, "uof_extra.csv") == [2, 2, 0, 0]
    notes = ds.provenance["notes"]
    assert "uof_extra.csv: column(s) not used by mapping layout 'corpus_uof', ignored: Weather, Notes" in notes
    assert _kept_ids(ds) == GOOD_IDS | {"X-1", "X-2"}


def test_extra_column_note_is_printed_by_the_cli(tmp_path):
    result = CliRunner().invoke(main, ["clean", "--source", "mapped", "--mapping", str(MAPPING), "--raw",
                                       str(_raw(tmp_path, "extra_column")), "--out", str(tmp_path / "ds"), "--quiet"])
    assert result.exit_code == 0, result.output
    assert "note: uof_extra.csv: column(s) not used by mapping layout 'corpus_uof', ignored: Weather, Notes" in result.output


def test_renamed_columns_mean_the_file_is_not_recognised_and_listed_as_ignored(tmp_path):
    ds = _clean(_raw(tmp_path, "renamed_columns"))
    assert _ignored(ds) == {"uof_renamed.csv": "no adapter recognises its header: Report No,Date of Incident,Time,"
                                               "Campus Code,Officer Badge,Officer Last"}
    assert "uof_renamed.csv" not in set(ds.ledger["source_file"])
    assert _kept_ids(ds) == GOOD_IDS


def test_a_folder_where_nothing_is_recognised_is_an_error_not_an_empty_dataset(tmp_path):
    raw = _raw(tmp_path, "renamed_columns", "empty_file", good=False)
    expected = (f"no file under {raw} is recognised by the 'mapped' adapters (empty.csv: empty file; uof_renamed.csv: "
                "no adapter recognises its header: Report No,Date of Incident,Time,Campus Code,Officer Badge,Officer Last)")
    with pytest.raises(ValueError) as info:
        _clean(raw)
    assert str(info.value) == expected
    result = CliRunner().invoke(main, ["clean", "--source", "mapped", "--mapping", str(MAPPING), "--raw", str(raw),
                                       "--out", str(tmp_path / "ds"), "--quiet"])
    assert result.exit_code == 1 and result.output.strip() == f"Error: {expected}"


# -- file shapes ---------------------------------------------------------------------------------
def test_empty_file_is_ignored_with_its_reason(tmp_path):
    ds = _clean(_raw(tmp_path, "empty_file"))
    assert _ignored(ds) == {"empty.csv": "empty file"}
    assert _kept_ids(ds) == GOOD_IDS
    with pytest.raises(RawFileError, match=r"^empty\.csv: the file is empty$"):
        read_raw_csv(CORPUS / "empty_file" / "empty.csv", relpath="empty.csv")


def test_header_only_file_is_read_with_a_note_and_no_rows(tmp_path):
    ds = _clean(_raw(tmp_path, "header_only"))
    assert ds.provenance["adapters"]["mapped:corpus_uof"] == ["uof.csv", "uof_header_only.csv"]
    assert "uof_header_only.csv: header only, no data rows" in ds.provenance["notes"]
    assert "uof_header_only.csv" not in set(ds.ledger["source_file"])
    assert _kept_ids(ds) == GOOD_IDS


def test_truncated_last_line_is_rejected_as_malformed(tmp_path):
    ds = _clean(_raw(tmp_path, "truncated_last_line"))
    assert _not_kept(ds, "uof_truncated.csv") == [
        (2, "rejected", "malformed_line", "malformed CSV line: has 6 cells, the header has 12", None, None)]
    assert _kept_ids(ds) == GOOD_IDS | {"T-1"}


def test_blank_line_and_blank_record_key_are_rejected(tmp_path):
    ds = _clean(_raw(tmp_path, "blank_line_and_key"))
    assert _not_kept(ds, "uof_blank.csv") == [
        (2, "rejected", "blank_line", "blank line inside the data", None, None),
        (3, "rejected", "missing_key", "the record key (Report #) is blank", "Report #", ""),
    ]
    assert _summary(ds, "uof_blank.csv") == [4, 2, 0, 2]  # trailing blank lines are not rows
    assert _kept_ids(ds) == GOOD_IDS | {"K-1", "K-3"}


# -- values --------------------------------------------------------------------------------------
def test_mixed_date_formats_parse_and_impossible_dates_are_rejected(tmp_path):
    ds = _clean(_raw(tmp_path, "dates"))
    msg = "Incident Date, Time: not a date in any of the mapping's date_formats"
    assert _not_kept(ds, "uof_dates.csv") == [
        (4, "rejected", "unparseable_date", msg, "Incident Date, Time", "31/02/2022 10:00"),
        (5, "rejected", "unparseable_date", msg, "Incident Date, Time", "02/31/2022 10:00"),
        (6, "rejected", "missing_date", "the incident has no date", "occurred_at", ""),
        (7, "rejected", "unparseable_date", msg, "Incident Date, Time", "March 18 2022 10:00"),
    ]
    when = ds.incidents.set_index("source_record_id")["occurred_at"]
    assert when[["D-1", "D-2", "D-3"]].tolist() == [pd.Timestamp("2022-03-14 10:00"), pd.Timestamp("2022-03-15 10:00"),
                                                    pd.Timestamp("2022-03-16")]
    assert _kept_ids(ds) == GOOD_IDS | {"D-1", "D-2", "D-3"}


def test_negative_absurd_and_fractional_ages_are_rejected_padding_is_not(tmp_path):
    ds = _clean(_raw(tmp_path, "ages"))
    rng = "Age: outside the range 0 to 120 allowed for age_at_incident"
    whole = "Age: not a whole number (age_at_incident)"
    assert _not_kept(ds, "uof_ages.csv") == [
        (2, "rejected", "out_of_range", rng, "Age", "-3"),
        (3, "rejected", "out_of_range", rng, "Age", "240"),
        (4, "rejected", "invalid_number", whole, "Age", "15.5"),
        (5, "rejected", "invalid_number", whole, "Age", "fifteen"),
        (6, "rejected", "out_of_range", rng, "Age", "1,000"),  # thousands separator read: 1000, not 1
    ]
    ages = ds.incident_subjects.merge(ds.incidents[["incident_id", "source_record_id"]]).set_index("source_record_id")
    assert ages.loc["A-1", "age_at_incident"] == 16  # " 16 ": padding stripped
    assert pd.isna(ages.loc["A-7", "age_at_incident"])  # blank age: unknown, the row is kept
    assert _kept_ids(ds) == GOOD_IDS | {"A-1", "A-7"}


def test_duplicates_exact_are_merged_conflicting_are_rejected(tmp_path):
    ds = _clean(_raw(tmp_path, "duplicates"))
    conflict = "same record key as an earlier row but different content; the first row was kept"
    not_kept = _not_kept(ds, "uof_duplicates.csv")
    assert [r[:3] for r in not_kept] == [(2, "merged", "exact_duplicate"), (4, "rejected", "conflicting_duplicate_key"),
                                         (6, "rejected", "conflicting_duplicate_key"),
                                         (7, "rejected", "conflicting_duplicate_key")]
    assert not_kept[1][3:] == (conflict, "Report #", "U-2")
    # Row 7 copies row 6 (itself rejected), not the kept row 5: it is a conflict, not a merge.
    assert not_kept[3][3:] == (conflict, "Report #", "U-3")
    led = ds.ledger.set_index(["source_file", "source_row"])
    assert led.loc[("uof_duplicates.csv", 2), "record_id"] == led.loc[("uof_duplicates.csv", 1), "record_id"]
    ages = ds.incident_subjects.merge(ds.incidents[["incident_id", "source_record_id"]]).set_index("source_record_id")
    assert ages.loc["U-3", "age_at_incident"] == 15  # the first row's content
    assert _summary(ds, "uof_duplicates.csv") == [7, 3, 1, 3]


def test_unmapped_labels_are_rejected_blank_is_unknown_case_is_ignored(tmp_path):
    ds = _clean(_raw(tmp_path, "unmapped_labels"))
    assert _not_kept(ds, "uof_unmapped.csv") == [
        (1, "rejected", "unmapped_label", "outcome label not in the mapping's labels", "outcome_raw", "Sent to the moon"),
        (2, "rejected", "unmapped_label", "Race: label not in the mapping's values", "Race", "Q"),
    ]
    assert ds.unmapped_labels().to_dict("records") == [
        {"source_file": "uof_unmapped.csv", "column": "Race", "value": "Q", "rows": 1},
        {"source_file": "uof_unmapped.csv", "column": "outcome_raw", "value": "Sent to the moon", "rows": 1}]
    out = ds.outcomes.merge(ds.incidents[["incident_id", "source_record_id"]]).set_index("source_record_id")
    assert out.loc["L-3", ["outcome_raw", "outcome_canonical"]].tolist() == ["(blank)", "other_unknown"]
    assert out.loc["L-5", "outcome_canonical"] == "warning_no_action"  # "warning": labels are case-insensitive
    sub = ds.incident_subjects.merge(ds.incidents[["incident_id", "source_record_id"]]).set_index("source_record_id")
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
def test_files_that_are_not_csv_are_ignored_with_what_they_are(tmp_path):
    raw = _raw(tmp_path, "not_csv")
    (raw / "photo.png").write_bytes(_png())
    (raw / "scan.csv").write_bytes(_png())  # an image saved under a .csv name
    with zipfile.ZipFile(raw / "export.csv", "w") as z:  # a zip saved under a .csv name
        z.writestr("uof.csv", (CORPUS / "good" / "uof.csv").read_text())
    shutil.copy(raw / "export.csv", raw / "archive.zip")
    ds = _clean(raw)
    assert _ignored(ds) == {
        "archive.zip": "not a data file (documentation, manifest or unknown extension)",
        "export.csv": "not a text/CSV file (a ZIP archive or Excel workbook)",
        "notes.txt": "no adapter recognises its header: These are my notes about the records request. "
                     "The clerk said the files would arrive in March,",
        "photo.png": "not a data file (documentation, manifest or unknown extension)",
        "scan.csv": "not a text/CSV file (a PNG image)",
    }
    assert _kept_ids(ds) == GOOD_IDS
    with pytest.raises(RawFileError) as info:
        read_raw_csv(raw / "scan.csv", relpath="scan.csv")
    assert str(info.value) == "scan.csv: not a text/CSV file (a PNG image)"


def _workbook(path: Path) -> None:
    """A tiny .xlsx the way agencies send them: title rows above the header, footers below."""
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.append(["Corpus City Police: use of force at schools"])
    ws.append(["Prepared 2022-08-01"])
    ws.append(UOF_COLUMNS.split(", "))
    ws.append(["E-1", "09/14/2021", "10:05", "RHS", 4411, "Baker", "Dana", "Suspect", 15, "B", "F", "Warning"])
    ws.append(["SOURCE: records unit; figures are preliminary"])
    wb.save(path)


def test_excel_workbook_is_not_read_and_says_save_as_csv(tmp_path):
    raw = _raw(tmp_path)
    _workbook(raw / "uof_2021.xlsx")
    ds = _clean(raw)
    assert _ignored(ds) == {"uof_2021.xlsx": "Excel workbook: not read; save the sheet as CSV (UTF-8) to include it"}
    assert _kept_ids(ds) == GOOD_IDS
    with pytest.raises(RawFileError) as info:
        read_raw_csv(raw / "uof_2021.xlsx", relpath="uof_2021.xlsx")
    assert str(info.value) == ("uof_2021.xlsx: Excel workbooks are not read; open it and save the sheet as CSV (UTF-8), "
                               "then run clean again")


def test_excel_workbook_alone_fails_the_cli_with_the_file_named(tmp_path):
    raw = tmp_path / "raw"
    raw.mkdir()
    _workbook(raw / "uof_2021.xlsx")
    result = CliRunner().invoke(main, ["clean", "--source", "mapped", "--mapping", str(MAPPING), "--raw", str(raw),
                                       "--out", str(tmp_path / "ds"), "--quiet"])
    assert result.exit_code == 1
    assert result.output.strip() == (f"Error: no file under {raw} is recognised by the 'mapped' adapters (uof_2021.xlsx: "
                                     "Excel workbook: not read; save the sheet as CSV (UTF-8) to include it)")
    assert result.exception is None or isinstance(result.exception, SystemExit)


# -- every case together: the rows accounted for, per file -------------------------------------------
def test_all_row_level_cases_together_account_for_every_row(tmp_path):
    cases = ("encoding_cp1252", "encoding_utf8_bom", "extra_column", "header_only", "truncated_last_line",
             "blank_line_and_key", "dates", "ages", "duplicates", "unmapped_labels", "renamed_columns", "empty_file",
             "not_csv")
    ds = _clean(_raw(tmp_path, *cases))
    s = ds.ledger_summary().set_index("source_file")[["rows", "kept", "merged", "rejected"]]
    assert s.to_dict("index") == {
        "campuses.csv": {"rows": 2, "kept": 2, "merged": 0, "rejected": 0},
        "uof.csv": {"rows": 3, "kept": 3, "merged": 0, "rejected": 0},
        "uof_ages.csv": {"rows": 7, "kept": 2, "merged": 0, "rejected": 5},
        "uof_blank.csv": {"rows": 4, "kept": 2, "merged": 0, "rejected": 2},
        "uof_bom.csv": {"rows": 1, "kept": 1, "merged": 0, "rejected": 0},
        "uof_cp1252.csv": {"rows": 2, "kept": 2, "merged": 0, "rejected": 0},
        "uof_dates.csv": {"rows": 7, "kept": 3, "merged": 0, "rejected": 4},
        "uof_duplicates.csv": {"rows": 7, "kept": 3, "merged": 1, "rejected": 3},
        "uof_extra.csv": {"rows": 2, "kept": 2, "merged": 0, "rejected": 0},
        "uof_truncated.csv": {"rows": 2, "kept": 1, "merged": 0, "rejected": 1},
        "uof_unmapped.csv": {"rows": 5, "kept": 3, "merged": 0, "rejected": 2},
    }
    assert len(ds.incidents) == int(s["kept"].sum()) - 2 == 22  # every kept row but the 2 campuses
    assert sorted(_ignored(ds)) == ["empty.csv", "notes.txt", "uof_renamed.csv"]


# -- a real Chicago file, corrupted -------------------------------------------------------------------
def test_corrupted_copy_of_the_real_juvenile_dispositions_file(shared_data, tmp_path):
    original = (shared_data / "chicago-juvenile" / "disp-by-dist-14_raw.csv").read_bytes().decode("utf-8")
    lines = original.split("\r\n")
    assert lines[5] == ",,DETAINED (DETENTION CENTER), 9 , 29 , 0 , 38 "
    lines[5] = ",,DETAINED (DETENTION CENTER)"  # data row 2 cut short
    lines[6] = ',,DETAINED (HOME CONFINEMENT),"   4   ","  1,7 ", 0 , 21 '  # heavy padding; a decimal comma
    lines[7] = lines[7].replace(" 0 , 1 ", '"  0  "," 1 "')  # padding only: still a good row
    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / "disp.csv").write_bytes("\r\n".join(lines).encode("utf-8"))
    pristine = tmp_path / "pristine"
    pristine.mkdir()
    shutil.copy(shared_data / "chicago-juvenile" / "disp-by-dist-14_raw.csv", pristine / "disp.csv")
    before = clean("chicago", pristine, progress=False)
    ds = clean("chicago", raw, progress=False)
    assert _summary(before, "disp.csv") == [313, 310, 0, 3]  # total row, blank line, footer
    assert _summary(ds, "disp.csv") == [313, 308, 0, 5]  # the two damaged rows rejected, the rest flows
    assert len(ds.counts) == len(before.counts) - 3 * 2  # two disposition rows x (female, male, unknown)
    assert _not_kept(ds, "disp.csv")[:2] == [
        (2, "rejected", "malformed_line", "malformed CSV line: has 3 cells, the header has 7", None, None),
        (3, "rejected", "unparseable_count", "a count cell is not a whole number", None, None),
    ]
