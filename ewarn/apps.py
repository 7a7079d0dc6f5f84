from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class EwarnConfig(AppConfig):
    name = "ewarn"
    verbose_name = _("Early warning")

    def ready(self) -> None:
        from core.audit import connect_change_logging
        from core.policy import VALIDATORS
        from ewarn import importers, jobs  # noqa: F401 - importers registers pharmacy_sales and school_absence
        from ewarn.detectors.temporal import check_detector_settings
        from ewarn.models import Alert

        connect_change_logging(Alert)  # who verified or dismissed what, before and after
        VALIDATORS["ewarn_detectors"] = check_detector_settings
        jobs.schedule()
