from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SuppliesConfig(AppConfig):
    name = "supplies"
    verbose_name = _("Medical-supply reserves")

    def ready(self) -> None:
        from core.audit import connect_change_logging
        from supplies import jobs
        from supplies.models import Depot, Item, Stock

        # the generic change log (who set which minimum level, renamed a depot …); balances also
        # have their own history, the Movement rows
        for model in (Depot, Item, Stock):
            connect_change_logging(model)
        jobs.schedule()
