"""Forms of the staff pages: a gate for a compound, closed management, exit requests and decisions,
and a supply round. Choices are always cut to what the user may see (core.scoping)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django import forms
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.scoping import restrict
from gates.choices import ClosureRule, ExitPurpose
from gates.models import Closure, Gate
from geo.models import Building, Compound, Venue
from people.identity import is_valid_id_number, normalise_id_number
from people.models import Resident

DEFAULT_CLOSURE_DAYS = 14  # domain.md §7: closed management of at least 14 days
DEFAULT_EXIT_HOURS = 4  # a medical visit or a dialysis session, with the way there and back
DEFAULT_SUPPLY_ITEM = _("Vegetable package")  # domain.md §7: the daily ¥10 vegetable package
DEFAULT_SUPPLY_PRICE = Decimal("10")
DATETIME_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S"]
RESIDENT_LIST_LIMIT = 300  # a bigger compound is served by the ID-number field only


class LocalDateTimeInput(forms.DateTimeInput):
    """``datetime-local``: the phone's own picker, in the local time (Asia/Shanghai)."""

    input_type = "datetime-local"

    def __init__(self, attrs=None) -> None:
        super().__init__(attrs, format="%Y-%m-%dT%H:%M")


def _moment_field(label) -> forms.DateTimeField:
    return forms.DateTimeField(label=label, input_formats=DATETIME_FORMATS, widget=LocalDateTimeInput())


def _now_to_minute() -> dt.datetime:
    return timezone.localtime().replace(second=0, microsecond=0)


class BuildingChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Building) -> str:
        return f"{obj.name} ({obj.code})"


