from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ReopeningConfig(AppConfig):
    name = "reopening"
    verbose_name = _("Reopening")

    def ready(self) -> None:
        from core.audit import connect_change_logging
        from core.choices import StaffRole
        from core.policy import DEFAULTS, register_items
        from core.roles import add_role_permissions
        from reopening import importers, jobs  # noqa: F401 - importers registers units, unit_status, staff_back
        from reopening.models import ReopeningApplication, Unit, UnitReview
        from reopening.policy import ITEMS, VALIDATORS

        for model in (Unit, ReopeningApplication, UnitReview):
            connect_change_logging(model)
        if not set(ITEMS) <= set(DEFAULTS):  # ready() may run twice in one process (tests)
            register_items(ITEMS, validators=VALIDATORS)
        inspect = ("reopening.inspect_reopening", "reopening.manage_units")
        add_role_permissions(
            {
                StaffRole.UNIT_CONTACT: ("reopening.apply_reopening",),
                StaffRole.COMMUNITY_WORKER: ("reopening.apply_reopening",),
                StaffRole.STREET: inspect,
                StaffRole.DISTRICT: inspect,
                StaffRole.CITY_COMMAND: inspect,
                StaffRole.ADMINISTRATOR: (*inspect, "reopening.apply_reopening"),
            }
        )
        jobs.schedule()
