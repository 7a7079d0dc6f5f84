from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CareConfig(AppConfig):
    name = "care"
    verbose_name = _("Key-group care and supplies")

    def ready(self) -> None:
        from care import jobs
        from care.ledger import CARE_COLUMNS
        from care.models import GroupOrder
        from core.audit import connect_change_logging
        from people.merge import register_person_reference
        from people.services import add_ledger_columns

        add_ledger_columns(CARE_COLUMNS)
        connect_change_logging(GroupOrder)
        register_person_reference("care.CareVisit", "resident")
        register_person_reference("care.HouseholdOrderLine", "ordered_by_resident")
        jobs.schedule()
