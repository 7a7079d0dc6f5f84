"""Set up the embedded demo: a generated city imported through the real import path, and demo staff
at city, district, street, community, grid and building level, each with their own login."""

from __future__ import annotations

import datetime as dt
import json
import secrets
import tempfile
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction

from core.choices import StaffRole
from core.imports.runner import run_import
from core.roles import ensure_role_groups, grant_role
from geo.models import Building, Division
from geo.services import do_assign
from people.models import NodeCount
from synth.city import generate_city
from synth.feeds import FEED_DATE, feed_day, write_feeds
from synth.mobility import generate_scans, write_scans
from synth.outbreak import merge_case_reports, seed_outbreak
from synth.writer import write_city

IMPORT_ORDER = ("divisions", "compounds", "buildings", "venues", "residents", "social_registry")
DEMO_OUTBREAK = 3  # index infections seeded into the demo's scans; their case reports arrive with the feeds
FEED_ORDER = ("clinic_visits", "lab_results", "case_reports", "travel")


@dataclass
class DemoLogin:
    username: str
    password: str
    role: str
    node: str


def import_city(
    residents: int,
    seed: int,
    log=print,
    before_feeds=None,
    feed_date: dt.date | None = None,
    outbreak: int = DEMO_OUTBREAK,
) -> dict[str, dict]:
    """Generate the city and import the register and its fortnight of venue scans; call
    ``before_feeds`` (e.g. to create staff, so the feeds' tasks find someone answerable); then
    import one day of agency feeds, with the case reports of ``outbreak`` seeded infections (each
    confirmed case starts a containment)."""
    city = generate_city(residents, seed)
    summaries = {}
    with tempfile.TemporaryDirectory(prefix="linli-demo-") as tmp:
        paths = write_city(city, Path(tmp))
        scans = generate_scans(city, seed=seed)
        tables = feed_day(city, feed_date or FEED_DATE, seed)
        if outbreak:
            spread = seed_outbreak(city, scans, n_index=outbreak, seed=seed)
            scans = spread.scans
            tables = merge_case_reports(tables, spread)
        paths["scans"] = write_scans(scans, Path(tmp))
        feeds = write_feeds(tables, Path(tmp))
        for step, kinds, files in (("register", (*IMPORT_ORDER, "scans"), paths), ("feeds", FEED_ORDER, feeds)):
            if step == "feeds" and before_feeds is not None:
                before_feeds()
            for kind in kinds:
                batch = run_import(
                    kind, files[kind].read_bytes(), filename=files[kind].name, source="import", max_bytes=0
                )
                summaries[kind] = batch.summary()
                log(
                    f"  {kind:<16} {batch.rows:>9,} rows  {batch.inserted:>9,} new  "
                    f"{batch.rejected_total:>5} rejected  {batch.linked or ''}"
                )
    return summaries


def set_up_gates(log=print) -> int:
    """A main gate (正门) for every compound, and closed management (in only, 14 days, domain.md §7)
    of the compounds where the demo's confirmed cases live."""
    from django.utils import timezone

    from cases.choices import Category
    from cases.models import PersonStatus
    from gates.choices import ClosureRule
    from gates.models import Closure
    from gates.services import do_close, ensure_gate
    from geo.models import Compound

    compounds = list(Compound.objects.order_by("code"))
    for compound in compounds:
        ensure_gate(compound, code=f"{compound.code}-G1", name=f"{compound.name}正门")
    now = timezone.now()
    closed = 0
    infected = PersonStatus.objects.filter(category=Category.CONFIRMED).values_list("compound_id", flat=True)
    for compound in Compound.objects.filter(pk__in=set(infected)).exclude(pk__in=Closure.objects.values("compound_id")):
        do_close(
            compound,
            rule=ClosureRule.IN_ONLY,
            starts_at=now,
            ends_at=now + dt.timedelta(days=14),
            reason="确诊病例所在小区，封闭管理14天 / compound of a confirmed case, 14 days closed",
            user=None,
        )
        closed += 1
    log(f"  gates            {len(compounds):>9,} compounds with a gate, {closed} under closed management")
    return len(compounds)


