"""The epidemiologist's two decisions on an alert."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from ewarn.choices import DismissReason


class VerifyForm(forms.Form):
    note = forms.CharField(
        label=_("What was found"), required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 3})
    )
    investigate = forms.BooleanField(label=_("Open an investigation of the area"), required=False)


class DismissForm(forms.Form):
    reason = forms.ChoiceField(label=_("Why dismissed"), choices=DismissReason.choices, widget=forms.RadioSelect)
    note = forms.CharField(label=_("Note"), required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 3}))
