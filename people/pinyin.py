"""Toneless pinyin of names, for homophone-tolerant matching (王/汪 → wang) and search.

Vectorised: the distinct characters of a column are converted once with pypinyin, then every name
is rebuilt from a character table with pyarrow kernels, so a million names take about a second.
Heteronyms take pypinyin's default reading on both sides, which is what matching needs.
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc
from pypinyin import Style, lazy_pinyin

MAX_NAME_CHARS = 8


def _keep_latin(text: str) -> str:
    return "".join(ch for ch in text.lower() if ch.isalnum())


def name_pinyin(name: str | None) -> str:
    """``王伟`` → ``wangwei``; Latin letters are kept lower-case, spaces and punctuation dropped."""
    if not name:
        return ""
    return "".join(lazy_pinyin(name.strip(), style=Style.NORMAL, errors=_keep_latin)).lower()


def pinyin_column(names: pa.Array) -> pa.Array:
    """Toneless pinyin of every name in a string array (nulls stay empty)."""
    if isinstance(names, pa.ChunkedArray):
        names = names.combine_chunks()
    names = pc.fill_null(pc.utf8_trim_whitespace(pc.cast(names, pa.string())), "")
    lengths = pc.utf8_length(names)
    longest = min(pc.max(lengths).as_py() or 0, MAX_NAME_CHARS)
    positions = [pc.utf8_slice_codeunits(names, i, i + 1) for i in range(longest)]
    if not positions:
        return pa.array([""] * len(names), type=pa.string())
    chars = pc.unique(pa.concat_arrays([p.cast(pa.string()) for p in positions]))
    chars = chars.filter(pc.not_equal(chars, ""))
    readings = pa.array([name_pinyin(c) for c in chars.to_pylist()], type=pa.string())
    pieces = []
    for position in positions:
        index = pc.index_in(position, value_set=chars)
        pieces.append(pc.fill_null(pc.take(readings, index), ""))
    return pc.binary_join_element_wise(*pieces, "")
