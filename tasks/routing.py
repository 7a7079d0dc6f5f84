"""Who gets a task: the answerable person (包保) of a level of the subject's chain.

One rule for the whole engine, in Python for single tasks (:func:`resolve_owner`) and in SQL for the
set-based paths (:func:`create_answerable_table`): the answerable person of a node is the user of
its earliest active answerable geo.Assignment (by start date, then id) whose account is active.
When a level has nobody, the task goes to the nearest level above that has someone.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.db.models import Q
from django.utils import timezone

from core.imports.sql import execute
from core.scoping import jurisdiction_of
from geo.models import Division
from geo.services import active_assignments
from tasks.choices import CHAIN, TaskLevel, TaskType

# The level that owns a task of each type before any escalation (issue #3 item 5).
OWNER_LEVEL: dict[str, str] = {
    TaskType.NOTIFY: TaskLevel.GRID,
    TaskType.FOLLOW_UP: TaskLevel.GRID,
    TaskType.TRANSFER: TaskLevel.GRID,
    TaskType.TEST: TaskLevel.GRID,
    TaskType.HELP: TaskLevel.BUILDING,  # issue #7: the person answerable for the resident's building
    TaskType.DISINFECT: TaskLevel.GRID,
    TaskType.REFER: TaskLevel.GRID,
    TaskType.RECALL: TaskLevel.GRID,
    TaskType.HOME_SAMPLE: TaskLevel.GRID,
    TaskType.DOOR_TO_DOOR: TaskLevel.GRID,
    TaskType.CARE_VISIT: TaskLevel.GRID,
    TaskType.DELIVER: TaskLevel.BUILDING,
    TaskType.DRIVE: TaskLevel.DISTRICT,  # the district's dispatch desk, which hands it to a crew
    TaskType.RESTOCK: TaskLevel.COMMUNITY,  # the reserve's own level or the nearest staffed above
    TaskType.VERIFY_SIGNAL: TaskLevel.DISTRICT,  # issue #9: the district CDC epidemiologist (ewarn.services)
    TaskType.INSPECT: TaskLevel.STREET,  # issue #12: the street (else district) inspects a unit or a renovation
    TaskType.UNIT_REVIEW: TaskLevel.STREET,
    TaskType.INVESTIGATE: TaskLevel.COMMUNITY,
    TaskType.VERIFY: TaskLevel.COMMUNITY,
    TaskType.REVIEW: TaskLevel.COMMUNITY,
    TaskType.RELEASE: TaskLevel.COMMUNITY,
    TaskType.OTHER: TaskLevel.GRID,
}

ANSWERABLE_TABLE = "tasks_answerable"
# the task column holding the node of each level below the city (the city is the district's parent)
LEVEL_COLUMN = {
    "building": "building_id",
    "compound": "compound_id",
    "grid": "grid_id",
    "community": "community_id",
    "street": "street_id",
    "district": "district_id",
}


def levels_above(level: str) -> list[str]:
    return CHAIN[CHAIN.index(level) + 1 :]


def chain_nodes(task) -> dict[str, int | None]:
    """The node id of every level for the task's subject, bottom-up; the city through the district."""
    nodes = {level: getattr(task, column) for level, column in LEVEL_COLUMN.items()}
    nodes["city"] = None
    division = getattr(task, "subject_division", None) if task.subject_division_id else None
    if division is not None and division.level == "city":  # a task about the city itself
        nodes["city"] = division.pk
    elif task.district_id:
        nodes["city"] = Division.objects.filter(pk=task.district_id).values_list("parent_id", flat=True).first()
    return nodes


@dataclass(frozen=True)
class Owner:
    user: object | None
    level: str


def resolve_owner(task, start_level: str) -> Owner:
    """The answerable person at ``start_level`` of the task's chain, else the nearest level above.

    Two queries. When nobody answers anywhere up the chain, the owner is nobody at ``start_level``.
    """
    nodes = chain_nodes(task)
    candidates = [level for level in CHAIN[CHAIN.index(start_level) :] if nodes.get(level)]
    division_ids = [nodes[lv] for lv in candidates if lv not in {"building", "compound"}]
    q = Q(division_id__in=division_ids)
    if "compound" in candidates:
        q |= Q(compound_id=nodes["compound"])
    if "building" in candidates:
        q |= Q(building_id=nodes["building"])
    rows = (
        active_assignments()
        .filter(q, is_answerable=True, user__is_active=True)
        .select_related("user")
        .order_by("starts_on", "id")
    )
    first: dict[tuple[str, int], object] = {}
    for a in rows:
        key = ("building", a.building_id) if a.building_id else ("compound", a.compound_id)
        if a.division_id:
            key = ("division", a.division_id)
        first.setdefault(key, a.user)
    for level in candidates:
        kind = level if level in {"building", "compound"} else "division"
        user = first.get((kind, nodes[level]))
        if user is not None:
            return Owner(user, level)
    return Owner(None, start_level)


def level_of(user, task) -> str | None:
    """The lowest level of the task's chain inside ``user``'s jurisdiction (None: outside it)."""
    jurisdiction = jurisdiction_of(user)
    if jurisdiction.everything:
        return TaskLevel.CITY
    for level, column in LEVEL_COLUMN.items():
        node = getattr(task, column)
        if node is not None and node in jurisdiction.nodes.get(level, ()):
            return level
    return None


