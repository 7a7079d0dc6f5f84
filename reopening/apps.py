from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ReopeningConfig(AppConfig):
    name = "reopening"
    verbose_name = _("Reopening")
