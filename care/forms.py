"""Forms of the care pages: a visit, a group order (its items one per line), a household's
quantities. Choices are cut to what the user may see (core.scoping)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation

from django import forms
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from care import services
from care.choices import Need, OrderKind, VisitKind, Wellbeing
from care.services import MAX_ITEMS, MAX_QUANTITY, ItemSpec
from core.scoping import restrict
from gates.forms import DATETIME_FORMATS, LocalDateTimeInput
from gates.models import Closure
from geo.models import Building

DEFAULT_ORDER_HOURS = 12  # residents order until the evening; the supplier delivers the next day


class VisitForm(forms.Form):
    visited_at = forms.DateTimeField(
        label=gettext_lazy("Visited at"), input_formats=DATETIME_FORMATS, widget=LocalDateTimeInput()
    )
    kind = forms.ChoiceField(label=gettext_lazy("Kind of visit"), choices=VisitKind.choices, widget=forms.RadioSelect)
    wellbeing = forms.ChoiceField(
        label=gettext_lazy("How they were"), choices=Wellbeing.choices, widget=forms.RadioSelect
    )
    needs = forms.MultipleChoiceField(
        label=gettext_lazy("Needs"), choices=Need.choices, required=False, widget=forms.CheckboxSelectMultiple
    )
    note = forms.CharField(label=gettext_lazy("Note"), required=False, widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("initial", {"visited_at": timezone.localtime().replace(second=0, microsecond=0)})
        kwargs["initial"].setdefault("kind", VisitKind.HOME)
        super().__init__(*args, **kwargs)

    def clean_visited_at(self) -> dt.datetime:
        value = self.cleaned_data["visited_at"]
        if value > timezone.now() + dt.timedelta(minutes=5):
            raise forms.ValidationError(_("A visit cannot be in the future."))
        return value


def parse_items(text: str) -> list[ItemSpec]:
    """``name, unit, price`` one per line (Chinese commas too): what a worker types from the
    supplier's list. Raises ValidationError naming the first bad line."""
    items = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.replace("，", ",").strip()
        if not line:
            continue
        parts = [p.strip() for p in line.split(",")]
        if len(parts) != 3 or not parts[0]:
            raise forms.ValidationError(
                _("Line %(n)d: write name, unit, price (e.g. 大米, 5 kg bag, 35).") % {"n": number}
            )
        try:
            price = Decimal(parts[2].lstrip("¥"))
        except InvalidOperation:
            price = Decimal(-1)
        if not price.is_finite() or price < 0 or price >= Decimal("1000000"):
            raise forms.ValidationError(_("Line %(n)d: the price is not a number of yuan.") % {"n": number})
        items.append(ItemSpec(parts[0], parts[1], price.quantize(Decimal("0.01"))))
    if not items:
        raise forms.ValidationError(_("List at least one item."))
    if len(items) > MAX_ITEMS:
        raise forms.ValidationError(_("At most %(n)d items.") % {"n": MAX_ITEMS})
    return items


class GroupOrderForm(forms.Form):
    building = forms.CharField(
        label=gettext_lazy("Building code"),
        max_length=40,
        help_text=gettext_lazy("As on the building's page, e.g. 420102001001001-01-01"),
    )
    title = forms.CharField(label=gettext_lazy("Title"), max_length=120)
    kind = forms.ChoiceField(label=gettext_lazy("Kind"), choices=OrderKind.choices)
    supplier = forms.CharField(label=gettext_lazy("Supplier"), max_length=120, required=False)
    closes_at = forms.DateTimeField(
        label=gettext_lazy("Orders close at"), input_formats=DATETIME_FORMATS, widget=LocalDateTimeInput()
    )
    items = forms.CharField(
        label=gettext_lazy("Items"),
        widget=forms.Textarea(attrs={"rows": 6}),
        help_text=gettext_lazy("One per line: name, unit, price in yuan"),
    )

    def __init__(self, *args, user, **kwargs) -> None:
        closes_at = timezone.localtime().replace(second=0, microsecond=0) + dt.timedelta(hours=DEFAULT_ORDER_HOURS)
        kwargs.setdefault("initial", {"closes_at": closes_at})
        super().__init__(*args, **kwargs)
        self.user = user

    def clean_building(self) -> Building:
        code = self.cleaned_data["building"].strip()
        building = restrict(self.user, Building.objects.filter(code=code)).select_related("compound").first()
        if building is None:
            raise forms.ValidationError(_("No building with this code in your jurisdiction."))
        return building

    def clean_closes_at(self) -> dt.datetime:
        value = self.cleaned_data["closes_at"]
        if value <= timezone.now():
            raise forms.ValidationError(_("Orders must close in the future."))
        return value

    def clean_items(self) -> list[ItemSpec]:
        return parse_items(self.cleaned_data["items"])

    def closure(self) -> Closure | None:
        return services.closure_over(self.cleaned_data["building"])


def quantity_field(label: str) -> forms.IntegerField:
    return forms.IntegerField(
        label=label,
        min_value=0,
        max_value=MAX_QUANTITY,
        required=False,
        widget=forms.NumberInput(attrs={"inputmode": "numeric", "min": 0, "max": MAX_QUANTITY, "step": 1}),
    )


class QuantitiesForm(forms.Form):
    """One number per item of the order; empty counts as 0."""

    def __init__(self, *args, items, current: dict[int, int], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.items = list(items)
        for item in self.items:
            field = quantity_field(f"{item.name} · {item.unit} · ¥{item.unit_price}" if item.unit else item.name)
            field.initial = current.get(item.pk, 0)
            self.fields[f"item_{item.pk}"] = field

    def quantities(self) -> dict[int, int]:
        return {item.pk: self.cleaned_data.get(f"item_{item.pk}") or 0 for item in self.items}
