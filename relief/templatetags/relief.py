"""``{{ fen|yuan }}``: integer fen shown as ¥ with thousands separators."""

from django import template

from relief.models import yuan as _yuan

register = template.Library()


@register.filter
def yuan(fen) -> str:
    return _yuan(fen)
