"""The whole REST API fuzzed from its own OpenAPI document (issue #11, item 3): for every operation,
generated valid and invalid requests, signed in as an administrator who sees the whole city, must
never answer 5xx, and every documented response must match its schema.

Schemathesis drives the Django WSGI application in-process against the test database (with the
small city loaded), so it runs in CI on SQLite and PostgreSQL like every other test.
"""

from __future__ import annotations

import pytest
import schemathesis
from django.core.wsgi import get_wsgi_application
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from core.models import ApiToken

# Examples per operation: enough to cross every parameter's boundaries (Schemathesis' coverage
# phase adds its own edge cases) while keeping the run to a few minutes per database.
EXAMPLES = 12

schema = schemathesis.openapi.from_wsgi("/api/openapi.json", get_wsgi_application())


@pytest.fixture
def connections_kept_open():
    """Schemathesis calls the WSGI application directly, not through Django's test client, so the
    request signals would close the test's database connection (inside its transaction) after each
    call: PostgreSQL then answers "the connection is closed". The test client disconnects them the
    same way for its requests."""
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections

    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def admin_headers(city, connections_kept_open) -> dict[str, str]:
    admin = city.staff("fuzz", "administrator", city.divisions["420100000000"])
    _, key = ApiToken.issue(admin, "schemathesis")
    return {"Authorization": f"Bearer {key}"}


@pytest.mark.slow
@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,  # the same cases on every run: a failure in CI reproduces locally
    suppress_health_check=list(HealthCheck),
)
def test_no_server_errors_and_responses_match_the_schema(case, admin_headers):
    response = case.call(headers=admin_headers)
    case.validate_response(response, checks=[not_a_server_error, response_schema_conformance])


def test_schema_names_are_unique():
    """django-ninja names an OpenAPI component after its class: two apps' ``PageOut`` became one
    component and the document described residents as containments (found by the test above)."""
    import importlib

    from django.conf import settings as django_settings
    from ninja import Schema

    for app in django_settings.INSTALLED_APPS:
        try:
            importlib.import_module(f"{app}.api")
        except ModuleNotFoundError:
            continue
    seen: dict[str, str] = {}
    pending = list(Schema.__subclasses__())
    clashes = []
    while pending:
        cls = pending.pop()
        pending.extend(cls.__subclasses__())
        if cls.__module__.split(".")[0] in {"ninja", "pydantic"}:
            continue
        where = f"{cls.__module__}.{cls.__qualname__}"
        if cls.__name__ in seen and seen[cls.__name__] != where:
            clashes.append(f"{seen[cls.__name__]} and {where}")
        seen.setdefault(cls.__name__, where)
    assert not clashes, clashes
