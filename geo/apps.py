from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class GeoConfig(AppConfig):
    name = "geo"
    verbose_name = _("Grid and places")

    def ready(self) -> None:
        from core.audit import connect_change_logging
        from geo import importers  # noqa: F401 - registers the import kinds
        from geo.models import Assignment, Building, Compound, Division, Venue

        for model in (Division, Compound, Building, Venue, Assignment):
            connect_change_logging(model)
