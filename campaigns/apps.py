from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CampaignsConfig(AppConfig):
    name = "campaigns"
    verbose_name = _("Testing campaigns")

    def ready(self) -> None:
        from campaigns import (
            hooks,
            importers,  # noqa: F401 - registers the pool_members kind
        )

        hooks.connect()
