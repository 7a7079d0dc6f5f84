from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PeopleConfig(AppConfig):
    name = "people"
    verbose_name = _("Population")

    def ready(self) -> None:
        from core.audit import connect_change_logging
        from core.imports.kinds import AFTER_IMPORT_HOOKS
        from people import importers  # noqa: F401 - registers the import kinds
        from people.models import KeyGroupMembership, Resident
        from people.rollup import after_import

        for model in (Resident, KeyGroupMembership):
            connect_change_logging(model)
        if after_import not in AFTER_IMPORT_HOOKS:
            AFTER_IMPORT_HOOKS.append(after_import)
