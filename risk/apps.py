from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RiskConfig(AppConfig):
    name = "risk"
    verbose_name = _("Risk areas")

    def ready(self) -> None:
        from core.jobs import PERIODIC, every
        from core.panels import add_node_panel
        from risk import jobs
        from risk.panels import risk_panel

        add_node_panel(risk_panel)
        if (jobs.RECOMPUTE_EVERY_MINUTES, "risk.recompute") not in PERIODIC:
            every(jobs.RECOMPUTE_EVERY_MINUTES, "risk.recompute")
