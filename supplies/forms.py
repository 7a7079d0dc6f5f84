"""Forms of the supply pages: a movement on one depot, a transfer to another, a reserve level.
Choices are cut to the depot's own list and to depots the user may see (core.scoping)."""

from __future__ import annotations

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy

from core.scoping import restrict
from gates.forms import DATETIME_FORMATS, LocalDateTimeInput
from supplies.choices import SINGLE_KINDS, MovementKind
from supplies.models import Depot, Item
from supplies.services import MAX_QUANTITY


def _at_field() -> forms.DateTimeField:
    return forms.DateTimeField(
        label=gettext_lazy("Date"), input_formats=DATETIME_FORMATS, widget=LocalDateTimeInput(), required=False
    )


class _ItemChoice(forms.ModelChoiceField):
    def label_from_instance(self, obj: Item) -> str:
        return f"{obj.name} ({obj.unit})"


class MovementForm(forms.Form):
    """A receipt, an issue, or a count (the quantity counted) on one of the depot's items."""

    kind = forms.ChoiceField(
        label=gettext_lazy("Kind"), choices=[(k.value, k.label) for k in SINGLE_KINDS], initial=MovementKind.RECEIPT
    )
    item = _ItemChoice(label=gettext_lazy("Item"), queryset=Item.objects.none())
    quantity = forms.IntegerField(
        label=gettext_lazy("Quantity (for a count: the quantity counted)"), min_value=0, max_value=MAX_QUANTITY
    )
    at = _at_field()
    reference = forms.CharField(label=gettext_lazy("Reference"), max_length=64, required=False)
    note = forms.CharField(label=gettext_lazy("Note"), max_length=300, required=False)

    def __init__(self, *args, depot: Depot, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["item"].queryset = Item.objects.filter(stocks__depot=depot).order_by("category", "code")
        self.fields["at"].initial = timezone.localtime().replace(second=0, microsecond=0)


class TransferForm(forms.Form):
    """Send one of the depot's items to another depot in the user's jurisdiction."""

    item = _ItemChoice(label=gettext_lazy("Item"), queryset=Item.objects.none())
    target = forms.ModelChoiceField(label=gettext_lazy("To depot"), queryset=Depot.objects.none())
    quantity = forms.IntegerField(label=gettext_lazy("Quantity"), min_value=1, max_value=MAX_QUANTITY)
    at = _at_field()
    reference = forms.CharField(label=gettext_lazy("Reference"), max_length=64, required=False)
    note = forms.CharField(label=gettext_lazy("Note"), max_length=300, required=False)

    def __init__(self, *args, depot: Depot, user, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["item"].queryset = Item.objects.filter(stocks__depot=depot).order_by("category", "code")
        self.fields["target"].queryset = (
            restrict(user, Depot.objects.filter(active=True)).exclude(pk=depot.pk).order_by("tier", "name")
        )


class LevelForm(forms.Form):
    """Put an item on the depot's reserve list, or change its minimum level."""

    item = _ItemChoice(label=gettext_lazy("Item"), queryset=Item.objects.order_by("category", "code"))
    minimum = forms.IntegerField(label=gettext_lazy("Minimum level"), min_value=0, max_value=MAX_QUANTITY)
