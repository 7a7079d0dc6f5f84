"""The permission matrix (issue #11): every page and every API operation, for four kinds of caller —
anonymous, signed in with no permission, staff inside the object's jurisdiction, staff of the same
role outside it (on every page and operation that names an object, and on every list) — plus the
Django admin for staff without model permissions.

Nothing is hand-listed: pages come from the URL configuration and operations from the OpenAPI
document (linli/tests/endpoints.py), so a new endpoint joins the matrix by existing. What must be
written by hand is short and reviewed here: the endpoints that are public on purpose, and for every
path parameter the kind of object it names (PARAMS) — an endpoint whose parameter is in neither
PARAMS nor EXEMPT fails test_every_id_bearing_endpoint_is_classified.

The objects are made once per module (linli/tests/matrix_world.py) inside a transaction rolled back
at the end; each test runs in a savepoint of it (pytest-django's ``db``), so a request that changes
something is undone before the next.
"""

from __future__ import annotations

import io
import json
import re
from dataclasses import dataclass

import pytest
from django.conf import settings
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.test import Client
from django.test.client import ClientHandler
from django.test.utils import override_settings
from django.urls import reverse

from core.models import ApiToken, ReadLog
from gates.models import GateCheckReject
from linli.tests import endpoints
from linli.tests.matrix_world import COMMUNITY_WORKER, DISTRICT, GRID_WORKER, INSIDE, Actor, World, build_world

# every test, the pure ones included: the module's world (below) is built in the test database, which
# pytest-django sets up only when a selected test asks for it
pytestmark = pytest.mark.django_db

# --- what is public, on purpose -------------------------------------------------------------------

# Pages anonymous visitors may reach, each view read for this list. Every other page must send them
# to a sign-in page (302 to /login/, /me/login/ or /admin/login/), or answer 401, 403 or 404, or
# refuse the method (405) — the sign-in steps, sign-outs and a help request's photo (a plain 404 to
# anyone it does not serve) do, so they need no line here.
PUBLIC_PAGES = {
    "healthz": "liveness for process managers: {'status': 'ok'}, touching nothing (core.health)",
    "readyz": "readiness for load balancers: each check's name, time and problem, no data (core.health)",
    "metrics": "Prometheus figures, only to LINLI_METRICS_ALLOW addresses (the test client's 127.0.0.1) "
    "or the LINLI_METRICS_TOKEN bearer; 404 to anyone else (core.metrics)",
    "login/": "the staff sign-in form",
    "admin/logout/": "the admin's sign-out: signs nobody out and sends to /admin/, which asks to sign in",
    "gate/sw.js": "the gate app's service worker: static script, no data (gates.views_app.service_worker)",
    "open311/v2/discovery\\.(?P<fmt>json|xml)": "Open311 discovery: endpoints and formats, public by the spec",
    "open311/v2/services\\.(?P<fmt>json|xml)": "Open311 service list (the help categories), public by the spec",
    "open311/v2/services/(?P<code>[a-z_]+)\\.(?P<fmt>json|xml)": "one Open311 service definition, public by "
    "the spec (requests themselves need an api_key: assistance.open311)",
    "me/login/": "residents' sign-in by phone (residents.views.login)",
    "me/logout/": "residents' sign-out page: GET asks, POST signs a resident session out",
    "i18n/setlang/": "Django's language switch: sets a cookie and redirects",
    "api/docs": "the API's browsable docs, from local static files (no data)",
    "api/openapi.json": "the OpenAPI document (no data)",
}
# API operations the OpenAPI document marks as needing no authentication.
PUBLIC_OPERATIONS = {
    "GET /api/healthcode/keys": "the public keys that verify health-code signatures offline (healthcode.api)",
}
# The device fast path (linli/fastpath.py) sits in front of Django for POST /api/healthcode/verify and
# /api/gates/checks; it serves only requests with a known bearer token and hands every other one to
# Django unchanged: test_fast_path_hands_unknown_callers_to_django checks that for each of its routes.

# What any signed-in member of staff may do without a role or permission, with why; the no-permission
# rows still check that these show nobody's data, change nothing and never fail.
ANY_STAFF = {
    "account/two-factor/": "their own second factor",
    "tasks/notifications/read/": "marks their own notifications read",
    "POST /api/tasks/notifications/read": "marks their own notifications read",
    "workforce/support/": "asks for confidential support for themselves (workforce.support): refused "
    "here with 400 because no counsellor is on duty",
    "POST /api/healthcode/verify": "a token carries no name and the keys are public: verifying one through "
    "the API tells a device no more than offline verification (README, Health codes)",
    "POST /api/gates/checks": "a batch: each record for a gate outside the caller's scope is refused in its "
    "own result (unknown_gate, out_of_scope) and kept as a refused record for review",
}

