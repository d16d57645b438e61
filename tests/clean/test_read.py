"""Reading raw files: any text encoding (recorded), CSV and Excel, title rows, every row numbered."""

from __future__ import annotations

import codecs
import datetime as dt
import zipfile

import pytest

from sro_analysis.clean.read import RawFile, RawFileError, excel_cell_text, open_sheets, read_sheet, scan_text


def _rows(sheet, header_index=0):
    read = read_sheet(sheet, header_index)
    rows = [r for b in read.batches for r in b.to_pylist()]
    return read, rows


def _raw(tmp_path, name, data: bytes) -> RawFile:
    path = tmp_path / name
    path.write_bytes(data)
    return RawFile(path, name)


@pytest.mark.parametrize("encoding,prefix,expected", [
    ("cp1252", b"", "cp1252"),  # what Excel on Windows writes
    ("utf-8", b"", "utf-8"),
    ("utf-8", codecs.BOM_UTF8, "utf-8"),  # the byte-order mark is not part of the first header cell
    ("utf-16", b"", "utf-16"),
])
def test_accented_text_survives_every_encoding_and_the_encoding_is_recorded(tmp_path, encoding, prefix, expected):
    raw = _raw(tmp_path, "a.csv", prefix + "Name,Place\nJosé,CAFÉ\nPeña,Médiation\n".encode(encoding))
    sheet, = open_sheets(raw)
    assert sheet.encoding == expected and sheet.head[0] == ["Name", "Place"]
    _, rows = _rows(sheet)
    assert rows == [{"_row": 1, "c0": "José", "c1": "CAFÉ"}, {"_row": 2, "c0": "Peña", "c1": "Médiation"}]


def test_bytes_windows_1252_leaves_undefined_mean_latin_1_nothing_is_dropped(tmp_path):
    raw = _raw(tmp_path, "a.csv", b"id,name\n1,caf\xe9 \x81\n")
    assert scan_text(raw.path).encoding == "latin-1"
    sheet, = open_sheets(raw)
    assert _rows(sheet)[1] == [{"_row": 1, "c0": "1", "c1": "café \x81"}]


def test_delimiters_are_sniffed_and_quoted_line_breaks_stay_in_their_cell(tmp_path):
    raw = _raw(tmp_path, "a.txt", b'id;note\n1;"two\nlines"\n2;plain\n')
    sheet, = open_sheets(raw)
    assert sheet.delimiter == ";"
    assert _rows(sheet)[1] == [{"_row": 1, "c0": "1", "c1": "two\nlines"}, {"_row": 2, "c0": "2", "c1": "plain"}]


def test_malformed_lines_come_back_numbered_with_why(tmp_path):
    raw = _raw(tmp_path, "a.csv", b"id,name,age\n1,A,10\n2,B\n3,C,12,extra\n4,D,13\n")
    read, rows = _rows(open_sheets(raw)[0])
    assert [r["_row"] for r in rows] == [1, 4]
    assert [(b.row, b.reason, b.message) for b in read.bad_rows] == [
        (2, "malformed_line", "malformed CSV line: 2 cell(s), the header has 3"),
        (3, "malformed_line", "malformed CSV line: 4 cell(s), the header has 3")]


def _workbook(path):
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = "2021"
    ws.append(["Corpus City Police: use of force at schools"])
    ws.append(["Prepared 2022-08-01"])
    ws.append(["Report #", "Incident Date", "Age"])
    ws.append(["E-1", dt.datetime(2021, 9, 14, 10, 5), 15])
    ws.append(["E-2", dt.date(2021, 9, 15), 15.5, None, "stray"])
    other = wb.create_sheet("2022")
    other.append(["Report #", "Incident Date", "Age"])
    other.append(["E-3", "03/01/2022", 14])
    wb.create_sheet("empty")
    wb.save(path)


def test_every_non_empty_sheet_of_a_workbook_is_read_with_its_title_rows(tmp_path):
    _workbook(tmp_path / "uof.xlsx")
    sheets = open_sheets(RawFile(tmp_path / "uof.xlsx", "uof.xlsx"))
    assert [(s.sheet, s.label) for s in sheets] == [("2021", "uof.xlsx#2021"), ("2022", "uof.xlsx#2022")]
    read, rows = _rows(sheets[0], header_index=2)
    assert sheets[0].title == "Corpus City Police: use of force at schools Prepared 2022-08-01"
    assert rows == [{"_row": 1, "c0": "E-1", "c1": "2021-09-14 10:05:00", "c2": "15"}]
    assert [(b.row, b.reason) for b in read.bad_rows] == [(2, "malformed_line")]  # a value beyond the last column
    assert _rows(sheets[1])[1] == [{"_row": 1, "c0": "E-3", "c1": "03/01/2022", "c2": "14"}]


def test_cells_are_written_the_way_a_csv_export_would():
    assert [excel_cell_text(v) for v in (None, True, 4411.0, 15.5, dt.date(2021, 9, 15), dt.time(8, 5))] == [
        "", "TRUE", "4411", "15.5", "2021-09-15", "08:05:00"]


@pytest.mark.parametrize("name,data,message", [
    ("empty.csv", b"", "empty.csv: the file is empty"),
    ("scan.csv", b"\x89PNG\r\n\x1a\n....", "scan.csv: not a text/CSV file (a PNG image)"),
    ("report.pdf.csv", b"%PDF-1.4 ...", "report.pdf.csv: not a text/CSV file (a PDF document)"),
    ("old.xls", b"\xd0\xcf\x11\xe0rest", "old.xls: not a text/CSV file (an old-style Excel/Word file (.xls/.doc))"),
    ("new.xls", b"PK\x03\x04rest", "new.xls: not a text/CSV file (an Excel workbook saved with an .xls name)"),
])
def test_files_that_cannot_be_read_say_what_they_are(tmp_path, name, data, message):
    with pytest.raises(RawFileError) as info:
        open_sheets(_raw(tmp_path, name, data))
    assert str(info.value) == message


def test_a_zip_saved_under_a_csv_name_is_not_read_as_text(tmp_path):
    with zipfile.ZipFile(tmp_path / "export.csv", "w") as z:
        z.writestr("uof.csv", "a,b\n1,2\n")
    with pytest.raises(RawFileError, match=r"^export.csv: not a text/CSV file \(a ZIP archive\)$"):
        open_sheets(RawFile(tmp_path / "export.csv", "export.csv"))
