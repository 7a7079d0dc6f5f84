"""Eligibility rules of the relief fund, read from versioned policy (core.policy), and the pure
screening function with its vectorised twin for bulk screening.

The policy items are registered by ReliefConfig.ready (``register``). Reasons are codes with a
detail; :data:`REASON_TEXT` renders them for people.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
from django.utils.translation import gettext_lazy as _

from core.policy import PolicyItem
from relief.choices import ApplicantKind, DocumentKind, Sector

ELIGIBILITY_KEYS = {
    "max_amount_firm_yuan": int,
    "max_amount_self_employed_yuan": int,
    "max_employees": int,
    "excluded_sectors": list,
    "require_in_city": bool,
}

POLICY_ITEMS = {
    "relief_eligibility": PolicyItem(
        {
            "max_amount_firm_yuan": 10_000_000,
            "max_amount_self_employed_yuan": 1_000_000,
            "max_employees": 300,
            "excluded_sectors": [Sector.REAL_ESTATE.value, Sector.FINANCE.value],
            "require_in_city": True,
        },
        _("Relief fund eligibility: largest amounts, most employees, excluded sectors, applicants in the city"),
        "the fund's rules; Linli default. Employees: small and micro firms have fewer than 300 in most sectors "
        "(工信部联企业〔2011〕300号, 中小企业划型标准规定)",
    ),
    "relief_required_documents": PolicyItem(
        {
            ApplicantKind.FIRM.value: [DocumentKind.BUSINESS_LICENCE.value, DocumentKind.FINANCIAL_STATEMENT.value],
            ApplicantKind.SELF_EMPLOYED.value: [DocumentKind.BUSINESS_LICENCE.value, DocumentKind.ID_CARD.value],
        },
        _("Relief fund: documents each kind of applicant must attach"),
        "the fund's rules; Linli default",
    ),
    "relief_shortlist_size": PolicyItem(
        5, _("Relief fund: loan products kept on an application's ranked shortlist"), "Linli default"
    ),
}


def check_eligibility(value: dict) -> None:
    """The policy validator: exactly the known keys, each of its type, sectors from the list."""
    if set(value) != set(ELIGIBILITY_KEYS):
        raise ValueError(f"relief_eligibility: keys must be {', '.join(sorted(ELIGIBILITY_KEYS))}")
    for key, kind in ELIGIBILITY_KEYS.items():
        if kind is int and (isinstance(value[key], bool) or not isinstance(value[key], int)):
            raise ValueError(f"relief_eligibility.{key}: expected a whole number")
        if not isinstance(value[key], kind):
            raise ValueError(f"relief_eligibility.{key}: expected {kind.__name__}")
    unknown = set(value["excluded_sectors"]) - set(Sector.values)
    if unknown:
        raise ValueError(f"relief_eligibility.excluded_sectors: unknown {', '.join(sorted(unknown))}")


def check_required_documents(value: dict) -> None:
    if set(value) != set(ApplicantKind.values):
        raise ValueError(f"relief_required_documents: keys must be {', '.join(ApplicantKind.values)}")
    for kind, docs in value.items():
        unknown = set(docs) - set(DocumentKind.values) if isinstance(docs, list) else {"(not a list)"}
        if unknown:
            raise ValueError(f"relief_required_documents.{kind}: unknown {', '.join(sorted(unknown))}")


VALIDATORS = {"relief_eligibility": check_eligibility, "relief_required_documents": check_required_documents}


REASON_TEXT = {
    "amount_above_limit": _("Amount above the fund's limit for this kind of applicant (%(detail)s)."),
    "too_many_employees": _("Not a small or micro firm: %(detail)s employees."),
    "sector_excluded": _("The fund does not lend to this sector (%(detail)s)."),
    "missing_documents": _("Required documents missing: %(detail)s."),
    "outside_city": _("The applicant's code was issued outside the city (area %(detail)s)."),
}


def reason_text(reason: dict) -> str:
    template = REASON_TEXT.get(reason.get("code", ""))
    if template is None:
        return str(reason)
    return str(template) % {"detail": reason.get("detail", "")}


@dataclass(frozen=True)
class Rules:
    """The eligibility policy in force, as used by screening."""

    max_amount_fen: dict[str, int]
    max_employees: int
    excluded_sectors: frozenset[str]
    require_in_city: bool
    required_documents: dict[str, tuple[str, ...]]

    @classmethod
    def from_policy(cls, values: Any) -> Rules:
        rules, docs = values.relief_eligibility, values.relief_required_documents
        return cls(
            max_amount_fen={
                ApplicantKind.FIRM: int(rules["max_amount_firm_yuan"]) * 100,
                ApplicantKind.SELF_EMPLOYED: int(rules["max_amount_self_employed_yuan"]) * 100,
            },
            max_employees=int(rules["max_employees"]),
            excluded_sectors=frozenset(rules["excluded_sectors"]),
            require_in_city=bool(rules["require_in_city"]),
            required_documents={kind: tuple(docs.get(kind, ())) for kind in ApplicantKind.values},
        )


def eligibility_reasons(
    rules: Rules,
    *,
    kind: str,
    amount_fen: int,
    employees: int,
    sector: str,
    documents: Iterable[str],
    in_city: bool,
) -> list[dict]:
    """Why one application is ineligible (empty: eligible). Pure: the rules are passed in."""
    from relief.models import yuan

    reasons = []
    limit = rules.max_amount_fen[kind]
    if amount_fen > limit:
        reasons.append({"code": "amount_above_limit", "detail": yuan(limit)})
    if kind == ApplicantKind.FIRM and employees >= rules.max_employees:
        reasons.append({"code": "too_many_employees", "detail": str(employees)})
    if sector in rules.excluded_sectors:
        reasons.append({"code": "sector_excluded", "detail": sector})
    have = set(documents)
    missing = [doc for doc in rules.required_documents[kind] if doc not in have]
    if missing:
        reasons.append({"code": "missing_documents", "detail": ", ".join(missing)})
    if rules.require_in_city and not in_city:
        reasons.append({"code": "outside_city", "detail": ""})
    return reasons


def missing_documents(rules: Rules, kinds: np.ndarray, has: dict[str, np.ndarray]) -> np.ndarray:
    """Per row: the required documents missing, ``, ``-joined ("" when none). ``has[doc]`` is a
    boolean column per document kind."""
    kinds = np.asarray(kinds, dtype=str)
    out = np.full(len(kinds), "", dtype=object)
    for kind, docs in rules.required_documents.items():
        rows = kinds == kind
        for doc in docs:
            lacking = rows & ~has.get(doc, np.zeros(len(kinds), dtype=bool))
            out[lacking] = np.where(out[lacking] == "", doc, out[lacking] + ", " + doc)
    return out


def eligibility_reasons_array(
    rules: Rules,
    *,
    kinds: np.ndarray,
    amount_fen: np.ndarray,
    employees: np.ndarray,
    sectors: np.ndarray,
    has: dict[str, np.ndarray],
    in_city: np.ndarray,
) -> list[list[dict]]:
    """:func:`eligibility_reasons` over whole columns (numpy), same rules and order."""
    from relief.models import yuan

    kinds = np.asarray(kinds, dtype=str)
    n = len(kinds)
    limits = np.where(
        kinds == ApplicantKind.FIRM,
        rules.max_amount_fen[ApplicantKind.FIRM],
        rules.max_amount_fen[ApplicantKind.SELF_EMPLOYED],
    )
    employees = np.asarray(employees)
    sectors = np.asarray(sectors, dtype=str)
    checks = [
        ("amount_above_limit", np.asarray(amount_fen) > limits, lambda i: yuan(int(limits[i]))),
        (
            "too_many_employees",
            (kinds == ApplicantKind.FIRM) & (employees >= rules.max_employees),
            lambda i: str(int(employees[i])),
        ),
        ("sector_excluded", np.isin(sectors, list(rules.excluded_sectors)), lambda i: str(sectors[i])),
    ]
    missing = missing_documents(rules, kinds, has)
    out: list[list[dict]] = [[] for _ in range(n)]
    for code, bad, detail in checks:
        for i in np.flatnonzero(bad):
            out[i].append({"code": code, "detail": detail(i)})
    for i in np.flatnonzero(missing != ""):
        out[i].append({"code": "missing_documents", "detail": missing[i]})
    if rules.require_in_city:
        for i in np.flatnonzero(~np.asarray(in_city, dtype=bool)):
            out[i].append({"code": "outside_city", "detail": ""})
    return out
