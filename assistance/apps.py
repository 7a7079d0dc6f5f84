from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AssistanceConfig(AppConfig):
    name = "assistance"
    verbose_name = _("Help requests (微邻里)")

    def ready(self) -> None:
        from assistance.ledger import HELP_COLUMNS
        from people.merge import register_person_reference
        from people.services import add_ledger_columns

        add_ledger_columns(HELP_COLUMNS)
        register_person_reference("assistance.HelpRequest", "resident")
