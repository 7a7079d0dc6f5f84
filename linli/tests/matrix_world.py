"""The objects the permission matrix reads (test_permission_matrix.py): one of each kind that a
page or API operation names by id, every one placed in 江岸 (district 420102, its first community
and grid), made through the apps' own services and test helpers; and the staff who ask for them,
one inside 江岸 and one in 武昌 (420106) with the same role.

A factory that fails does not stop the others: its error is kept and shown by the tests that need
its object, so one broken factory fails only its own rows of the matrix.
"""

from __future__ import annotations

import datetime as dt
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from core.roles import grant_role
from geo.services import do_assign
from tests_support.city import SmallCity, build_small_city, to_csv, valid_id
from tests_support.permissions import grant

INSIDE, OUTSIDE = "420102", "420106"
COMMUNITY = "001001"
GRID = "001001001"
COMPOUND = "420102001001001-01"
BUILDING = "420102001001001-01-01"
LEVEL_SUFFIX = {"district": "000000", "street": "001000", "community": COMMUNITY, "grid": GRID}


@dataclass(frozen=True)
class Actor:
    """Who asks: a role assigned at one level of the hierarchy, plus permissions no role of that
    level carries but the operation needs (so that scope, not a missing permission, decides)."""

    role: str
    level: str
    extra: tuple[str, ...] = ()

    def name(self, side: str) -> str:
        extra = "+".join(p.split(".")[1] for p in self.extra)
        return f"{self.role}@{self.level}{'+' + extra if extra else ''}:{side}"


COMMUNITY_WORKER = Actor("community_worker", "community")
GRID_WORKER = Actor("grid_worker", "grid")
DISTRICT = Actor("district", "district")


@dataclass
class World:
    city: SmallCity
    users: dict[str, object] = field(default_factory=dict)
    objects: dict[str, object] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)  # API bearer tokens, by user key
    sessions: dict[int, str] = field(default_factory=dict)  # signed-in session keys, by user id
    markers: list[str] = field(default_factory=list)  # every resident's personal data, as shown
    inside_markers: list[str] = field(default_factory=list)  # 江岸's residents' only

    def node(self, district: str, level: str):
        return self.city.divisions[f"{district}{LEVEL_SUFFIX[level]}"]

    def actor(self, actor: Actor, side: str = "in"):
        """The user for ``actor`` in 江岸 (side "in") or 武昌 ("out"), made once. The module fixture
        makes every actor before the first test: one made inside a test is rolled back with it."""
        key = actor.name(side)
        if key not in self.users:
            user = get_user_model().objects.create_user(key.replace(":", "-")[:150], password="pw")
            do_assign(user, self.node(INSIDE if side == "in" else OUTSIDE, actor.level), actor.role)
            for permission in actor.extra:
                grant(user, permission)
            self.users[key] = user
        return self.users[key]

    def nobody(self):
        """Signed in, no role, no assignment, no permission."""
        if "nobody" not in self.users:
            self.users["nobody"] = get_user_model().objects.create_user("nobody", password="pw")
        return self.users["nobody"]

    def get(self, key: str):
        if key in self.errors:
            raise AssertionError(f"the factory of {key!r} failed:\n{self.errors[key]}")
        return self.objects[key]

    # --- places -------------------------------------------------------------------------------

    @property
    def grid(self):
        return self.city.divisions[f"{INSIDE}{GRID}"]

    @property
    def community(self):
        return self.city.divisions[f"{INSIDE}{COMMUNITY}"]

    @property
    def district(self):
        return self.city.divisions[f"{INSIDE}000000"]

    @property
    def compound(self):
        return self.city.compounds[COMPOUND]

    @property
    def building(self):
        return self.city.buildings[BUILDING]

    def residents(self):
        """The residents of the first compound (two buildings), oldest record first."""
        from people.models import Resident

        return list(Resident.objects.filter(compound=self.compound).order_by("id"))


def image_bytes() -> bytes:
    import io

    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (32, 24), (200, 30, 30)).save(out, format="JPEG")
    return out.getvalue()


# --- factories: one per kind of object, each returns the object -----------------------------------


def make_division(w: World):
    return w.grid


def make_compound(w: World):
    return w.compound


def make_building(w: World):
    return w.building


def make_resident(w: World):
    return w.residents()[0]