# In-scope requests that answer something other than success for a reason that is not scope (each
# reached the object: its scope check came first). "METHOD route" for pages, the operation id for the
# API, mapped to (the statuses, why).
IN_SCOPE_OTHERWISE = {
    "POST tasks/<int:pk>/act/": ({403}, "no move named: 'to' must be a move the table allows the user"),
    "GET campaigns/<slug:code>/untested/": ({404}, "needs ?grid=, ?compound= or ?building="),
    "POST campaigns/<slug:code>/untested/": ({404}, "needs ?grid=, ?compound= or ?building="),
    "GET sample/<str:code>/tube/": ({400}, "needs ?tube= (the sampler's scan)"),
    "POST sample/<str:code>/close/": ({404}, "no tube named in the body: nothing to close"),
    "POST /api/relief/applications/{application_id}/decisions": ({403}, "only the shortlisted bank's officers decide"),
    "POST /api/workforce/support/{request_id}/accept": ({403}, "only the assigned counsellor accepts"),
    "POST /api/workforce/support/{request_id}/schedule": ({403}, "only the assigned counsellor schedules"),
}

# --- what each path parameter names ---------------------------------------------------------------

# Who may read each kind of object inside 江岸 — the matrix asks as this actor in 江岸 (expects 200)
# and as the same actor in 武昌 (expects 404, or 403).
OBJECTS: dict[str, Actor] = {
    "division": COMMUNITY_WORKER,
    "compound": COMMUNITY_WORKER,
    "building": COMMUNITY_WORKER,
    "resident": COMMUNITY_WORKER,
    "identified": COMMUNITY_WORKER,
    "conflict": COMMUNITY_WORKER,
    "follow_up": COMMUNITY_WORKER,
    "link_candidate": COMMUNITY_WORKER,  # people.merge_persons
    "merge": COMMUNITY_WORKER,
    "task": COMMUNITY_WORKER,
    "containment": COMMUNITY_WORKER,  # tracing.change_containment
    "risk_area": DISTRICT,  # risk.set_risk_level
    "appeal": COMMUNITY_WORKER,  # healthcode.decide_appeal
    "gate": COMMUNITY_WORKER,  # gates.manage_closure
    "closure": COMMUNITY_WORKER,
    "exit_approval": COMMUNITY_WORKER,
    "supply_round": COMMUNITY_WORKER,
    "campaign": DISTRICT,  # campaigns.run_campaign, and the whole of the (district's) campaign area
    # samplers: run_campaign lets organisers sample anywhere (campaigns.views_site.may_sample_at),
    # so the site and tube rows ask as grid workers, whom only their jurisdiction lets in
    "site": GRID_WORKER,
    "tube": GRID_WORKER,
    "help_request": COMMUNITY_WORKER,  # assistance.take_help_request
    "group_order": COMMUNITY_WORKER,  # care.manage_care
    "facility": DISTRICT,  # beds.report_beds, beds.admit_patients
    "stay": DISTRICT,
    "depot": COMMUNITY_WORKER,  # supplies.manage_supplies
    "stock": COMMUNITY_WORKER,
    "vehicle": DISTRICT,  # dispatch.run_dispatch
    "transfer": DISTRICT,
    "alert": Actor("district", "district", ("ewarn.verify_alert",)),  # only whole-city roles carry it
    "unit": Actor("district", "district", ("reopening.apply_reopening",)),
    "reopening_application": Actor("district", "district", ("reopening.apply_reopening",)),
    "evidence": Actor("district", "district", ("reopening.apply_reopening",)),
    "unit_review": Actor("district", "district", ("reopening.apply_reopening",)),
    "relief_application": DISTRICT,  # relief.review_application
    "flag": DISTRICT,
    "worker": COMMUNITY_WORKER,  # workforce.view_roster, plan_rotation
    "rotation_plan": COMMUNITY_WORKER,
    # confidential: its requester (the 江岸 community worker) may open it; nobody's jurisdiction does
    "support_request": COMMUNITY_WORKER,
    "project": DISTRICT,  # renovation.manage_renovation
    "consultation": DISTRICT,
    "work": DISTRICT,
    # imports are their uploader's (the 江岸 community worker's) and the whole city's staff's
    "import_batch": COMMUNITY_WORKER,
    "import_rejection": COMMUNITY_WORKER,
}


# Objects that are a person's record: showing one to staff writes the read log (README, Web and API).
PERSON_RECORDS = {"resident", "identified", "appeal", "help_request", "task", "containment"}


@dataclass(frozen=True)
class Value:
    """A path parameter that names no object: a fixed value that makes the path real."""

    value: str


