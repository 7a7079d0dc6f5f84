"""Reopening on the demo city: the schools (the city's school venues) and a few enterprises per
community imported through the ``units`` kind, a month of reopenings and staff back through
``unit_status`` and ``staff_back`` (so every district's resumption rate is a real figure), and one
school of the demo street, still closed, with a submitted application — evidence for every item —
and an inspection task with the street's 包保 (the ``street`` login). The school's contact is the
``school`` login. A second call changes nothing.
"""

from __future__ import annotations

import datetime as dt
import io

import pyarrow as pa
import pyarrow.csv as pacsv
from django.contrib.auth import get_user_model
from django.db.models import Q
from django.utils import timezone

from core.imports.runner import run_import
from geo.models import Assignment, Compound, Division, Venue
from reopening.choices import UnitKind
from reopening.models import ReopeningApplication, Unit
from reopening.services import do_add_contact, do_add_evidence, do_start_application, do_submit
from reopening.synth import generate_history, generate_units

SEED = 2020
CONTACT = "school"
STREET_LOGIN = "street"
_CSV = pacsv.WriteOptions(include_header=True, quoting_style="none", quoting_header="none")


def _csv(table: pa.Table) -> bytes:
    out = io.BytesIO()
    pacsv.write_csv(table, out, write_options=_CSV)
    return out.getvalue()


def _tables() -> tuple[pa.Table, pa.Table, pa.Table]:
    """The city's divisions, compounds and venues as the contract tables the generator reads."""
    divisions = pa.Table.from_pylist(
        [{"code": c, "name": n, "level": lv} for c, n, lv in Division.objects.values_list("code", "name", "level")]
    )
    compounds = pa.Table.from_pylist(
        [
            {"compound_code": c, "grid_code": g}
            for c, g in Compound.objects.order_by("code").values_list("code", "grid__code")
        ],
        schema=pa.schema([("compound_code", pa.string()), ("grid_code", pa.string())]),
    )
    venues = pa.Table.from_pylist(
        [
            {"venue_code": c, "name": n, "kind": k}
            for c, n, k in Venue.objects.order_by("code").values_list("code", "name", "kind")
        ],
        schema=pa.schema([("venue_code", pa.string()), ("name", pa.string()), ("kind", pa.string())]),
    )
    return divisions, compounds, venues


def demo_street() -> Division | None:
    """The ``street`` login's street; else the street with the most residents."""
    from people.models import NodeCount

    assigned = (
        Assignment.objects.filter(user__username=STREET_LOGIN, division__level="street")
        .select_related("division")
        .first()
    )
    if assigned is not None:
        return assigned.division
    counts = dict(NodeCount.objects.filter(level="street").values_list("node_id", "residents"))
    streets = list(Division.objects.filter(level="street").order_by("code"))
    return max(streets, key=lambda d: counts.get(d.pk, 0)) if streets else None


def _school_code(units: pa.Table, street: Division | None) -> str | None:
    """The first school (by code) whose venue is in the demo street, else in its district."""
    schools = {
        v: c
        for c, v, k in zip(*(units.column(n).to_pylist() for n in ("code", "venue_code", "kind")), strict=True)
        if k == UnitKind.SCHOOL
    }
    if not schools or street is None:
        return None
    for area in (Q(street=street), Q(district_id=street.district_id)):
        venue = Venue.objects.filter(area, code__in=list(schools)).order_by("code").values_list("code", flat=True)
        if venue:
            return schools[venue[0]]
    return None


def _school_in_a_compound(units: pa.Table, street: Division, as_of: dt.date) -> tuple[pa.Table, str | None]:
    """A city too small to have a school venue in the demo street still gets one school to reopen:
    registered in the street's first compound (a unit needs no venue)."""
    compound = Compound.objects.filter(street=street).order_by("code").first()
    if compound is None:
        return units, None
    code = f"S{street.code}"
    row = {
        "code": code,
        "name": f"{street.name}中心小学",
        "kind": UnitKind.SCHOOL.value,
        "sector": "primary",
        "compound_code": compound.code,
        "venue_code": "",
        "staff": 60,
        "pupils": 900,
        "registered_on": (as_of - dt.timedelta(days=365)).isoformat(),
    }
    extra = pa.Table.from_pylist([{name: row.get(name) for name in units.column_names}], schema=units.schema)
    return pa.concat_tables([units, extra]), code


def _evidence(item: str, index: int) -> tuple[bytes, str]:
    """A small generated photo or a one-page PDF standing for the school's evidence."""
    if index % 2:
        pdf = (
            b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
            b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 200 200]>>endobj\ntrailer<</Root 1 0 R>>\n"
            + f"% {item}\n".encode()
            + b"%%EOF\n"
        )
        return pdf, f"{item}.pdf"
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (320, 200), (220, 235, 245))
    ImageDraw.Draw(image).text((16, 90), item, fill=(20, 40, 80))
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue(), f"{item}.png"


def _contact():
    user_model = get_user_model()
    user = user_model.objects.filter(username=CONTACT).first()
    if user is None:
        user = user_model(username=CONTACT, first_name="学校联络员")
        user.set_unusable_password()
        user.save()
    return user


def set_up(log=print) -> dict:
    as_of = timezone.localdate()
    divisions, compounds, venues = _tables()
    units = generate_units(divisions, compounds, venues, SEED, as_of)
    street = demo_street()
    school_code = _school_code(units, street)
    if school_code is None and street is not None:
        units, school_code = _school_in_a_compound(units, street, as_of)
    status, back = generate_history(units, SEED, as_of, keep_closed=(school_code,) if school_code else ())
    made: dict = {}
    for kind, table in (("units", units), ("unit_status", status), ("staff_back", back)):
        if table.num_rows == 0:
            made[kind] = 0
            continue
        batch = run_import(kind, _csv(table), filename=f"{kind}.csv", source="import", max_bytes=0)
        made[kind] = batch.inserted + batch.updated
        if batch.rejected_total:
            log(f"  reopening {kind}: {batch.rejected_total} rows rejected {batch.rejected}")
    made["application"] = None
    school = Unit.objects.filter(code=school_code).first() if school_code else None
    if school is not None:
        contact = _contact()
        do_add_contact(school, contact)
        if not ReopeningApplication.objects.filter(unit=school).exists():
            application = do_start_application(
                school,
                contact,
                planned_on=as_of + dt.timedelta(days=3),
                note="一校一策：错峰入校，分餐就餐，每日晨午检。",
            )
            for index, entry in enumerate(application.entries.order_by("position")):
                data, name = _evidence(entry.item, index)
                do_add_evidence(application, entry.item, data, name, contact)
            do_submit(application, contact)
            made["application"] = application.pk
    log(
        f"  reopening        {made['units']:>9,} units, {made['unit_status']:,} status changes, "
        f"{made['staff_back']:,} staff reports; school {school_code or '—'} awaiting inspection"
    )
    return made
