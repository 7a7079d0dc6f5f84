"""What each staff role may do: one table, turned into Django permission groups.

Jurisdiction (which records) comes from assignments (core.scoping); these permissions say what a
role may do with the records it can see. Identity numbers are masked for everyone by default;
``people.view_full_identity`` lets a role reveal one, and every reveal is read-logged.
"""

from __future__ import annotations

from django.contrib.auth.models import Group, Permission

from core.choices import StaffRole

ROLE_PERMISSIONS: dict[str, tuple[str, ...]] = {
    StaffRole.CITY_COMMAND: (
        "tasks.manage_task",
        "core.see_whole_city",
        "core.run_imports",
        "cases.change_personstatus",
        "tracing.change_containment",
        "risk.set_risk_level",
        "healthcode.decide_appeal",
        "gates.manage_closure",
        "campaigns.run_campaign",
        "assistance.take_help_request",
        "care.manage_care",
        "supplies.manage_supplies",
        "beds.report_beds",
        "beds.admit_patients",
        "dispatch.run_dispatch",
        "ewarn.verify_alert",
    ),
    StaffRole.DISTRICT: (
        "tasks.manage_task",
        "core.run_imports",
        "risk.set_risk_level",
        "gates.manage_closure",
        "campaigns.run_campaign",
        "assistance.take_help_request",
        "care.manage_care",
        "supplies.manage_supplies",
        "beds.report_beds",
        "beds.admit_patients",
        "dispatch.run_dispatch",
    ),
    StaffRole.STREET: (
        "tasks.manage_task",
        "core.run_imports",
        "gates.manage_closure",
        "campaigns.run_campaign",
        "assistance.take_help_request",
        "care.manage_care",
        "supplies.manage_supplies",
    ),
    StaffRole.COMMUNITY_WORKER: (
        "tasks.manage_task",
        "people.view_full_identity",
        "core.run_imports",
        "people.merge_persons",
        "cases.change_personstatus",
        "tracing.change_containment",
        "healthcode.decide_appeal",
        "gates.manage_closure",
        "campaigns.run_campaign",
        "assistance.take_help_request",
        "care.manage_care",
        "supplies.manage_supplies",
    ),
    StaffRole.GRID_WORKER: (
        "people.view_full_identity",
        "cases.change_personstatus",
        "assistance.take_help_request",
        "care.manage_care",
    ),
    StaffRole.CADRE: (),
    StaffRole.CDC_EPIDEMIOLOGIST: (
        "core.see_whole_city",
        "core.run_imports",  # the CDC loads its own feeds (case reports, lab results)
        "people.view_full_identity",
        "people.merge_persons",
        "cases.change_personstatus",
        "tracing.change_containment",
        "risk.set_risk_level",
        "healthcode.decide_appeal",
        "campaigns.run_campaign",
        "ewarn.verify_alert",
    ),
    StaffRole.HOSPITAL_LIAISON: (
        "core.run_imports",
        "cases.change_personstatus",
        "supplies.manage_supplies",
        "beds.report_beds",
        "beds.admit_patients",
    ),
    StaffRole.ADMINISTRATOR: (
        "tasks.manage_task",
        "core.edit_policy",
        "core.see_whole_city",
        "core.view_audit",
        "core.run_imports",
        "people.view_full_identity",
        "people.merge_persons",
        "cases.change_personstatus",
        "tracing.change_containment",
        "risk.set_risk_level",
        "healthcode.decide_appeal",
        "gates.manage_closure",
        "campaigns.run_campaign",
        "assistance.take_help_request",
        "care.manage_care",
        "supplies.manage_supplies",
        "beds.report_beds",
        "beds.admit_patients",
        "dispatch.run_dispatch",
        "ewarn.verify_alert",
    ),
    StaffRole.UNIT_CONTACT: (),
    StaffRole.BANK_OFFICER: (),
    StaffRole.COUNSELLOR: (),
}


def add_role_permissions(extra: dict[str, tuple[str, ...]]) -> None:
    """Let an app grant its own permissions to roles (called from its AppConfig.ready), so the table
    above need not know every app; ensure_role_groups then applies the whole table."""
    for role, perms in extra.items():
        current = ROLE_PERMISSIONS[role]
        ROLE_PERMISSIONS[role] = current + tuple(p for p in perms if p not in current)


def group_name(role: str) -> str:
    return f"role:{role}"


def ensure_role_groups() -> dict[str, Group]:
    """Create or update one group per role with exactly the permissions of ROLE_PERMISSIONS."""
    groups = {}
    for role, perms in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=group_name(role))
        wanted = []
        for dotted in perms:
            app_label, codename = dotted.split(".")
            wanted.append(Permission.objects.get(content_type__app_label=app_label, codename=codename))
        group.permissions.set(wanted)
        groups[role] = group
    return groups


def grant_role(user, role: str) -> None:
    group, _ = Group.objects.get_or_create(name=group_name(role))
    if not group.permissions.exists():
        group = ensure_role_groups()[role]
    user.groups.add(group)
