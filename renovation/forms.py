"""Forms of the renovation pages: they parse; renovation.services decides and refuses."""

from __future__ import annotations

from decimal import Decimal

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from renovation.choices import ConsultationKind, FundingSource, WorkKind, WorkStatus
from renovation.services import MAX_MONEY

MAX_MINUTES_BYTES = 20 << 20  # scanned minutes of a hearing: 20 MB is plenty


class DateInput(forms.DateInput):
    input_type = "date"


def _date(label, required: bool = True) -> forms.DateField:
    return forms.DateField(label=label, widget=DateInput(), required=required, initial=timezone.localdate)


def _money(label, required: bool = False) -> forms.DecimalField:
    return forms.DecimalField(
        label=label, min_value=Decimal(0), max_value=MAX_MONEY, decimal_places=2, required=required
    )


class SelectForm(forms.Form):
    year = forms.TypedChoiceField(label=_("Programme year"), coerce=int)
    on = _date(_("Selected on"))
    note = forms.CharField(label=_("Note"), max_length=300, required=False)

    def __init__(self, *args, years: list[int], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["year"].choices = [(y, y) for y in years]


class PlanForm(forms.Form):
    on = _date(_("Planned on"))
    note = forms.CharField(label=_("Note"), max_length=300, required=False)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        for source in FundingSource:
            self.fields[f"budget_{source.value}"] = _money(source.label)

    def budget(self) -> dict[str, Decimal]:
        return {
            s: self.cleaned_data[f"budget_{s}"]
            for s in FundingSource.values
            if self.cleaned_data.get(f"budget_{s}") is not None
        }


class ConsultationForm(forms.Form):
    held_on = _date(_("Held on"))
    kind = forms.ChoiceField(label=_("Kind"), choices=ConsultationKind.choices)
    households = forms.IntegerField(label=_("Households in the compound"), min_value=1, max_value=1_000_000)
    participating = forms.IntegerField(label=_("Households taking part"), min_value=0, max_value=1_000_000)
    in_favour = forms.IntegerField(label=_("In favour"), min_value=0, max_value=1_000_000)
    against = forms.IntegerField(label=_("Against"), min_value=0, max_value=1_000_000)
    minutes = forms.FileField(label=_("Minutes (file)"), required=False)
    note = forms.CharField(label=_("Note"), max_length=300, required=False)

    def clean_minutes(self):
        minutes = self.cleaned_data.get("minutes")
        if minutes is not None and minutes.size > MAX_MINUTES_BYTES:
            raise forms.ValidationError(_("The file is larger than 20 MB."))
        return minutes


class StartForm(forms.Form):
    on = _date(_("Works started on"))
    note = forms.CharField(label=_("Note"), max_length=300, required=False)


class FinishForm(forms.Form):
    inspected_on = _date(_("Final inspection on"), required=False)
    on = _date(_("Finished on"))
    note = forms.CharField(label=_("Note"), max_length=300, required=False)


class CancelForm(forms.Form):
    on = _date(_("Cancelled on"))
    reason = forms.CharField(label=_("Reason"), max_length=300)


class WorkForm(forms.Form):
    kind = forms.ChoiceField(label=_("Kind"), choices=WorkKind.choices)
    description = forms.CharField(label=_("Description"), max_length=200, required=False)
    quantity = forms.DecimalField(label=_("Quantity"), min_value=0, max_value=Decimal("999999999"), decimal_places=1)
    unit = forms.CharField(label=_("Unit"), max_length=8, required=False)
    cost = _money(_("Cost (10,000 yuan)"), required=True)


class WorkStatusForm(forms.Form):
    work = forms.IntegerField(widget=forms.HiddenInput, min_value=1)
    status = forms.ChoiceField(label=_("Status"), choices=WorkStatus.choices)
    on = _date(_("Finished on"), required=False)


class SpendingForm(forms.Form):
    spent = _money(_("Spent to date (10,000 yuan)"), required=True)
