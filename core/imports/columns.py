"""Column specs and their vectorised parsers.

A parser takes the trimmed, non-empty cells of one column as a pyarrow string array and returns
the parsed values (an arrow array) and, per row, "" or the reason code the value was refused for.
Nothing here loops over rows in Python: imports of millions of rows stay set-based.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from people.identity import IdProblem, id_problem_codes_of_chars


@dataclass
class Parsed:
    values: pa.Array
    reasons: np.ndarray  # object array: "" when the value is fine, else a reason code


def _reasons(bad: pa.Array | np.ndarray, code: str) -> np.ndarray:
    bad_np = bad.to_numpy(zero_copy_only=False) if isinstance(bad, pa.Array | pa.ChunkedArray) else bad
    bad_np = np.asarray(bad_np, dtype=bool)
    out = np.full(len(bad_np), "", dtype=object)
    out[bad_np] = code
    return out


class Parser:
    def parse(self, values: pa.Array) -> Parsed:
        raise NotImplementedError

    @property
    def arrow_type(self) -> pa.DataType:
        return pa.string()


@dataclass(frozen=True)
class Text(Parser):
    max_length: int = 200

    def parse(self, values: pa.Array) -> Parsed:
        too_long = pc.greater(pc.utf8_length(values), self.max_length)
        return Parsed(values, _reasons(too_long, "too_long"))


@dataclass(frozen=True)
class Pattern(Parser):
    """A code with a fixed form, e.g. a 12-digit division code."""

    regex: str
    upper: bool = False

    def parse(self, values: pa.Array) -> Parsed:
        if self.upper:
            values = pc.utf8_upper(values)
        ok = pc.match_substring_regex(values, self.regex)
        return Parsed(values, _reasons(pc.invert(ok), "invalid_value"))


@dataclass(frozen=True)
class Choice(Parser):
    """One of a fixed set; ``mapping`` takes every accepted spelling (lower case) to the stored value."""

    mapping: dict[str, str]

    def parse(self, values: pa.Array) -> Parsed:
        spellings = pa.array(list(self.mapping.keys()), type=pa.string())
        index = pc.index_in(pc.utf8_lower(values), value_set=spellings)
        stored = pa.array(list(self.mapping.values()), type=pa.string())
        mapped = pc.take(stored, index)
        return Parsed(mapped, _reasons(pc.is_null(index), "invalid_value"))


TRUE_FALSE = {
    "true": "1",
    "false": "0",
    "1": "1",
    "0": "0",
    "yes": "1",
    "no": "0",
    "y": "1",
    "n": "0",
    "是": "1",
    "否": "0",
    "有": "1",
    "无": "0",
    "t": "1",
    "f": "0",
}


@dataclass(frozen=True)
class Boolean(Parser):
    def parse(self, values: pa.Array) -> Parsed:
        parsed = Choice(TRUE_FALSE).parse(values)
        return Parsed(pc.equal(parsed.values, "1"), parsed.reasons)

    @property
    def arrow_type(self) -> pa.DataType:
        return pa.bool_()


@dataclass(frozen=True)
class Integer(Parser):
    minimum: int = -(2**31)
    maximum: int = 2**31 - 1

    def parse(self, values: pa.Array) -> Parsed:
        shaped = pc.match_substring_regex(values, r"^[+-]?\d{1,12}(\.0+)?$")
        cleaned = pc.if_else(shaped, pc.replace_substring_regex(values, r"\.0+$", ""), "0")
        numbers = pc.cast(cleaned, pa.int64())
        in_range = pc.and_(pc.greater_equal(numbers, self.minimum), pc.less_equal(numbers, self.maximum))
        ok = pc.and_(shaped, in_range)
        return Parsed(numbers, _reasons(pc.invert(ok), "invalid_number"))

    @property
    def arrow_type(self) -> pa.DataType:
        return pa.int64()


@dataclass(frozen=True)
class Decimal(Parser):
    minimum: float = -1e12
    maximum: float = 1e12

    def parse(self, values: pa.Array) -> Parsed:
        shaped = pc.match_substring_regex(values, r"^[+-]?(\d+(\.\d*)?|\.\d+)$")
        numbers = pc.cast(pc.if_else(shaped, values, "0"), pa.float64())
        in_range = pc.and_(pc.greater_equal(numbers, self.minimum), pc.less_equal(numbers, self.maximum))
        ok = pc.and_(shaped, in_range)
        return Parsed(numbers, _reasons(pc.invert(ok), "invalid_number"))

    @property
    def arrow_type(self) -> pa.DataType:
        return pa.float64()


@dataclass(frozen=True)
class Date(Parser):
    """contracts.md, Times: ``2020-05-14`` or ``2020/05/14``; impossible dates are refused."""

    earliest: dt.date = dt.date(1890, 1, 1)

    def parse(self, values: pa.Array) -> Parsed:
        if len(values) == 0:  # a file of headers only: numpy's string padding fails on no strings
            return Parsed(pa.array([], pa.date32()), _reasons(np.zeros(0, dtype=bool), "invalid_date"))
        dashed = pc.replace_substring(values, "/", "-")
        shaped = pc.match_substring_regex(dashed, r"^\d{4}-\d{1,2}-\d{1,2}$")
        parts = pc.split_pattern(pc.if_else(shaped, dashed, "2000-01-01"), "-")
        year = pc.cast(pc.list_element(parts, 0), pa.int32())
        month = pc.cast(pc.list_element(parts, 1), pa.int32())
        day = pc.cast(pc.list_element(parts, 2), pa.int32())
        y, m, d = (a.to_numpy(zero_copy_only=False) for a in (year, month, day))
        month_ok = (m >= 1) & (m <= 12)
        leap = ((y % 4 == 0) & (y % 100 != 0)) | (y % 400 == 0)
        days = np.array([31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])[np.clip(m, 1, 12) - 1]
        days = days - ((np.clip(m, 1, 12) == 2) & ~leap)
        ymd = y * 10000 + m * 100 + d
        low = self.earliest.year * 10000 + self.earliest.month * 100 + self.earliest.day
        ok = shaped.to_numpy(zero_copy_only=False) & month_ok & (d >= 1) & (d <= days) & (ymd >= low)
        iso = np.char.add(
            np.char.add(np.char.zfill(y.astype(str), 4), "-"),
            np.char.add(
                np.char.add(np.char.zfill(np.where(ok, m, 1).astype(str), 2), "-"),
                np.char.zfill(np.where(ok, d, 1).astype(str), 2),
            ),
        )
        dates = pc.cast(pc.strptime(pa.array(iso), format="%Y-%m-%d", unit="s"), pa.date32())
        return Parsed(dates, _reasons(~ok, "invalid_date"))

    @property
    def arrow_type(self) -> pa.DataType:
        return pa.date32()


@dataclass(frozen=True)
class IdNumber(Parser):
    """GB 11643 identity numbers (domain.md §2); each failure has its own reason code."""

    def parse(self, values: pa.Array) -> Parsed:
        normalised = pc.utf8_upper(pc.replace_substring(values, " ", ""))
        codes = id_problems(normalised)
        codes[codes == "missing"] = IdProblem.FORMAT.value  # empty cells never reach a parser
        return Parsed(normalised, codes)


@dataclass(frozen=True)
class Phone(Parser):
    """A mainland mobile (11 digits) or a landline with area code; separators are dropped."""

    def parse(self, values: pa.Array) -> Parsed:
        cleaned = pc.replace_substring_regex(values, r"[\s\-()（）]", "")
        cleaned = pc.replace_substring_regex(cleaned, r"^\+?86", "")
        ok = pc.match_substring_regex(cleaned, r"^(1[3-9]\d{9}|0\d{9,11})$")
        return Parsed(cleaned, _reasons(pc.invert(ok), "invalid_phone"))


@dataclass(frozen=True)
class TagList(Parser):
    """``a;b`` lists from a fixed vocabulary, stored sorted and ``;``-joined so re-imports compare equal."""

    allowed: tuple[str, ...]

    def parse(self, values: pa.Array) -> Parsed:
        lists = pc.split_pattern_regex(pc.utf8_lower(values), r"\s*[;；,，]\s*")
        flat = pc.list_flatten(lists)
        parents = pc.list_parent_indices(lists)
        keep = pc.not_equal(flat, "")
        flat, parents = flat.filter(keep), parents.filter(keep)
        unknown = pc.invert(pc.is_in(flat, value_set=pa.array(self.allowed)))
        bad = np.zeros(len(values), dtype=bool)
        bad[parents.filter(unknown).to_numpy()] = True
        order = pc.sort_indices(pa.table({"p": parents, "v": flat}), sort_keys=[("p", "ascending"), ("v", "ascending")])
        flat, parents = pc.take(flat, order), pc.take(parents, order)
        # drop repeats of the same tag on one row
        p_np, v_np = parents.to_numpy(), flat.to_numpy(zero_copy_only=False)
        first = np.ones(len(p_np), dtype=bool)
        if len(p_np) > 1:
            first[1:] = (p_np[1:] != p_np[:-1]) | (v_np[1:] != v_np[:-1])
        p_np, v_np = p_np[first], v_np[first]
        offsets = np.zeros(len(values) + 1, dtype=np.int32)
        np.add.at(offsets, p_np + 1, 1)
        joined = pc.binary_join(
            pa.ListArray.from_arrays(pa.array(np.cumsum(offsets), type=pa.int32()), pa.array(v_np, type=pa.string())),
            ";",
        )
        return Parsed(joined, _reasons(bad, "invalid_value"))


@dataclass(frozen=True)
class Column:
    """A column of an import kind: English name, Chinese alias, whether required, how parsed."""

    name: str
    zh: str
    required: bool = False
    parser: Parser = field(default_factory=Text)

    def matches(self, header: str) -> bool:
        folded = header.strip().lower()
        return folded in {self.name.lower(), self.zh.lower()}


@dataclass(frozen=True)
class DateTime(Parser):
    """contracts.md, Times: ISO 8601 with or without offset (none means Asia/Shanghai), or
    ``2020/05/14 08:30[:00]``. Stored as UTC timestamps."""

    def parse(self, values: pa.Array) -> Parsed:
        if len(values) and pc.all(pc.match_substring_regex(values, _PLAIN_LOCAL)).as_py():
            return _parse_plain_local(values)
        if len(values) and pc.all(pc.match_substring_regex(values, _SHANGHAI_ISO)).as_py():
            # labs' and sites' machines write ISO 8601 with +08:00 throughout: that is local time
            return _parse_plain_local(pc.utf8_slice_codeunits(values, 0, 19))
        text = pc.replace_substring(pc.utf8_upper(values), "/", "-")
        text = pc.replace_substring_regex(text, r"^(\d{4}-\d{1,2}-\d{1,2})[ T]", r"\1T")
        # zero-pad month/day/hour, add seconds, default the offset to +08:00, 'Z' means UTC
        text = pc.replace_substring_regex(text, r"^(\d{4})-(\d)-", r"\1-0\2-")
        text = pc.replace_substring_regex(text, r"^(\d{4}-\d{2})-(\d)T", r"\1-0\2T")
        text = pc.replace_substring_regex(text, r"T(\d):", r"T0\1:")
        text = pc.replace_substring_regex(text, r"T(\d{2}:\d{2})($|[+\-Z].*)", r"T\1:00\2")
        text = pc.replace_substring_regex(text, r"(T\d{2}:\d{2}:\d{2})\.\d+", r"\1")
        text = pc.replace_substring_regex(text, r"Z$", "+00:00")
        text = pc.replace_substring_regex(text, r"T(\d{2}:\d{2}:\d{2})$", r"T\1+08:00")
        text = pc.replace_substring_regex(text, r"([+\-]\d{2}):?(\d{2})$", r"\1\2")
        shaped = pc.match_substring_regex(text, r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}[+\-]\d{4}$")
        safe = pc.if_else(shaped, text, "2000-01-01T00:00:00+0000")
        stamps = pc.strptime(safe, format="%Y-%m-%dT%H:%M:%S%z", unit="s", error_is_null=True)
        calendar_ok = Date().parse(pc.utf8_slice_codeunits(safe, 0, 10)).reasons == ""
        ok = shaped.to_numpy(zero_copy_only=False) & pc.is_valid(stamps).to_numpy(zero_copy_only=False) & calendar_ok
        return Parsed(stamps, _reasons(~ok, "invalid_date"))

    @property
    def arrow_type(self) -> pa.DataType:
        return pa.timestamp("s", tz="UTC")


_PLAIN_LOCAL = r"^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}$"
_SHANGHAI_ISO = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\+08:00$"  # Asia/Shanghai: +08:00, no DST since 1991
_SHANGHAI_OFFSET = 8 * 3600
_MONTH_DAYS = np.array([0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])


def _parse_plain_local(values: pa.Array) -> Parsed:
    """The common case of machine-written files (scans: tens of millions of rows): every value is
    ``YYYY-MM-DD HH:MM:SS`` local time. One strptime, a calendar check, a fixed +08:00 shift."""
    text = pc.replace_substring(values, "T", " ")
    stamps = pc.strptime(text, format="%Y-%m-%d %H:%M:%S", unit="s", error_is_null=True)
    year = pc.cast(pc.utf8_slice_codeunits(text, 0, 4), pa.int32()).to_numpy(zero_copy_only=False)
    month = pc.cast(pc.utf8_slice_codeunits(text, 5, 7), pa.int32()).to_numpy(zero_copy_only=False)
    day = pc.cast(pc.utf8_slice_codeunits(text, 8, 10), pa.int32()).to_numpy(zero_copy_only=False)
    month_ok = (month >= 1) & (month <= 12)
    leap = ((year % 4 == 0) & (year % 100 != 0)) | (year % 400 == 0)
    safe_month = np.where(month_ok, month, 1)
    last_day = _MONTH_DAYS[safe_month] - ((safe_month == 2) & ~leap)
    ok = pc.is_valid(stamps).to_numpy(zero_copy_only=False) & month_ok & (day >= 1) & (day <= last_day)
    seconds = pc.fill_null(pc.cast(stamps, pa.int64()), 0).to_numpy(zero_copy_only=False) - _SHANGHAI_OFFSET
    utc = pa.array(np.where(ok, seconds, 0), type=pa.int64()).cast(pa.timestamp("s", tz="UTC"))
    return Parsed(utc, _reasons(~ok, "invalid_date"))


@dataclass(frozen=True)
class LenientIdNumber(Parser):
    """An identity number in a feed: never refused by itself (contracts.md, Person columns); the
    kind's check decides whether the other person columns can stand in for an invalid one."""

    def parse(self, values: pa.Array) -> Parsed:
        normalised = pc.utf8_upper(pc.replace_substring_regex(values, r"\s", ""))
        return Parsed(normalised, np.full(len(values), "", dtype=object))


