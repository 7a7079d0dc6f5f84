"""The synthetic city: codes, identities, households, tags and files, checked on small cities.

No database: the generator only makes arrays and files.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
from collections import Counter
from io import StringIO

import numpy as np
import pyarrow as pa
import pytest
from django.core.management import call_command

from people.identity import id_problem_codes, is_valid_mobile
from synth import tables
from synth.city import KINDS, SynthCity, generate_city
from synth.places import level_counts
from synth.population import (
    AS_OF,
    CHILD,
    CHILD1,
    ELDERLY_ALONE,
    FATHER,
    MIGRANT,
    MOTHER,
    PREGNANT,
    PROGRAMS,
    TAGS,
)
from synth.venues import GATE
from synth.venues import KINDS as VENUE_KINDS
from synth.writer import write_city

N = 20_000
SEED = 7

# Header of each file: the English column names of contracts.md.
HEADERS = {
    "divisions": ["code", "name", "level", "parent_code"],
    "compounds": ["compound_code", "name", "grid_code", "address", "lat", "lon", "property_managed", "built_year"],
    "buildings": ["building_code", "compound_code", "name", "units", "floors"],
    "residents": ["id_number", "name", "sex", "phone", "building_code", "unit", "room", "residence_type", "tags"],
    "venues": ["venue_code", "name", "kind", "lat", "lon", "grid_code", "dwell_minutes"],
    "social_registry": ["id_number", "program", "since"],
}


@pytest.fixture(scope="module")
def town() -> SynthCity:
    """One generated city shared by the module (named apart from the project's imported ``city``)."""
    return generate_city(N, SEED)


def col(table: pa.Table, name: str) -> np.ndarray:
    return np.array(table.column(name).to_pylist(), dtype=object)


def by_level(town: SynthCity, level: str) -> list[dict]:
    return [row for row in town.divisions.to_pylist() if row["level"] == level]


# --- files ----------------------------------------------------------------------------------------


def test_same_seed_same_bytes_different_seed_different_bytes(tmp_path):
    first = write_city(generate_city(3000, 11), tmp_path / "a")
    again = write_city(generate_city(3000, 11), tmp_path / "b")
    other = write_city(generate_city(3000, 12), tmp_path / "c")
    assert list(first) == list(KINDS)
    for kind in KINDS:
        assert first[kind].read_bytes() == again[kind].read_bytes(), kind
    assert first["residents"].read_bytes() != other["residents"].read_bytes()


def test_files_have_contract_headers_and_plain_values(town, tmp_path):
    paths = write_city(town, tmp_path / "out")
    for kind, path in paths.items():
        text = path.read_text(encoding="utf-8")
        assert not text.startswith("\ufeff")
        assert '"' not in text, kind
        rows = list(csv.reader(StringIO(text)))
        assert rows[0] == HEADERS[kind]
        assert len(rows) - 1 == town.tables()[kind].num_rows
    compounds = list(csv.DictReader(paths["compounds"].open(encoding="utf-8")))
    assert {row["property_managed"] for row in compounds} == {"true", "false"}
    registry = list(csv.DictReader(paths["social_registry"].open(encoding="utf-8")))
    assert all(dt.date.fromisoformat(row["since"]) <= AS_OF for row in registry)
    residents = list(csv.DictReader(paths["residents"].open(encoding="utf-8")))
    assert any(row["phone"] == "" for row in residents)
    assert any(";" in row["tags"] for row in residents)
    venues = list(csv.DictReader(paths["venues"].open(encoding="utf-8")))
    assert any(row["dwell_minutes"] == "" for row in venues)
    assert any(row["dwell_minutes"].isdigit() for row in venues)


def test_management_command_writes_files_and_json_summary(tmp_path):
    out = StringIO()
    call_command("synth", "--out", str(tmp_path / "city"), "--residents", "2500", "--seed", "3", "--json", stdout=out)
    summary = json.loads(out.getvalue())
    assert summary["files"]["residents"]["rows"] == 2500
    assert summary["levels"]["districts"] == 13
    for kind in KINDS:
        assert (tmp_path / "city" / f"{kind}.csv").is_file()
    text = StringIO()
    call_command("synth", "--out", str(tmp_path / "city"), "--residents", "2500", stdout=text)
    assert "residents.csv" in text.getvalue()


# --- divisions ------------------------------------------------------------------------------------


def test_division_tree_codes_and_parents(town):
    rows = town.divisions.to_pylist()
    codes = [row["code"] for row in rows]
    assert len(codes) == len(set(codes))
    known = set(codes)
    city_rows = by_level(town, "city")
    assert city_rows == [{"code": "420100000000", "name": "武汉市", "level": "city", "parent_code": ""}]
    assert all(row["parent_code"] in known for row in rows if row["level"] != "city")

    districts = by_level(town, "district")
    assert [(r["code"], r["name"]) for r in districts] == [(d.county_code + "000000", d.name) for d in tables.DISTRICTS]
    for row in by_level(town, "street"):
        assert len(row["code"]) == 12 and row["code"].endswith("000")
        assert row["code"][:6] == row["parent_code"][:6] and row["name"].endswith("街道")
    for row in by_level(town, "community"):
        assert len(row["code"]) == 12 and row["code"][:9] == row["parent_code"][:9]
        assert row["code"][9:] != "000" and row["name"].endswith("社区")
    for row in by_level(town, "grid"):
        assert len(row["code"]) == 15 and row["code"].isdigit()
        assert row["code"][:12] == row["parent_code"] and row["name"].endswith("网格")


def test_every_level_has_its_minimum_children_and_unique_names(town):
    levels = {r["code"]: r["level"] for r in town.divisions.to_pylist()}
    children = Counter(r["parent_code"] for r in town.divisions.to_pylist())
    for code, level in levels.items():
        if level in ("district", "street", "community"):
            assert children[code] >= 2, code
    names = Counter((r["parent_code"], r["name"]) for r in town.divisions.to_pylist())
    assert max(names.values()) == 1

    grids = {r["code"] for r in by_level(town, "grid")}
    compound_grids = Counter(col(town.compounds, "grid_code"))
    assert set(compound_grids) == grids
    compound_names = Counter(zip(col(town.compounds, "grid_code"), col(town.compounds, "name"), strict=True))
    assert max(compound_names.values()) == 1
    building_compounds = set(col(town.buildings, "compound_code"))
    assert building_compounds == set(col(town.compounds, "compound_code"))


def test_compound_and_building_codes_follow_the_scheme(town):
    compound_codes = col(town.compounds, "compound_code")
    for code, grid in zip(compound_codes, col(town.compounds, "grid_code"), strict=True):
        assert code[:15] == grid and code[15] == "-" and len(code) == 18 and code[16:].isdigit()
    codes = col(town.buildings, "building_code")
    assert len(set(codes)) == len(codes)
    for code, compound, name in zip(
        codes, col(town.buildings, "compound_code"), col(town.buildings, "name"), strict=True
    ):
        assert code[:18] == compound and code[18] == "-" and len(code) == 21
        assert name == f"{int(code[19:])}栋"
    assert set(col(town.buildings, "units")) <= set(range(1, 7))


def test_compound_attributes_are_plausible(town):
    lat = town.compounds.column("lat").to_numpy()
    lon = town.compounds.column("lon").to_numpy()
    assert np.all((lat >= 30.35) & (lat <= 30.85) & (lon >= 113.95) & (lon <= 114.55))
    managed = town.compounds.column("property_managed").to_numpy(zero_copy_only=False)
    assert 0.34 < managed.mean() < 0.54  # 3,159 of 7,148 in 2020
    years = town.compounds.column("built_year").to_numpy()
    assert years.min() >= 1960 and years.max() <= 2020
    assert all(
        str(address).startswith(("江", "硚", "汉", "武", "青", "洪", "东", "蔡", "黄", "新"))
        for address in col(town.compounds, "address")
    )


# --- residents ------------------------------------------------------------------------------------


def test_id_numbers_valid_unique_and_agree_with_sex_and_age(town):
    ids = np.array(col(town.residents, "id_number"), dtype=str)
    assert ids.size == N
    assert (id_problem_codes(ids) == "").all()
    assert len(set(ids)) == N
    sex = col(town.residents, "sex")
    odd = np.array([int(i[16]) % 2 == 1 for i in ids])
    assert ((sex == "M") == odd).all()
    assert (town.people.male == odd).all()
    born = np.array([f"{i[6:10]}-{i[10:12]}-{i[12:14]}" for i in ids], dtype="datetime64[D]")
    assert (born == town.people.birth_date).all()
    assert town.people.age.min() >= 0 and town.people.age.max() <= 100


def test_migrants_carry_outside_address_codes(town):
    people = town.people
    prefix = np.array([i[:6] for i in col(town.residents, "id_number")])
    wuhan = np.char.startswith(prefix, "4201")
    migrant = people.residence_type == MIGRANT
    assert (wuhan == ~migrant).all()
    county = np.array([d.county_code for d in tables.DISTRICTS])[people.district]
    assert (prefix[~migrant] == county[~migrant]).all()
    assert set(prefix[migrant]) <= {code for code, _ in tables.ORIGIN_COUNTIES}
    assert 0.20 < migrant.mean() < 0.33
    assert set(col(town.residents, "residence_type")) == {"registered", "resident", "migrant"}


def test_phones_are_unique_mobiles_and_few_missing(town):
    phones = [p for p in col(town.residents, "phone") if p is not None]
    assert len(phones) == len(set(phones))
    assert all(is_valid_mobile(p) for p in phones)
    missing = np.array([p is None for p in col(town.residents, "phone")])
    age = town.people.age
    assert not missing[(age >= 14) & (age < 65)].any()
    assert 0.01 < missing[(age < 14) | (age >= 65)].mean() < 0.10


def test_names_are_chinese_with_common_surnames(town):
    names = col(town.residents, "name")
    assert all(2 <= len(n) <= 3 for n in names)
    top = Counter(n[0] for n in names).most_common(3)
    assert {s for s, _ in top} <= {"王", "李", "张", "刘", "陈"}


def test_household_members_share_a_room_and_rooms_are_not_shared(town):
    people = town.people
    building = col(town.residents, "building_code")
    unit = town.people.unit
    room = col(town.residents, "room")
    assert set(building) <= set(col(town.buildings, "building_code"))
    homes = {}
    for household, key in zip(people.household, zip(building, unit, room, strict=True), strict=True):
        assert homes.setdefault(household, key) == key
    assert len(set(homes.values())) == len(homes)  # one household per room

    floors = dict(zip(col(town.buildings, "building_code"), town.buildings.column("floors").to_pylist(), strict=True))
    units = dict(zip(col(town.buildings, "building_code"), town.buildings.column("units").to_pylist(), strict=True))
    for code, u, r in zip(building, unit, room, strict=True):
        assert 1 <= u <= units[code] and 1 <= int(r) // 100 <= floors[code] and int(r) % 100 >= 1


def test_household_sizes_and_age_pyramid_are_plausible(town):
    sizes = np.bincount(town.people.household)
    assert sizes.min() >= 1 and sizes.max() <= 6
    assert 2.4 < sizes.mean() < 2.8  # 7th census: 2.62
    assert 0.20 < (sizes == 1).mean() < 0.30
    age = town.people.age
    assert 0.14 < (age < 15).mean() < 0.22  # China 2020: ~18 %
    assert 0.15 < (age >= 60).mean() < 0.22  # ~18.7 %
    assert 0.10 < (age >= 65).mean() < 0.17  # ~13.5 %
    # Children live with an adult; couples are of similar age.
    adults = np.bincount(town.people.household, weights=age >= 18)
    assert (adults >= 1).all()
    relation = town.people.relation
    fathers = {h: a for h, a, r in zip(town.people.household, age, relation, strict=True) if r == FATHER}
    mothers = {h: a for h, a, r in zip(town.people.household, age, relation, strict=True) if r == MOTHER}
    gaps = np.array([fathers[h] - mothers[h] for h in fathers.keys() & mothers.keys()])
    assert np.abs(gaps).max() <= 15 and 0 < gaps.mean() < 4
    for h, a, r in zip(town.people.household, age, relation, strict=True):
        if r == CHILD1 and h in mothers:
            assert mothers[h] - a >= 18


def test_tags_follow_their_rules_and_shares(town):
    people = town.people
    tags = col(town.residents, "tags")
    sets = [set(t.split(";")) if t else set() for t in tags]
    assert set().union(*sets) <= set(TAGS)
    age = people.age
    alone = np.bincount(people.household)[people.household] == 1
    elderly_alone = np.array(["elderly_alone" in s for s in sets])
    assert (elderly_alone == ((age >= 65) & alone)).all()
    assert (np.array(["child" in s for s in sets]) == (age < 14)).all()
    assert (people.has(ELDERLY_ALONE) == elderly_alone).all() and (people.has(CHILD) == (age < 14)).all()

    def share(tag: str, mask: np.ndarray | None = None) -> float:
        flags = np.array([tag in s for s in sets])
        return float(flags[mask].mean() if mask is not None else flags.mean())

    assert 0.22 < share("chronic", age >= 60) < 0.38
    assert 0.03 < share("chronic", (age >= 18) & (age < 60)) < 0.07
    women = ~people.male & (age >= 20) & (age <= 40)
    assert 0.005 < share("pregnant", women) < 0.03
    assert not people.has(PREGNANT)[people.male].any()
    assert 0.04 < share("disabled") < 0.08
    assert 0.01 < share("low_income") < 0.035


def test_social_registry_mostly_agrees_with_tags(town):
    registry = town.social_registry.to_pylist()
    keys = [(row["id_number"], row["program"]) for row in registry]
    assert len(keys) == len(set(keys))
    ids = col(town.residents, "id_number")
    index = {i: n for n, i in enumerate(ids)}
    assert all(row["id_number"] in index for row in registry)
    assert {row["program"] for row in registry} == set(PROGRAMS)
    tags = col(town.residents, "tags")
    for program in ("elderly_alone", "low_income", "disabled"):
        listed = [index[r["id_number"]] for r in registry if r["program"] == program]
        tagged = np.array([program in tags[i] for i in listed])
        assert 0.7 < tagged.mean() < 1.0, program  # mostly agree, never perfectly
        everyone = np.array([program in t for t in tags])
        assert 0.75 < len(set(listed) & set(np.flatnonzero(everyone))) / everyone.sum() < 1.0
    born = town.people.birth_date
    for row in registry:
        since = np.datetime64(row["since"], "D")
        assert born[index[row["id_number"]]] <= since <= np.datetime64(AS_OF, "D")


# --- venues ---------------------------------------------------------------------------------------


def test_venues_codes_kinds_and_places(town):
    codes = col(town.venues, "venue_code")
    assert len(set(codes)) == len(codes)
    grids = col(town.venues, "grid_code")
    assert set(grids) <= {r["code"] for r in by_level(town, "grid")}
    for code, grid in zip(codes, grids, strict=True):
        assert len(code) == 13 and code[0] == "V" and code[1:].isdigit() and code[1:7] == grid[:6]
    kinds = Counter(col(town.venues, "kind"))
    assert set(kinds) == set(VENUE_KINDS)
    assert kinds["gate"] == town.compounds.num_rows
    assert (town.venue_index.kind == GATE).sum() == town.compounds.num_rows
    assert abs((len(codes) - kinds["gate"]) - N / tables.RESIDENTS_PER_VENUE) <= 1
    assert kinds["restaurant"] > kinds["hospital"]
    lat = town.venues.column("lat").to_numpy()
    assert np.all((lat >= 30.35) & (lat <= 30.85))
    dwell = town.venues.column("dwell_minutes")
    assert 0 < len(dwell) - dwell.null_count < 0.1 * len(dwell)


# --- scale ----------------------------------------------------------------------------------------


def test_row_counts_scale_with_residents():
    small = generate_city(5000, 1).counts()
    large = generate_city(20000, 1).counts()
    assert small["residents"] == 5000 and large["residents"] == 20000
    assert 3.5 < large["households"] / small["households"] < 4.5
    for kind in ("compounds", "buildings", "venues", "social_registry", "grids"):
        assert large[kind] >= small[kind], kind
    assert large["venues"] > small["venues"] * 2
    assert small["districts"] == large["districts"] == 13
    assert small["streets"] >= 26 and small["communities"] >= 52 and small["grids"] >= 104


def test_level_counts_for_a_million_and_for_wuhan():
    million = level_counts(1_000_000, 388_000)
    assert million.streets >= 60 and million.communities >= 300
    assert 1000 <= million.grids <= 2000 and 3000 <= million.compounds <= 6000
    wuhan = level_counts(11_000_000, 4_250_000)
    assert wuhan.streets == 160 and wuhan.communities == 1400
    assert wuhan.compounds >= wuhan.grids


def test_tiny_city_is_still_complete():
    tiny = generate_city(7, 5)
    assert tiny.residents.num_rows == 7
    assert tiny.counts()["districts"] == 13
    assert (id_problem_codes(np.array(tiny.residents.column("id_number").to_pylist())) == "").all()
