"""The cases app's policy item: the legal bases staff may give for a category decision, and which
categories each may justify. Registered in AppConfig.ready (core.policy.register_items), so it is
edited on the policy page and versioned with the rest (issue #11: purpose-bound red and yellow)."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _

from cases.choices import Basis, Category
from core.policy import PolicyItem

BASES = "category_change_bases"

ITEMS: dict[str, PolicyItem] = {
    BASES: PolicyItem(
        {
            Basis.LAB_REPORT.value: [Category.CONFIRMED.value, Category.ASYMPTOMATIC.value, Category.SUSPECTED.value],
            Basis.CLINICAL_DIAGNOSIS.value: [Category.CONFIRMED.value, Category.SUSPECTED.value, Category.FEVER.value],
            Basis.CONTACT_OF_CASE.value: [Category.CLOSE_CONTACT.value, Category.SECONDARY_CONTACT.value],
            Basis.CDC_NOTICE.value: list(Category.values),
            Basis.FEVER_MEASURED.value: [Category.FEVER.value],
        },
        _("Legal bases staff may give for a category decision, and the categories each may justify"),
        "issue #11 (Zhengzhou, June 2022: codes turned red without a case); domain.md §3 categories, §4 contacts",
    ),
}


def check_bases(value: Any) -> None:
    """Known bases only (each has a translated label), each with a list of distinct categories."""
    unknown = sorted(set(value) - set(Basis.values))
    if unknown:
        raise ValueError(f"{BASES}: unknown bases {', '.join(map(str, unknown))}")
    for basis, categories in value.items():
        if not isinstance(categories, list):
            raise ValueError(f"{BASES}.{basis}: expected a list of categories")
        wrong = [c for c in categories if c not in Category.values]
        if wrong:
            raise ValueError(f"{BASES}.{basis}: unknown categories {', '.join(map(str, wrong))}")
        if len(set(categories)) != len(categories):
            raise ValueError(f"{BASES}.{basis}: a category is named twice")


VALIDATORS = {BASES: check_bases}
