"""Relief finance (issue #12 item 2): a fund, the partner banks and their loan products, applicants
(small firms and the self-employed), their applications with documents, fraud flags, the ranked
shortlist of products (Match) with each bank's decision, and the application's event history.

Money is integer fen throughout (``*_fen``), so sums in SQL are exact on SQLite and PostgreSQL.
An applicant and its applications carry the registered area's district, street and community
(denormalised, set in :meth:`Applicant.fill_place` and the import SQL) so scoping is one filter.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.models import ChangeLoggedModel
from geo.models import ancestor_column
from relief.choices import (
    ApplicantKind,
    ApplicationStatus,
    DocumentKind,
    EventKind,
    FlagKind,
    FlagStatus,
    MatchStatus,
    Need,
    Sector,
)

SECTOR_SEPARATOR = ";"
AREA_SCOPE = {"district": "district_id", "street": "street_id", "community": "community_id"}


def yuan(fen: int | None) -> str:
    """¥1,234,567 (whole yuan) or ¥1,234.50."""
    if fen is None:
        return ""
    whole, cents = divmod(int(fen), 100)
    return f"¥{whole:,}" if not cents else f"¥{whole:,}.{cents:02d}"


class Fund(ChangeLoggedModel):
    """A relief fund that applications are made to (Wuhan's grew to ¥60 billion in 2020)."""

    code = models.CharField(_("fund code"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=120)
    total_fen = models.BigIntegerField(_("total (fen)"))
    opens_on = models.DateField(_("opens on"))
    closes_on = models.DateField(_("closes on"))

    class Meta:
        verbose_name = _("relief fund")
        verbose_name_plural = _("relief funds")
        ordering = ["-opens_on", "code"]
        constraints = [
            models.CheckConstraint(condition=models.Q(closes_on__gte=models.F("opens_on")), name="fund_dates_order")
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def total(self) -> str:
        return yuan(self.total_fen)


class Bank(ChangeLoggedModel):
    """A participating bank (汉融通 brought 22 banks in)."""

    code = models.CharField(_("bank code"), max_length=16, unique=True)
    name = models.CharField(_("name"), max_length=120)

    class Meta:
        verbose_name = _("partner bank")
        verbose_name_plural = _("partner banks")
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name


class LoanProduct(ChangeLoggedModel):
    """A bank's loan product: the amounts it lends, the sectors it serves (empty = all), its terms."""

    bank = models.ForeignKey(Bank, on_delete=models.PROTECT, related_name="products", verbose_name=_("bank"))
    code = models.CharField(_("product code"), max_length=32)
    name = models.CharField(_("name"), max_length=120)
    min_fen = models.BigIntegerField(_("minimum amount (fen)"))
    max_fen = models.BigIntegerField(_("maximum amount (fen)"))
    sectors = models.CharField(_("sectors served (empty: all)"), max_length=400, blank=True)
    rate = models.DecimalField(_("annual rate (%)"), max_digits=5, decimal_places=2)
    term_months = models.PositiveSmallIntegerField(_("term (months)"))
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("loan product")
        verbose_name_plural = _("loan products")
        ordering = ["bank__code", "code"]
        constraints = [
            models.UniqueConstraint(fields=["bank", "code"], name="loanproduct_code_unique_in_bank"),
            models.CheckConstraint(
                condition=models.Q(min_fen__gt=0, max_fen__gte=models.F("min_fen")), name="loanproduct_amount_range"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.bank.name} {self.name}"

    @property
    def sector_list(self) -> list[str]:
        return [s for s in self.sectors.split(SECTOR_SEPARATOR) if s]

    def serves(self, sector: str) -> bool:
        return not self.sector_list or sector in self.sector_list

    @property
    def range_text(self) -> str:
        return f"{yuan(self.min_fen)}–{yuan(self.max_fen)}"


class BankOfficer(models.Model):
    """A user who decides loans for a bank (role ``bank_officer``); sees only the bank's shortlist."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="bank_memberships")
    bank = models.ForeignKey(Bank, on_delete=models.CASCADE, related_name="officers", verbose_name=_("bank"))
    since = models.DateTimeField(_("since"), default=timezone.now)

    class Meta:
        verbose_name = _("bank officer")
        verbose_name_plural = _("bank officers")
        constraints = [models.UniqueConstraint(fields=["user", "bank"], name="bankofficer_once_per_bank")]

    def __str__(self) -> str:
        return f"{self.user} @ {self.bank}"


class Applicant(ChangeLoggedModel):
    """A small firm (by its credit code) or a self-employed business (by its owner's ID number)."""

    scope_fields = AREA_SCOPE

    kind = models.CharField(_("kind"), max_length=16, choices=ApplicantKind.choices)
    code = models.CharField(_("credit code or ID number"), max_length=18, unique=True)
    code_valid = models.BooleanField(_("check character valid"), default=True)
    code_area = models.CharField(_("area in the code"), max_length=6)
    name = models.CharField(_("name"), max_length=120)
    sector = models.CharField(_("sector"), max_length=24, choices=Sector.choices)
    employees = models.PositiveIntegerField(_("employees"), default=0)
    annual_revenue_fen = models.BigIntegerField(_("annual revenue (fen)"), default=0)
    phone = models.CharField(_("phone"), max_length=20, blank=True)
    bank_account = models.CharField(_("receiving account"), max_length=40, blank=True)
    area = models.ForeignKey(
        "geo.Division", on_delete=models.PROTECT, related_name="relief_applicants", verbose_name=_("registered area")
    )
    district = ancestor_column(_("district"))
    street = ancestor_column(_("street"))
    community = ancestor_column(_("community"))

    class Meta:
        verbose_name = _("relief applicant")
        verbose_name_plural = _("relief applicants")
        ordering = ["name"]
        indexes = [
            models.Index(fields=["district"], name="applicant_district"),
            models.Index(fields=["street"], name="applicant_street"),
            models.Index(fields=["community"], name="applicant_community"),
            models.Index(fields=["phone"], name="applicant_phone"),
            models.Index(fields=["bank_account"], name="applicant_bank_account"),
        ]

    def __str__(self) -> str:
        return self.name

    def fill_place(self) -> None:
        """The registered area's district, street and community (the one place they are set)."""
        area = self.area
        self.district_id, self.street_id, self.community_id = area.district_id, area.street_id, area.community_id
        if area.level in ("district", "street", "community"):
            setattr(self, f"{area.level}_id", area.pk)

    @property
    def masked_code(self) -> str:
        """A firm's credit code is public; an owner's ID number is masked (domain.md §2)."""
        from people.identity import mask_id_number

        return self.code if self.kind == ApplicantKind.FIRM else mask_id_number(self.code)

    @property
    def masked_phone(self) -> str:
        from people.identity import mask_phone

        return mask_phone(self.phone)


class Application(ChangeLoggedModel):
    """One application of one applicant to one fund."""

    scope_fields = AREA_SCOPE

    reference = models.CharField(_("reference"), max_length=40, unique=True)
    fund = models.ForeignKey(Fund, on_delete=models.PROTECT, related_name="applications", verbose_name=_("fund"))
    applicant = models.ForeignKey(
        Applicant, on_delete=models.PROTECT, related_name="applications", verbose_name=_("applicant")
    )
    need = models.CharField(_("need"), max_length=24, choices=Need.choices)
    amount_fen = models.BigIntegerField(_("amount requested (fen)"))
    purpose = models.TextField(_("purpose"), blank=True)
    status = models.CharField(
        _("status"), max_length=16, choices=ApplicationStatus.choices, default=ApplicationStatus.SUBMITTED
    )
    reasons = models.JSONField(_("ineligibility reasons"), default=list, blank=True)
    submitted_at = models.DateTimeField(_("submitted at"), default=timezone.now)
    screened_at = models.DateTimeField(_("screened at"), null=True, blank=True)
    policy_version = models.PositiveIntegerField(_("policy version screened under"), null=True, blank=True)
    batch = models.ForeignKey(
        "core.ImportBatch", null=True, blank=True, on_delete=models.SET_NULL, related_name="+", verbose_name=_("import")
    )
    approved_match = models.ForeignKey(
        "relief.Match", null=True, blank=True, on_delete=models.SET_NULL, related_name="+", verbose_name=_("approved")
    )
    district = ancestor_column(_("district"))
    street = ancestor_column(_("street"))
    community = ancestor_column(_("community"))

    class Meta:
        verbose_name = _("relief application")
        verbose_name_plural = _("relief applications")
        ordering = ["-submitted_at", "-id"]
        indexes = [
            models.Index(fields=["status"], name="application_status"),
            models.Index(fields=["fund", "applicant"], name="application_fund_applicant"),
            models.Index(fields=["district"], name="application_district"),
            models.Index(fields=["street"], name="application_street"),
            models.Index(fields=["community"], name="application_community"),
        ]
        constraints = [models.CheckConstraint(condition=models.Q(amount_fen__gt=0), name="application_amount_positive")]
        permissions = [
            ("submit_application", _("File relief applications for applicants")),
            ("review_application", _("Screen and match relief applications, clear fraud flags")),
            ("decide_loan", _("Record a bank's loan decision on its shortlisted applications")),
        ]

    def __str__(self) -> str:
        return self.reference

    @property
    def amount(self) -> str:
        return yuan(self.amount_fen)

    @property
    def colour(self) -> str:
        from relief.choices import STATUS_COLOURS

        return STATUS_COLOURS.get(self.status, "#475569")


class Document(models.Model):
    """A document attached to an application: an uploaded file, or one the intake platform holds
    (imported with its kind only)."""

    application = models.ForeignKey(
        Application, on_delete=models.CASCADE, related_name="documents", verbose_name=_("application")
    )
    kind = models.CharField(_("kind"), max_length=24, choices=DocumentKind.choices)
    file = models.FileField(_("file"), upload_to="relief/%Y/%m/", blank=True)
    added_at = models.DateTimeField(_("added at"), default=timezone.now)

    class Meta:
        verbose_name = _("application document")
        verbose_name_plural = _("application documents")
        constraints = [models.UniqueConstraint(fields=["application", "kind"], name="document_once_per_kind")]

    def __str__(self) -> str:
        return f"{self.application_id}: {self.kind}"


class Flag(models.Model):
    """A fraud check's finding on an application; an open flag blocks matching until cleared."""

    application = models.ForeignKey(
        Application, on_delete=models.CASCADE, related_name="flags", verbose_name=_("application")
    )
    kind = models.CharField(_("check"), max_length=24, choices=FlagKind.choices)
    detail = models.CharField(_("detail"), max_length=200, blank=True)
    status = models.CharField(_("status"), max_length=16, choices=FlagStatus.choices, default=FlagStatus.OPEN)
    raised_at = models.DateTimeField(_("raised at"), default=timezone.now)
    cleared_at = models.DateTimeField(_("cleared at"), null=True, blank=True)
    cleared_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    note = models.CharField(_("reviewer's note"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("fraud flag")
        verbose_name_plural = _("fraud flags")
        ordering = ["application_id", "kind"]
        constraints = [models.UniqueConstraint(fields=["application", "kind"], name="flag_once_per_kind")]

    def __str__(self) -> str:
        return f"{self.application_id}: {self.kind} ({self.status})"


class Match(models.Model):
    """One product on an application's ranked shortlist, and that bank's decision on it."""

    scope_fields = {kind: f"application__{column}" for kind, column in AREA_SCOPE.items()}

    application = models.ForeignKey(
        Application, on_delete=models.CASCADE, related_name="matches", verbose_name=_("application")
    )
    product = models.ForeignKey(
        LoanProduct, on_delete=models.PROTECT, related_name="matches", verbose_name=_("product")
    )
    bank = models.ForeignKey(Bank, on_delete=models.PROTECT, related_name="matches", verbose_name=_("bank"))
    rank = models.PositiveSmallIntegerField(_("rank"))
    centrality = models.FloatField(_("how central the amount is in the range (1 = middle)"))
    sector_listed = models.BooleanField(_("sector named by the product"), default=False)
    status = models.CharField(_("status"), max_length=16, choices=MatchStatus.choices, default=MatchStatus.OPEN)
    matched_at = models.DateTimeField(_("matched at"), default=timezone.now)
    amount_fen = models.BigIntegerField(_("amount approved (fen)"), null=True, blank=True)
    rate = models.DecimalField(_("rate (%)"), max_digits=5, decimal_places=2, null=True, blank=True)
    term_months = models.PositiveSmallIntegerField(_("term (months)"), null=True, blank=True)
    decided_on = models.DateField(_("decided on"), null=True, blank=True)
    disbursed_on = models.DateField(_("disbursed on"), null=True, blank=True)
    decline_reason = models.CharField(_("reason declined"), max_length=300, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = _("shortlisted product")
        verbose_name_plural = _("shortlisted products")
        ordering = ["application_id", "rank"]
        constraints = [models.UniqueConstraint(fields=["application", "product"], name="match_once_per_product")]
        indexes = [
            models.Index(fields=["bank", "status"], name="match_bank_status"),
            models.Index(fields=["application", "bank"], name="match_application_bank"),
            models.Index(fields=["status", "disbursed_on"], name="match_status_disbursed"),
        ]

    def __str__(self) -> str:
        return f"{self.application_id} #{self.rank} {self.product_id}"

    @property
    def colour(self) -> str:
        from relief.choices import MATCH_COLOURS

        return MATCH_COLOURS.get(self.status, "#475569")

    @property
    def amount(self) -> str:
        return yuan(self.amount_fen)


class ApplicationEvent(models.Model):
    """The domain event log of an application: every move with who, when and why."""

    application = models.ForeignKey(
        Application, on_delete=models.CASCADE, related_name="events", verbose_name=_("application")
    )
    at = models.DateTimeField(_("at"), default=timezone.now)
    kind = models.CharField(_("event"), max_length=16, choices=EventKind.choices)
    from_status = models.CharField(_("from"), max_length=16, blank=True)
    to_status = models.CharField(_("to"), max_length=16, blank=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    note = models.CharField(_("note"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("application event")
        verbose_name_plural = _("application events")
        ordering = ["application_id", "at", "id"]
        indexes = [models.Index(fields=["application", "at"], name="appevent_application_at")]

    def __str__(self) -> str:
        return f"{self.application_id} {self.kind}"
