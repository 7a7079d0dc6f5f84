"""Forms of the reopening pages: they parse; reopening.services decides."""

from __future__ import annotations

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from reopening.choices import RateLevel, Sector, UnitKind, UnitStatus, Verdict


class DateInput(forms.DateInput):
    input_type = "date"


class UnitFilterForm(forms.Form):
    district = forms.ChoiceField(label=_("District"), required=False)
    kind = forms.ChoiceField(label=_("Kind"), required=False, choices=[("", _("All")), *UnitKind.choices])
    sector = forms.ChoiceField(label=_("Sector or stage"), required=False, choices=[("", _("All")), *Sector.choices])
    status = forms.ChoiceField(label=_("Status"), required=False, choices=[("", _("All")), *UnitStatus.choices])

    def __init__(self, *args, districts=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["district"].choices = [("", _("All")), *((str(d.pk), d.name) for d in districts)]


class PlanForm(forms.Form):
    planned_on = forms.DateField(label=_("Planned reopening date"), required=False, widget=DateInput)
    note = forms.CharField(label=_("Note"), required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 3}))


class EvidenceForm(forms.Form):
    item = forms.CharField(widget=forms.HiddenInput, max_length=32)
    file = forms.FileField(label=_("Photo or PDF"))


class VerdictForm(forms.Form):
    item = forms.CharField(widget=forms.HiddenInput, max_length=32)
    verdict = forms.ChoiceField(label=_("Verdict"), choices=Verdict.choices)
    reason = forms.CharField(label=_("Reason"), required=False, max_length=500)


class DecisionForm(forms.Form):
    decision = forms.ChoiceField(
        label=_("Decision"), choices=[("approve", _("Approve: the unit opens")), ("reject", _("Reject"))]
    )
    reason = forms.CharField(
        label=_("Reasons"), required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 3})
    )


class StaffReportForm(forms.Form):
    day = forms.DateField(label=_("Day"), widget=DateInput, initial=timezone.localdate)
    staff_back = forms.IntegerField(label=_("Staff back at work"))


class ContactForm(forms.Form):
    username = forms.CharField(label=_("Username of the contact"), max_length=150)


class ReviewDecisionForm(forms.Form):
    decision = forms.ChoiceField(
        label=_("Decision"), choices=[("suspend", _("Suspend the unit")), ("keep_open", _("Keep it open"))]
    )
    reason = forms.CharField(label=_("Reason"), max_length=2000, widget=forms.Textarea(attrs={"rows": 3}))


class RatesForm(forms.Form):
    level = forms.ChoiceField(
        label=_("By"),
        required=False,
        choices=[(v, lbl) for v, lbl in RateLevel.choices if v != RateLevel.CITY],
    )
    kind = forms.ChoiceField(label=_("Kind"), required=False, choices=[("", _("All")), *UnitKind.choices])
    day = forms.DateField(label=_("Day"), required=False, widget=DateInput)
