"""The generator: deterministic for a seed, the contract columns, history in order and within the
rules the import applies, and CSV files the import kinds read back without a reject."""

from __future__ import annotations

import datetime as dt

import pyarrow.csv as pacsv
import pytest

from reopening.choices import SECTORS_BY_KIND
from reopening.synth import HISTORY_DAYS, for_city, generate_history, write_units
from synth.city import generate_city

SEED = 12


@pytest.fixture(scope="module")
def synthetic():
    return generate_city(5000, SEED)


def test_units_and_history_are_deterministic_and_sane(synthetic):
    tables = for_city(synthetic, SEED)
    assert tables["units"].equals(for_city(synthetic, SEED)["units"])
    assert tables["unit_status"].equals(for_city(synthetic, SEED)["unit_status"])
    units = tables["units"].to_pylist()
    schools = [u for u in units if u["kind"] == "school"]
    firms = [u for u in units if u["kind"] == "enterprise"]
    venues = synthetic.venues.to_pylist()
    assert len(schools) == sum(1 for v in venues if v["kind"] == "school")
    assert firms and all(u["sector"] in SECTORS_BY_KIND[u["kind"]] for u in units)
    assert all(u["staff"] > 0 for u in units) and all(u["pupils"] is None for u in firms)
    assert len({u["code"] for u in units}) == len(units)
    status = tables["unit_status"].to_pylist()
    first = synthetic.as_of - dt.timedelta(days=HISTORY_DAYS - 1)
    per_unit: dict[str, list[str]] = {}
    for row in status:
        assert first.isoformat() <= row["at"][:10] <= synthetic.as_of.isoformat()
        per_unit.setdefault(row["unit_code"], []).append(row["status"])
    # only the moves the unit_status import records: closed → open, then perhaps open → suspended
    assert all(moves in (["open"], ["open", "suspended"]) for moves in per_unit.values())
    back = tables["staff_back"].to_pylist()
    staff = {u["code"]: u["staff"] for u in units}
    assert back and all(0 <= r["staff_back"] <= staff[r["unit_code"]] for r in back)


def test_kept_closed_units_never_reopen(synthetic):
    units = for_city(synthetic, SEED)["units"]
    codes = tuple(units.column("code").to_pylist())
    status, back = generate_history(units, SEED, synthetic.as_of, keep_closed=codes)
    assert status.num_rows == 0 and back.num_rows == 0


def test_csv_files_have_the_contract_columns(synthetic, tmp_path):
    paths = write_units(for_city(synthetic, SEED), tmp_path)
    headers = {name: pacsv.read_csv(path).column_names for name, path in paths.items()}
    assert headers == {
        "units": ["code", "name", "kind", "sector", "compound_code", "venue_code", "staff", "pupils", "registered_on"],
        "unit_status": ["unit_code", "at", "status", "reason"],
        "staff_back": ["unit_code", "day", "staff_back"],
    }
