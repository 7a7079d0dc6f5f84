"""A small, fully known city for tests, loaded through the same import path users use."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field

from django.contrib.auth import get_user_model

from core.imports.runner import run_import
from core.roles import ensure_role_groups
from geo.models import Building, Compound, Division
from geo.services import do_assign
from people.identity import check_character
from people.models import Resident

DISTRICTS = (("420102", "江岸区"), ("420106", "武昌区"))


def valid_id(address: str, birth: str, sequence: int) -> str:
    first17 = f"{address}{birth}{sequence:03d}"
    return first17 + check_character(first17)


def to_csv(rows: list[dict], encoding: str = "utf-8") -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode(encoding)


@dataclass
class SmallCity:
    divisions: dict[str, Division] = field(default_factory=dict)
    compounds: dict[str, Compound] = field(default_factory=dict)
    buildings: dict[str, Building] = field(default_factory=dict)
    residents: dict[str, Resident] = field(default_factory=dict)
    resident_rows: list[dict] = field(default_factory=list)

    def grid(self, district: str, n: int = 1) -> Division:
        return self.divisions[f"{district}001001{n:03d}"]

    def staff(self, username: str, role: str, node) -> object:
        user = get_user_model().objects.create_user(username, password="pw-" + username)
        do_assign(user, node, role)
        return user


def city_files() -> dict[str, list[dict]]:
    """Contract rows: 2 districts × 1 street × 1 community × 2 grids × 1 compound × 2 buildings × 3 households."""
    divisions = [{"code": "420100000000", "name": "武汉市", "level": "city", "parent_code": ""}]
    compounds, buildings, residents = [], [], []
    sequence = 1
    for county, district_name in DISTRICTS:
        district, street, community = f"{county}000000", f"{county}001000", f"{county}001001"
        divisions += [
            {"code": district, "name": district_name, "level": "district", "parent_code": "420100000000"},
            {"code": street, "name": f"{district_name[:2]}街道", "level": "street", "parent_code": district},
            {"code": community, "name": f"{district_name[:2]}社区", "level": "community", "parent_code": street},
        ]
        for g in (1, 2):
            grid = f"{community}{g:03d}"
            divisions.append({"code": grid, "name": f"第{g}网格", "level": "grid", "parent_code": community})
            compound = f"{grid}-01"
            compounds.append(
                {
                    "compound_code": compound,
                    "name": f"{district_name[:2]}{g}号小区",
                    "grid_code": grid,
                    "lat": "30.6",
                    "lon": "114.3",
                    "property_managed": "true",
                    "built_year": "2001",
                }
            )
            for b in (1, 2):
                building = f"{compound}-{b:02d}"
                buildings.append(
                    {
                        "building_code": building,
                        "compound_code": compound,
                        "name": f"{b}栋",
                        "units": "2",
                        "floors": "6",
                    }
                )
                for room in (101, 102, 201):
                    members = (
                        (("19800101", True, ""), ("19820202", False, "chronic"))
                        if room != 201
                        else (("19400303", False, "elderly_alone;chronic"),)
                    )
                    for birth, sex_odd, tags in members:
                        seq = sequence * 2 + (1 if sex_odd else 0)
                        sequence += 1
                        residents.append(
                            {
                                "id_number": valid_id(county, birth, seq % 1000),
                                "name": f"居民{sequence:03d}",
                                "sex": "M" if sex_odd else "F",
                                "phone": f"138{sequence:08d}",
                                "building_code": building,
                                "unit": "1",
                                "room": str(room),
                                "residence_type": "registered",
                                "tags": tags,
                            }
                        )
    return {"divisions": divisions, "compounds": compounds, "buildings": buildings, "residents": residents}


def build_small_city() -> SmallCity:
    ensure_role_groups()
    files = city_files()
    for kind in ("divisions", "compounds", "buildings", "residents"):
        batch = run_import(kind, to_csv(files[kind]), filename=f"{kind}.csv")
        assert not batch.rejected, (kind, batch.rejected)
    city = SmallCity(resident_rows=files["residents"])
    city.divisions = {d.code: d for d in Division.objects.all()}
    city.compounds = {c.code: c for c in Compound.objects.all()}
    city.buildings = {b.code: b for b in Building.objects.all()}
    city.residents = {r.id_number: r for r in Resident.objects.all()}
    return city


def build_one_person() -> Resident:
    """One resident in a one-building chain, made through the ORM: for tests that need a person and
    the 包保 chain but not a whole imported city (much faster)."""
    from geo.models import Household

    ensure_role_groups()
    city = Division.objects.create(code="420100000000", name="武汉市", level="city")
    parent, nodes = city, {}
    for level, code, name in (
        ("district", "420102000000", "江岸区"),
        ("street", "420102001000", "大智街道"),
        ("community", "420102001001", "一元社区"),
        ("grid", "420102001001001", "第1网格"),
    ):
        node = Division(code=code, name=name, level=level, parent=parent)
        node.fill_ancestors()
        node.save()
        nodes[level] = parent = node
    compound = Compound(code="420102001001001-01", name="幸福小区", grid=nodes["grid"])
    compound.fill_ancestors()
    compound.save()
    building = Building(code="420102001001001-01-01", name="1栋", compound=compound)
    building.fill_ancestors()
    building.save()
    household = Household.objects.create(
        building=building,
        unit="1",
        room="101",
        compound=compound,
        grid=nodes["grid"],
        community=nodes["community"],
        street=nodes["street"],
        district=nodes["district"],
    )
    person = Resident(id_number=valid_id("420102", "19800101", 11), name="张三", sex="M", household=household)
    person.fill_ancestors()
    person.save()
    user_model = get_user_model()
    do_assign(user_model.objects.create_user("gw"), nodes["grid"], "grid_worker")
    do_assign(user_model.objects.create_user("cw"), nodes["community"], "community_worker")
    return person