def level_case_sql(user, alias: str = "t") -> tuple[str, list]:
    """SQL for :func:`level_of` over many tasks: a CASE giving the level, NULL when out of scope."""
    jurisdiction = jurisdiction_of(user)
    if jurisdiction.everything:
        return "%s", [TaskLevel.CITY.value]
    whens, params = [], []
    for level, column in LEVEL_COLUMN.items():
        ids = sorted(jurisdiction.nodes.get(level, ()))
        if ids:
            whens.append(f"WHEN {alias}.{column} IN ({', '.join(['%s'] * len(ids))}) THEN %s")
            params += [*ids, level]
    if not whens:
        return "NULL", []
    return f"CASE {' '.join(whens)} END", params


def create_answerable_table(today=None) -> int:
    """Temporary table (kind, node_id, user_id): one answerable person per node, set-based.

    ``kind`` is 'division', 'compound' or 'building'. Rebuilt on every call (it is small: one row
    per staffed node). Returns the number of nodes with someone answerable.
    """
    today = today or timezone.localdate()
    users = get_user_model()._meta.db_table
    execute(f"DROP TABLE IF EXISTS {ANSWERABLE_TABLE}")
    execute(
        f"CREATE TEMPORARY TABLE {ANSWERABLE_TABLE} "
        "(kind varchar(16) NOT NULL, node_id bigint NOT NULL, user_id bigint NOT NULL, PRIMARY KEY (kind, node_id))"
    )
    return execute(
        f"INSERT INTO {ANSWERABLE_TABLE} (kind, node_id, user_id) "
        "SELECT kind, node_id, user_id FROM ("
        "  SELECT CASE WHEN a.division_id IS NOT NULL THEN 'division' "
        "              WHEN a.compound_id IS NOT NULL THEN 'compound' ELSE 'building' END AS kind,"
        "         COALESCE(a.division_id, a.compound_id, a.building_id) AS node_id, a.user_id,"
        "         ROW_NUMBER() OVER (PARTITION BY a.division_id, a.compound_id, a.building_id"
        "                            ORDER BY a.starts_on, a.id) AS rn"
        f"  FROM geo_assignment a JOIN {users} u ON u.id = a.user_id"
        "  WHERE a.is_answerable AND u.is_active AND a.starts_on <= %s AND (a.ends_on IS NULL OR a.ends_on >= %s)"
        ") ranked WHERE rn = 1",
        [today, today],
    )


def owner_sql(start_level: str, alias: str = "t") -> tuple[str, str, str]:
    """SQL pieces choosing, per new task, the answerable person at ``start_level`` or the nearest
    staffed level above it (the set-based :func:`resolve_owner`). Returns (joins, user_expr,
    level_expr) over the answerable table; both expressions are NULL when nobody answers."""
    joins, user_whens, level_whens = [], [], []
    for level in CHAIN[CHAIN.index(start_level) :]:
        kind = level if level in {"compound", "building"} else "division"
        node = f"{alias}.{LEVEL_COLUMN[level]}" if level != "city" else "ownercity.parent_id"
        if level == "city":
            joins.append(f"LEFT JOIN geo_division ownercity ON ownercity.id = {alias}.district_id")
        joins.append(
            f"LEFT JOIN {ANSWERABLE_TABLE} o_{level} ON o_{level}.kind = '{kind}' AND o_{level}.node_id = {node}"
        )
        user_whens.append(f"WHEN o_{level}.user_id IS NOT NULL THEN o_{level}.user_id")
        level_whens.append(f"WHEN o_{level}.user_id IS NOT NULL THEN '{level}'")
    return " ".join(joins), f"CASE {' '.join(user_whens)} END", f"CASE {' '.join(level_whens)} END"


def next_owner_sql(levels: list[str], alias: str = "t") -> tuple[str, str, str]:
    """SQL pieces choosing, per task, the nearest staffed level above its current one.

    Returns (joins, user_expr, level_expr) over the answerable table; ``levels`` are the levels a
    task may be at (the chain without the city).
    """
    joins = []
    for level in CHAIN[1:]:
        kind = level if level in {"compound", "building"} else "division"
        node = f"{alias}.{LEVEL_COLUMN[level]}" if level != "city" else "cityof.parent_id"
        if level == "city":
            joins.append(f"LEFT JOIN geo_division cityof ON cityof.id = {alias}.district_id")
        joins.append(
            f"LEFT JOIN {ANSWERABLE_TABLE} x_{level} ON x_{level}.kind = '{kind}' AND x_{level}.node_id = {node}"
        )
    user_whens, level_whens = [], []
    for level in CHAIN[1:]:
        below = [lv for lv in CHAIN[: CHAIN.index(level)] if lv in levels]
        if not below:
            continue
        inlist = ", ".join(f"'{lv}'" for lv in below)
        cond = f"{alias}.assigned_level IN ({inlist}) AND x_{level}.user_id IS NOT NULL"
        user_whens.append(f"WHEN {cond} THEN x_{level}.user_id")
        level_whens.append(f"WHEN {cond} THEN '{level}'")
    return " ".join(joins), f"CASE {' '.join(user_whens)} END", f"CASE {' '.join(level_whens)} END"