# (path prefix, parameter) → the object (a key of OBJECTS) or a Value. The longest matching prefix
# wins; page routes have no leading slash, API paths start with /api/.
PARAMS: dict[tuple[str, str], str | Value] = {
    ("geo/divisions/", "pk"): "division",
    ("geo/compounds/", "pk"): "compound",
    ("geo/buildings/", "pk"): "building",
    ("people/residents/", "pk"): "resident",
    ("people/ledgers/", "group"): Value("chronic"),  # a key group's ledger: a list (test_lists)
    ("people/review/", "pk"): "link_candidate",
    ("people/merges/", "pk"): "merge",
    ("cases/people/", "pk"): "identified",
    ("cases/conflicts/", "pk"): "conflict",
    ("cases/follow-ups/", "pk"): "follow_up",
    ("tasks/", "pk"): "task",
    ("tracing/", "pk"): "containment",
    ("risk/", "pk"): "risk_area",
    ("healthcode/appeals/", "pk"): "appeal",
    ("gates/", "pk"): "gate",
    ("gates/closures/", "pk"): "closure",
    ("gates/exit-approvals/", "pk"): "exit_approval",
    ("gates/supply-rounds/", "pk"): "supply_round",
    ("gate/", "code"): "gate",
    ("campaigns/", "code"): "campaign",
    ("campaigns/", "tube_code"): "tube",
    ("campaigns/", "grid_id"): "division",
    ("sample/", "code"): "site",
    ("help/", "pk"): "help_request",
    ("care/visits/new/", "resident_id"): "resident",
    ("care/orders/", "pk"): "group_order",
    ("beds/facilities/", "code"): "facility",
    ("beds/stays/", "pk"): "stay",
    ("supplies/depots/", "pk"): "depot",
    ("supplies/stocks/", "pk"): "stock",
    ("dispatch/vehicles/", "code"): "vehicle",
    ("dispatch/transfers/", "pk"): "transfer",
    ("dispatch/transfers/", "move"): Value("picked-up"),
    ("ewarn/alerts/", "pk"): "alert",
    ("reopening/units/", "pk"): "unit",
    ("reopening/applications/", "pk"): "reopening_application",
    ("reopening/evidence/", "pk"): "evidence",
    ("reopening/reviews/", "pk"): "unit_review",
    ("relief/applications/", "pk"): "relief_application",
    ("workforce/workers/", "pk"): "worker",
    ("workforce/plans/", "pk"): "rotation_plan",
    ("workforce/support/", "pk"): "support_request",
    ("renovation/projects/", "pk"): "project",
    ("renovation/consultations/", "pk"): "consultation",
    ("open311/v2/requests/", "reference"): "help_request",
    ("open311/v2/", "fmt"): Value("json"),
    ("open311/v2/services/", "code"): Value("medicine"),
    ("imports/", "pk"): "import_batch",
    ("imports/rejects/", "pk"): "import_rejection",
    ("/api/imports/", "kind"): Value("residents"),
    ("/api/imports/", "batch_id"): "import_batch",
    ("/api/imports/rejects/", "reject_id"): "import_rejection",
    ("/api/geo/divisions/", "division_id"): "division",
    ("/api/geo/compounds/", "compound_id"): "compound",
    ("/api/geo/buildings/", "building_id"): "building",
    ("/api/people/residents/", "resident_id"): "resident",
    ("/api/people/ledgers/", "group"): Value("chronic"),
    ("/api/tasks/", "task_id"): "task",
    ("/api/risk/areas/", "area_id"): "risk_area",
    ("/api/tracing/containments/", "containment_id"): "containment",
    ("/api/healthcode/people/", "person_id"): "resident",
    ("/api/gates/", "code"): "gate",
    ("/api/campaigns/sites/", "code"): "site",
    ("/api/campaigns/tubes/", "code"): "tube",
    ("/api/campaigns/", "campaign_code"): "campaign",
    ("/api/help/requests/", "request_id"): "help_request",
    ("/api/care/orders/", "order_id"): "group_order",
    ("/api/beds/facilities/", "code"): "facility",
    ("/api/beds/stays/", "pk"): "stay",
    ("/api/supplies/depots/", "depot_id"): "depot",
    ("/api/dispatch/transfers/", "transfer_id"): "transfer",
    ("/api/ewarn/alerts/", "alert_id"): "alert",
    ("/api/reopening/units/", "unit_id"): "unit",
    ("/api/reopening/applications/", "application_id"): "reopening_application",
    ("/api/reopening/applications/", "item"): Value("business_licence"),
    ("/api/reopening/reviews/", "review_id"): "unit_review",
    ("/api/relief/applications/", "application_id"): "relief_application",
    ("/api/relief/flags/", "flag_id"): "flag",
    ("/api/workforce/workers/", "worker_id"): "worker",
    ("/api/workforce/plans/", "plan_id"): "rotation_plan",
    ("/api/workforce/support/", "request_id"): "support_request",
    ("/api/renovation/projects/", "project_id"): "project",
    ("/api/renovation/works/", "work_id"): "work",
}
# the attribute of the object a parameter carries (the primary key otherwise)
PARAM_ATTRIBUTE = {"code": "code", "tube_code": "code", "campaign_code": "code", "reference": "reference"}

