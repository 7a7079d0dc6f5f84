from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TracingConfig(AppConfig):
    name = "tracing"
    verbose_name = _("Contact tracing and containment")

    def ready(self) -> None:
        from cases.services import ON_INFECTED
        from core.audit import connect_change_logging
        from people.merge import register_person_reference
        from tracing import importers  # noqa: F401 - registers the scans import kind
        from tracing.jobs import start_containment_after_commit
        from tracing.models import ContactDecision, Containment

        ON_INFECTED.append(start_containment_after_commit)
        for model in (Containment, ContactDecision):
            connect_change_logging(model)
        register_person_reference("tracing.Containment", "case")
        register_person_reference("tracing.ContactDecision", "case")
        register_person_reference("tracing.TracedContact", "person")
