from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CoreConfig(AppConfig):
    name = "core"
    verbose_name = _("Core: audit, imports, access")

    def ready(self) -> None:
        from core.jobs import PERIODIC, every

        if (1440, "core.prune_login_attempts") not in PERIODIC:
            every(1440, "core.prune_login_attempts")