DEMO_CAMPAIGN = "demo-screening"


def set_up_campaign(residents: int, seed: int, log=print):
    """issue #6 on the demo city: a citywide campaign planned, its sites and slots published, the
    swabs of yesterday in tubes of 10, the lab file with two positive tubes (every member held with a
    recall task), and the re-swabs of the first positive tube (its infected member enters the
    infected path and starts a containment; the rest are released). The second tube's re-swab file
    is left for the user to import (``lab_results_recall.csv`` under ``$LINLI_HOME/demo-campaign``)."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pacsv
    from django.utils import timezone

    from campaigns import coverage, services
    from campaigns.models import Campaign
    from synth import campaign as synth_campaign

    if Campaign.objects.filter(code=DEMO_CAMPAIGN).exists():
        return Campaign.objects.get(code=DEMO_CAMPAIGN)
    day = timezone.localdate() - dt.timedelta(days=1)
    files = synth_campaign.generate_campaign(generate_city(residents, seed), seed=seed, day=day)
    folder = Path(settings.LINLI_HOME) / "demo-campaign"
    folder.mkdir(parents=True, exist_ok=True)
    paths = synth_campaign.write_campaign(files, folder)
    campaign = services.do_plan(
        code=DEMO_CAMPAIGN,
        name="全员核酸检测 Citywide testing",
        scope=Division.objects.get(level="city"),
        starts_on=day,
        ends_on=day + dt.timedelta(days=2),
        pool_size=10,
        notice="请按通知时间到指定采样点采样，携带身份证或健康码，全程佩戴口罩、保持1米间距。",
    )
    sites = services.import_sites(paths[synth_campaign.SITES].read_text(encoding="utf-8"))
    slots = services.assign_slots(campaign)
    services.do_publish_notices(campaign)
    for kind, path in (
        ("pool_members", paths[synth_campaign.POOL_MEMBERS]),
        ("lab_results", paths[synth_campaign.POOL_RESULTS]),
    ):
        run_import(kind, path.read_bytes(), filename=path.name, source="import", max_bytes=0)
    recall = files.tables[synth_campaign.RECALL_RESULTS]
    first_positive = sorted(set(recall.column("pool_id").to_pylist()))[:1]
    if first_positive:
        first = recall.filter(pc.is_in(recall.column("pool_id"), value_set=pa.array(first_positive)))
        target = folder / "lab_results_recall_first_tube.csv"
        pacsv.write_csv(first, target)
        run_import("lab_results", target.read_bytes(), filename=target.name, source="import", max_bytes=0)
    totals = coverage.total(campaign)
    log(
        f"  campaign         {totals.tested:>9,} sampled of {totals.target:,} at {sites.created + sites.updated} sites "
        f"({slots} compounds given a slot); {totals.held} held, {totals.positive} positive; recall results of the "
        f"second positive tube left in {paths[synth_campaign.RECALL_RESULTS]}"
    )
    return campaign


def _busiest(level: str, parent_field: str | None = None, parent=None) -> Division:
    """The division of ``level`` (under ``parent``) with the most residents, so demos show data."""
    qs = Division.objects.filter(level=level)
    if parent is not None:
        qs = qs.filter(**{parent_field: parent})
    counts = dict(
        NodeCount.objects.filter(level=level, node_id__in=qs.values("id")).values_list("node_id", "residents")
    )
    return max(qs.order_by("code"), key=lambda d: counts.get(d.pk, 0))


SPECIALISTS = {"cdc_district"}


def create_demo_staff(logins_file: Path) -> list[DemoLogin]:
    """Demo users, one per level of the 包保 chain; passwords are generated once and kept in LINLI_HOME."""
    known = json.loads(logins_file.read_text()) if logins_file.exists() else {}
    ensure_role_groups()
    city = Division.objects.get(level="city")
    district = _busiest("district")
    street = _busiest("street", "district", district)
    community = _busiest("community", "street", street)
    grid = _busiest("grid", "community", community)
    building = Building.objects.filter(grid=grid).order_by("code").first()
    plan = [
        ("admin", StaffRole.ADMINISTRATOR, city, "管理员"),
        ("city", StaffRole.CITY_COMMAND, city, "市指挥部"),
        ("cdc", StaffRole.CDC_EPIDEMIOLOGIST, city, "疾控流调"),
        ("district", StaffRole.DISTRICT, district, "区干部"),
        ("cdc_district", StaffRole.CDC_EPIDEMIOLOGIST, district, "区疾控流调"),
        ("street", StaffRole.STREET, street, "街道干部"),
        ("community", StaffRole.COMMUNITY_WORKER, community, "社区工作者"),
        ("grid", StaffRole.GRID_WORKER, grid, "网格员"),
        ("cadre", StaffRole.CADRE, building, "下沉干部"),
        # issue #12: people outside the grid, with no jurisdiction; their apps give them their own records
        ("school", StaffRole.UNIT_CONTACT, None, "学校联络员"),
        ("bank", StaffRole.BANK_OFFICER, None, "合作银行信贷员"),
        ("counsellor", StaffRole.COUNSELLOR, None, "心理咨询师"),
    ]
    user_model = get_user_model()
    logins = []
    with transaction.atomic():
        for username, role, node, title in plan:
            password = known.get(username) or secrets.token_urlsafe(9)
            user, created = user_model.objects.get_or_create(username=username, defaults={"first_name": title})
            if created or username not in known:
                user.set_password(password)
                user.is_staff = username == "admin"
                user.is_superuser = username == "admin"
                user.save()
            if node is None:
                grant_role(user, role)
            elif not user.assignments.exists():
                # the district's epidemiologist is a specialist there, not the district's 包保
                do_assign(user, node, role, answerable=username not in SPECIALISTS)
            known[username] = password
            logins.append(DemoLogin(username, password, str(role.label), f"{node or '—'}"))
    logins_file.write_text(json.dumps(known, indent=1))
    logins_file.chmod(0o600)
    return logins


STAFF_ROLE_BY_LEVEL = {
    "district": StaffRole.DISTRICT,
    "street": StaffRole.STREET,
    "community": StaffRole.COMMUNITY_WORKER,
    "grid": StaffRole.GRID_WORKER,
}


def staff_every_node() -> int:
    """One answerable staff account for every district, street, community and grid still without one,
    so that every building has a full 包保 chain (accounts without a usable password; an
    administrator sets one when a real person takes the post). Set-based."""
    from django.contrib.auth.models import Group

    from core.roles import ensure_role_groups, group_name
    from geo.models import Assignment

    ensure_role_groups()
    staffed = set(Assignment.objects.filter(division__isnull=False).values_list("division_id", flat=True))
    nodes = [d for d in Division.objects.filter(level__in=STAFF_ROLE_BY_LEVEL).order_by("code") if d.pk not in staffed]
    if not nodes:
        return 0
    user_model = get_user_model()
    users = [
        user_model(username=f"{d.level}-{d.code}", first_name=f"{d.name}{STAFF_ROLE_BY_LEVEL[d.level].label}")
        for d in nodes
    ]
    for user in users:
        user.set_unusable_password()
    user_model.objects.bulk_create(users, ignore_conflicts=True)
    by_name = user_model.objects.in_bulk([u.username for u in users], field_name="username")
    Assignment.objects.bulk_create(
        [Assignment(user=by_name[f"{d.level}-{d.code}"], role=STAFF_ROLE_BY_LEVEL[d.level], division=d) for d in nodes]
    )
    groups = {role: Group.objects.get(name=group_name(role)) for role in STAFF_ROLE_BY_LEVEL.values()}
    through = user_model.groups.through
    through.objects.bulk_create(
        [
            through(user_id=by_name[f"{d.level}-{d.code}"].pk, group_id=groups[STAFF_ROLE_BY_LEVEL[d.level]].pk)
            for d in nodes
        ],
        ignore_conflicts=True,
    )
    return len(nodes)


def logins_path() -> Path:
    return Path(settings.LINLI_HOME) / "demo-logins.json"
