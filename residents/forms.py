"""Resident forms: sign-in, health and trip declarations (GB/T 38962 data items), appeal."""

from __future__ import annotations

from decimal import Decimal

from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from residents.services import SignInError, clean_phone

SYMPTOMS = [
    ("fever", pgettext_lazy("symptom", "Fever")),
    ("cough", _("Cough")),
    ("fatigue", _("Fatigue")),
    ("sore_throat", _("Sore throat")),
    ("loss_of_taste_or_smell", _("Loss of taste or smell")),
    ("shortness_of_breath", _("Shortness of breath")),
    ("diarrhoea", _("Diarrhoea")),
]

MODES = [
    ("", _("(not given)")),
    ("train", _("Train")),
    ("plane", _("Plane")),
    ("car", _("Car")),
    ("bus", _("Coach or bus")),
    ("ship", _("Ship")),
    ("other", _("Other")),
]


class PhoneForm(forms.Form):
    phone = forms.CharField(
        label=_("Mobile number"),
        max_length=20,
        widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "tel", "autofocus": True}),
    )

    def clean_phone(self) -> str:
        try:
            return clean_phone(self.cleaned_data["phone"])
        except SignInError as exc:
            raise forms.ValidationError(str(exc)) from exc


class CodeForm(forms.Form):
    code = forms.RegexField(
        label=_("Code from the SMS"),
        regex=r"^\s*\d{6}\s*$",
        error_messages={"invalid": _("The code is 6 digits.")},
        widget=forms.TextInput(
            attrs={"inputmode": "numeric", "autocomplete": "one-time-code", "maxlength": 6, "autofocus": True}
        ),
    )


class HealthDeclarationForm(forms.Form):
    temperature = forms.DecimalField(
        label=_("Temperature (°C)"),
        required=False,
        max_digits=4,
        decimal_places=1,
        min_value=Decimal("34.0"),
        max_value=Decimal("43.0"),
        help_text=_("Leave empty if you could not measure it."),
        widget=forms.NumberInput(attrs={"step": "0.1", "inputmode": "decimal"}),
    )
    symptoms = forms.MultipleChoiceField(
        label=_("Symptoms in the last 14 days"),
        required=False,
        choices=SYMPTOMS,
        widget=forms.CheckboxSelectMultiple,
    )
    conditions = forms.CharField(
        label=_("Underlying conditions"),
        required=False,
        max_length=200,
        help_text=_("For example: diabetes, high blood pressure, pregnancy."),
    )
    contact_with_case = forms.BooleanField(
        label=_("In the last 14 days I was in contact with a confirmed or suspected case"), required=False
    )


class TripDeclarationForm(forms.Form):
    arrived_at = forms.DateTimeField(
        label=_("Arrived at"),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S"],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )
    origin_area_code = forms.CharField(
        label=_("Came from (area code)"),
        max_length=12,
        help_text=_("The statistical division code of the county or street, e.g. 420106."),
        widget=forms.TextInput(attrs={"inputmode": "numeric"}),
    )
    origin_area_name = forms.CharField(label=_("Came from (place name)"), required=False, max_length=100)
    mode = forms.ChoiceField(label=_("Travelled by"), required=False, choices=MODES)


class AppealForm(forms.Form):
    statement = forms.CharField(
        label=_("Why is the colour wrong?"),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text=_("Say which reason is wrong and why; staff of your community will review it."),
    )
