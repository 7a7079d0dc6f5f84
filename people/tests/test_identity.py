"""GB 11643 validation (domain.md §2): scalar and vectorised forms agree, masks hide the middle."""

from __future__ import annotations

import datetime as dt

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from people.identity import (
    IdProblem,
    check_character,
    id_number_problem,
    id_problem_codes,
    identity_facts,
    mask_id_number,
    mask_phone,
)

addresses = st.sampled_from(["420102", "420106", "110105", "310104", "440106"])
births = st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2024, 12, 31))
sequences = st.integers(min_value=0, max_value=999)


def make(address: str, born: dt.date, sequence: int) -> str:
    first17 = f"{address}{born:%Y%m%d}{sequence:03d}"
    return first17 + check_character(first17)


def test_published_example_is_valid():
    assert id_number_problem("11010519491231002X") is None
    facts = identity_facts("11010519491231002x")
    assert facts.birth_date == dt.date(1949, 12, 31)
    assert facts.sex == "F"


@given(addresses, births, sequences)
def test_constructed_numbers_validate_and_carry_their_facts(address, born, sequence):
    number = make(address, born, sequence)
    assert id_number_problem(number) is None
    facts = identity_facts(number)
    assert facts.birth_date == born
    assert facts.sex == ("M" if sequence % 2 else "F")


@given(addresses, births, sequences, st.integers(0, 16), st.integers(1, 9))
def test_any_single_digit_change_breaks_the_check(address, born, sequence, position, delta):
    number = make(address, born, sequence)
    digit = (int(number[position]) + delta) % 10
    altered = number[:position] + str(digit) + number[position + 1 :]
    assert id_number_problem(altered) in {IdProblem.CHECKSUM, IdProblem.BIRTH_DATE}


def test_impossible_dates_and_bad_shapes():
    feb30 = "42010219800230001"
    assert id_number_problem(feb30 + check_character(feb30)) == IdProblem.BIRTH_DATE
    future = "42010230000101001"
    assert id_number_problem(future + check_character(future)) == IdProblem.BIRTH_DATE
    assert id_number_problem("4201021980") == IdProblem.FORMAT
    assert id_number_problem("42010219800101001Y") == IdProblem.FORMAT
    assert id_number_problem(None) == IdProblem.FORMAT


@given(
    st.lists(
        st.one_of(
            st.text(alphabet="0123456789X", min_size=16, max_size=19),
            st.builds(make, addresses, births, sequences),
            st.text(max_size=20),
        ),
        max_size=40,
    )
)
def test_vectorised_form_agrees_with_scalar(values):
    codes = id_problem_codes(np.array(values, dtype=str)) if values else []
    for value, code in zip(values, codes, strict=True):
        scalar = id_number_problem(value) if value == value.strip().upper() and " " not in value else None
        if value == value.strip().upper() and " " not in value:
            assert code == (scalar.value if scalar else "")


def test_masks_hide_the_middle():
    assert mask_id_number("42010219800101123X") == "4201**********123X"
    assert mask_phone("13812345678") == "138****5678"
    assert mask_phone("") == ""
