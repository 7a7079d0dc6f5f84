"""Extension point for pages of base apps: domain apps add panels to the drill-down pages without
the base apps importing them (arrows point toward core, geo and people, never back).

A panel is a function ``(request, level, node) -> str`` returning rendered HTML (or "")."""

from __future__ import annotations

from collections.abc import Callable

from django.utils.safestring import SafeString, mark_safe

NODE_PANELS: list[Callable] = []


def add_node_panel(panel: Callable) -> None:
    if panel not in NODE_PANELS:
        NODE_PANELS.append(panel)


def node_panels(request, level: str, node) -> list[SafeString]:
    return [mark_safe(html) for panel in NODE_PANELS if (html := panel(request, level, node))]  # noqa: S308


# The resident page (people) takes panels the same way: ``(request, person) -> str``. The page has
# already fetched the person through core.scoping and read-logged the view.
PERSON_PANELS: list[Callable] = []


def add_person_panel(panel: Callable) -> None:
    if panel not in PERSON_PANELS:
        PERSON_PANELS.append(panel)


def person_panels(request, person) -> list[SafeString]:
    return [mark_safe(html) for panel in PERSON_PANELS if (html := panel(request, person))]  # noqa: S308
