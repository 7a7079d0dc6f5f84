from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CasesConfig(AppConfig):
    name = "cases"
    verbose_name = _("Four categories")

    def ready(self) -> None:
        from cases import jobs  # noqa: F401 - registers the follow-up sweep
        from cases.models import CategoryEvent, FollowUp, PersonStatus
        from cases.panels import category_panel
        from cases.policy import ITEMS, VALIDATORS
        from core.audit import connect_change_logging
        from core.panels import add_node_panel
        from core.policy import DEFAULTS, register_items
        from people.merge import register_person_reference

        add_node_panel(category_panel)
        if not set(ITEMS) <= set(DEFAULTS):  # ready() may run twice in one process (tests)
            register_items(ITEMS, validators=VALIDATORS)
        for model in (PersonStatus, FollowUp):
            connect_change_logging(model)
        for label in ("cases.PersonStatus", "cases.CategoryEvent", "cases.FollowUp", "cases.CategoryConflict"):
            register_person_reference(label, "person")
        register_person_reference("cases.CategoryEvent", "basis_case")  # the case a contact's basis names
        del CategoryEvent  # the event log is itself the history; it is not change-logged twice