# Endpoints with a path parameter that the in/out-of-scope rows leave out, each with its reason.
# They still get the anonymous and no-permission rows.
EXEMPT = {
    "healthcode/travel-areas/<int:pk>/end/": "risk areas elsewhere in the country (the national list): "
    "city-wide, placed nowhere in the city, behind healthcode's area permission",
    "GET /api/dispatch/plans/{plan_id}/": "a plan is one city-wide record of figures; its routes are "
    "filtered to the reader's vehicles (dispatch.views.plan_for)",
    "me/help/<int:pk>/": "residents' own pages: a resident session, not staff scope "
    "(assistance/tests/test_pages.py checks another resident gets 404)",
    "me/help/<int:pk>/rate/": "residents' own pages (as above)",
    "me/help/<int:pk>/withdraw/": "residents' own pages (as above)",
    "me/care/orders/<int:pk>/": "residents' own pages: the orders of the resident's building "
    "(care/tests/test_orders.py checks another building's resident gets 403)",
    "POST /api/imports/{kind}": "names an import kind; an upload is checked row by row against the "
    "importer's jurisdiction (core/tests/test_import_jurisdiction.py)",
    "POST /api/imports/{kind}/records": "names an import kind (as the upload)",
}

ADMIN_PREFIX = "admin/"


def _is_operation_route(page: endpoints.Page) -> bool:
    """django-ninja's operation views (the OpenAPI walk covers them), not its docs and schema."""
    return page.route.startswith("api/") and "PathView" in page.view


PAGES = [p for p in endpoints.pages() if not _is_operation_route(p)]
SITE_PAGES = [p for p in PAGES if not p.route.startswith(ADMIN_PREFIX)]
OPERATIONS = list(endpoints.operations())
SAFE = {"GET", "HEAD", "OPTIONS"}
REFUSALS = {401, 403, 404, 405}
LOGIN_PAGES = ("/login/", "/me/login/", "/admin/login/")


def _lookup(path: str, param: str) -> str | Value | None:
    matches = [(prefix, key) for (prefix, name), key in PARAMS.items() if name == param and path.startswith(prefix)]
    return max(matches, key=lambda m: len(m[0]))[1] if matches else None


def _page_params(page: endpoints.Page) -> dict[str, str | Value | None]:
    return {name: _lookup(page.route, name) for name, _ in page.params}


def _operation_params(operation: endpoints.Operation) -> dict[str, str | Value | None]:
    return {name: _lookup(operation.path, name) for name, _ in operation.params}


def _values(world: World, params: dict[str, str | Value | None]) -> dict[str, object]:
    values = {}
    for name, key in params.items():
        if isinstance(key, Value):
            values[name] = key.value
        elif key is not None and key not in world.errors:
            values[name] = getattr(world.objects[key], PARAM_ATTRIBUTE.get(name, "pk"))
    return values


def _object_key(params: dict[str, str | Value | None]) -> str | None:
    keys = [k for k in params.values() if isinstance(k, str)]
    return keys[0] if keys else None


# --- the world, once per module -----------------------------------------------------------------


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker, tmp_path_factory):
    """The small city and one object of each kind, with their actors and API tokens, kept for the
    module in a transaction rolled back at its end."""
    root = tmp_path_factory.mktemp("matrix")
    overrides = override_settings(MEDIA_ROOT=root / "media", LINLI_PRESENCE_DIR=root / "presence")
    overrides.enable()
    with django_db_blocker.unblock():
        atomic = transaction.atomic()
        atomic.__enter__()
        try:
            built = build_world()
            for actor in set(OBJECTS.values()):
                for side in ("in", "out"):
                    built.actor(actor, side)
            built.nobody()
            for key, user in built.users.items():
                built.tokens[key] = ApiToken.issue(user, "matrix")[1]
                signed_in = _client()
                signed_in.force_login(user)
                built.sessions[user.pk] = signed_in.cookies[settings.SESSION_COOKIE_NAME].value
            built.markers = personal_markers()
            built.inside_markers = personal_markers(INSIDE)
            yield built
        finally:
            transaction.set_rollback(True)
            atomic.__exit__(None, None, None)
            overrides.disable()


@pytest.fixture(autouse=True)
def presence_store(world):
    """This module's world keeps its own presence store (the root conftest gives each test a new,
    empty one, which the containment made at module set-up is not in)."""
    return settings.LINLI_PRESENCE_DIR


_HANDLER = ClientHandler(enforce_csrf_checks=False)


def _client(**defaults) -> Client:
    """A test client on one shared request handler: each new handler loads the middleware again,
    WhiteNoise's scan of every static file included, which would double the module's run time."""
    client = Client(**defaults)
    client.handler = _HANDLER
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


