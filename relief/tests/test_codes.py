"""Applicant codes: GB 32100-2015 credit codes (check character, area), identity numbers, and the
vectorised checks agreeing with the scalar ones."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from relief.codes import ALPHABET, CodeProblem, area_of, code_problem, code_problems_array, credit_check_character
from relief.tests.conftest import SELF_ID, credit_code


def test_published_example_is_valid_and_a_changed_check_is_not():
    assert code_problem("firm", "91350100M000100Y43") is None
    assert code_problem("firm", "91350100m000100y43") is None  # typed in lower case
    assert code_problem("firm", "91350100M000100Y44") == CodeProblem.CHECK
    assert code_problem("firm", "91350100M000100Y4") == CodeProblem.FORMAT
    assert code_problem("firm", "9135010OM000100Y43") == CodeProblem.FORMAT  # O is not in the alphabet
    assert code_problem("firm", "91AB0100M000100Y43") == CodeProblem.FORMAT  # the area is six digits


def test_identity_numbers_of_the_self_employed():
    assert code_problem("self_employed", SELF_ID) is None
    assert code_problem("self_employed", "11010519491231002X") is None
    assert code_problem("self_employed", "110105194912310021") == CodeProblem.CHECK
    assert code_problem("self_employed", "1101051949123100") == CodeProblem.FORMAT


def test_area_is_characters_3_to_8_or_the_address_code():
    assert area_of("firm", credit_code("420106", 7)) == "420106"
    assert area_of("self_employed", SELF_ID) == "420102"


BODY = st.text(alphabet=ALPHABET, min_size=9, max_size=9)


@settings(max_examples=200, deadline=None)
@given(body=BODY, area=st.integers(100000, 999999), wrong=st.sampled_from(ALPHABET))
def test_any_code_with_its_check_character_is_valid(body, area, wrong):
    first17 = f"91{area}{body}"
    good = first17 + credit_check_character(first17)
    assert code_problem("firm", good) is None
    if wrong != good[17]:
        assert code_problem("firm", first17 + wrong) == CodeProblem.CHECK


@settings(max_examples=100, deadline=None)
@given(codes=st.lists(st.text(alphabet=ALPHABET + "IOZ", min_size=16, max_size=19), min_size=1, max_size=20))
def test_vectorised_checks_agree_with_the_scalar_ones(codes):
    kinds = np.array(["firm", "self_employed"] * len(codes))[: len(codes)]
    got = code_problems_array(kinds, np.array(codes))
    expected = [(code_problem(k, c) or "") for k, c in zip(kinds, codes, strict=True)]
    assert [str(g) for g in got] == [str(e) for e in expected]