def make_identified(w: World):
    """A second resident, a suspected case (cases' pages list and act on categorised people)."""
    from cases.services import do_identify

    person = w.residents()[1]
    do_identify(person, "suspected", None)
    return person


def make_containment(w: World):
    """A confirmed case with its containment (tracing.do_contain, as the on-commit hook runs it)."""
    from cases.services import do_identify
    from tracing.services import do_contain

    person = w.residents()[2]
    do_identify(person, "confirmed", None, onset_date=timezone.localdate() - dt.timedelta(days=1))
    return do_contain(person)


def make_conflict(w: World):
    from cases.models import CategoryConflict
    from cases.services import Report, do_apply

    person = w.residents()[3]
    now = timezone.now()
    feed = {"source_kind": "feed"}
    do_apply(Report(person, "identified", now, category="confirmed", source_ref="case_reports:M1", **feed))
    do_apply(Report(person, "excluded", now + dt.timedelta(hours=1), source_ref="case_reports:M2", **feed))
    return CategoryConflict.objects.get(person=person)


def make_follow_up(w: World):
    from cases.models import FollowUp
    from cases.services import do_identify, do_transition

    person = w.residents()[4]
    do_identify(person, "close_contact", None)
    do_transition(person, "placed", None)
    return FollowUp.objects.filter(person=person).order_by("due_at").first()


def make_alert(w: World):
    """Made before any district staff exists, as in a district without a CDC epidemiologist: its
    verification task waits for someone (the alert pages once failed on that)."""
    from ewarn.detection import Finding
    from ewarn.services import raise_alerts

    opened, _ = raise_alerts(
        [
            Finding(
                signal="antipyretic",
                kind="temporal",
                area_id=w.community.pk,
                level="community",
                day=timezone.localdate(),
                detectors=["ears_c1"],
                observed=30,
                expected=10,
            )
        ]
    )
    assert opened[0].task.assignee_id is None, "the alert's task found someone: make this alert earlier"
    return opened[0]


def make_link_candidate(w: World):
    """A feed's person that may be a registered resident, waiting in the review queue."""
    from people.models import LinkCandidate, Resident

    resident = w.residents()[0]
    stranger = Resident(
        id_number=valid_id(INSIDE, "19700101", 901),
        name="待核对",
        sex="M",
        registered=False,
    )
    stranger.save()
    candidate = LinkCandidate(new_person=stranger, resident=resident, probability=0.8, weight=3.0)
    candidate.copy_place(resident)  # placed, as the linkage places it, by the registered resident
    candidate.save()
    return candidate


def make_merge(w: World):
    from people.merge import do_merge
    from people.models import PersonMerge, Resident

    target = w.residents()[0]
    source = Resident(id_number=valid_id(INSIDE, "19700101", 903), name="重复记录", sex="M", registered=False)
    source.save()
    do_merge(source, target, None, reason="matrix")
    return PersonMerge.objects.get(source=source)


def make_task(w: World):
    from tasks.services import do_open_task

    return do_open_task("follow_up", subject=w.residents()[0], title="matrix task")


def make_risk_area(w: World):
    from risk.models import RiskArea
    from risk.services import raise_for_case

    person = w.get("containment").case
    areas = raise_for_case(person, timezone.now(), "matrix")
    fine = [a for a in areas if a.node_level in ("building", "compound")]
    return fine[0] if fine else RiskArea.objects.filter(building=w.building).first()


def make_appeal(w: World):
    from healthcode.services import do_appeal

    return do_appeal(w.residents()[0], "我没有去过风险地区")


def make_travel_area(w: World):
    from healthcode.models import TravelRiskArea

    return TravelRiskArea.objects.create(
        area_code="110105", name="朝阳区", level="high", valid_from=timezone.now() - dt.timedelta(days=1)
    )


def make_gate(w: World):
    from gates.services import ensure_gate

    return ensure_gate(w.compound, code="G-MATRIX", name="一号门")


def make_closure(w: World):
    from gates.services import do_close

    now = timezone.now()
    return do_close(
        w.compound,
        rule="in_only",
        starts_at=now - dt.timedelta(hours=1),
        ends_at=now + dt.timedelta(days=7),
        reason="matrix",
        user=None,
    )


