from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


def check_consent(value: dict) -> None:
    """renovation_consent holds exactly two shares, each between 0 and 1."""
    if set(value) != {"participation", "consent"}:
        raise ValueError("renovation_consent: give exactly participation and consent")
    for key, share in value.items():
        if not 0 <= float(share) <= 1:
            raise ValueError(f"renovation_consent.{key}: a share between 0 and 1")


def check_built_before(value: int) -> None:
    if not 1900 <= int(value) <= 2100:
        raise ValueError("renovation_built_before: a year")


class RenovationConfig(AppConfig):
    name = "renovation"
    verbose_name = _("Old-compound renovation")

    def ready(self) -> None:
        from core.audit import connect_change_logging
        from core.choices import StaffRole
        from core.policy import PolicyItem, register_items
        from core.roles import add_role_permissions
        from renovation import importers  # noqa: F401 - registers renovation_projects
        from renovation.models import Consultation, Programme, Project, Work, YearTarget

        register_items(
            {
                "renovation_built_before": PolicyItem(
                    2001,
                    _("Renovation: only compounds built before this year can be selected"),
                    "国办发〔2020〕23号 (State Council General Office, July 2020): old compounds are those built "
                    "before the end of 2000",
                ),
                "renovation_consent": PolicyItem(
                    {"participation": 2 / 3, "consent": 0.75},
                    _("Renovation: households taking part, and in favour among them, before works start (shares)"),
                    "PRC Civil Code art. 278 (2021): participation of 2/3 of the owners and consent of 3/4 of the "
                    "participants; Linli counts households",
                ),
            },
            validators={"renovation_consent": check_consent, "renovation_built_before": check_built_before},
        )
        view, manage = "renovation.view_project", "renovation.manage_renovation"
        add_role_permissions(
            {
                StaffRole.CITY_COMMAND: (view, manage),
                StaffRole.ADMINISTRATOR: (view, manage),
                StaffRole.DISTRICT: (view, manage),
                StaffRole.STREET: (view, manage),
                StaffRole.COMMUNITY_WORKER: (view,),
                StaffRole.GRID_WORKER: (view,),
            }
        )
        for model in (Programme, YearTarget, Project, Work, Consultation):
            connect_change_logging(model)