class GateForm(forms.Form):
    """A gate of a compound (or of one of its buildings); it becomes a tracing venue of kind gate."""

    code = forms.CharField(
        label=_("Gate code"),
        max_length=32,
        help_text=_("Unique in the city, e.g. the compound code and a letter; printed on the gate's QR code."),
    )
    name = forms.CharField(label=_("Name"), max_length=120, help_text=_("e.g. East gate"))
    building = BuildingChoiceField(
        label=_("Building (empty: a gate of the whole compound)"), queryset=Building.objects.none(), required=False
    )

    def __init__(self, *args, compound: Compound, user, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.compound = compound
        self.fields["building"].queryset = restrict(user, compound.buildings.order_by("code"))

    def clean_code(self) -> str:
        code = self.cleaned_data["code"].strip()
        if Gate.objects.filter(code=code).exists() or Venue.objects.filter(code=code).exists():
            raise forms.ValidationError(_("This code is already used by a gate or a venue."), code="taken")
        return code


class ClosureForm(forms.Form):
    """Closed management of a compound or one building (domain.md §7)."""

    building = BuildingChoiceField(
        label=_("Building (empty: the whole compound)"), queryset=Building.objects.none(), required=False
    )
    rule = forms.ChoiceField(label=_("Rule"), choices=ClosureRule.choices, initial=ClosureRule.IN_ONLY)
    starts_at = _moment_field(_("From"))
    ends_at = _moment_field(_("Until"))
    reason = forms.CharField(label=_("Reason"), max_length=300, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, compound: Compound, user, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.compound = compound
        self.fields["building"].queryset = restrict(user, compound.buildings.order_by("code"))
        if not self.is_bound:
            start = _now_to_minute()
            self.initial |= {"starts_at": start, "ends_at": start + dt.timedelta(days=DEFAULT_CLOSURE_DAYS)}

    def clean(self) -> dict:
        data = super().clean()
        start, end = data.get("starts_at"), data.get("ends_at")
        if start and end and end <= start:
            self.add_error("ends_at", _("The end must come after the start."))
        return data


class ResidentChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Resident) -> str:
        place = " ".join(p for p in (obj.building.name if obj.building_id else "", _room(obj)) if p)
        return f"{obj.masked_name} · {obj.masked_id_number}" + (f" · {place}" if place else "")


def _room(resident: Resident) -> str:
    household = resident.household
    if household is None:
        return ""
    return f"{household.unit}-{household.room}" if household.unit else household.room


def closure_residents(closure: Closure, user) -> QuerySet:
    """The residents a closure holds, as far as the user may see them."""
    qs = Resident.objects.filter(compound_id=closure.compound_id, merged_into__isnull=True)
    if closure.building_id:
        qs = qs.filter(building_id=closure.building_id)
    return restrict(user, qs)


class ExitRequestForm(forms.Form):
    """Leave for one resident of a closed compound to go out (a medical visit, dialysis, …)."""

    person = ResidentChoiceField(label=_("Resident"), queryset=Resident.objects.none(), required=False)
    id_number = forms.CharField(
        label=_("or identity number"),
        max_length=18,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    purpose = forms.ChoiceField(label=_("Purpose"), choices=ExitPurpose.choices)
    note = forms.CharField(
        label=_("Details"), max_length=300, required=False, help_text=_("e.g. the hospital and the appointment")
    )
    valid_from = _moment_field(_("Valid from"))
    valid_until = _moment_field(_("Valid until"))

    def __init__(self, *args, closure: Closure, user, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.closure = closure
        self.residents = closure_residents(closure, user)
        listed = self.residents.select_related("building", "household").order_by("building__code", "household_id", "id")
        self.listed = list(listed[: RESIDENT_LIST_LIMIT + 1])
        if len(self.listed) > RESIDENT_LIST_LIMIT:  # too many for a list: the identity number alone
            self.listed = []
            del self.fields["person"]
            self.fields["id_number"].label = _("Identity number")
            self.fields["id_number"].required = True
        else:
            self.fields["person"].queryset = listed
        if not self.is_bound:
            start = _now_to_minute()
            self.initial |= {"valid_from": start, "valid_until": start + dt.timedelta(hours=DEFAULT_EXIT_HOURS)}

    def clean(self) -> dict:
        data = super().clean()
        number = normalise_id_number(data.get("id_number"))
        person = data.get("person")
        if number:
            if not is_valid_id_number(number):
                self.add_error("id_number", _("This identity number fails its check digit."))
                return data
            found = self.residents.filter(id_number=number).first()
            if found is None:
                self.add_error("id_number", _("Nobody with this identity number lives in the closed area."))
                return data
            if person is not None and person.pk != found.pk:
                self.add_error("id_number", _("The identity number and the resident chosen differ."))
                return data
            data["person"] = found
        elif person is None:
            self.add_error("id_number" if "person" not in self.fields else "person", _("Choose the resident."))
        start, end = data.get("valid_from"), data.get("valid_until")
        if start and end and end <= start:
            self.add_error("valid_until", _("The end must come after the start."))
        return data


class ExitDecisionForm(forms.Form):
    decision = forms.ChoiceField(choices=[("approve", _("Approve")), ("refuse", _("Refuse"))])
    note = forms.CharField(label=_("Note"), max_length=300, required=False)


class SupplyRoundForm(forms.Form):
    """One day's supply for a building under closed management (domain.md §7)."""

    building = BuildingChoiceField(label=_("Building"), queryset=Building.objects.none())
    day = forms.DateField(label=_("Day"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    item = forms.CharField(label=_("Item"), max_length=120)
    unit_price = forms.DecimalField(
        label=_("Price per household (¥)"), max_digits=8, decimal_places=2, min_value=Decimal("0")
    )

    def __init__(self, *args, closure: Closure, user, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        buildings = Building.objects.filter(compound_id=closure.compound_id)
        if closure.building_id:
            buildings = buildings.filter(pk=closure.building_id)
        self.fields["building"].queryset = restrict(user, buildings.order_by("code"))
        if not self.is_bound:
            self.initial |= {
                "day": timezone.localdate(),
                "item": str(DEFAULT_SUPPLY_ITEM),
                "unit_price": DEFAULT_SUPPLY_PRICE,
            }
            if closure.building_id:
                self.initial["building"] = closure.building_id
