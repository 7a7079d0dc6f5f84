from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CasesConfig(AppConfig):
    name = "cases"
    verbose_name = _("Four categories")

    def ready(self) -> None:
        from cases import jobs  # noqa: F401 - registers the follow-up sweep
        from cases.models import CategoryEvent, FollowUp, PersonStatus
        from cases.panels import category_panel
        from core.audit import connect_change_logging
        from core.panels import add_node_panel
        from people.merge import register_person_reference

        add_node_panel(category_panel)
        for model in (PersonStatus, FollowUp):
            connect_change_logging(model)
        for label in ("cases.PersonStatus", "cases.CategoryEvent", "cases.FollowUp", "cases.CategoryConflict"):
            register_person_reference(label, "person")
        del CategoryEvent  # the event log is itself the history; it is not change-logged twice
