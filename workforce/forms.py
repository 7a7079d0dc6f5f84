"""Forms of the workforce pages. The plan form offers only the streets and communities the user may
see (core.scoping); the forms parse, workforce.services acts."""

from __future__ import annotations

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy

from core.policy import policy
from core.scoping import restrict
from gates.forms import DATETIME_FORMATS, LocalDateTimeInput
from geo.models import Division
from workforce.choices import SupportWant
from workforce.services import MAX_HORIZON, PLAN_LEVELS


class DateInput(forms.DateInput):
    input_type = "date"


class _AreaChoice(forms.ModelChoiceField):
    def label_from_instance(self, obj: Division) -> str:
        return f"{obj.name} ({obj.get_level_display()})"


class ProposePlanForm(forms.Form):
    area = _AreaChoice(label=gettext_lazy("Street or community"), queryset=Division.objects.none())
    starts_on = forms.DateField(label=gettext_lazy("First day"), widget=DateInput())
    days = forms.IntegerField(label=gettext_lazy("Days"), min_value=1, max_value=MAX_HORIZON)

    def __init__(self, *args, user, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["area"].queryset = restrict(user, Division.objects.filter(level__in=PLAN_LEVELS)).order_by("code")
        self.fields["starts_on"].initial = timezone.localdate()
        self.fields["days"].initial = policy().rotation_horizon_days


class LeaveForm(forms.Form):
    starts_on = forms.DateField(label=gettext_lazy("First day"), widget=DateInput())
    ends_on = forms.DateField(label=gettext_lazy("Last day"), widget=DateInput())
    reason = forms.CharField(label=gettext_lazy("Reason"), max_length=120, required=False)


class SupportForm(forms.Form):
    want = forms.ChoiceField(
        label=gettext_lazy("What would help"), choices=SupportWant.choices, widget=forms.RadioSelect
    )
    note = forms.CharField(
        label=gettext_lazy("Anything you want the counsellor to know (optional)"),
        max_length=2000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
    )
    contact = forms.CharField(label=gettext_lazy("How to reach you (optional)"), max_length=60, required=False)


class ScheduleForm(forms.Form):
    at = forms.DateTimeField(label=gettext_lazy("Time"), input_formats=DATETIME_FORMATS, widget=LocalDateTimeInput())
