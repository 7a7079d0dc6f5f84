"""Transmission chains: cases and their contacts as a graph (who exposed whom, where), for a view
and for export (JSON, GraphML, CSV). A person who is a contact of one case and later a case
themselves is one node, so chains link up across containments."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from xml.sax.saxutils import quoteattr

from people.identity import mask_id_number
from tracing.models import Containment, Degree, TracedContact


@dataclass
class Node:
    key: str  # masked identity number: the graph never carries full numbers
    person_id: int | None
    name: str
    is_case: bool = False
    degree: int = 0  # 0 case, 1 close, 2 secondary (the closest it has been to a case)
    layer: int = 0
    x: float = 0.0
    y: float = 0.0


@dataclass
class Edge:
    source: str
    target: str
    degree: int
    kind: str
    where: str
    start: str


@dataclass
class Graph:
    nodes: dict[str, Node] = field(default_factory=dict)
    edges: list[Edge] = field(default_factory=list)

    def person_ids(self) -> list[int]:
        return [n.person_id for n in self.nodes.values() if n.person_id]


def chain_graph(containments, include_secondary: bool = True) -> Graph:
    """The graph of the given containments (a queryset), with a layered layout. Secondary contacts
    can be left out: a workplace case can have thousands, and the chains run through close ones."""
    graph = Graph()
    cases = list(containments.select_related("case"))
    for containment in cases:
        key = mask_id_number(containment.case.id_number) or f"#{containment.case_id}"
        graph.nodes[key] = Node(key, containment.case_id, containment.case.name, is_case=True, degree=0)
    contacts = TracedContact.objects.filter(containment__in=[c.pk for c in cases])
    if not include_secondary:
        contacts = contacts.filter(degree=Degree.CLOSE)
    contacts = contacts.select_related("person", "containment__case").order_by("degree", "first_exposure")
    for contact in contacts:
        key = mask_id_number(contact.id_number)
        node = graph.nodes.get(key)
        if node is None:
            name = contact.person.name if contact.person_id else ""
            node = graph.nodes[key] = Node(key, contact.person_id, name, degree=contact.degree)
        elif not node.is_case:
            node.degree = min(node.degree, contact.degree)
        case = contact.containment.case
        source = (
            mask_id_number(contact.via_id_number)
            if contact.degree == Degree.SECONDARY
            else (mask_id_number(case.id_number) or f"#{case.pk}")
        )
        first = contact.reasons[0] if contact.reasons else {}
        where = first.get("venue_name") or first.get("venue_code") or first.get("kind", "")
        graph.edges.append(Edge(source, key, contact.degree, first.get("kind", ""), where, first.get("start", "")))
    _layout(graph)
    return graph


def _layout(graph: Graph) -> None:
    """Roots (cases nobody exposed) on the left, each exposure one column further right."""
    incoming: dict[str, int] = dict.fromkeys(graph.nodes, 0)
    children: dict[str, list[str]] = {}
    for edge in graph.edges:
        incoming[edge.target] = incoming.get(edge.target, 0) + 1
        children.setdefault(edge.source, []).append(edge.target)
    roots = [k for k, n in graph.nodes.items() if n.is_case and incoming.get(k, 0) == 0] or [
        k for k, n in graph.nodes.items() if n.is_case
    ]
    layer = dict.fromkeys(roots, 0)
    frontier = list(roots)
    while frontier:
        nxt = []
        for key in frontier:
            for child in children.get(key, []):
                if child not in layer:
                    layer[child] = layer[key] + 1
                    nxt.append(child)
        frontier = nxt
    rows: dict[int, int] = {}
    for key, node in graph.nodes.items():
        node.layer = layer.get(key, 0)
        row = rows.get(node.layer, 0)
        rows[node.layer] = row + 1
        node.x, node.y = 80 + node.layer * 220, 30 + row * 34


def as_json(graph: Graph) -> dict:
    return {
        "nodes": [
            {"id": n.key, "name": n.name, "case": n.is_case, "degree": n.degree, "layer": n.layer}
            for n in graph.nodes.values()
        ],
        "edges": [e.__dict__ for e in graph.edges],
    }


def as_csv(graph: Graph) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["source", "target", "degree", "kind", "where", "start"])
    for e in graph.edges:
        writer.writerow([e.source, e.target, e.degree, e.kind, e.where, e.start])
    return out.getvalue()


def as_graphml(graph: Graph) -> str:
    """GraphML, readable by Gephi, Cytoscape and networkx."""
    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<graphml xmlns="http://graphml.graphdrawing.org/xmlns">',
        '<key id="name" for="node" attr.name="name" attr.type="string"/>',
        '<key id="case" for="node" attr.name="case" attr.type="boolean"/>',
        '<key id="degree" for="edge" attr.name="degree" attr.type="int"/>',
        '<key id="kind" for="edge" attr.name="kind" attr.type="string"/>',
        '<key id="where" for="edge" attr.name="where" attr.type="string"/>',
        '<key id="start" for="edge" attr.name="start" attr.type="string"/>',
        '<graph id="chains" edgedefault="directed">',
    ]
    for n in graph.nodes.values():
        lines.append(
            f'<node id={quoteattr(n.key)}><data key="name">{_text(n.name)}</data>'
            f'<data key="case">{"true" if n.is_case else "false"}</data></node>'
        )
    for i, e in enumerate(graph.edges):
        lines.append(
            f'<edge id="e{i}" source={quoteattr(e.source)} target={quoteattr(e.target)}>'
            f'<data key="degree">{e.degree}</data><data key="kind">{_text(e.kind)}</data>'
            f'<data key="where">{_text(e.where)}</data><data key="start">{_text(e.start)}</data></edge>'
        )
    lines += ["</graph>", "</graphml>"]
    return "\n".join(lines)


def _text(value: str) -> str:
    return quoteattr(value)[1:-1]


def containments_for_case_chain(containment: Containment):
    """This containment plus those of its contacts who became cases, and of the case's own source."""
    related_people = set(containment.contacts.filter(person__isnull=False).values_list("person_id", flat=True))
    sources = TracedContact.objects.filter(person_id=containment.case_id).values_list("containment_id", flat=True)
    return Containment.objects.filter(pk__in=[containment.pk, *sources]) | Containment.objects.filter(
        case_id__in=related_people
    )