def id_problems(values: pa.Array) -> np.ndarray:
    """Per row: "" for a valid identity number, "missing", or the IdProblem code."""
    filled = pc.fill_null(values, "")
    if isinstance(filled, pa.ChunkedArray):
        filled = filled.combine_chunks()
    chars, right_length = _char_matrix(filled.cast(pa.large_string()))
    codes = id_problem_codes_of_chars(chars, right_length)
    codes[pc.equal(filled, "").to_numpy(zero_copy_only=False)] = "missing"
    return codes


def _char_matrix(values: pa.LargeStringArray) -> tuple[np.ndarray, np.ndarray]:
    """(n, 18) bytes of each value read from the Arrow buffers (no Python strings: millions of scans
    per file), and which values are 18 bytes long; others are zero rows that fail every check."""
    n = len(values)
    offsets = np.frombuffer(values.buffers()[1], dtype=np.int64)[values.offset : values.offset + n + 1]
    data = values.buffers()[2]
    data = np.frombuffer(data, dtype=np.uint8) if data is not None else np.zeros(0, dtype=np.uint8)
    right_length = np.diff(offsets) == 18
    if right_length.all():  # the usual column: 18 bytes each, back to back in the buffer
        return data[offsets[0] : offsets[-1]].reshape(n, 18), right_length
    chars = np.zeros((n, 18), dtype=np.uint8)
    if right_length.any():
        starts = offsets[:-1][right_length]
        chars[right_length] = data[starts[:, None] + np.arange(18)]
    return chars, right_length
