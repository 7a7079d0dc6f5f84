"""The file reader: encodings, XLSX, headers, malformed and blank lines (contracts.md, Common rules)."""

from __future__ import annotations

import csv
import io

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from openpyxl import Workbook

from core.imports.errors import ImportFileError
from core.imports.reader import read_table

cell = (
    st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), max_size=12)
    .map(str.strip)
    .filter(lambda s: "\r" not in s and "\n" not in s)
)


def _csv_bytes(headers, rows, encoding="utf-8", bom=False) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(headers)
    writer.writerows(rows)
    data = out.getvalue().encode(encoding)
    return (b"\xef\xbb\xbf" + data) if bom else data


@settings(max_examples=60, deadline=None)
@given(st.lists(st.lists(cell, min_size=3, max_size=3), min_size=1, max_size=15), st.booleans())
def test_csv_round_trip(rows, bom):
    rows = [r for r in rows if any(r)]
    if not rows:
        return
    data = _csv_bytes(["a", "b", "c"], rows, bom=bom)
    table = read_table(data)
    assert table.headers == ["a", "b", "c"]
    got = list(zip(*[c.to_pylist() for c in table.columns], strict=True))
    assert [list(r) for r in got] == rows


@settings(max_examples=30, deadline=None)
@given(
    st.lists(
        st.lists(st.sampled_from(["武汉", "江岸区", "张三", "", "420102", "小区"]), min_size=2, max_size=2),
        min_size=1,
        max_size=10,
    )
)
def test_gb18030_is_detected(rows):
    rows = [r for r in rows if any(r)]
    if not rows:
        return
    table = read_table(_csv_bytes(["姓名", "地址"], rows, encoding="gb18030"))
    assert table.encoding in {"gb18030", "utf-8"}
    assert [list(r) for r in zip(*[c.to_pylist() for c in table.columns], strict=True)] == rows


def test_line_numbers_skip_blank_and_malformed_lines():
    data = b"a,b\n1,2\n\n3,4,5\n6,7\n"
    table = read_table(data)
    assert table.line_numbers.to_pylist() == [2, 5]
    assert table.malformed == [(4, "3,4,5")]


def test_xlsx_first_sheet_with_numbers_and_dates():
    import datetime as dt

    wb = Workbook()
    ws = wb.active
    ws.append(["code", "when", "count"])
    ws.append(["420102000000", dt.date(2020, 5, 14), 3])
    ws.append([None, None, None])
    ws.append(["x", None, 2.5])
    buf = io.BytesIO()
    wb.save(buf)
    table = read_table(buf.getvalue(), "f.xlsx")
    assert [c.to_pylist() for c in table.columns] == [["420102000000", "x"], ["2020-05-14", ""], ["3", "2.5"]]
    assert table.line_numbers.to_pylist() == [2, 4]


@pytest.mark.parametrize("data", [b"", b"   \n", b"\xff\xfe\x00\x00garbage\x81\x30"])
def test_unusable_files_fail_whole(data):
    with pytest.raises(ImportFileError):
        read_table(data)


def test_duplicate_headers_fail():
    with pytest.raises(ImportFileError, match="twice"):
        read_table(b"a,A\n1,2\n")
