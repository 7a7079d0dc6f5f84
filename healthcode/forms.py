"""Forms of the staff pages: deciding an appeal, and adding a risk area elsewhere."""

from __future__ import annotations

from collections.abc import Sequence

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from healthcode.choices import CATEGORY_RULES, AppealStatus
from healthcode.models import TravelRiskArea
from healthcode.services import reason_label

DATETIME_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d"]


class AppealDecisionForm(forms.Form):
    """Correct (withdraw ticked non-category reasons) or uphold; a note is always required.

    Every current reason is a valid choice so that a category reason sent anyway gets the real
    explanation (it changes only through the four-category register), not "invalid choice"."""

    decision = forms.ChoiceField(
        label=_("Decision"),
        choices=[
            (AppealStatus.CORRECTED, _("Correct: withdraw the reasons ticked")),
            (AppealStatus.UPHELD, _("Uphold the colour")),
        ],
        widget=forms.RadioSelect,
    )
    withdraw = forms.MultipleChoiceField(label=_("Reasons to withdraw"), required=False)
    note = forms.CharField(
        label=_("Reason for the decision"),
        max_length=300,
        widget=forms.Textarea(attrs={"rows": 3, "style": "width:100%"}),
    )

    def __init__(self, *args, current_rules: Sequence[str] = (), **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["withdraw"].choices = [(rule, reason_label(rule)) for rule in current_rules]

    def clean_withdraw(self) -> list[str]:
        chosen = self.cleaned_data.get("withdraw") or []
        refused = [rule for rule in chosen if rule in CATEGORY_RULES]
        if refused:
            raise forms.ValidationError(
                _(
                    "%(reasons)s cannot be withdrawn by an appeal: category reasons change only through the "
                    "four-category register."
                ),
                params={"reasons": "、".join(reason_label(rule) for rule in refused)},
                code="category",
            )
        return chosen

    def clean_note(self) -> str:
        note = self.cleaned_data.get("note", "").strip()
        if not note:
            raise forms.ValidationError(_("Give the reason for the decision."), code="required")
        return note

    def clean(self) -> dict:
        data = super().clean()
        decision, withdraw = data.get("decision"), data.get("withdraw")
        if decision == AppealStatus.CORRECTED and withdraw == []:
            self.add_error("withdraw", _("Tick the reasons to withdraw, or uphold the colour."))
        if decision == AppealStatus.UPHELD and withdraw:
            self.add_error("withdraw", _("An upheld colour withdraws nothing: untick the reasons, or correct."))
        return data


class TravelAreaForm(forms.ModelForm):
    """A medium- or high-risk area elsewhere, by statistical area-code prefix (2–12 digits)."""

    class Meta:
        model = TravelRiskArea
        fields = ["area_code", "name", "level", "valid_from", "valid_until", "source"]
        widgets = {
            "area_code": forms.TextInput(attrs={"inputmode": "numeric", "pattern": "[0-9]{2,12}", "size": 12}),
            "name": forms.TextInput(attrs={"style": "width:100%"}),
            "source": forms.TextInput(attrs={"style": "width:100%"}),
            "valid_from": forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
            "valid_until": forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        }

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        for name in ("valid_from", "valid_until"):
            self.fields[name].input_formats = DATETIME_FORMATS
        self.fields["valid_from"].initial = lambda: timezone.localtime().replace(second=0, microsecond=0)
        self.fields["area_code"].help_text = _("A 6-digit county code covers all its streets.")
        # issue #11: an area colours every arrival from it, so it names the notice it comes from
        self.fields["source"].required = True
        self.fields["source"].help_text = _("The published notice this area comes from.")
        self.fields["source"].error_messages["required"] = _(
            "Name the published notice this area comes from: it is why arrivals' codes change colour."
        )

    def clean_area_code(self) -> str:
        code = self.cleaned_data["area_code"].strip()
        if not code.isdigit() or not 2 <= len(code) <= 12:
            raise forms.ValidationError(_("The area code must be 2 to 12 digits (a statistical division code)."))
        return code

    def clean(self) -> dict:
        data = super().clean()
        start, end = data.get("valid_from"), data.get("valid_until")
        if start and end and end <= start:
            self.add_error("valid_until", _("The end must come after the start."))
        return data
