"""The four-category panel on every drill-down page."""

from __future__ import annotations

from django.template.loader import render_to_string

from cases.choices import COLOURS, Category
from cases.selectors import category_counts


def category_panel(request, level: str, node) -> str:
    counts = category_counts(request.user, None if level == "city" else level, node.pk)
    rows = [(c.value, c.label, counts[c.value], COLOURS[c]) for c in Category]
    return render_to_string("cases/_panel.html", {"rows": rows, "level": level, "node": node}, request=request)