def make_exit_approval(w: World):
    from gates.services import do_request_exit

    now = timezone.now()
    return do_request_exit(
        w.get("closure"),
        w.residents()[0],
        purpose="medical",
        note="复诊",
        valid_from=now,
        valid_until=now + dt.timedelta(hours=4),
        user=None,
    )


def make_supply_round(w: World):
    from gates.services import do_open_supply_round

    return do_open_supply_round(
        w.get("closure"), w.building, day=timezone.localdate(), item="蔬菜包", unit_price=Decimal("30"), user=None
    )


def make_campaign(w: World):
    from campaigns.services import do_plan

    today = timezone.localdate()
    return do_plan(
        code="matrix-round",
        name="江岸区核酸检测",
        scope=w.district,
        starts_on=today,
        ends_on=today + dt.timedelta(days=2),
        pool_size=5,
    )


def make_site(w: World):
    from campaigns.models import Site
    from campaigns.services import import_sites

    result = import_sites(
        "site_code,name,lat,lon,grid_code,capacity_per_hour,opens,closes\n"
        f"SMATRIX,江岸采样点,30.6,114.3,{w.grid.code},200,00:00,23:59\n"
    )
    assert not result.errors, result.errors
    return Site.objects.get(code="SMATRIX")


def make_tube(w: World):
    from campaigns.models import Tube
    from campaigns.views_site import swab

    w.get("campaign")
    answer = swab(w.get("site"), tube="TMATRIX", id_number=w.residents()[0].id_number)
    assert answer["outcome"] == "recorded", answer
    return Tube.objects.get(code="TMATRIX")


def make_help_request(w: World):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from assistance.services import Ask, do_ask

    person = w.residents()[0]
    photo = SimpleUploadedFile("photo.jpg", image_bytes(), content_type="image/jpeg")
    return do_ask(
        Ask(category="medicine", text="需要买药", phone=person.phone, resident=person, phone_verified=True, photo=photo)
    )


def make_group_order(w: World):
    from care.tests.support import open_order

    return open_order(w.building, None)


def make_facility(w: World):
    from beds.models import Facility

    return Facility.objects.create(
        code="HMATRIX",
        name="江岸方舱",
        kind="shelter_hospital",
        categories="confirmed;asymptomatic",
        district=w.district,
        beds_approved=10,
        beds_open=10,
        lat=30.6,
        lon=114.3,
    )


def make_stay(w: World):
    from beds.services import do_reserve_bed

    return do_reserve_bed(w.get("facility"), w.residents()[5], "confirmed")


def make_depot(w: World):
    from supplies.services import do_create_depot

    return do_create_depot("community", "江岸社区物资点", division=w.community)


def make_stock(w: World):
    from supplies.models import Item, Stock
    from supplies.services import do_record_movement

    item = Item.objects.create(code="N95", name="N95口罩", unit="只", category="mask")
    stock, _ = Stock.objects.get_or_create(depot=w.get("depot"), item=item)
    do_record_movement(stock, "receipt", 100)
    return stock


def make_vehicle(w: World):
    from dispatch.tests.test_services import crew_for, vehicle

    return vehicle("VMATRIX", w.district, crew_for(w.city, f"{INSIDE}000000", "crew-matrix"))


def make_transfer(w: World):
    from dispatch.models import Transfer
    from dispatch.services import do_plan

    w.get("vehicle")
    w.get("facility")
    w.get("identified")
    do_plan(seconds=0.2)
    return Transfer.objects.filter(district=w.district).order_by("id").first()


def _reopening_units(w: World):
    from core.imports.runner import run_import
    from reopening.models import Unit
    from reopening.tests.conftest import UNITS, VENUES

    if not Unit.objects.exists():
        for kind, rows in (("venues", VENUES), ("units", UNITS)):
            batch = run_import(kind, to_csv(rows), filename=f"{kind}.csv")
            assert not batch.rejected, batch.rejected
    return {u.code: u for u in Unit.objects.all()}


def make_unit(w: World):
    return _reopening_units(w)["E42010200100101"]  # 江岸's factory, in compound 420102001001002-01


def make_reopening_application(w: World):
    from reopening.services import do_start_application
    from reopening.tests.conftest import fill_evidence

    application = do_start_application(w.get("unit"), None, planned_on=timezone.localdate() + dt.timedelta(days=3))
    fill_evidence(application, None)
    return application