def _page_client(user=None, world: World | None = None) -> Client:
    """Signed in as ``user``: with the session the world made for them (kept by the module's
    transaction, so a test that signs out gets it back for the next), or a new one."""
    client = _client()
    if user is not None and world is not None and user.pk in world.sessions:
        client.cookies[settings.SESSION_COOKIE_NAME] = world.sessions[user.pk]
    elif user is not None:
        client.force_login(user)
    return client


def _api_client(token: str | None = None) -> Client:
    return _client(HTTP_AUTHORIZATION=f"Bearer {token}") if token else _client()


class Multipart(dict):
    """Form fields and files, sent as multipart/form-data."""


def _call(client: Client, method: str, url: str, body=None):
    if method == "GET":
        return client.get(url)
    if isinstance(body, Multipart):
        assert method == "POST", "the test client sends multipart bodies by POST only"
        return client.post(url, dict(body))
    data = json.dumps(body) if body is not None else ""
    return client.generic(method, url, data, content_type="application/json")


# Body fields that name an object get the world's 江岸 one (out of scope too: naming a 江岸 object in
# the body must not get a 武昌 caller in either).
BODY_FIELDS = {
    "resident_id": lambda w: w.get("resident").pk,
    "person_id": lambda w: w.get("resident").pk,
    "household_id": lambda w: w.get("resident").household_id,
    "building_id": lambda w: w.get("resident").building_id,
    "depot_id": lambda w: w.get("depot").pk,
}


def _body(operation: endpoints.Operation, world: World | None = None):
    """A body that passes the operation's validation, so its own checks decide the answer."""
    schema = operation.body_schema
    if schema is None:
        return None
    assert "x-unknown-content" not in schema, f"{operation.id}: teach _body {schema['x-unknown-content']}"
    if schema.get("x-multipart"):
        return Multipart(endpoints.example({k: v for k, v in schema.items() if k != "x-multipart"}))
    body = endpoints.example(schema)
    if world is not None and isinstance(body, dict):
        body.update({name: value(world) for name, value in BODY_FIELDS.items() if name in body})
    return body


def _redirects_to_login(response) -> bool:
    return response.status_code == 302 and response["Location"].split("?")[0] in LOGIN_PAGES


# --- what "no data" and "no change" mean --------------------------------------------------------

UNWATCHED_TABLES = {
    ReadLog._meta.db_table,  # reads are logged even when a list comes back empty
    GateCheckReject._meta.db_table,  # refused gate records are kept for review (gates.services.record_checks)
    "django_session",  # signing the test client in
    ApiToken._meta.db_table,  # last_used_at
}


def fingerprint() -> list[tuple]:
    """Row count and highest id of every table (one query): any insert or delete shows, and updates
    of change-logged models show through core.ChangeLog."""
    from django.apps import apps

    parts = []
    for model in apps.get_models(include_auto_created=True):
        table = model._meta.db_table
        if model._meta.proxy or not model._meta.managed or table in UNWATCHED_TABLES:
            continue
        pk = connection.ops.quote_name(model._meta.pk.column)
        parts.append(f"SELECT '{table}', COUNT(*), CAST(MAX({pk}) AS TEXT) FROM {connection.ops.quote_name(table)}")
    with connection.cursor() as cursor:
        cursor.execute(" UNION ALL ".join(parts))
        return sorted(cursor.fetchall())


def personal_markers(district: str | None = None) -> list[str]:
    """What would show that a response carries someone's personal data: the residents' names, identity
    numbers and phones, in full and masked as pages show them (the masked name, 居***1, is left out:
    too many people share one). ``district``: only its residents, minus any masked form another
    resident shares."""
    from people.models import Resident

    def forms(person) -> set[str]:
        found = {person.name, person.id_number, person.masked_id_number}
        if person.phone:
            found |= {person.phone, person.masked_phone}
        return found

    people = list(Resident.objects.select_related("district"))
    mine = [p for p in people if district is None or (p.district and p.district.code == f"{district}000000")]
    others = set().union(*(forms(p) for p in people if p not in mine)) if district else set()
    return sorted(set().union(*(forms(p) for p in mine)) - others)


def _text(response) -> str:
    content = b"".join(response.streaming_content) if response.streaming else response.content
    if response.get("Content-Type", "").startswith("application/json"):
        try:
            return json.dumps(json.loads(content), ensure_ascii=False)
        except ValueError:
            pass
    return content.decode("utf-8", "replace")


def _leaks(response, markers: list[str]) -> list[str]:
    if response.status_code != 200:
        return []
    text = _text(response)
    return [m for m in markers if m and m in text]


# --- 1. anonymous -------------------------------------------------------------------------------


def _anonymous_cases():
    """Site pages by GET and POST; the admin's generated pages by GET (its one sign-in check
    answers both)."""
    for page in PAGES:
        for method in ("GET",) if page.route.startswith(ADMIN_PREFIX) else ("GET", "POST"):
            yield pytest.param(page, method, id=f"{method} {page.id}")


