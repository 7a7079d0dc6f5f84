"""`linli help_requests counts` prints the same figures as the page, for a division or the city."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from assistance.services import Ask, do_ask, do_resolve
from geo.models import Division

pytestmark = pytest.mark.django_db


def test_counts_for_a_community_and_the_city(resident, grid_worker):
    done = do_ask(Ask(category="medicine", text="药品", phone=resident.phone, resident=resident))
    do_resolve(done, grid_worker, "已送")
    do_ask(Ask(category="escort", text="送医", phone=resident.phone, resident=resident))
    community = Division.objects.get(pk=resident.community_id)
    out = StringIO()
    call_command("help_requests", "counts", "--area", community.code, "--json", stdout=out)
    figures = json.loads(out.getvalue())
    assert figures["asked_total"] == 2 and figures["closed_total"] == 1 and figures["deliveries"]["medicine"] == 1
    other = Division.objects.filter(level="community").exclude(pk=community.pk).first()
    out = StringIO()
    call_command("help_requests", "counts", "--area", other.code, "--json", stdout=out)
    assert json.loads(out.getvalue())["asked_total"] == 0
    out = StringIO()
    call_command("help_requests", "counts", stdout=out)
    assert "asked_total            2" in out.getvalue()
    with pytest.raises(CommandError):
        call_command("help_requests", "counts", "--area", "999")
