"""Vectorised building blocks for the generator: allocation, ranks within groups, string columns.

The generator never loops over people; these helpers are what lets it stay in numpy/pyarrow.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc


def allocate(total: int, weights: np.ndarray, minimum: int = 0) -> np.ndarray:
    """Split ``total`` into integer counts proportional to ``weights``, each at least ``minimum``.

    Largest-remainder rounding, ties broken by position, so the result is deterministic. When
    ``total`` is below ``minimum * len(weights)`` the minimum wins and the sum exceeds ``total``.
    """
    weights = np.asarray(weights, dtype=np.float64)
    n = weights.size
    counts = np.full(n, minimum, dtype=np.int64)
    rest = total - minimum * n
    if rest <= 0 or n == 0:
        return counts
    quota = rest * weights / weights.sum()
    base = np.floor(quota).astype(np.int64)
    left = rest - int(base.sum())
    if left > 0:
        order = np.argsort(-(quota - base), kind="stable")
        base[order[:left]] += 1
    return counts + base


def group_starts(counts: np.ndarray) -> np.ndarray:
    """Index of the first member of each group when groups of ``counts`` are laid out in order."""
    starts = np.zeros(len(counts), dtype=np.int64)
    np.cumsum(counts[:-1], out=starts[1:])
    return starts


def rank_in_groups(counts: np.ndarray) -> np.ndarray:
    """0, 1, 2 … within each consecutive group of the given sizes (the children of each parent)."""
    counts = np.asarray(counts, dtype=np.int64)
    total = int(counts.sum())
    return np.arange(total, dtype=np.int64) - np.repeat(group_starts(counts), counts)


def rank_of_sorted_keys(keys: np.ndarray) -> np.ndarray:
    """For keys sorted ascending: position of each entry among the entries with the same key."""
    n = keys.size
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    new_group = np.ones(n, dtype=bool)
    new_group[1:] = keys[1:] != keys[:-1]
    starts = np.flatnonzero(new_group)
    sizes = np.diff(np.append(starts, n))
    return np.arange(n, dtype=np.int64) - np.repeat(starts, sizes)


def sample_pmf(rng: np.random.Generator, pmf: np.ndarray, size: int, offset: int = 0) -> np.ndarray:
    """Draw ``size`` integers ``offset + i`` with probability ``pmf[i]`` (inverse CDF, one pass)."""
    cdf = np.cumsum(np.asarray(pmf, dtype=np.float64))
    cdf /= cdf[-1]
    picks = np.searchsorted(cdf, rng.random(size), side="right")
    return np.minimum(picks, cdf.size - 1).astype(np.int64) + offset


def ascii_digits(values: np.ndarray, width: int) -> np.ndarray:
    """(n, width) matrix of the ASCII codes of ``values`` written in decimal, zero-padded."""
    values = np.asarray(values, dtype=np.int64)
    powers = 10 ** np.arange(width - 1, -1, -1, dtype=np.int64)
    return ((values[:, None] // powers) % 10 + ord("0")).astype(np.uint8)


def fixed_width_strings(chars: np.ndarray, valid: np.ndarray | None = None) -> pa.StringArray:
    """A pyarrow string column from an (n, w) matrix of ASCII codes, built without Python objects."""
    chars = np.ascontiguousarray(chars, dtype=np.uint8)
    n, width = chars.shape
    offsets = np.arange(0, (n + 1) * width, width, dtype=np.int32)
    array = pa.StringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(chars.tobytes()))
    if valid is not None:
        array = pc.if_else(pa.array(valid), array, pa.scalar(None, pa.string()))
    return array


def zero_padded(values: np.ndarray, width: int) -> pa.StringArray:
    """Numbers as zero-padded decimal strings (codes such as ``001``)."""
    return fixed_width_strings(ascii_digits(values, width))


def decimal_strings(values: np.ndarray) -> pa.StringArray:
    """Non-negative numbers as plain decimal strings (room numbers such as ``502``)."""
    return pc.cast(pa.array(np.asarray(values, dtype=np.int64)), pa.string())


def pick(words: Sequence[str], index: np.ndarray) -> pa.Array:
    """``words[index]`` as a pyarrow string column."""
    return pa.array(list(words), type=pa.string()).take(pa.array(np.asarray(index, dtype=np.int64)))


def join(*parts: pa.Array | str) -> pa.Array:
    """Element-wise concatenation of string columns and constant strings."""
    return pc.binary_join_element_wise(*parts, "")


def distinct_pairs(
    rng: np.random.Generator, parent_counts: np.ndarray, alphabet_size: int
) -> tuple[np.ndarray, np.ndarray]:
    """Two-character picks (i, j), i ≠ j, that never repeat among the children of one parent.

    Each parent walks the ``alphabet_size * (alphabet_size - 1)`` ordered pairs from a random start
    with a random step coprime to their number, so up to that many children get distinct names.
    """
    space = alphabet_size * (alphabet_size - 1)
    if int(np.max(parent_counts, initial=0)) > space:
        raise ValueError("too many children for distinct two-character names")
    steps = np.array([s for s in range(1, space) if np.gcd(s, space) == 1], dtype=np.int64)
    n_parents = len(parent_counts)
    start = rng.integers(0, space, n_parents)
    step = steps[rng.integers(0, steps.size, n_parents)]
    rank = rank_in_groups(parent_counts)
    combo = (np.repeat(start, parent_counts) + rank * np.repeat(step, parent_counts)) % space
    first = combo // (alphabet_size - 1)
    second = combo % (alphabet_size - 1)
    second = second + (second >= first)  # skip the diagonal: no 华华
    return first, second
