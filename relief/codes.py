"""Applicant codes: the unified social credit code of a firm (GB 32100-2015) and the owner's identity
number of a self-employed business (GB 11643-1999, people.identity).

GB 32100-2015: 18 characters from ``0-9A-HJ-NPQRTUWXY`` (31 characters; no I, O, S, V, Z):
1 registering authority, 1 organisation type, 6 the registering authority's administrative division
code (GB/T 2260, characters 3–8), 9 the organisation code, 1 check character. The check: with
values cᵢ of the first 17 characters (their index in the alphabet) and weights wᵢ = 3ⁱ mod 31,
check = 31 − (Σ cᵢ·wᵢ mod 31), with 31 written as 0. The identity number's address code is its
first 6 digits (domain.md §2). Both give the 6-digit area that the outside-the-city check compares
with the city's division codes.
"""

from __future__ import annotations

import re
from enum import StrEnum

import numpy as np

from people.identity import IdProblem, id_number_problem, id_problem_codes
from relief.choices import ApplicantKind

ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_CREDIT_SHAPE = re.compile(rf"^[{ALPHABET}]{{2}}\d{{6}}[{ALPHABET}]{{10}}$")
_VALUE = {c: i for i, c in enumerate(ALPHABET)}


class CodeProblem(StrEnum):
    """Why an applicant code cannot be trusted; FORMAT refuses a row, CHECK only flags it."""

    FORMAT = "applicant_code_format"
    CHECK = "applicant_code_check"


def normalise_code(raw: str | None) -> str:
    return (raw or "").strip().replace(" ", "").upper()


def credit_check_character(first17: str) -> str:
    total = sum(_VALUE[c] * w for c, w in zip(first17, WEIGHTS, strict=True))
    return ALPHABET[(31 - total % 31) % 31]


def credit_code_problem(raw: str | None) -> CodeProblem | None:
    code = normalise_code(raw)
    if not _CREDIT_SHAPE.match(code):
        return CodeProblem.FORMAT
    if credit_check_character(code[:17]) != code[17]:
        return CodeProblem.CHECK
    return None


def code_problem(kind: str, raw: str | None) -> CodeProblem | None:
    """The first problem of an applicant's code for its kind, or None when it is valid."""
    if kind == ApplicantKind.FIRM:
        return credit_code_problem(raw)
    problem = id_number_problem(raw)
    if problem is None:
        return None
    return CodeProblem.FORMAT if problem == IdProblem.FORMAT else CodeProblem.CHECK


def area_of(kind: str, code: str) -> str:
    """The 6-digit administrative division the code names (credit code chars 3–8, ID digits 1–6)."""
    code = normalise_code(code)
    return code[2:8] if kind == ApplicantKind.FIRM else code[:6]


def code_problems_array(kinds: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """:func:`code_problem` over whole columns: "" when valid, else a CodeProblem value."""
    kinds = np.asarray(kinds, dtype=str)
    codes = np.asarray(codes, dtype=str)
    out = np.full(len(codes), "", dtype=object)
    firm = kinds == ApplicantKind.FIRM
    if (~firm).any():
        id_codes = id_problem_codes(codes[~firm])
        out[~firm] = np.where(
            id_codes == "", "", np.where(id_codes == IdProblem.FORMAT.value, CodeProblem.FORMAT, CodeProblem.CHECK)
        )
    if firm.any():
        out[firm] = _credit_problems(codes[firm])
    return out


def _credit_problems(codes: np.ndarray) -> np.ndarray:
    lengths = np.strings.str_len(codes)
    raw = np.strings.encode(codes, "ascii", "replace").astype("S18")
    chars = raw.view(np.uint8).reshape(-1, 18)
    lookup = np.full(256, -1, dtype=np.int64)
    lookup[np.frombuffer(ALPHABET.encode(), dtype=np.uint8)] = np.arange(31)
    values = lookup[chars]
    digits = (chars[:, 2:8] >= ord("0")) & (chars[:, 2:8] <= ord("9"))
    shape_ok = (lengths == 18) & (values >= 0).all(axis=1) & digits.all(axis=1)
    total = np.maximum(values[:, :17], 0) @ np.array(WEIGHTS, dtype=np.int64)
    check_ok = (31 - total % 31) % 31 == values[:, 17]
    out = np.full(len(codes), "", dtype=object)
    out[~check_ok] = CodeProblem.CHECK.value
    out[~shape_ok] = CodeProblem.FORMAT.value
    return out