def make_evidence(w: World):
    from reopening.models import Evidence

    return Evidence.objects.filter(entry__application=w.get("reopening_application")).order_by("id").first()


def make_unit_review(w: World):
    from reopening.models import UnitReview

    return UnitReview.objects.create(unit=w.get("unit"), cases=1)


def make_relief_application(w: World):
    from relief.models import Application, Fund
    from relief.tests.conftest import app_row, credit_code, import_apps

    Fund.objects.create(
        code="HRT2020",
        name="纾困资金",
        total_fen=60_000_000_000 * 100,
        opens_on=dt.date(2020, 3, 1),
        closes_on=dt.date(2099, 12, 31),
    )
    batch = import_apps([app_row("RMATRIX", credit_code(INSIDE, 1))])
    assert not batch.rejected, batch.rejected
    return Application.objects.get(reference="RMATRIX")


def make_flag(w: World):
    from relief.models import Flag

    return Flag.objects.create(application=w.get("relief_application"), kind="duplicate", detail="matrix")


def _workers(w: World):
    from workforce.models import Worker
    from workforce.tests.conftest import import_rows, worker_rows

    if not Worker.objects.exists():
        batch = import_rows("workers", worker_rows())
        assert not batch.rejected, batch.rejected
    return {x.code: x for x in Worker.objects.all()}


def make_worker(w: World):
    return _workers(w)["JA-01"]


def make_rotation_plan(w: World):
    from workforce.services import do_propose_plan

    _workers(w)
    return do_propose_plan(w.community, timezone.localdate() + dt.timedelta(days=1))


def make_support_request(w: World):
    """Confidential: only its requester (the 江岸 actor) and its counsellor may open it."""
    from workforce.services import do_ask_support

    counsellor = get_user_model().objects.create_user("matrix-counsellor")
    grant_role(counsellor, "counsellor")
    return do_ask_support(w.actor(COMMUNITY_WORKER), "talk", note="matrix")


def _programme(w: World):
    from geo.models import Compound
    from renovation.models import Programme
    from renovation.services import do_create_programme, do_set_target

    programme = Programme.objects.first()
    if programme is None:
        Compound.objects.filter(code=COMPOUND).update(built_year=1995)
        w.city.compounds[COMPOUND].refresh_from_db()
        year = timezone.localdate().year
        programme = do_create_programme("WH-MATRIX", "老旧小区改造", year - 1, year + 1)
        do_set_target(programme, year, w.district, to_start=2, to_finish=1, budget=800)
    return programme


def make_project(w: World):
    from renovation.services import do_select

    return do_select(_programme(w), w.city.compounds[COMPOUND], timezone.localdate().year)


def make_consultation(w: World):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from renovation.services import do_record_consultation

    minutes = SimpleUploadedFile("minutes.pdf", b"%PDF-1.4\n%%EOF\n", content_type="application/pdf")
    return do_record_consultation(
        w.get("project"),
        held_on=timezone.localdate(),
        kind="vote",
        households=10,
        participating=8,
        in_favour=7,
        against=1,
        minutes=minutes,
    )


def make_work(w: World):
    from renovation.services import do_add_work

    return do_add_work(w.get("project"), kind="roofs")


def make_import_batch(w: World):
    """An import by the 江岸 community worker with one refused row: staff see their own imports."""
    from core.imports.runner import run_import

    row = dict(w.city.resident_rows[0], id_number="420102198001010000")  # fails the check digit
    return run_import("residents", to_csv([row]), filename="r.csv", user=w.actor(COMMUNITY_WORKER))


def make_import_rejection(w: World):
    return w.get("import_batch").rejections.order_by("id").first()


FACTORIES: dict[str, Callable[[World], object]] = {
    name.removeprefix("make_"): value
    for name, value in globals().items()
    if name.startswith("make_") and callable(value)
}


def build_world() -> World:
    from healthcode.keys import rotate

    world = World(city=build_small_city())
    rotate()  # the signing key, which the first verification would otherwise make
    for key, factory in FACTORIES.items():
        try:
            with transaction.atomic():
                obj = factory(world)
            assert obj is not None, "the factory made nothing"
            world.objects[key] = obj
        except Exception:  # kept, and shown by the tests that need this object
            world.errors[key] = traceback.format_exc()
    return world
