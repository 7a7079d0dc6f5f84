from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DispatchConfig(AppConfig):
    name = "dispatch"
    verbose_name = _("Transport dispatch")

    def ready(self) -> None:
        from core.audit import connect_change_logging
        from dispatch import jobs
        from dispatch.models import Vehicle
        from people.merge import register_person_reference

        connect_change_logging(Vehicle)
        register_person_reference("dispatch.Transfer", "person")
        jobs.schedule()
