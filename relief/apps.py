from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ReliefConfig(AppConfig):
    name = "relief"
    verbose_name = _("Relief finance")

    def ready(self) -> None:
        from core.audit import connect_change_logging
        from core.choices import StaffRole
        from core.policy import register_items
        from core.roles import add_role_permissions
        from relief import importers  # noqa: F401 - registers relief_applications and loan_decisions
        from relief.models import Applicant, Application, Bank, Fund, LoanProduct
        from relief.rules import POLICY_ITEMS, VALIDATORS

        register_items(POLICY_ITEMS, validators=VALIDATORS)
        review = ("relief.submit_application", "relief.review_application")
        add_role_permissions(
            {
                StaffRole.CITY_COMMAND: review,
                StaffRole.DISTRICT: review,
                StaffRole.ADMINISTRATOR: review,
                StaffRole.STREET: ("relief.submit_application",),
                StaffRole.COMMUNITY_WORKER: ("relief.submit_application",),
                StaffRole.BANK_OFFICER: ("relief.decide_loan",),
            }
        )
        for model in (Fund, Bank, LoanProduct, Applicant, Application):
            connect_change_logging(model)
