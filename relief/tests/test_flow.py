"""The relief workflow through the services and the imports: screening, flags, matching, decisions."""

from __future__ import annotations

from relief.choices import ApplicationStatus as S
from relief.choices import MatchStatus
from relief.models import Application, Flag, Match
from relief.services import do_match_all, do_screen_all
from relief.tests.conftest import app_row, credit_code, decision_row, import_apps, import_decisions


def test_import_screen_match_decide(relief):
    rows = [
        app_row("R1", credit_code("420102", 1)),
        app_row("R2", credit_code("420106", 2), sector="manufacturing", amount="2000000", area_code="420106001001"),
        app_row("R3", credit_code("420102", 3), amount="20000000"),
    ]
    batch = import_apps(rows)
    assert batch.rejected == {}, batch.rejected
    assert batch.inserted == 3
    again = import_apps(rows)
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 3)
    counts = do_screen_all()
    assert counts == {"eligible": 2, "ineligible": 1}
    assert Application.objects.get(reference="R3").reasons[0]["code"] == "amount_above_limit"
    assert do_match_all() == 2
    shortlist = list(
        Match.objects.filter(application__reference="R1").order_by("rank").values_list("bank__code", "product__code")
    )
    assert shortlist == [("HKB", "A"), ("ICBC", "A")]
    r2 = list(
        Match.objects.filter(application__reference="R2").order_by("rank").values_list("bank__code", "product__code")
    )
    assert r2 == [("ICBC", "A"), ("CCB", "B")]
    decided = import_decisions([decision_row("R1", "HKB", "A"), decision_row("NOPE", "HKB", "A")])
    assert decided.rejected == {"unknown_application": 1}
    assert decided.inserted == 1
    r1 = Application.objects.get(reference="R1")
    assert r1.status == S.APPROVED
    assert Match.objects.get(application=r1, bank__code="ICBC").status == MatchStatus.TAKEN
    assert not Flag.objects.exists()
