"""Citizen identity numbers (GB 11643-1999) and phone numbers: validation, parsing, masking.

domain.md §2: 18 characters — 6-digit address code, birth date YYYYMMDD, 3-digit sequence (odd male,
even female), check character. S = Σ dᵢ·wᵢ over the first 17 digits, check = "10X98765432"[S mod 11].
A number failing the check, or with an impossible birth date, is never used as a matching key.

Scalar functions serve forms and the API; the ``*_array`` functions validate a whole column at once
(numpy) for imports of millions of rows.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from enum import StrEnum

import numpy as np

WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECK_CHARS = "10X98765432"
_SHAPE = re.compile(r"^\d{17}[\dX]$")
_PHONE = re.compile(r"^1[3-9]\d{9}$")
_EARLIEST_BIRTH = dt.date(1890, 1, 1)


class IdProblem(StrEnum):
    """Why an identity number is unusable; the values double as import reject reason codes."""

    FORMAT = "id_number_format"
    CHECKSUM = "id_number_checksum"
    BIRTH_DATE = "id_number_birth_date"


@dataclass(frozen=True)
class IdentityFacts:
    """What an identity number says about its holder."""

    address_code: str
    birth_date: dt.date
    sex: str  # "M" or "F"


def normalise_id_number(raw: str | None) -> str:
    """Upper-case, strip spaces: ``x`` typed for the check character is common."""
    return (raw or "").strip().replace(" ", "").upper()


def check_character(first17: str) -> str:
    total = sum(int(d) * w for d, w in zip(first17, WEIGHTS, strict=True))
    return CHECK_CHARS[total % 11]


def id_number_problem(raw: str | None, today: dt.date | None = None) -> IdProblem | None:
    """The first problem with an identity number, or None when it is valid."""
    number = normalise_id_number(raw)
    if not _SHAPE.match(number):
        return IdProblem.FORMAT
    if check_character(number[:17]) != number[17]:
        return IdProblem.CHECKSUM
    try:
        born = dt.date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        return IdProblem.BIRTH_DATE
    if born < _EARLIEST_BIRTH or born > (today or dt.date.today()):  # noqa: DTZ011 - a calendar date
        return IdProblem.BIRTH_DATE
    return None


def is_valid_id_number(raw: str | None) -> bool:
    return id_number_problem(raw) is None


def identity_facts(raw: str) -> IdentityFacts:
    """Birth date and sex read from a *valid* identity number."""
    number = normalise_id_number(raw)
    problem = id_number_problem(number)
    if problem is not None:
        raise ValueError(problem.value)
    return IdentityFacts(
        address_code=number[:6],
        birth_date=dt.date(int(number[6:10]), int(number[10:12]), int(number[12:14])),
        sex="M" if int(number[16]) % 2 else "F",
    )


def mask_id_number(raw: str | None) -> str:
    """``4201**********123X``: the region and the last four stay, domain.md §2."""
    number = normalise_id_number(raw)
    if len(number) <= 8:
        return "*" * len(number)
    return number[:4] + "*" * (len(number) - 8) + number[-4:]


def mask_phone(raw: str | None) -> str:
    """``138****5678``."""
    phone = (raw or "").strip()
    if len(phone) < 7:
        return "*" * len(phone)
    return phone[:3] + "*" * (len(phone) - 7) + phone[-4:]


def mask_name(raw: str | None) -> str:
    """``张*`` or ``欧阳*华``: the family name (first character) and, from three characters, the last
    one stay; what a gate volunteer needs to match a face to a code, and no more."""
    name = (raw or "").strip()
    if len(name) <= 1:
        return name
    if len(name) == 2:
        return name[0] + "*"
    return name[0] + "*" * (len(name) - 2) + name[-1]


def is_valid_mobile(raw: str | None) -> bool:
    return bool(_PHONE.match((raw or "").strip()))


# --- vectorised forms, for columns of millions -------------------------------------------------

_DAYS_IN_MONTH = np.array([0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31], dtype=np.int64)


def _as_char_matrix(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(n, 18) uint8 matrix of the characters and a mask of the entries that are 18 long.

    Non-ASCII characters become "?" so that they fail the digit checks.
    """
    lengths = np.strings.str_len(values)
    fixed = np.strings.encode(values, "ascii", "replace").astype("S18")
    chars = fixed.view(np.uint8).reshape(-1, 18)
    return chars, lengths == 18


def id_problem_codes(numbers: np.ndarray | list[str], today: dt.date | None = None) -> np.ndarray:
    """Per entry: "" when valid, else an :class:`IdProblem` value. Same rules as the scalar form.

    Entries must already be normalised (upper-case, no spaces); ``normalise_id_number`` first if not.
    """
    values = np.asarray(numbers, dtype=str)
    if values.size == 0:
        return np.array([], dtype=object)
    chars, right_length = _as_char_matrix(values)
    return id_problem_codes_of_chars(chars, right_length, today)


def id_problem_codes_of_chars(chars: np.ndarray, right_length: np.ndarray, today: dt.date | None = None) -> np.ndarray:
    """:func:`id_problem_codes` over an (n, 18) uint8 character matrix (e.g. straight from Arrow).

    Small integer types and one matrix product: this runs over every row of a scans file."""
    d = chars - np.uint8(ord("0"))  # wraps: anything below '0' becomes large
    body_digits = (d[:, :17] <= 9).all(axis=1)
    last = chars[:, 17]
    last_ok = (d[:, 17] <= 9) | (last == ord("X"))
    shape_ok = right_length & body_digits & last_ok
    safe = np.minimum(d, 9).astype(np.int32)

    total = safe[:, :17] @ np.array(WEIGHTS, dtype=np.int32)
    expected = np.frombuffer(CHECK_CHARS.encode(), dtype=np.uint8)[total % 11]
    check_ok = expected == last

    year = safe[:, 6:10] @ np.array([1000, 100, 10, 1], dtype=np.int32)
    month = safe[:, 10] * 10 + safe[:, 11]
    day = safe[:, 12] * 10 + safe[:, 13]
    month_ok = (month >= 1) & (month <= 12)
    leap = ((year % 4 == 0) & (year % 100 != 0)) | (year % 400 == 0)
    max_day = _DAYS_IN_MONTH[np.where(month_ok, month, 1)] - ((np.where(month_ok, month, 1) == 2) & ~leap)
    date_ok = month_ok & (day >= 1) & (day <= max_day)
    today = today or dt.date.today()  # noqa: DTZ011 - a calendar date
    ymd = year * 10000 + month * 100 + day
    date_ok &= (ymd >= 18900101) & (ymd <= today.year * 10000 + today.month * 100 + today.day)

    out = np.full(chars.shape[0], "", dtype=object)
    out[~date_ok] = IdProblem.BIRTH_DATE.value
    out[~check_ok] = IdProblem.CHECKSUM.value
    out[~shape_ok] = IdProblem.FORMAT.value
    return out


def check_characters_array(first17: np.ndarray) -> np.ndarray:
    """Check characters for an (n, 17) integer digit matrix, as a uint8 array of ASCII codes."""
    total = (np.asarray(first17, dtype=np.int64) * np.array(WEIGHTS, dtype=np.int64)).sum(axis=1)
    return np.frombuffer(CHECK_CHARS.encode(), dtype=np.uint8)[total % 11]
