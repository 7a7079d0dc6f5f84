"""Synthetic relief-finance data for a generated city (issue #12 item 2), deterministic from a seed.

``relief_for(city, seed)`` (a :class:`synth.city.SynthCity`) and ``generate_relief(divisions,
residents, seed)`` (contract tables, so the demo can pass what its database holds) return
:class:`ReliefFiles`, pyarrow tables that :func:`write_relief` writes as UTF-8 CSV:

- ``relief_banks.csv``: bank_code, bank_name — the 22 partner banks (汉融通 brought 22 banks in).
- ``relief_products.csv``: bank_code, product_code, name, min_amount, max_amount (yuan), sectors
  (``;``-separated, empty = all), rate (annual %, 3–5), term_months — 1 to 3 per bank.
- ``relief_funds.csv``: fund_code, name, total (yuan: ¥60 billion), opens_on, closes_on.
- ``relief_applications.csv``: the ``relief_applications`` import kind (relief.importers): reference,
  fund_code, applicant_kind, applicant_code, name, sector, employees, annual_revenue, area_code,
  phone, bank_account, need, amount, purpose, documents, submitted_at. A few hundred firms and
  self-employed owners across the city's communities, with the cases the checks exist for: the
  same applicant twice in the file, codes issued outside the city, an ID number failing its
  check, a shared phone, rows missing a required document, amounts above the limit, a firm too
  big, an excluded sector.
- ``loan_decisions.csv``: the ``loan_decisions`` import kind for the applications that
  :func:`shortlist` (the matching rule in numpy, the twin of relief.services' SQL) gives banks:
  the first bank approves about two in three (most paid out days later), else declines and the
  next bank may approve; a share is left undecided.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

from relief.choices import DocumentKind, Need, Sector
from relief.codes import ALPHABET, credit_check_character

BANKS = (
    ("ICBC", "中国工商银行"),
    ("ABC", "中国农业银行"),
    ("BOC", "中国银行"),
    ("CCB", "中国建设银行"),
    ("BOCOM", "交通银行"),
    ("PSBC", "中国邮政储蓄银行"),
    ("CDB", "国家开发银行"),
    ("ADBC", "中国农业发展银行"),
    ("CEXIM", "中国进出口银行"),
    ("CMB", "招商银行"),
    ("CITIC", "中信银行"),
    ("SPDB", "浦发银行"),
    ("CMBC", "中国民生银行"),
    ("CIB", "兴业银行"),
    ("CEB", "中国光大银行"),
    ("HXB", "华夏银行"),
    ("PAB", "平安银行"),
    ("CGB", "广发银行"),
    ("CZB", "浙商银行"),
    ("HKB", "汉口银行"),
    ("HBB", "湖北银行"),
    ("WRCB", "武汉农村商业银行"),
)
# product templates: (code, name, min ¥, max ¥, sectors)
PRODUCTS = (
    ("FG", "复工复产贷", 100_000, 10_000_000, ""),
    ("XW", "小微快贷", 10_000, 1_000_000, "wholesale_retail;catering;accommodation;services;culture_tourism"),
    ("GT", "个体经营贷", 10_000, 500_000, "wholesale_retail;catering;services;transport;agriculture"),
    ("ZZ", "制造业纾困贷", 500_000, 10_000_000, "manufacturing;construction;technology;transport"),
)
FUND = {
    "fund_code": "HRT2020",
    "name": "武汉市中小微企业纾困资金",
    "total": 60_000_000_000,
    "opens_on": "2020-03-20",
    "closes_on": "2020-12-31",
}
SUBMIT_FROM = dt.datetime(2020, 4, 1, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))  # written as local time
DECIDE_FROM = dt.date(2020, 5, 6)
OUTSIDE_AREAS = ("110105", "440305")  # 北京朝阳, 深圳南山: registered outside the city
FIRM_WORDS = ("餐饮", "商贸", "物流", "科技", "制衣", "食品", "文化", "建材", "酒店", "印务")
SECTOR_WEIGHTS = {
    Sector.CATERING: 0.18,
    Sector.WHOLESALE_RETAIL: 0.22,
    Sector.MANUFACTURING: 0.14,
    Sector.SERVICES: 0.12,
    Sector.TRANSPORT: 0.08,
    Sector.ACCOMMODATION: 0.06,
    Sector.TECHNOLOGY: 0.06,
    Sector.CULTURE_TOURISM: 0.05,
    Sector.CONSTRUCTION: 0.05,
    Sector.AGRICULTURE: 0.03,
    Sector.REAL_ESTATE: 0.01,
}


@dataclass(frozen=True)
class ReliefFiles:
    banks: pa.Table
    products: pa.Table
    funds: pa.Table
    applications: pa.Table
    decisions: pa.Table

    def tables(self) -> dict[str, pa.Table]:
        return {
            "relief_banks": self.banks,
            "relief_products": self.products,
            "relief_funds": self.funds,
            "relief_applications": self.applications,
            "loan_decisions": self.decisions,
        }


def _rows(table: Any) -> list[dict]:
    return table.to_pylist() if hasattr(table, "to_pylist") else list(table)


def banks_and_products(rng: np.random.Generator) -> tuple[pa.Table, pa.Table]:
    """22 banks, each with 1–3 of the product templates, rates 3.05–4.95 % in steps of 0.05."""
    products = []
    for code, _name in BANKS:
        chosen = rng.choice(len(PRODUCTS), size=int(rng.integers(1, 4)), replace=False)
        for index in sorted(chosen.tolist()):
            tag, name, low, high, sectors = PRODUCTS[index]
            products.append(
                {
                    "bank_code": code,
                    "product_code": tag,
                    "name": name,
                    "min_amount": low,
                    "max_amount": high,
                    "sectors": sectors,
                    "rate": round(3.05 + 0.05 * int(rng.integers(0, 39)), 2),
                    "term_months": int(rng.choice([12, 24, 36])),
                }
            )
    banks = pa.table({"bank_code": [b[0] for b in BANKS], "bank_name": [b[1] for b in BANKS]})
    return banks, pa.Table.from_pylist(products)


def credit_code(area: str, rng: np.random.Generator) -> str:
    """A GB 32100-2015 code: 9 (market regulator), 1 (enterprise), the area, 9 characters, check."""
    body = "".join(ALPHABET[i] for i in rng.integers(0, 31, size=9))
    first17 = f"91{area}{body}"
    return first17 + credit_check_character(first17)


def generate_relief(divisions: Any, residents: Any, seed: int, applicants: int = 300) -> ReliefFiles:
    """The relief files for a city given by its ``divisions`` and ``residents`` contract tables."""
    rng = np.random.default_rng([seed, 12, 2])
    banks, products = banks_and_products(rng)
    divisions = _rows(divisions)
    communities = sorted(d["code"] for d in divisions if d["level"] == "community")
    districts = sorted(d["code"][:6] for d in divisions if d["level"] == "district")
    people = [r for r in _rows(residents) if r.get("id_number")]
    if not communities or not districts:
        raise ValueError("the city has no communities")
    sectors = list(SECTOR_WEIGHTS)
    weights = np.array(list(SECTOR_WEIGHTS.values()))
    rows = []
    owners = rng.permutation(len(people)) if people else np.zeros(0, dtype=int)
    for i in range(applicants):
        area = communities[int(rng.integers(len(communities)))]
        firm = not people or i >= len(owners) or rng.random() < 0.7
        sector = str(sectors[int(rng.choice(len(sectors), p=weights / weights.sum()))])
        if firm:
            code_area = str(rng.choice([area[:6], area[:4] + "00"]))
            employees = int(rng.integers(3, 120))
            amount = int(np.clip(rng.lognormal(13.3, 0.8), 100_000, 8_000_000)) // 10_000 * 10_000
            code, kind = credit_code(code_area, rng), "firm"
            name = f"武汉{FIRM_WORDS[int(rng.integers(len(FIRM_WORDS)))]}{i:03d}有限公司"
            phone = f"027{int(rng.integers(10_000_000, 99_999_999))}"
            docs = [DocumentKind.BUSINESS_LICENCE, DocumentKind.FINANCIAL_STATEMENT]
        else:
            owner = people[int(owners[i])]
            employees = int(rng.integers(1, 8))
            amount = int(np.clip(rng.lognormal(11.8, 0.6), 20_000, 500_000)) // 10_000 * 10_000
            code, kind = owner["id_number"], "self_employed"
            name = f"{owner['name']}{FIRM_WORDS[int(rng.integers(len(FIRM_WORDS)))]}店"
            phone = owner.get("phone") or ""
            docs = [DocumentKind.BUSINESS_LICENCE, DocumentKind.ID_CARD]
        rows.append(
            {
                "reference": f"RA2020-{i + 1:05d}",
                "fund_code": FUND["fund_code"],
                "applicant_kind": kind,
                "applicant_code": code,
                "name": name,
                "sector": sector,
                "employees": employees,
                "annual_revenue": amount * int(rng.integers(2, 8)),
                "area_code": area,
                "phone": phone,
                "bank_account": f"62{int(rng.integers(10**15, 10**16 - 1))}",
                "need": str(rng.choice(Need.values)),
                "amount": amount,
                "purpose": "疫情期间停工，用于复工复产",
                "documents": ";".join(docs),
                "submitted_at": (SUBMIT_FROM + dt.timedelta(minutes=int(rng.integers(0, 29 * 24 * 60)))).strftime(
                    "%Y-%m-%d %H:%M:%S"
                ),
                "_clean": True,
            }
        )
    _plant_cases(rows, rng)
    applications = pa.Table.from_pylist([{k: v for k, v in r.items() if k != "_clean"} for r in rows])
    clean = [r for r in rows if r["_clean"]]
    decisions = decisions_for(shortlist(clean, products.to_pylist()), rng)
    funds = pa.Table.from_pylist([FUND])
    return ReliefFiles(banks, products, funds, applications, decisions)


def _plant_cases(rows: list[dict], rng: np.random.Generator) -> None:
    """The rows the fraud checks and rules exist for (each marked not clean)."""
    n = len(rows)
    if n < 20:
        return
    picks = rng.choice(n, size=12, replace=False).tolist()
    dup_source = [r for r in rows if r["applicant_kind"] == "firm"][:3]
    for source in dup_source:  # the same firm again, later in the file
        again = dict(source, reference=f"{source['reference']}-B", amount=source["amount"], _clean=False)
        source["_clean"] = False
        rows.append(again)
    firms = [i for i in picks if rows[i]["applicant_kind"] == "firm"]
    for i, area in zip(firms[:2], OUTSIDE_AREAS, strict=False):  # registered outside the city
        rows[i]["applicant_code"] = credit_code(area, rng)
        rows[i]["_clean"] = False
    owners = [i for i in picks if rows[i]["applicant_kind"] == "self_employed"]
    if owners:  # an ID number whose check character is wrong
        code = rows[owners[0]]["applicant_code"]
        rows[owners[0]]["applicant_code"] = code[:17] + ("0" if code[17] != "0" else "1")
        rows[owners[0]]["_clean"] = False
    rest = [i for i in picks if i not in firms[:2] and i not in owners[:1]]
    a, b = rest[0], rest[1]  # two applicants with one phone
    rows[b]["phone"] = rows[a]["phone"] = rows[a]["phone"] or "13912345678"
    rows[a]["_clean"] = rows[b]["_clean"] = False
    rows[rest[2]]["documents"] = "business_licence"  # a required document missing: refused on import
    rows[rest[3]]["documents"] = "business_licence"
    rows[rest[4]]["amount"] = 12_000_000 if rows[rest[4]]["applicant_kind"] == "firm" else 1_500_000
    rows[rest[5]]["employees"] = 450 if rows[rest[5]]["applicant_kind"] == "firm" else rows[rest[5]]["employees"]
    rows[rest[6]]["sector"] = Sector.REAL_ESTATE
    for i in rest[2:7]:
        rows[i]["_clean"] = False


def shortlist(applications: list[dict], products: list[dict], size: int = 5) -> list[dict]:
    """The matching rule in numpy (relief.services._match_sql is the SQL twin): products whose range
    holds the amount and whose sectors include the applicant's (empty: all), ranked by rate, then how
    central the amount is in the range, then bank code and product code; the first ``size`` kept."""
    if not applications or not products:
        return []
    amount = np.array([float(a["amount"]) for a in applications])[:, None]
    low = np.array([p["min_amount"] for p in products], dtype=float)[None, :]
    high = np.array([p["max_amount"] for p in products], dtype=float)[None, :]
    sectors = [set(filter(None, p["sectors"].split(";"))) for p in products]
    serves = np.array([[not s or a["sector"] in s for s in sectors] for a in applications])
    fits = (amount >= low) & (amount <= high) & serves
    span = np.where(high > low, high - low, 1.0)
    centrality = np.where(high > low, 1.0 - np.abs(2 * amount - low - high) / span, 1.0)
    out = []
    rate = np.array([p["rate"] for p in products])
    for i, app in enumerate(applications):
        candidates = np.flatnonzero(fits[i])
        order = sorted(
            candidates.tolist(),
            key=lambda j: (rate[j], -centrality[i, j], products[j]["bank_code"], products[j]["product_code"]),
        )
        for rank, j in enumerate(order[:size], start=1):
            out.append(
                {
                    "reference": app["reference"],
                    "rank": rank,
                    "bank_code": products[j]["bank_code"],
                    "product_code": products[j]["product_code"],
                    "min_amount": products[j]["min_amount"],
                    "amount": app["amount"],
                }
            )
    return out


def decisions_for(matches: list[dict], rng: np.random.Generator) -> pa.Table:
    """Decisions on a shortlist (rows: reference, rank, bank_code, product_code, min_amount, amount):
    four in five applications decided; down the ranks, each bank approves with probability 2/3
    (the amount requested, or 80 % of it when that stays in range), else declines."""
    by_app: dict[str, list[dict]] = {}
    for m in matches:
        by_app.setdefault(m["reference"], []).append(m)
    rows = []
    for reference in sorted(by_app):
        if rng.random() < 0.2:
            continue
        decided = DECIDE_FROM + dt.timedelta(days=int(rng.integers(0, 40)))
        for m in sorted(by_app[reference], key=lambda m: m["rank"]):
            if rng.random() < 2 / 3:
                amount = int(m["amount"])
                if rng.random() < 0.3 and amount * 0.8 >= m["min_amount"]:
                    amount = int(amount * 0.8) // 1000 * 1000
                paid = decided + dt.timedelta(days=int(rng.integers(2, 11))) if rng.random() < 0.85 else None
                rows.append(_decision(m, "approve", decided, amount=amount, paid=paid))
                break
            rows.append(_decision(m, "decline", decided, reason="经营数据不足 / insufficient trading record"))
    return pa.Table.from_pylist(rows) if rows else pa.table({"application_reference": pa.array([], pa.string())})


def _decision(m: dict, decision: str, decided: dt.date, *, amount=None, paid=None, reason: str = "") -> dict:
    return {
        "application_reference": m["reference"],
        "bank_code": m["bank_code"],
        "product_code": m["product_code"],
        "decision": decision,
        "amount": "" if amount is None else str(amount),
        "rate": "",
        "term_months": "",
        "decided_on": decided.isoformat(),
        "disbursed_on": paid.isoformat() if paid else "",
        "reason": reason,
    }


def relief_for(city: Any, seed: int, applicants: int = 300) -> ReliefFiles:
    """The relief files for a :class:`synth.city.SynthCity`."""
    return generate_relief(city.divisions, city.residents.select(["id_number", "name", "phone"]), seed, applicants)


def write_relief(files: ReliefFiles, folder: Path) -> dict[str, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = {}
    for name, table in files.tables().items():
        paths[name] = folder / f"{name}.csv"
        pacsv.write_csv(table, paths[name])
    return paths
