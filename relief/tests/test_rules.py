"""Eligibility from policy: each rule, the vectorised twin agreeing with the pure function, the
policy validators, and a policy change moving the outcome."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.policy import DEFAULTS, Policy, do_update_policy
from relief.choices import DocumentKind, Sector
from relief.rules import Rules, eligibility_reasons, eligibility_reasons_array, reason_text

RULES = Rules.from_policy(Policy({}, None))
FIRM_DOCS = ("business_licence", "financial_statement")


def reasons(**over):
    values = {
        "kind": "firm",
        "amount_fen": 500_000_00,
        "employees": 20,
        "sector": "catering",
        "documents": FIRM_DOCS,
        "in_city": True,
    } | over
    return [r["code"] for r in eligibility_reasons(RULES, **values)]


def test_each_rule():
    assert reasons() == []
    assert reasons(amount_fen=10_000_001_00) == ["amount_above_limit"]
    assert reasons(kind="self_employed", amount_fen=1_000_001_00, documents=("business_licence", "id_card")) == [
        "amount_above_limit"
    ]
    assert reasons(employees=300) == ["too_many_employees"]
    assert reasons(kind="self_employed", employees=300, documents=("business_licence", "id_card")) == []
    assert reasons(sector="real_estate") == ["sector_excluded"]
    assert reasons(documents=("business_licence",)) == ["missing_documents"]
    assert reasons(in_city=False) == ["outside_city"]
    found = eligibility_reasons(
        RULES, kind="self_employed", amount_fen=1, employees=1, sector="other", documents=(), in_city=True
    )
    assert found == [{"code": "missing_documents", "detail": "business_licence, id_card"}]
    assert reason_text(found[0]) == "Required documents missing: business_licence, id_card."


@settings(max_examples=60, deadline=None)
@given(
    rows=st.lists(
        st.tuples(
            st.sampled_from(["firm", "self_employed"]),
            st.integers(1, 2_000_000_000),
            st.integers(0, 600),
            st.sampled_from(Sector.values),
            st.sets(st.sampled_from(DocumentKind.values)),
            st.booleans(),
        ),
        min_size=1,
        max_size=15,
    )
)
def test_the_vectorised_rules_agree_with_the_pure_function(rows):
    kinds, amounts, employees, sectors, docs, in_city = (list(c) for c in zip(*rows, strict=True))
    has = {d: np.array([d in row_docs for row_docs in docs]) for d in DocumentKind.values}
    got = eligibility_reasons_array(
        RULES,
        kinds=np.array(kinds),
        amount_fen=np.array(amounts),
        employees=np.array(employees),
        sectors=np.array(sectors),
        has=has,
        in_city=np.array(in_city),
    )
    for i, row in enumerate(rows):
        kind, amount, staff, sector, row_docs, city = row
        assert got[i] == eligibility_reasons(
            RULES, kind=kind, amount_fen=amount, employees=staff, sector=sector, documents=row_docs, in_city=city
        )


@pytest.mark.django_db
def test_policy_items_are_registered_validated_and_applied():
    assert DEFAULTS["relief_eligibility"].source.startswith("the fund's rules")
    with pytest.raises(ValueError, match="unknown"):
        do_update_policy(
            {"relief_eligibility": DEFAULTS["relief_eligibility"].default | {"excluded_sectors": ["x"]}}, None, "bad"
        )
    with pytest.raises(ValueError, match="keys"):
        do_update_policy({"relief_eligibility": {"max_employees": 5}}, None, "bad")
    with pytest.raises(ValueError, match="unknown"):
        do_update_policy({"relief_required_documents": {"firm": ["selfie"], "self_employed": []}}, None, "bad")
    do_update_policy(
        {"relief_eligibility": DEFAULTS["relief_eligibility"].default | {"max_employees": 10}}, None, "stricter"
    )
    from core.policy import policy

    assert Rules.from_policy(policy()).max_employees == 10
