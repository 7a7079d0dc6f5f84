"""Forms of the bed pages: a facility's own count report, a walk-in admission, a discharge."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from beds.models import Facility
from beds.services import BedError, check_counts
from cases.choices import Category, basis_label
from cases.services import staff_bases
from people.identity import normalise_id_number
from people.models import Resident


class CountsForm(forms.Form):
    """Approved, open and occupied beds as the facility counts them now; a report that does not add
    up is refused whole with the reason (beds.services.check_counts)."""

    beds_approved = forms.IntegerField(label=gettext_lazy("Beds approved"))
    beds_open = forms.IntegerField(label=gettext_lazy("Beds open"))
    beds_occupied = forms.IntegerField(label=gettext_lazy("Beds occupied"))
    note = forms.CharField(label=gettext_lazy("Note"), required=False, max_length=300)

    def clean(self) -> dict:
        data = super().clean()
        if not self.errors:
            try:
                check_counts(data["beds_approved"], data["beds_open"], data["beds_occupied"])
            except BedError as exc:
                raise forms.ValidationError(str(exc)) from exc
        return data


class WalkInForm(forms.Form):
    """A person arriving without a reserved bed, found by their full identity number. A person new
    to the register (or whose episode is closed) is put into the category on arrival: a decision
    with a legal basis and a note (issue #11), refused without them (cases.services.check_purpose)."""

    id_number = forms.CharField(label=gettext_lazy("Identity number"), max_length=18)
    category = forms.ChoiceField(label=gettext_lazy("Category"))
    basis = forms.ChoiceField(
        label=gettext_lazy("Legal basis (when the person is not in a category yet)"), required=False
    )
    case_id_number = forms.CharField(
        label=gettext_lazy("Identity number of the case (contact of a case)"), max_length=18, required=False
    )
    note = forms.CharField(label=gettext_lazy("Why (required with a basis)"), max_length=300, required=False)

    def __init__(self, *args, facility: Facility, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        labels = dict(Category.choices)
        self.fields["category"].choices = [(c, labels.get(c, c)) for c in facility.category_list]
        self.fields["basis"].choices = [("", "—")] + [
            (key, basis_label(key)) for key, categories in staff_bases().items() if categories
        ]

    def clean_id_number(self) -> Resident:
        number = normalise_id_number(self.cleaned_data["id_number"])
        person = Resident.objects.filter(id_number=number, merged_into__isnull=True).first()
        if person is None:
            raise forms.ValidationError(_("No resident has this identity number."))
        return person


class DischargeForm(forms.Form):
    released = forms.BooleanField(
        label=gettext_lazy("Released from observation (contacts) rather than discharged"), required=False
    )
