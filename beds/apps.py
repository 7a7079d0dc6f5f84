from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class BedsConfig(AppConfig):
    name = "beds"
    verbose_name = _("Facilities and beds")

    def ready(self) -> None:
        from beds import importers  # noqa: F401 - registers the facilities and bed_status kinds
