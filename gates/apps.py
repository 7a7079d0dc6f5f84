from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class GatesConfig(AppConfig):
    name = "gates"
    verbose_name = _("Gate checks and closed management")

    def ready(self) -> None:
        from core.audit import connect_change_logging
        from gates import jobs
        from gates.models import ExitApproval
        from gates.rules import gate_fever_reasons
        from healthcode.rules import SOURCES
        from people.merge import register_person_reference

        if gate_fever_reasons not in SOURCES:
            SOURCES.append(gate_fever_reasons)
        connect_change_logging(ExitApproval)
        register_person_reference("gates.ExitApproval", "person")
        register_person_reference("gates.GateCheck", "person")
        jobs.schedule()
