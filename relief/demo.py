"""Relief finance on the demo city: the partner banks, products and fund, a few hundred applications
imported through ``relief_applications``, screened and matched, the banks' first decisions imported
through ``loan_decisions``, and one firm in the busiest district left matched to several banks with
an open match for the demo bank officer ``bank`` (made an officer of that firm's top-ranked bank),
so the done-when of issue #12 item 2 can be played: the officer approves and the totals move.
"""

from __future__ import annotations

import csv
import io

import numpy as np
import pyarrow as pa
from django.contrib.auth import get_user_model
from django.db.models import Count

from core.imports.runner import run_import
from core.roles import grant_role
from geo.models import Division
from people.models import NodeCount, Resident
from relief.choices import ApplicantKind, ApplicationStatus, MatchStatus
from relief.models import Application, BankOfficer, Match
from relief.services import do_load_catalogue, do_match_all, do_screen_all
from relief.synth import decisions_for, generate_relief

SEED = 2020
APPLICANTS = 300
OWNERS = 2000  # residents offered as self-employed owners
DEMO_BANK_USER = "bank"


def _csv(table: pa.Table) -> bytes:
    rows = table.to_pylist()
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=table.column_names)
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode("utf-8")


def _busiest_district() -> Division | None:
    counts = dict(NodeCount.objects.filter(level="district").values_list("node_id", "residents"))
    districts = list(Division.objects.filter(level="district").order_by("code"))
    return max(districts, key=lambda d: counts.get(d.pk, 0)) if districts else None


def _demo_application(district: Division | None) -> Application | None:
    """A firm of the busiest district with two or more open matches: the one left for ``bank``."""
    candidates = (
        Application.objects.filter(status=ApplicationStatus.MATCHED, applicant__kind=ApplicantKind.FIRM)
        .annotate(open_matches=Count("matches"))
        .filter(open_matches__gte=2)
        .order_by("reference")
    )
    if district is not None and candidates.filter(district=district).exists():
        candidates = candidates.filter(district=district)
    return candidates.first()


def _officer(bank_id: int):
    user_model = get_user_model()
    user, created = user_model.objects.get_or_create(username=DEMO_BANK_USER, defaults={"first_name": "合作银行信贷员"})
    if created:
        user.set_unusable_password()  # synth.demo.create_demo_staff sets the demo password
        user.save()
    grant_role(user, "bank_officer")
    BankOfficer.objects.get_or_create(user=user, bank_id=bank_id)
    return user


def set_up(log=print) -> dict:
    """Returns what it made; a second call finds the applications there and changes nothing."""
    if Application.objects.exists():
        log("  relief           already loaded")
        return {"applications": 0}
    divisions = pa.Table.from_pylist(list(Division.objects.values("code", "name", "level")))
    residents = pa.Table.from_pylist(
        list(Resident.objects.order_by("pk").values("id_number", "name", "phone")[:OWNERS])
    )
    files = generate_relief(divisions, residents, SEED, APPLICANTS)
    do_load_catalogue(files.banks.to_pylist(), files.products.to_pylist(), files.funds.to_pylist())
    batch = run_import(
        "relief_applications", _csv(files.applications), filename="relief_applications.csv", source="import"
    )
    log(f"  relief apps      {batch.rows:>9,} rows  {batch.inserted:>9,} new  {batch.rejected_total:>5} rejected")
    screened = do_screen_all()
    matched = do_match_all()
    demo = _demo_application(_busiest_district())
    # decisions for what the database shortlisted (flags and rules decided which), but not the demo's
    shortlist = [
        {
            "reference": m.application.reference,
            "rank": m.rank,
            "bank_code": m.bank.code,
            "product_code": m.product.code,
            "min_amount": m.product.min_fen // 100,
            "amount": m.application.amount_fen // 100,
        }
        for m in Match.objects.select_related("application", "bank", "product")
        .exclude(application=demo)
        .order_by("application__reference", "rank")
    ]
    decisions = decisions_for(shortlist, np.random.default_rng([SEED, 12, 3]))
    decided = run_import("loan_decisions", _csv(decisions), filename="loan_decisions.csv", source="import")
    log(
        f"  relief           {screened['eligible']} eligible, {screened['ineligible']} ineligible, {matched} matched; "
        f"{decided.inserted} bank decisions ({decided.rejected_total} rejected)"
    )
    made = {"applications": batch.inserted, "matched": matched, "decisions": decided.inserted}
    if demo is not None:
        top = demo.matches.filter(status=MatchStatus.OPEN).order_by("rank").first()
        _officer(top.bank_id)
        log(f"  relief demo      {demo.reference} ({demo.applicant.name}) waits for {top.bank.name}: log in as 'bank'")
        made["demo_application"] = demo.reference
    return made
