from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class HealthcodeConfig(AppConfig):
    name = "healthcode"
    verbose_name = _("Health code")

    def ready(self) -> None:
        from cases.services import ON_STATUS_CHANGED
        from core.audit import connect_change_logging
        from core.imports.kinds import AFTER_IMPORT_HOOKS
        from core.panels import add_person_panel
        from healthcode import jobs
        from healthcode.hooks import recompute_after_import, recompute_people
        from healthcode.models import Appeal
        from healthcode.panels import code_panel
        from people.merge import register_person_reference

        add_person_panel(code_panel)
        if recompute_people not in ON_STATUS_CHANGED:
            ON_STATUS_CHANGED.append(recompute_people)
            AFTER_IMPORT_HOOKS.append(recompute_after_import)
        connect_change_logging(Appeal)
        for model, column in (
            ("healthcode.HealthDeclaration", "person"),
            ("healthcode.TripDeclaration", "person"),
            ("healthcode.Appeal", "person"),
            ("healthcode.ColourChange", "person"),
        ):
            register_person_reference(model, column)
        jobs.schedule()
