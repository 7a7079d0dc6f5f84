"""The synthetic relief files: deterministic, the planted cases present, and the numpy shortlist
(synth) agreeing with the SQL matching (services) on the same applications and products."""

from __future__ import annotations

from relief.models import Match
from relief.services import do_load_catalogue, do_match_all, do_screen_all
from relief.synth import BANKS, generate_relief, relief_for, shortlist, write_relief
from synth.city import generate_city
from tests_support.city import city_files, to_csv


def _city_tables():
    import pyarrow as pa

    files = city_files()
    return pa.Table.from_pylist(files["divisions"]), pa.Table.from_pylist(files["residents"])


def test_deterministic_with_the_planted_cases(tmp_path):
    divisions, residents = _city_tables()
    one = generate_relief(divisions, residents, 7, applicants=120)
    two = generate_relief(divisions, residents, 7, applicants=120)
    assert one.applications.equals(two.applications) and one.decisions.equals(two.decisions)
    assert not one.applications.equals(generate_relief(divisions, residents, 8, applicants=120).applications)
    assert one.banks.num_rows == len(BANKS) == 22
    rates = one.products.column("rate").to_pylist()
    assert min(rates) >= 3.0 and max(rates) <= 5.0
    codes = one.applications.column("applicant_code").to_pylist()
    assert len(codes) - len(set(codes)) >= 3  # the same applicant twice in the file
    paths = write_relief(one, tmp_path)
    assert paths["relief_applications"].read_text(encoding="utf-8").startswith('"reference"')


def test_synth_city_has_relief_files():
    city = generate_city(400, 3)
    files = relief_for(city, 3, applicants=40)
    assert files.applications.num_rows >= 40


def test_numpy_shortlist_equals_the_sql_matching(city):
    from core.imports.runner import run_import

    divisions, residents = _city_tables()
    files = generate_relief(divisions, residents, 11, applicants=80)
    do_load_catalogue(
        files.banks.to_pylist(),
        files.products.to_pylist(),
        [row | {"closes_on": "2099-12-31"} for row in files.funds.to_pylist()],
    )
    run_import("relief_applications", to_csv(files.applications.to_pylist()), filename="a.csv")
    do_screen_all()
    do_match_all()
    matched = set(Match.objects.values_list("application__reference", flat=True))
    rows = [r for r in files.applications.to_pylist() if r["reference"] in matched]
    expected = {
        (m["reference"], m["rank"], m["bank_code"], m["product_code"])
        for m in shortlist(rows, files.products.to_pylist())
    }
    got = set(Match.objects.values_list("application__reference", "rank", "bank__code", "product__code"))
    assert got == expected and len(got) > 50
