"""Choices of relief finance (issue #12 item 2): applicant kinds, sectors, needs, documents, the
application workflow with its colours and allowed transitions, match states and fraud flags."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class ApplicantKind(models.TextChoices):
    FIRM = "firm", _("Small or micro firm (统一社会信用代码)")
    SELF_EMPLOYED = "self_employed", _("Self-employed (个体工商户, owner's ID number)")


class Sector(models.TextChoices):
    MANUFACTURING = "manufacturing", _("Manufacturing")
    WHOLESALE_RETAIL = "wholesale_retail", _("Wholesale and retail")
    CATERING = "catering", _("Catering")
    ACCOMMODATION = "accommodation", _("Accommodation")
    TRANSPORT = "transport", _("Transport and logistics")
    CONSTRUCTION = "construction", _("Construction")
    TECHNOLOGY = "technology", _("Information technology")
    CULTURE_TOURISM = "culture_tourism", _("Culture and tourism")
    SERVICES = "services", _("Resident services")
    AGRICULTURE = "agriculture", _("Agriculture")
    REAL_ESTATE = "real_estate", _("Real estate")
    FINANCE = "finance", _("Finance")
    OTHER = "other", _("Other")


class Need(models.TextChoices):
    WORKING_CAPITAL = "working_capital", _("Working capital")
    PAYROLL = "payroll", _("Payroll")
    RENT = "rent", _("Rent")
    SUPPLIES = "supplies", _("Supplies and stock")
    OTHER = "other", _("Other")


class DocumentKind(models.TextChoices):
    BUSINESS_LICENCE = "business_licence", _("Business licence")
    FINANCIAL_STATEMENT = "financial_statement", _("Financial statement")
    ID_CARD = "id_card", _("Owner's identity card")
    TAX_RECORD = "tax_record", _("Tax record")
    PAYROLL_LIST = "payroll_list", _("Payroll list")
    LEASE = "lease", _("Lease")


class ApplicationStatus(models.TextChoices):
    """submitted → screened (eligible / ineligible) → matched → approved / declined → disbursed."""

    SUBMITTED = "submitted", _("Submitted")
    ELIGIBLE = "eligible", _("Screened: eligible")
    INELIGIBLE = "ineligible", _("Screened: ineligible")
    MATCHED = "matched", _("Matched to banks")
    APPROVED = "approved", _("Approved by a bank")
    DECLINED = "declined", _("Declined by every bank")
    DISBURSED = "disbursed", _("Disbursed")
    WITHDRAWN = "withdrawn", _("Withdrawn")


STATUS_COLOURS = {
    ApplicationStatus.SUBMITTED: "#475569",
    ApplicationStatus.ELIGIBLE: "#0369a1",
    ApplicationStatus.INELIGIBLE: "#b91c1c",
    ApplicationStatus.MATCHED: "#7c3aed",
    ApplicationStatus.APPROVED: "#15803d",
    ApplicationStatus.DECLINED: "#b45309",
    ApplicationStatus.DISBURSED: "#166534",
    ApplicationStatus.WITHDRAWN: "#6b7280",
}

S = ApplicationStatus
# The one table of allowed moves (style.md: transitions in one table per workflow). Screening may
# run again on a screened application (documents added, policy changed) until it is matched.
TRANSITIONS: dict[str, frozenset[str]] = {
    S.SUBMITTED: frozenset({S.ELIGIBLE, S.INELIGIBLE, S.WITHDRAWN}),
    S.ELIGIBLE: frozenset({S.ELIGIBLE, S.INELIGIBLE, S.MATCHED, S.WITHDRAWN}),
    S.INELIGIBLE: frozenset({S.ELIGIBLE, S.INELIGIBLE, S.WITHDRAWN}),
    S.MATCHED: frozenset({S.APPROVED, S.DECLINED, S.WITHDRAWN}),
    S.APPROVED: frozenset({S.DISBURSED}),
    S.DECLINED: frozenset({S.WITHDRAWN}),
    S.DISBURSED: frozenset(),
    S.WITHDRAWN: frozenset(),
}
OPEN_STATUSES = (S.SUBMITTED, S.ELIGIBLE, S.INELIGIBLE, S.MATCHED, S.APPROVED, S.DISBURSED)
SCREENABLE = (S.SUBMITTED, S.ELIGIBLE, S.INELIGIBLE)


def can_move(current: str, target: str) -> bool:
    return target in TRANSITIONS.get(current, frozenset())


class MatchStatus(models.TextChoices):
    OPEN = "open", _("Awaiting the bank")
    APPROVED = "approved", _("Approved")
    DECLINED = "declined", _("Declined")
    TAKEN = "taken", _("Taken by another bank")
    CLOSED = "closed", _("Closed (application withdrawn)")


MATCH_COLOURS = {
    MatchStatus.OPEN: "#7c3aed",
    MatchStatus.APPROVED: "#15803d",
    MatchStatus.DECLINED: "#b45309",
    MatchStatus.TAKEN: "#6b7280",
    MatchStatus.CLOSED: "#6b7280",
}


class Decision(models.TextChoices):
    APPROVE = "approve", _("Approve")
    DECLINE = "decline", _("Decline")


class FlagKind(models.TextChoices):
    """Fraud checks (issue #12 item 2): each flag blocks matching until a reviewer clears it."""

    DUPLICATE_APPLICANT = "duplicate_applicant", _("Same applicant has another open application to this fund")
    DUPLICATE_IN_FILE = "duplicate_in_file", _("Same applicant appears earlier in the same import file")
    OUTSIDE_CITY = "outside_city", _("Applicant's code was issued outside the city")
    CODE_CHECK = "code_check", _("Credit code or ID number fails its check character")
    SHARED_PHONE = "shared_phone", _("Phone shared with another applicant")
    SHARED_ACCOUNT = "shared_account", _("Bank account shared with another applicant")


class FlagStatus(models.TextChoices):
    OPEN = "open", _("Open")
    CLEARED = "cleared", _("Cleared by a reviewer")


class EventKind(models.TextChoices):
    SUBMITTED = "submitted", _("Submitted")
    IMPORTED = "imported", _("Imported")
    SCREENED = "screened", _("Screened")
    FLAGGED = "flagged", _("Flagged")
    FLAG_CLEARED = "flag_cleared", _("Flag cleared")
    MATCHED = "matched", _("Matched")
    APPROVED = "approved", _("Approved")
    DECLINED = "declined", _("Declined")
    DISBURSED = "disbursed", _("Disbursed")
    WITHDRAWN = "withdrawn", _("Withdrawn")
