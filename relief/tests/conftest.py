"""Relief fixtures: a fund, three banks with products, applicants in both districts of the small
city, and helpers to import application and decision rows."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

import pytest

from core.imports.runner import run_import
from relief.codes import credit_check_character
from relief.models import Application, Bank, BankOfficer, Fund, LoanProduct
from relief.services import do_match_all, do_screen_all
from tests_support.city import to_csv, valid_id


def credit_code(area: str, serial: int) -> str:
    first17 = f"91{area}{serial:09d}"
    return first17 + credit_check_character(first17)


@dataclass
class Relief:
    fund: Fund
    banks: dict[str, Bank]
    products: dict[str, LoanProduct]


@pytest.fixture
def relief(city) -> Relief:
    fund = Fund.objects.create(
        code="HRT2020",
        name="纾困资金",
        total_fen=60_000_000_000 * 100,
        opens_on=dt.date(2020, 3, 1),
        closes_on=dt.date(2099, 12, 31),
    )
    banks = {
        code: Bank.objects.create(code=code, name=name)
        for code, name in (("ICBC", "工商银行"), ("HKB", "汉口银行"), ("CCB", "建设银行"))
    }

    def product(bank, code, low, high, rate, sectors=""):
        return LoanProduct.objects.create(
            bank=banks[bank],
            code=code,
            name=code,
            min_fen=low * 100,
            max_fen=high * 100,
            rate=Decimal(rate),
            term_months=12,
            sectors=sectors,
        )

    products = {
        "ICBC-A": product("ICBC", "A", 100_000, 5_000_000, "3.85"),
        "HKB-A": product("HKB", "A", 50_000, 1_000_000, "3.85", "catering;wholesale_retail"),
        "CCB-A": product("CCB", "A", 10_000, 300_000, "3.50"),
        "CCB-B": product("CCB", "B", 1_000_000, 9_000_000, "4.35", "manufacturing"),
    }
    return Relief(fund, banks, products)


def app_row(reference: str, code: str, **over) -> dict:
    row = {
        "reference": reference,
        "fund_code": "HRT2020",
        "applicant_kind": "firm",
        "applicant_code": code,
        "name": f"企业{reference}",
        "sector": "catering",
        "employees": "20",
        "annual_revenue": "3000000",
        "area_code": "420102001001",
        "phone": "",
        "bank_account": "",
        "need": "payroll",
        "amount": "500000",
        "purpose": "发放工资",
        "documents": "business_licence;financial_statement",
        "submitted_at": "2020-04-10 09:00:00",
    }
    return row | over


def import_apps(rows: list[dict]):
    return run_import("relief_applications", to_csv(rows), filename="applications.csv")


def import_decisions(rows: list[dict]):
    return run_import("loan_decisions", to_csv(rows), filename="decisions.csv")


def decision_row(reference: str, bank: str, product: str, decision: str = "approve", **over) -> dict:
    row = {
        "application_reference": reference,
        "bank_code": bank,
        "product_code": product,
        "decision": decision,
        "amount": "400000" if decision == "approve" else "",
        "rate": "",
        "term_months": "",
        "decided_on": "2020-05-06",
        "disbursed_on": "",
        "reason": "" if decision == "approve" else "经营风险",
    }
    return row | over


def officer(city, relief: Relief, username: str, bank: str):
    from django.contrib.auth import get_user_model

    from core.roles import grant_role

    user = get_user_model().objects.create_user(username, password="pw-" + username)
    grant_role(user, "bank_officer")
    BankOfficer.objects.create(user=user, bank=relief.banks[bank])
    return user


SELF_ID = valid_id("420102", "19850101", 11)


@pytest.fixture
def world(city, relief) -> dict:
    """Four applications (R1 江岸 firm, R2 武昌 firm, R3 江岸 self-employed, R4 registered in Beijing),
    screened and matched, and staff: both districts, a street, the city command, two bank officers."""
    import_apps(
        [
            app_row("R1", credit_code("420102", 1)),
            app_row("R2", credit_code("420106", 2), area_code="420106001001"),
            app_row(
                "R3",
                SELF_ID,
                applicant_kind="self_employed",
                documents="business_licence;id_card",
                phone="13912345678",
                amount="200000",
            ),
            app_row("R4", credit_code("110105", 4)),
        ]
    )
    do_screen_all()
    do_match_all()
    staff = {
        "jiangan": city.staff("ja", "district", city.divisions["420102000000"]),
        "wuchang": city.staff("wc", "district", city.divisions["420106000000"]),
        "street": city.staff("st", "street", city.divisions["420102001000"]),
        "city": city.staff("cc", "city_command", city.divisions["420100000000"]),
        "hkb": officer(city, relief, "hkb", "HKB"),
        "ccb": officer(city, relief, "ccb", "CCB"),
    }
    from core.roles import grant_role

    for name in ("jiangan", "wuchang", "street", "city"):
        grant_role(
            staff[name],
            {"jiangan": "district", "wuchang": "district", "street": "street", "city": "city_command"}[name],
        )
    return staff


def app_id(reference: str) -> int:
    return Application.objects.get(reference=reference).pk
