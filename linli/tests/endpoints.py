"""Every endpoint of Linli, listed from the URL configuration and the OpenAPI document (issue #11),
for the permission matrix in test_permission_matrix.py: nothing here is hand-listed, so a new page
or API operation is walked by the matrix the day it is added.

A page is one URL pattern of ``linli.urls`` (patterns resolved recursively); an API operation is one
method of one path of ``/api/openapi.json``. Both are filled with values for their path parameters
(an id, a code) by the caller; :func:`fill_page` and :func:`fill_api` check that the filled path
really resolves to the pattern it came from.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from functools import cache
from urllib.parse import urlencode

from django.urls import URLPattern, URLResolver, get_resolver, resolve
from django.urls.resolvers import RoutePattern

API_PREFIX = "/api"

# values for the named groups of the few regular-expression patterns (Open311's ``.json``, the
# admin's app list); anything else gets "1", and fill_page checks that the result resolves
REGEX_GROUP_VALUES = {"fmt": "json", "code": "medicine", "reference": "1", "url": "x"}


@dataclass(frozen=True)
class Page:
    """One URL pattern: ``route`` is its full template, e.g. ``people/residents/<int:pk>/``."""

    route: str
    name: str  # "namespace:name", or "" for unnamed patterns
    view: str  # dotted path of the view, for messages
    params: tuple[tuple[str, str], ...]  # (parameter, converter or "re")
    regex: bool
    callback: object = field(compare=False, repr=False, default=None)

    @property
    def id(self) -> str:
        return self.route or "<root>"


@dataclass(frozen=True)
class Operation:
    """One API operation: ``path`` is the OpenAPI template, e.g. ``/api/tasks/{task_id}``."""

    method: str
    path: str
    params: tuple[tuple[str, str], ...]  # (path parameter, JSON type)
    body_schema: dict | None
    public: bool  # the document says it needs no authentication
    query: tuple[tuple[str, object], ...] = ()  # required query parameters, with plausible values

    @property
    def id(self) -> str:
        return f"{self.method} {self.path}"

    @property
    def unsafe(self) -> bool:
        return self.method not in {"GET", "HEAD", "OPTIONS"}


_CONVERTER = re.compile(r"<(?:(?P<converter>[^>:]+):)?(?P<parameter>[^>]+)>")
_GROUP = re.compile(r"\(\?P<(?P<name>\w+)>(?P<body>[^()]*)\)")


def _walk(patterns, prefix: str, namespace: str, regex: bool):
    for pattern in patterns:
        is_regex = regex or not isinstance(pattern.pattern, RoutePattern)
        text = str(pattern.pattern)
        if is_regex and not isinstance(pattern.pattern, RoutePattern):
            text = text.removeprefix("^").removesuffix("$").removesuffix("\\Z")
        if isinstance(pattern, URLResolver):
            inner = ":".join(n for n in (namespace, pattern.namespace) if n)
            yield from _walk(pattern.url_patterns, prefix + text, inner, is_regex)
        elif isinstance(pattern, URLPattern):
            callback = pattern.callback
            view_class = getattr(callback, "view_class", None)
            view = view_class or callback
            dotted = f"{getattr(view, '__module__', '?')}.{getattr(view, '__qualname__', repr(view))}"
            name = f"{namespace}:{pattern.name}" if namespace and pattern.name else (pattern.name or "")
            route = prefix + text
            params = tuple((m["name"], "re") for m in _GROUP.finditer(route))
            plain = _GROUP.sub("", route)
            params += tuple((m["parameter"], m["converter"] or "str") for m in _CONVERTER.finditer(plain))
            yield Page(route=route, name=name, view=dotted, params=params, regex=is_regex, callback=callback)


@cache
def pages() -> tuple[Page, ...]:
    """Every URL pattern of the project, in the order Django tries them."""
    return tuple(_walk(get_resolver().url_patterns, "", "", False))


def fill_page(page: Page, values: dict[str, object] | None = None) -> str:
    """The page's URL with ``values`` (or a plausible default) for each parameter; it must resolve
    back to the same pattern (see :func:`shadowed_by`), or the defaults need teaching."""
    values = values or {}
    path = page.route
    if page.regex:
        for match in list(_GROUP.finditer(path)):
            name, body = match["name"], match["body"]
            literal = body.split("|")[0] if re.fullmatch(r"[\w.|-]+", body) else None
            value = values.get(name, literal or REGEX_GROUP_VALUES.get(name, "1"))
            path = path.replace(match.group(0), str(value), 1)
        path = path.replace("\\.", ".").replace("^", "").replace("$", "")
    for match in list(_CONVERTER.finditer(path)):
        converter, name = match["converter"] or "str", match["parameter"]
        default = 1 if converter == "int" else "x"
        path = path.replace(match.group(0), str(values.get(name, default)), 1)
    return "/" + path


def shadowed_by(page: Page, url: str) -> str | None:
    """The route that answers ``url`` instead of ``page``'s own pattern, or None when it is its own."""
    found = resolve(url)
    return None if found.func is page.callback else found.route


