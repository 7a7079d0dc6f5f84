"""Forms of the relief pages: a new application, a bank's decision, a payout date, clearing a flag
or withdrawing (a note)."""

from __future__ import annotations

from decimal import Decimal

from django import forms
from django.utils.translation import gettext_lazy

from core.scoping import restrict
from geo.models import Division
from relief.choices import ApplicantKind, Decision, DocumentKind, Need, Sector
from relief.models import Fund, Match


class _MatchChoice(forms.ModelChoiceField):
    def label_from_instance(self, obj: Match) -> str:
        return f"#{obj.rank} {obj.product.name} ({obj.product.range_text}, {obj.product.rate} %)"


class DecisionForm(forms.Form):
    """Approve (amount ≤ requested, within the product's range) or decline with a reason."""

    match = _MatchChoice(label=gettext_lazy("Product"), queryset=Match.objects.none())
    decision = forms.ChoiceField(label=gettext_lazy("Decision"), choices=Decision.choices)
    amount_yuan = forms.DecimalField(
        label=gettext_lazy("Amount approved (¥)"), min_value=Decimal("0.01"), decimal_places=2, required=False
    )
    rate = forms.DecimalField(label=gettext_lazy("Annual rate (%)"), min_value=0, max_value=36, required=False)
    term_months = forms.IntegerField(label=gettext_lazy("Term (months)"), min_value=1, max_value=360, required=False)
    decided_on = forms.DateField(
        label=gettext_lazy("Decided on"), required=False, widget=forms.DateInput({"type": "date"})
    )
    disbursed_on = forms.DateField(
        label=gettext_lazy("Disbursed on"), required=False, widget=forms.DateInput({"type": "date"})
    )
    reason = forms.CharField(label=gettext_lazy("Reason (for a decline)"), max_length=300, required=False)

    def __init__(self, *args, matches, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["match"].queryset = matches


class DisburseForm(forms.Form):
    match = forms.ModelChoiceField(queryset=Match.objects.none(), widget=forms.HiddenInput)
    disbursed_on = forms.DateField(label=gettext_lazy("Disbursed on"), widget=forms.DateInput({"type": "date"}))

    def __init__(self, *args, matches, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["match"].queryset = matches


class NoteForm(forms.Form):
    """Clearing a flag (``flag`` given) or withdrawing: a note saying why."""

    flag = forms.IntegerField(required=False, widget=forms.HiddenInput)
    note = forms.CharField(label=gettext_lazy("Note"), max_length=300)


class ApplicationForm(forms.Form):
    """A new application filed by staff for an applicant, with its documents as files."""

    fund = forms.ModelChoiceField(label=gettext_lazy("Fund"), queryset=Fund.objects.order_by("-opens_on"))
    kind = forms.ChoiceField(label=gettext_lazy("Applicant"), choices=ApplicantKind.choices)
    code = forms.CharField(label=gettext_lazy("Credit code or owner's ID number"), max_length=18, min_length=18)
    name = forms.CharField(label=gettext_lazy("Name"), max_length=120)
    sector = forms.ChoiceField(label=gettext_lazy("Sector"), choices=Sector.choices)
    employees = forms.IntegerField(label=gettext_lazy("Employees"), min_value=0, max_value=10_000_000)
    annual_revenue_yuan = forms.IntegerField(label=gettext_lazy("Annual revenue (¥)"), min_value=0)
    area = forms.ModelChoiceField(label=gettext_lazy("Registered area"), queryset=Division.objects.none())
    phone = forms.CharField(label=gettext_lazy("Phone"), max_length=20, required=False)
    need = forms.ChoiceField(label=gettext_lazy("Need"), choices=Need.choices)
    amount_yuan = forms.IntegerField(label=gettext_lazy("Amount (¥)"), min_value=1, max_value=10**11)
    purpose = forms.CharField(label=gettext_lazy("Purpose"), widget=forms.Textarea({"rows": 3}), max_length=1000)

    def __init__(self, *args, user, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        areas = Division.objects.filter(level__in=("district", "street", "community")).order_by("code")
        self.fields["area"].queryset = restrict(user, areas)
        for kind, label in DocumentKind.choices:
            self.fields[f"doc_{kind}"] = forms.FileField(label=label, required=False)

    def documents(self) -> dict:
        return {k: self.cleaned_data[f"doc_{k}"] for k in DocumentKind.values if self.cleaned_data.get(f"doc_{k}")}
