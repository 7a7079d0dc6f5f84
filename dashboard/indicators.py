"""The command centre's indicators (issue #10): what each figure means, how it adds up the grid,
and which section of the dashboard and the daily report shows it.

Every figure is a whole number for one area (city, district, street or community) and one day. A
``flow`` counts what happened on the day (new cases, tests taken); a ``stock`` is the state at the
refresh (people in a category now, open tasks). The daily report and the dashboard read the same
rows (dashboard.figures), so their numbers agree by construction; a test checks that they do.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _

from cases.choices import Category
from tasks.choices import TaskLevel

FLOW, STOCK = "flow", "stock"


@dataclass(frozen=True)
class Indicator:
    code: str
    label: str
    section: str
    kind: str  # FLOW or STOCK


SECTIONS = {
    "people": _("Population"),
    "categories": _("Four categories now"),
    "new": _("New today"),
    "cumulative": _("Cumulative"),
    "contacts": _("Contacts"),
    "containment": _("Containment"),
    "testing": _("Testing"),
    "help": _("Resident services"),
    "tasks": _("Tasks"),
    "sla": _("Overdue tasks by the level holding them"),
    "beds": _("Beds and transport"),
    "ewarn": _("Early warning"),
}

CATEGORY_LABELS = dict(Category.choices)


def _catalogue() -> list[Indicator]:
    items = [Indicator("residents", _("Residents"), "people", STOCK)]
    for value, label in Category.choices:
        items.append(Indicator(f"now_{value}", label, "categories", STOCK))
    for value, label in Category.choices:
        items.append(Indicator(f"new_{value}", label, "new", FLOW))
    for value, label in Category.choices:
        items.append(Indicator(f"cum_{value}", label, "cumulative", STOCK))
    items += [
        Indicator("contacts_traced", _("Contacts traced today"), "contacts", FLOW),
        Indicator("contacts_placed", _("Close contacts placed under observation"), "contacts", STOCK),
        Indicator("contacts_unplaced", _("Close contacts not yet placed"), "contacts", STOCK),
        Indicator("containments_open", _("Containments open"), "containment", STOCK),
        Indicator("containments_late", _("Containments past their 24 hours"), "containment", STOCK),
        Indicator("containments_done", _("Containments sealed today"), "containment", FLOW),
        Indicator("tests_sampled", _("Samples taken"), "testing", FLOW),
        Indicator("tests_positive", _("Positive samples"), "testing", FLOW),
        Indicator("coverage_target", _("People to test in the current campaign"), "testing", STOCK),
        Indicator("coverage_tested", _("Tested in the current campaign"), "testing", STOCK),
        Indicator("help_opened", _("Help requests received"), "help", FLOW),
        Indicator("help_done", _("Help requests handled"), "help", FLOW),
        Indicator("help_open", _("Help requests open"), "help", STOCK),
        Indicator("help_overdue", _("Help requests overdue"), "help", STOCK),
        Indicator("deliveries", _("Households delivered to"), "help", FLOW),
        Indicator("tasks_open", _("Tasks open"), "tasks", STOCK),
        Indicator("tasks_overdue", _("Tasks overdue"), "tasks", STOCK),
        Indicator("tasks_closed", _("Tasks closed today"), "tasks", FLOW),
        Indicator("tasks_closed_on_time", _("Tasks closed on time today"), "tasks", FLOW),
        *(Indicator(f"overdue_at_{value}", label, "sla", STOCK) for value, label in TaskLevel.choices),
        Indicator("beds_open", _("Beds open"), "beds", STOCK),
        Indicator("beds_occupied", _("Beds occupied"), "beds", STOCK),
        Indicator("beds_free", _("Beds free"), "beds", STOCK),
        Indicator("transfers_waiting", _("Waiting for transport"), "beds", STOCK),
        Indicator("transfers_moving", _("On their way"), "beds", STOCK),
        Indicator("alerts_open", _("Early-warning alerts to verify"), "ewarn", STOCK),
        Indicator("risk_level", _("Risk level (0 low, 1 medium, 2 high)"), "people", STOCK),
    ]
    return items


INDICATORS: dict[str, Indicator] = {i.code: i for i in _catalogue()}
# the highest of the areas below, not their sum
MAXIMA = frozenset({"risk_level"})