@pytest.mark.parametrize(("page", "method"), list(_anonymous_cases()))
def test_anonymous_page(db, page, method):
    url = endpoints.fill_page(page)
    if endpoints.shadowed_by(page, url):
        pytest.skip(f"{url} is answered by {endpoints.shadowed_by(page, url)} (see test_no_page_is_shadowed)")
    response = _call(_page_client(), method, url)
    assert response.status_code < 500, response
    if page.route in PUBLIC_PAGES:
        return
    assert _redirects_to_login(response) or response.status_code in REFUSALS, (
        f"{method} {url} answered {response.status_code} {response.get('Location', '')} to an anonymous visitor"
    )


@pytest.mark.parametrize("operation", OPERATIONS, ids=lambda o: o.id)
def test_anonymous_api(db, operation):
    url = endpoints.fill_api(operation)
    response = _call(_api_client(), operation.method, url, _body(operation))
    assert response.status_code < 500, response
    if operation.id in PUBLIC_OPERATIONS:
        assert operation.public, f"{operation.id} is listed public but the document asks for authentication"
        return
    assert not operation.public, f"{operation.id} needs no authentication and is not in PUBLIC_OPERATIONS"
    assert response.status_code != 405, f"{operation.id}: {url} is answered by another pattern without this method"
    assert response.status_code in (401, 403), f"{operation.id} answered {response.status_code} to anonymous"


def test_public_lists_name_real_endpoints():
    routes = {p.route for p in PAGES}
    assert set(PUBLIC_PAGES) <= routes, set(PUBLIC_PAGES) - routes
    operation_ids = {o.id for o in OPERATIONS}
    assert set(PUBLIC_OPERATIONS) <= operation_ids, set(PUBLIC_OPERATIONS) - operation_ids


def test_no_page_is_shadowed():
    """A pattern answered by an earlier one is dead code; the one known case is deliberate."""
    deliberate = {"admin/login/": "the project's RedirectView to the two-step sign-in comes first"}
    shadowed = {
        p.route for p in PAGES if endpoints.shadowed_by(p, endpoints.fill_page(p)) and p.route not in deliberate
    }
    assert not shadowed, shadowed


def test_every_api_route_is_documented():
    """Every django-ninja operation route is in the OpenAPI document, so the walk above sees it."""
    documented = {o.path for o in OPERATIONS}
    routes = {"/" + re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", p.route) for p in endpoints.pages() if _is_operation_route(p)}
    assert routes <= documented, routes - documented


def _fast_path_call(path: str, token: str | None) -> str:
    from django.core.signals import request_finished, request_started
    from django.core.wsgi import get_wsgi_application
    from django.db import close_old_connections

    from linli.fastpath import FastPath

    raw = b'{"token": "x", "checks": []}'
    environ = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": path,
        "SERVER_NAME": "testserver",
        "SERVER_PORT": "80",
        "HTTP_HOST": "testserver",
        "CONTENT_TYPE": "application/json",
        "CONTENT_LENGTH": str(len(raw)),
        "wsgi.input": io.BytesIO(raw),
        "wsgi.url_scheme": "http",
        "REMOTE_ADDR": "10.1.2.3",
        "wsgi.errors": io.StringIO(),
    }
    if token:
        environ["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    status = {}
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        b"".join(FastPath(get_wsgi_application())(environ, lambda s, h: status.setdefault("status", s)))
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)
    return status["status"]


def _fast_routes():
    from linli.fastpath import ROUTES

    return sorted(ROUTES)


@pytest.mark.parametrize("token", [None, "not-a-token"], ids=["no-token", "unknown-token"])
@pytest.mark.parametrize(("method", "path"), _fast_routes(), ids=lambda v: v)
def test_fast_path_hands_unknown_callers_to_django(db, method, path, token):
    assert _fast_path_call(path, token)[:3] in ("401", "403")  # 403: Django's CSRF check of a cookie-less call


# --- 2. signed in, no permission ----------------------------------------------------------------


def _nobody_cases():
    for page in SITE_PAGES:
        for method in ("GET", "POST"):
            yield pytest.param("page", page, method, id=f"{method} {page.id}")
    for operation in OPERATIONS:
        yield pytest.param("api", operation, operation.method, id=operation.id)


