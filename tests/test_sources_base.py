"""The shared raw-file reader: encodings, malformed lines, empty and non-CSV files."""

from __future__ import annotations

import pytest

from sro_analysis.ledger import Ledger
from sro_analysis.sources.base import RawFileError, read_head, read_raw_csv, reject_bad_lines


def _write(tmp_path, name, data: bytes):
    p = tmp_path / name
    p.write_bytes(data)
    return p


def test_cp1252_and_utf8_bom_are_decoded(tmp_path):
    raw = read_raw_csv(_write(tmp_path, "a.csv", "id,name\n1,Peña\n".encode("cp1252")), relpath="a.csv")
    assert raw.encoding == "cp1252" and raw.frame.loc[0, "name"] == "Peña"
    raw = read_raw_csv(_write(tmp_path, "b.csv", "\ufeffid,name\n1,Peña\n".encode("utf-8")), relpath="b.csv")
    assert raw.encoding == "utf-8" and list(raw.frame.columns) == ["source_row", "id", "name"]


def test_truncated_last_line_is_kept_for_the_ledger(tmp_path):
    raw = read_raw_csv(_write(tmp_path, "t.csv", b"id,name,age\n1,A,10\n2,B,11\n3,C"), relpath="t.csv")
    assert raw.n_rows == 3 and raw.frame["source_row"].tolist() == [1, 2]
    assert raw.bad_lines == [(3, "has 2 cells, the header has 3")]
    led = Ledger()
    reject_bad_lines(raw, led)
    row = led.to_frame(check=False).iloc[0]
    assert (row.source_row, row.reason) == (3, "malformed_line")


def test_blank_lines_inside_count_trailing_do_not(tmp_path):
    raw = read_raw_csv(_write(tmp_path, "b.csv", b"id,name\n1,A\n\n2,B\n\n\n"), relpath="b.csv")
    assert raw.n_rows == 3 and raw.bad_lines == [(2, "blank_line")]


@pytest.mark.parametrize("data,message", [
    (b"", "b.csv: the file is empty"),
    (b"PK\x03\x04\x00\x00binary", "b.csv: not a text/CSV file"),
    (b"just one line of prose without commas\nand another", "does not look like a CSV"),
])
def test_unreadable_files_raise_a_clear_error(tmp_path, data, message):
    with pytest.raises(RawFileError, match=message):
        read_raw_csv(_write(tmp_path, "b.csv", data), relpath="b.csv")


def test_header_only_file_has_no_rows(tmp_path):
    raw = read_raw_csv(_write(tmp_path, "h.csv", b"id,name\n"), relpath="h.csv")
    assert raw.n_rows == 0 and list(raw.frame.columns) == ["source_row", "id", "name"]


def test_title_rows_above_the_header(tmp_path):
    p = _write(tmp_path, "t.csv", b"Title,,\nCity,,\nYear,District,Total\n2014,1, 4 \n")
    raw = read_raw_csv(p, relpath="t.csv", header_row=3)
    assert raw.frame.loc[0, "Total"] == " 4 " and raw.frame["source_row"].tolist() == [1]
    assert read_head(p, "t.csv").header == ("Title", "", "")
