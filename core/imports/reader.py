"""Turn an uploaded file into a table of strings: CSV (UTF-8, UTF-8 with BOM, GB18030) or XLSX.

contracts.md, Common rules: one header row, free column order, first sheet of a workbook.
Every cell comes back as a string (empty for missing) so that validation sees exactly what the
sender wrote; malformed CSV lines are returned separately, whole, to be kept as rejects.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from core.imports import errors

XLSX_MAGIC = b"PK\x03\x04"
UTF8_BOM = b"\xef\xbb\xbf"


@dataclass
class RawTable:
    headers: list[str]
    columns: list[pa.Array]  # one string array per header, no nulls
    line_numbers: pa.Array  # the file line (CSV) or sheet row (XLSX) of each data row
    malformed: list[tuple[int, str]] = field(default_factory=list)  # (line, text) of unreadable rows
    encoding: str = "utf-8"

    @property
    def num_rows(self) -> int:
        return len(self.line_numbers)


def decode_text(data: bytes) -> tuple[str, str]:
    """The text and the encoding it was in: UTF-8 (BOM or not), else GB18030 as Excel saves it."""
    if data.startswith(UTF8_BOM):
        data = data[len(UTF8_BOM) :]
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("gb18030"), "gb18030"
    except UnicodeDecodeError as exc:
        raise errors.ImportFileError(errors.UNREADABLE_ENCODING) from exc


def read_table(data: bytes, filename: str = "") -> RawTable:
    if not data or data.isspace():  # no stripped copy of a multi-GB file
        raise errors.ImportFileError(errors.EMPTY_FILE)
    if data.startswith(XLSX_MAGIC) or filename.lower().endswith((".xlsx", ".xlsm")):
        return _read_xlsx(data)
    return _read_csv(data)


CHUNK_BYTES = 256 << 20  # pieces of a big CSV read one after the other (kinds stored outside SQL)


def read_chunks(data: bytes, filename: str = "", chunk_bytes: int | None = None) -> Iterator[RawTable]:
    """The file as a sequence of tables of whole lines, each under ``chunk_bytes``, with the line
    numbers of the whole file: a multi-GB file of scans is never held as one table. Problems with
    the file itself (empty, no header, unreadable) are raised here, before the first piece."""
    chunk_bytes = chunk_bytes or CHUNK_BYTES
    if len(data) <= chunk_bytes or data.startswith(XLSX_MAGIC) or filename.lower().endswith((".xlsx", ".xlsm")):
        return iter([read_table(data, filename)])
    if _is_utf8(data):
        body = data[len(UTF8_BOM) :] if data.startswith(UTF8_BOM) else data
    else:
        body = decode_text(data)[0].encode("utf-8")
    header_end = body.find(b"\n") + 1
    if header_end <= 0:
        return iter([read_table(data, filename)])
    header = body[:header_end]
    _check_headers(next(csv.reader([header.decode("utf-8").rstrip("\r\n")])))

    def pieces() -> Iterator[RawTable]:
        start, lines_before = header_end, 0
        while start < len(body):
            end = body.find(b"\n", start + chunk_bytes)
            end = len(body) if end < 0 else end + 1
            piece = body[start:end]
            raw = _read_csv(header + piece)
            if lines_before:
                raw.line_numbers = pc.add(raw.line_numbers, lines_before)
                raw.malformed = [(line + lines_before, text) for line, text in raw.malformed]
            lines_before += piece.count(b"\n")
            start = end
            yield raw

    return pieces()


def _check_headers(headers: list[str]) -> list[str]:
    cleaned = [h.strip() for h in headers]
    if not any(cleaned):
        raise errors.ImportFileError(errors.NO_HEADER)
    seen: set[str] = set()
    for header in cleaned:
        folded = header.lower()
        if folded in seen:
            raise errors.ImportFileError(errors.DUPLICATE_HEADER, column=header)
        seen.add(folded)
    return cleaned


def _is_utf8(data: bytes) -> bool:
    """UTF-8 validity checked by Arrow on the bytes in place: no decoded copy of a multi-GB file."""
    buffer = pa.py_buffer(data)
    offsets = pa.py_buffer(np.array([0, len(data)], dtype=np.int64).tobytes())
    try:
        pa.Array.from_buffers(pa.large_binary(), 1, [None, offsets, buffer]).cast(pa.large_string())
    except pa.ArrowInvalid:
        return False
    return True


def _read_csv(data: bytes) -> RawTable:
    if _is_utf8(data):
        body = data[len(UTF8_BOM) :] if data.startswith(UTF8_BOM) else data
        end = body.find(b"\n")
        header_line = body[: end if end >= 0 else len(body)].decode("utf-8").rstrip("\r")
        encoding, utf8 = "utf-8", body
    else:
        text, encoding = decode_text(data)
        header_line = text.split("\n", 1)[0].rstrip("\r")
        utf8 = text.encode("utf-8")
    headers = _check_headers(next(csv.reader([header_line])) if header_line else [])

    malformed: list[tuple[int, str]] = []
    blank_lines: list[int] = []

    def keep_invalid(row) -> str:
        # every physical line is a row or lands here (empty lines are not ignored) so that the line
        # number of each row stays exact; values spanning lines are therefore malformed rows.
        (malformed.append((row.number, row.text)) if row.text.strip() else blank_lines.append(row.number))
        return "skip"

    try:
        table = pacsv.read_csv(
            io.BytesIO(utf8),
            read_options=pacsv.ReadOptions(
                column_names=[f"c{i}" for i in range(len(headers))], skip_rows=1, block_size=1 << 24, use_threads=False
            ),
            parse_options=pacsv.ParseOptions(ignore_empty_lines=False, invalid_row_handler=keep_invalid),
            convert_options=pacsv.ConvertOptions(
                column_types={f"c{i}": pa.string() for i in range(len(headers))},
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
    except pa.ArrowInvalid as exc:
        raise errors.ImportFileError(errors.UNREADABLE_CSV, error=str(exc)) from exc
    columns = []
    for _ in range(len(headers)):  # one column at a time, freeing its chunks: a multi-GB file is held once
        columns.append(table.column(0).combine_chunks())
        table = table.remove_column(0)
    lines = _line_numbers(table.num_rows, [n for n, _ in malformed] + blank_lines)
    keep = _not_blank(columns)
    if keep is not None:
        columns = [c.filter(keep) for c in columns]
        lines = lines.filter(keep)
    return RawTable(headers, columns, lines, malformed, encoding)


def _not_blank(columns: list[pa.Array]):
    """Mask of rows with any non-empty cell, or None when no row is blank."""
    if not columns:
        return None
    any_value = pc.not_equal(columns[0], "")
    for column in columns[1:]:
        any_value = pc.or_(any_value, pc.not_equal(column, ""))
    return None if pc.all(any_value).as_py() else any_value


def _line_numbers(num_rows: int, skipped_lines: list[int]) -> pa.Array:
    """The file line of each parsed row: line 1 is the header, skipped lines leave gaps."""
    skipped = np.array(skipped_lines, dtype=np.int64)
    lines = np.arange(2, num_rows + 2 + len(skipped), dtype=np.int64)
    if len(skipped):
        lines = lines[~np.isin(lines, skipped)]
    return pa.array(lines[:num_rows])


def _cell_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime):
        return value.isoformat(sep="T", timespec="seconds") if value.time() != dt.time(0) else value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def _read_xlsx(data: bytes) -> RawTable:
    from python_calamine import CalamineWorkbook

    try:
        workbook = CalamineWorkbook.from_filelike(io.BytesIO(data))
        rows = workbook.get_sheet_by_index(0).to_python(skip_empty_area=False)
    except Exception as exc:  # calamine raises its own error types for every kind of damage
        raise errors.ImportFileError(errors.UNREADABLE_XLSX, error=str(exc)) from exc
    if not rows:
        raise errors.ImportFileError(errors.EMPTY_FILE)
    headers = _check_headers([_cell_text(v) for v in rows[0]])
    width = len(headers)
    body, line_numbers = [], []
    for index, row in enumerate(rows[1:], start=2):
        cells = [_cell_text(v).strip() for v in row[:width]]
        if not any(cells):
            continue
        body.append(cells + [""] * (width - len(cells)))
        line_numbers.append(index)
    columns = [pa.array([r[i] for r in body], type=pa.string()) for i in range(width)]
    return RawTable(headers, columns, pa.array(line_numbers, type=pa.int64()), [], "xlsx")