@pytest.mark.parametrize(("kind", "endpoint", "method"), list(_nobody_cases()))
def test_no_permission(world, db, kind, endpoint, method):
    """Signed in, no role, no jurisdiction: refused, or an empty answer — never anyone's personal
    data, never a change, never a server error."""
    user = world.nobody()
    if kind == "page":
        params = _page_params(endpoint)
        url = endpoints.fill_page(endpoint, _values(world, params))
        if endpoints.shadowed_by(endpoint, url):
            pytest.skip("shadowed (test_no_page_is_shadowed)")
        client, body, name = _page_client(user, world), None, endpoint.route
    else:
        params = _operation_params(endpoint)
        url = endpoints.fill_api(endpoint, _values(world, params))
        client, body, name = _api_client(world.tokens["nobody"]), _body(endpoint, world), endpoint.id
    unsafe = method not in SAFE
    before = fingerprint() if unsafe else None
    response = _call(client, method, url, body)
    assert response.status_code < 500, response
    assert not _leaks(response, world.markers), f"{method} {url} shows personal data"
    assert not ReadLog.objects.filter(user=user).exists(), f"{method} {url} logged reads of people"
    if unsafe:
        assert fingerprint() == before, f"{method} {url} changed the database for a user without permission"
    if name in ANY_STAFF or (kind == "page" and name in PUBLIC_PAGES):
        return
    if unsafe:
        # a page that ignores the method of a POST (a read-only list) answers as for a GET: what
        # matters there is that it shows nobody and changes nothing, checked above
        allowed = REFUSALS | {422} | ({400} if kind == "api" else {200})
        assert response.status_code in allowed or _redirects_to_login(response), (
            f"{method} {url} answered {response.status_code} to a user without permission"
        )
    else:
        assert response.status_code in REFUSALS | {200} or _redirects_to_login(response), (
            f"{method} {url} answered {response.status_code}"
        )


# --- 3. in scope and out of scope ---------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    kind: str  # "page" or "api"
    endpoint: object
    params: tuple

    @property
    def key(self) -> str:
        return _object_key(dict(self.params))


def _classified(name: str, params: dict) -> bool:
    return name in EXEMPT or (params and all(v is not None for v in params.values()))


def _scope_cases():
    for page in SITE_PAGES:
        params = _page_params(page)
        if not params or page.route in EXEMPT or None in params.values() or _object_key(params) is None:
            continue
        for method in ("GET", "POST"):
            for side in ("in", "out"):
                target = Target("page", page, tuple(params.items()))
                yield pytest.param(target, method, side, id=f"{method} {page.route} {side}")
    for operation in OPERATIONS:
        params = _operation_params(operation)
        if not params or operation.id in EXEMPT or None in params.values() or _object_key(params) is None:
            continue
        for side in ("in", "out"):
            target = Target("api", operation, tuple(params.items()))
            yield pytest.param(target, operation.method, side, id=f"{operation.id} {side}")


def test_every_id_bearing_endpoint_is_classified():
    """A new page or operation with a path parameter needs a line in PARAMS (and a factory in
    matrix_world for a new kind of object) or in EXEMPT with its reason."""
    missing = []
    for page in SITE_PAGES:
        params = _page_params(page)
        if params and not _classified(page.route, params):
            missing.append(f"{page.route} {[n for n, k in params.items() if k is None]}")
    for operation in OPERATIONS:
        params = _operation_params(operation)
        if params and not _classified(operation.id, params):
            missing.append(f"{operation.id} {[n for n, k in params.items() if k is None]}")
    assert not missing, "unclassified path parameters (PARAMS or EXEMPT):\n" + "\n".join(missing)


def test_registry_has_no_stale_lines():
    """Every line of PARAMS, OBJECTS and EXEMPT is used, and every object has a factory."""
    from linli.tests.matrix_world import FACTORIES

    names = {p.route for p in SITE_PAGES} | {o.id for o in OPERATIONS}
    assert set(EXEMPT) <= names, set(EXEMPT) - names
    assert set(ANY_STAFF) <= names, set(ANY_STAFF) - names
    page_methods = {f"{m} {p.route}" for p in SITE_PAGES for m in ("GET", "POST")}
    assert set(IN_SCOPE_OTHERWISE) <= page_methods | names, set(IN_SCOPE_OTHERWISE) - page_methods - names
    paths = [(p.route, p.params) for p in SITE_PAGES] + [(o.path, o.params) for o in OPERATIONS]
    used = {
        (prefix, name)
        for prefix, name in PARAMS
        for path, params in paths
        if _lookup(path, name) is not None and path.startswith(prefix) and any(name == n for n, _ in params)
    }
    assert set(PARAMS) <= used, set(PARAMS) - used
    keys = {k for k in PARAMS.values() if isinstance(k, str)}
    assert keys <= set(OBJECTS), keys - set(OBJECTS)
    assert set(OBJECTS) <= set(FACTORIES), set(OBJECTS) - set(FACTORIES)


def test_every_factory_builds(world):
    assert not world.errors, "\n\n".join(f"{k}:\n{e}" for k, e in world.errors.items())


