"""Set up the embedded demo: a generated city imported through the real import path, and demo staff
at city, district, street, community, grid and building level, each with their own login."""

from __future__ import annotations

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
from core.roles import ensure_role_groups
from geo.models import Building, Division
from geo.services import do_assign
from people.models import NodeCount
from synth.city import generate_city
from synth.writer import write_city

IMPORT_ORDER = ("divisions", "compounds", "buildings", "venues", "residents", "social_registry")


@dataclass
class DemoLogin:
    username: str
    password: str
    role: str
    node: str


def import_city(residents: int, seed: int, log=print) -> dict[str, dict]:
    """Generate the city and import every file; returns each import's summary."""
    city = generate_city(residents, seed)
    summaries = {}
    with tempfile.TemporaryDirectory(prefix="linli-demo-") as tmp:
        paths = write_city(city, Path(tmp))
        for kind in IMPORT_ORDER:
            batch = run_import(kind, paths[kind].read_bytes(), filename=paths[kind].name, source="import")
            summaries[kind] = batch.summary()
            log(f"  {kind:<16} {batch.rows:>9,} rows  {batch.inserted:>9,} new  {batch.rejected_total:>5} rejected")
    return summaries


def _busiest(level: str, parent_field: str | None = None, parent=None) -> Division:
    """The division of ``level`` (under ``parent``) with the most residents, so demos show data."""
    qs = Division.objects.filter(level=level)
    if parent is not None:
        qs = qs.filter(**{parent_field: parent})
    counts = dict(
        NodeCount.objects.filter(level=level, node_id__in=qs.values("id")).values_list("node_id", "residents")
    )
    return max(qs.order_by("code"), key=lambda d: counts.get(d.pk, 0))


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
        ("street", StaffRole.STREET, street, "街道干部"),
        ("community", StaffRole.COMMUNITY_WORKER, community, "社区工作者"),
        ("grid", StaffRole.GRID_WORKER, grid, "网格员"),
        ("cadre", StaffRole.CADRE, building, "下沉干部"),
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
            if not user.assignments.exists():
                do_assign(user, node, role)
            known[username] = password
            logins.append(DemoLogin(username, password, str(role.label), f"{node}"))
    logins_file.write_text(json.dumps(known, indent=1))
    logins_file.chmod(0o600)
    return logins


def logins_path() -> Path:
    return Path(settings.LINLI_HOME) / "demo-logins.json"