@cache
def openapi() -> dict:
    from linli.api import api

    return api.get_openapi_schema(path_prefix=API_PREFIX)


def _resolve_ref(schema: dict, document: dict) -> dict:
    while "$ref" in schema:
        target = document
        for part in schema["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        schema = target
    return schema


@cache
def operations() -> tuple[Operation, ...]:
    """Every operation of the API's OpenAPI document."""
    document = openapi()
    found = []
    for path, methods in document["paths"].items():
        for method, operation in methods.items():
            params = tuple(
                (p["name"], _resolve_ref(p.get("schema", {}), document).get("type", "string"))
                for p in operation.get("parameters", [])
                if p["in"] == "path"
            )
            query = tuple(
                (p["name"], example(p.get("schema", {}), document))
                for p in operation.get("parameters", [])
                if p["in"] == "query" and p.get("required")
            )
            body = None
            content = operation.get("requestBody", {}).get("content", {})
            if "application/json" in content:
                body = _resolve_ref(content["application/json"].get("schema", {}), document)
            elif "multipart/form-data" in content:
                schema = _resolve_ref(content["multipart/form-data"].get("schema", {}), document)
                body = {"x-multipart": True, **schema}
            elif content:
                body = {"x-unknown-content": sorted(content)}
            found.append(
                Operation(
                    method=method.upper(),
                    path=path,
                    params=params,
                    body_schema=body,
                    public=not operation.get("security"),
                    query=query,
                )
            )
    return tuple(found)


def fill_api(operation: Operation, values: dict[str, object] | None = None) -> str:
    values = values or {}
    path = operation.path
    for name, kind in operation.params:
        default = 1 if kind == "integer" else "x"
        path = path.replace("{" + name + "}", str(values.get(name, default)))
    if operation.query:
        path += "?" + urlencode({name: values.get(name, value) for name, value in operation.query})
    return path


def _png():
    """A small PNG upload: binary fields of a multipart body get one."""
    import io

    from django.core.files.uploadedfile import SimpleUploadedFile
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (8, 8), (10, 120, 60)).save(out, format="PNG")
    return SimpleUploadedFile("matrix.png", out.getvalue(), content_type="image/png")


def example(schema: dict, document: dict | None = None, depth: int = 0):
    """A small value valid for ``schema`` (required properties only), so that a request passes the
    API's validation and reaches the handler's own permission and scope checks."""
    document = document or openapi()
    schema = _resolve_ref(schema, document)
    if depth > 6:
        return None
    if "default" in schema:
        return schema["default"]
    if "enum" in schema:
        return schema["enum"][0]
    for combined in ("anyOf", "oneOf", "allOf"):
        if combined in schema:
            options = [s for s in schema[combined] if _resolve_ref(s, document).get("type") != "null"]
            return example(options[0] if options else schema[combined][0], document, depth + 1)
    kind = schema.get("type")
    if kind == "object" or "properties" in schema:
        required = schema.get("required", [])
        return {
            name: example(prop, document, depth + 1)
            for name, prop in schema.get("properties", {}).items()
            if name in required
        }
    if kind == "array":
        count = max(schema.get("minItems", 1), 1)
        return [example(schema.get("items", {}), document, depth + 1) for _ in range(count)]
    if kind == "integer":
        return max(schema.get("minimum", 1), 1)
    if kind == "number":
        return max(schema.get("minimum", 1.0), 1.0)
    if kind == "boolean":
        return False
    if kind == "string":
        fmt = schema.get("format")
        if fmt == "date":
            return dt.date.today().isoformat()  # noqa: DTZ011 - only a plausible value
        if fmt == "date-time":
            return "2030-01-01T08:00:00+08:00"
        if fmt == "binary":
            return _png()
        return "x" * max(schema.get("minLength", 1), 1)
    return None