@pytest.mark.parametrize(("target", "method", "side"), list(_scope_cases()))
def test_scope(world, db, target, method, side):
    """Staff of the right role inside 江岸 reach a 江岸 object; the same role in 武昌 gets 404 (or 403),
    changes nothing and reads nobody."""
    params = dict(target.params)
    key = target.key
    world.get(key)
    actor = OBJECTS[key]
    user = world.actor(actor, side)
    values = _values(world, params)
    if target.kind == "page":
        url = endpoints.fill_page(target.endpoint, values)
        client, body = _page_client(user, world), None
        if target.endpoint.route.startswith("open311/"):  # Open311 authenticates by api_key
            url += f"?api_key={world.tokens[actor.name(side)]}"
    else:
        url = endpoints.fill_api(target.endpoint, values)
        client, body = _api_client(world.tokens[actor.name(side)]), _body(target.endpoint, world)
    unsafe = method not in SAFE
    before = fingerprint() if unsafe and side == "out" else None
    response = _call(client, method, url, body)
    status = response.status_code
    assert status < 500, f"{method} {url} as {actor.name(side)}: {status}"
    if side == "in":
        name = f"{method} {target.endpoint.route}" if target.kind == "page" else target.endpoint.id
        if name in IN_SCOPE_OTHERWISE:
            assert status in IN_SCOPE_OTHERWISE[name][0], f"{method} {url} as {actor.name(side)}: {status}"
        elif method == "GET":
            assert status in (200, 405), f"{method} {url} as {actor.name(side)}: {status}"  # 405: POST only
            if status == 200 and key in PERSON_RECORDS:
                assert ReadLog.objects.filter(user=user).exists(), f"{method} {url} showed a person unlogged"
        else:
            assert status not in (401, 403, 404), f"{method} {url} as {actor.name(side)}: {status}"
        return
    assert status in (403, 404, 405) or (unsafe and status == 422), (
        f"{method} {url} as {actor.name(side)} (out of scope): {status}"
    )
    assert not ReadLog.objects.filter(user=user).exists(), f"{method} {url} logged reads for an outsider"
    assert not _leaks(response, world.inside_markers)
    if before is not None:
        assert fingerprint() == before, f"{method} {url} changed the database for an outsider"


def _list_cases():
    """Pages and GET operations without a path parameter (lists, boards, searches, figures): as
    武昌's district staff (who see the most of anyone there) they must show no 江岸 resident; as 江岸's
    they must not fail with the world's data in them."""

    def names_no_object(params: dict) -> bool:  # no path parameter, or only fixed values
        return all(isinstance(v, Value) for v in params.values())

    lists = [("page", p, p.id) for p in SITE_PAGES if names_no_object(_page_params(p)) and p.route not in PUBLIC_PAGES]
    lists += [
        ("api", o, o.id)
        for o in OPERATIONS
        if o.method == "GET" and names_no_object(_operation_params(o)) and not o.public
    ]
    for kind, endpoint, name in lists:
        for actor, side in ((DISTRICT, "in"), (DISTRICT, "out")):
            yield pytest.param(kind, endpoint, actor, side, id=f"{name} {actor.name(side)}")


@pytest.mark.parametrize(("kind", "endpoint", "actor", "side"), list(_list_cases()))
def test_lists(world, db, kind, endpoint, actor, side):
    from people.models import Resident

    user = world.actor(actor, side)
    if kind == "page":
        url = endpoints.fill_page(endpoint, _values(world, _page_params(endpoint)))
        response = _page_client(user, world).get(url)
    else:
        url = endpoints.fill_api(endpoint, _values(world, _operation_params(endpoint)))
        response = _api_client(world.tokens[actor.name(side)]).get(url)
    assert response.status_code < 500, response
    if side == "in":
        return
    assert not _leaks(response, world.inside_markers), f"{url} shows 江岸 residents to {actor.name(side)}"
    inside = Resident.objects.filter(district__code=f"{INSIDE}000000").values("pk")
    logged = ReadLog.objects.filter(user=user, model="people.resident", object_id__in=inside)
    assert not logged.exists(), f"{url} logged reads of 江岸 residents by {actor.name(side)}"


# --- 4. the admin -------------------------------------------------------------------------------


ADMIN_MODELS = sorted(admin.site._registry, key=lambda m: m._meta.label)


@pytest.mark.parametrize("model", ADMIN_MODELS, ids=lambda m: m._meta.label)
@pytest.mark.parametrize("who", ["staff-without-model-permissions", "district-staff", "not-staff"])
def test_admin_changelist(world, db, model, who):
    user_model = get_user_model()
    if who == "district-staff":
        user = world.actor(DISTRICT, "in")
        user_model.objects.filter(pk=user.pk).update(is_staff=True)
    else:
        user = user_model.objects.create_user(f"admin-{who}", password="pw", is_staff=who != "not-staff")
    url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
    response = _page_client(user, world).get(url)
    if who == "not-staff":
        assert _redirects_to_login(response), response
    else:
        assert response.status_code == 403, f"{url}: {response.status_code}"
