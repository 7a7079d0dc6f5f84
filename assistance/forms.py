"""Forms of help requests: the resident's request and rating, staff taking a call, verifying,
placing and rejecting. Checks of content (length, photo, flood) are the services', so that the
portal, the API and Open311 refuse the same things in the same words."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from assistance.choices import HelpCategory
from assistance.models import MAX_TEXT_CHARS


class AskForm(forms.Form):
    category = forms.ChoiceField(label=_("What do you need?"), choices=HelpCategory.choices, widget=forms.RadioSelect)
    text = forms.CharField(
        label=_("Tell us more"),
        widget=forms.Textarea(attrs={"rows": 4, "maxlength": MAX_TEXT_CHARS}),
        help_text=_("What, how much, when; for an escort, which hospital."),
        required=False,  # the service says what is wrong with an empty text
    )
    photo = forms.FileField(
        label=_("Photo (optional)"),
        required=False,
        widget=forms.ClearableFileInput(attrs={"accept": "image/jpeg,image/png,image/webp", "capture": "environment"}),
        help_text=_("JPEG, PNG or WebP, up to 5 MB: a prescription, a medicine box, the problem."),
    )


class RateForm(forms.Form):
    stars = forms.TypedChoiceField(
        label=_("How was it?"), coerce=int, choices=[(n, "★" * n) for n in range(5, 0, -1)], widget=forms.RadioSelect
    )
    comment = forms.CharField(label=_("Comment (optional)"), max_length=300, required=False)


class TakeCallForm(forms.Form):
    """Staff write down a request made by phone or in person."""

    phone = forms.CharField(label=_("Caller's phone"), max_length=20)
    category = forms.ChoiceField(label=_("Category"), choices=HelpCategory.choices)
    text = forms.CharField(label=_("What is needed"), widget=forms.Textarea(attrs={"rows": 3}), required=False)
    contact_name = forms.CharField(label=_("Caller's name"), max_length=60, required=False)
    address = forms.CharField(label=_("Address"), max_length=200, required=False)


class ResolveForm(forms.Form):
    feedback = forms.CharField(label=_("What was done"), widget=forms.Textarea(attrs={"rows": 2}))


class VerifyForm(forms.Form):
    resident = forms.IntegerField(label=_("Resident"), widget=forms.HiddenInput)


class PlaceForm(forms.Form):
    compound_code = forms.CharField(label=_("Compound code"), max_length=32)


class RejectForm(forms.Form):
    reason = forms.CharField(label=_("Why not taken up"), max_length=300)
