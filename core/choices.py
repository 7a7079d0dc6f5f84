"""Choice classes shared across apps."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class StaffRole(models.TextChoices):
    """Roles of Linli's users; each maps to a permission group (core.roles)."""

    CITY_COMMAND = "city_command", _("City command centre")
    DISTRICT = "district", _("District staff")
    STREET = "street", _("Street staff")
    COMMUNITY_WORKER = "community_worker", _("Community worker")
    GRID_WORKER = "grid_worker", _("Grid worker")
    CADRE = "cadre", _("Cadre / volunteer")
    CDC_EPIDEMIOLOGIST = "cdc_epidemiologist", _("CDC epidemiologist")
    HOSPITAL_LIAISON = "hospital_liaison", _("Hospital liaison")
    ADMINISTRATOR = "administrator", _("Administrator")
    UNIT_CONTACT = "unit_contact", _("School or enterprise contact")
    BANK_OFFICER = "bank_officer", _("Partner bank loan officer")
    COUNSELLOR = "counsellor", _("Counsellor (psychological support)")


class ChangeAction(models.TextChoices):
    CREATE = "create", _("Created")
    UPDATE = "update", _("Updated")
    DELETE = "delete", _("Deleted")
    BULK_CREATE = "bulk_create", _("Created in bulk")


class ChangeSource(models.TextChoices):
    WEB = "web", _("Web")
    API = "api", _("API")
    IMPORT = "import", _("Import")
    SYSTEM = "system", _("System")


class ReadAction(models.TextChoices):
    VIEW = "view", _("Viewed record")
    SEARCH = "search", _("Appeared in search results")
    LIST = "list", _("Appeared in a list")
    EXPORT = "export", _("Exported")
    API_VIEW = "api_view", _("Read through the API")
    FULL_IDENTITY = "full_identity", _("Viewed unmasked identity")
    GATE = "gate", _("Checked at a gate")


class ImportStatus(models.TextChoices):
    RUNNING = "running", _("Running")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")


class RejectStatus(models.TextChoices):
    OPEN = "open", _("Open")
    RESOLVED = "resolved", _("Resolved by resubmission")
    SUPERSEDED = "superseded", _("Superseded by a later import")
    DISMISSED = "dismissed", _("Dismissed")
