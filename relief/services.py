"""Relief actions (issue #12 item 2): submit, screen, raise and clear fraud flags, match to loan
products, record a bank's decision and the disbursement, withdraw; who sees what; totals.

Every single-application action runs in a transaction with the application row locked
(``select_for_update``), checks the move against choices.TRANSITIONS and writes an
:class:`ApplicationEvent`. The bulk paths (screening, matching, flags) are set-based: numpy over
columns fetched in one query, one UPDATE per distinct outcome, ``INSERT … SELECT`` with window
functions. Actions do not check permissions; views and the API do.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

import numpy as np
from django.db import transaction
from django.db.models import Count, Q, QuerySet, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from core.imports.sql import execute, q
from core.policy import policy
from core.scoping import jurisdiction_of, restrict
from geo.models import Division
from relief.choices import (
    OPEN_STATUSES,
    SCREENABLE,
    ApplicantKind,
    ApplicationStatus,
    Decision,
    EventKind,
    FlagKind,
    FlagStatus,
    MatchStatus,
    can_move,
)
from relief.codes import area_of, code_problem, normalise_code
from relief.models import Applicant, Application, ApplicationEvent, Bank, Document, Flag, Fund, LoanProduct, Match
from relief.rules import Rules, eligibility_reasons, eligibility_reasons_array

S = ApplicationStatus
MAX_AMOUNT_FEN = 10**13  # ¥100 billion: above any fund


class ReliefError(ValueError):
    """An action refused; ``code`` is machine-readable (the import's reject reasons use the same)."""

    def __init__(self, code: str, message: str):
        self.code = code
        super().__init__(message)


def _user(by):
    return by if by is not None and getattr(by, "is_authenticated", False) else None


# --- who sees what ---------------------------------------------------------------------------------


def bank_ids_of(user) -> list[int]:
    if user is None or not getattr(user, "is_authenticated", False):
        return []
    return list(user.bank_memberships.values_list("bank_id", flat=True))


def _visible(user, queryset: QuerySet, bank_lookup: str) -> QuerySet:
    """Rows in the user's jurisdiction (core.scoping), plus those shortlisted to the user's banks."""
    jurisdiction = jurisdiction_of(user)
    if jurisdiction.everything:
        return queryset
    condition = Q(pk__in=[]) if jurisdiction.is_empty() else jurisdiction.q_for(queryset.model)
    banks = bank_ids_of(user)
    if banks:
        condition |= Q(**{f"{bank_lookup}__in": banks})
    return queryset.filter(condition)


def visible_applications(user) -> QuerySet[Application]:
    """District and street staff: their area's applications; bank officers: those shortlisted to
    their bank; the city command: all."""
    banks = bank_ids_of(user)
    jurisdiction = jurisdiction_of(user)
    queryset = Application.objects.all()
    if jurisdiction.everything:
        return queryset
    condition = Q(pk__in=[]) if jurisdiction.is_empty() else jurisdiction.q_for(Application)
    if banks:
        condition |= Q(pk__in=Match.objects.filter(bank_id__in=banks).values("application_id"))
    return queryset.filter(condition)


def visible_matches(user) -> QuerySet[Match]:
    """Shortlist rows of the user's area, or of the user's banks."""
    return _visible(user, Match.objects.all(), "bank_id")


def get_application_or_404(user, **lookup) -> Application:
    from django.http import Http404

    try:
        return visible_applications(user).select_related("applicant", "fund").get(**lookup)
    except Application.DoesNotExist as exc:
        raise Http404("application") from exc


def matches_seen_by(user, application: Application) -> QuerySet[Match]:
    """The whole shortlist for staff whose area holds the application; a bank officer sees only
    their own bank's rows (other banks' offers are not theirs to see)."""
    matches = application.matches.select_related("product", "bank").order_by("rank")
    if restrict(user, Application.objects.filter(pk=application.pk)).exists():
        return matches
    return matches.filter(bank_id__in=bank_ids_of(user))


def can_decide(user, match: Match) -> bool:
    return user.has_perm("relief.decide_loan") and match.bank_id in bank_ids_of(user)


# --- events and moves ------------------------------------------------------------------------------


def _event(application: Application, kind: str, by, note: str = "", before: str = "", after: str = "") -> None:
    ApplicationEvent.objects.create(
        application=application,
        kind=kind,
        from_status=before,
        to_status=after,
        user=_user(by),
        note=note[:300],
    )


def _move(application: Application, target: str, kind: str, by, note: str = "") -> None:
    """Move a locked application along choices.TRANSITIONS, with its event."""
    if not can_move(application.status, target):
        raise ReliefError(
            "transition_refused",
            _("An application that is %(now)s cannot become %(target)s.")
            % {"now": application.get_status_display(), "target": ApplicationStatus(target).label},
        )
    before = application.status
    application.status = target
    application.updated_at = timezone.now()
    application.save()
    _event(application, kind, by, note, before, target)


def _locked(application: Application) -> Application:
    return Application.objects.select_for_update().select_related("applicant", "fund").get(pk=application.pk)


# --- intake --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ApplicantData:
    kind: str
    code: str
    name: str
    sector: str
    area: Division
    employees: int = 0
    annual_revenue_fen: int = 0
    phone: str = ""
    bank_account: str = ""


def city_area_codes() -> set[str]:
    """The 6-digit codes of the city and its districts (domain.md §1: GB/T 2260 county codes)."""
    return {code[:6] for code in Division.objects.filter(level__in=("city", "district")).values_list("code", flat=True)}


def do_submit(
    fund: Fund,
    data: ApplicantData,
    *,
    need: str,
    amount_fen: int,
    purpose: str,
    documents: dict,
    by=None,
    submitted_at: dt.datetime | None = None,
) -> Application:
    """File an application with its documents (``{kind: uploaded file}``). Refused, with nothing
    written, for an invalid code, an area outside the city's grid, a closed fund or missing required
    documents (named). The fraud checks run at once; screening is a separate step."""
    code = normalise_code(data.code)
    problem = code_problem(data.kind, code)
    if problem is not None:
        message = (
            _("The credit code is not valid (GB 32100-2015).")
            if data.kind == ApplicantKind.FIRM
            else _("The owner's identity number is not valid (GB 11643-1999).")
        )
        raise ReliefError(problem.value, message)
    if data.area.level not in ("district", "street", "community"):
        raise ReliefError("unknown_area", _("The registered area must be a district, street or community."))
    if not 0 < amount_fen <= MAX_AMOUNT_FEN:
        raise ReliefError("invalid_amount", _("The amount must be above zero."))
    at = submitted_at or timezone.now()
    if not fund.opens_on <= timezone.localdate(at) <= fund.closes_on:
        raise ReliefError(
            "fund_not_open",
            _("The fund takes applications from %(opens)s to %(closes)s.")
            % {"opens": fund.opens_on, "closes": fund.closes_on},
        )
    rules = Rules.from_policy(policy())
    missing = [doc for doc in rules.required_documents[data.kind] if doc not in documents]
    if missing:
        raise ReliefError(
            "missing_documents",
            _("Refused: required documents missing: %(names)s.") % {"names": ", ".join(missing)},
        )
    with transaction.atomic():
        applicant = Applicant.objects.select_for_update().filter(code=code).first()
        if applicant is not None and applicant.kind != data.kind:
            raise ReliefError("applicant_kind_conflict", _("This code is registered as another kind of applicant."))
        applicant = applicant or Applicant(code=code, kind=data.kind)
        for field in ("name", "sector", "employees", "annual_revenue_fen", "phone", "bank_account", "area"):
            setattr(applicant, field, getattr(data, field))
        applicant.code_valid, applicant.code_area = True, area_of(data.kind, code)
        applicant.fill_place()
        applicant.save()
        application = Application.objects.create(
            reference=f"W{timezone.localdate(at):%Y%m%d}-{uuid.uuid4().hex[:8].upper()}",
            fund=fund,
            applicant=applicant,
            need=need,
            amount_fen=amount_fen,
            purpose=purpose,
            submitted_at=at,
            district_id=applicant.district_id,
            street_id=applicant.street_id,
            community_id=applicant.community_id,
        )
        for kind, upload in documents.items():
            Document.objects.create(application=application, kind=kind, file=upload or "")
        _event(application, EventKind.SUBMITTED, by, after=S.SUBMITTED)
        raise_flags(f"a.id = {int(application.pk)}")
    return application


def do_add_document(application: Application, kind: str, upload, by=None) -> Document:
    """Attach (or replace) a document, e.g. the one screening found missing; re-screen after."""
    with transaction.atomic():
        locked = _locked(application)
        if locked.status not in SCREENABLE:
            raise ReliefError("transition_refused", _("Documents can be added until the application is matched."))
        document, _created = Document.objects.update_or_create(
            application=locked, kind=kind, defaults={"file": upload or "", "added_at": timezone.now()}
        )
    return document


# --- fraud flags -----------------------------------------------------------------------------------


def raise_flags(where: str = "1=1") -> int:
    """Run every fraud check over the applications matching ``where`` (SQL over ``a``, the
    application, and ``ap``, its applicant), set-based; a flag already raised (open or cleared) is
    not raised again. Returns the number of new flags. The checks (issue #12 item 2):

    - the same applicant (a valid code only: domain.md §2, never a matching key otherwise) with
      another open application to the same fund submitted before it (same moment: the smaller
      reference first, so the result does not hang on row ids), in the same import file or not;
    - a code whose area (credit code characters 3–8, ID digits 1–6) is not the city's or one of its
      districts' (domain.md §1);
    - a code whose check character fails;
    - the same phone or receiving account as another applicant.
    """
    now = timezone.now()
    codes = sorted(city_area_codes()) or [""]
    app, applicant, flag = q(Application._meta.db_table), q(Applicant._meta.db_table), q(Flag._meta.db_table)
    open_statuses = ", ".join(f"'{s}'" for s in OPEN_STATUSES)
    base = (
        f"FROM {app} a JOIN {applicant} ap ON ap.id = a.applicant_id WHERE a.status IN ({open_statuses}) AND ({where})"
    )
    earlier = (
        f"SELECT MIN(b.reference) FROM {app} b WHERE b.fund_id = a.fund_id AND b.applicant_id = a.applicant_id "
        f"AND (b.submitted_at < a.submitted_at OR (b.submitted_at = a.submitted_at AND b.reference < a.reference)) "
        f"AND b.status IN ({open_statuses})"
    )

    def shared(column: str) -> str:
        return f"SELECT MIN(o.name) FROM {applicant} o WHERE o.{column} = ap.{column} AND o.id <> ap.id"

    same_file = "b.batch_id = a.batch_id"
    other_file = "(a.batch_id IS NULL OR b.batch_id IS NULL OR b.batch_id <> a.batch_id)"
    checks = [
        (
            FlagKind.DUPLICATE_IN_FILE,
            f"ap.code_valid AND a.batch_id IS NOT NULL AND ({earlier} AND {same_file}) IS NOT NULL",
            f"({earlier} AND {same_file})",
        ),
        (
            FlagKind.DUPLICATE_APPLICANT,
            f"ap.code_valid AND ({earlier} AND {other_file}) IS NOT NULL",
            f"({earlier} AND {other_file})",
        ),
        (FlagKind.OUTSIDE_CITY, f"ap.code_area NOT IN ({', '.join(['%s'] * len(codes))})", "ap.code_area"),
        (FlagKind.CODE_CHECK, "NOT ap.code_valid", "ap.code"),
        (FlagKind.SHARED_PHONE, f"ap.phone <> '' AND ({shared('phone')}) IS NOT NULL", f"({shared('phone')})"),
        (
            FlagKind.SHARED_ACCOUNT,
            f"ap.bank_account <> '' AND ({shared('bank_account')}) IS NOT NULL",
            f"({shared('bank_account')})",
        ),
    ]
    raised = 0
    for kind, condition, detail in checks:
        params = [kind.value, now, *(codes if kind == FlagKind.OUTSIDE_CITY else [])]
        raised += execute(
            f"INSERT INTO {flag} (application_id, kind, detail, status, raised_at, note) "
            f"SELECT a.id, %s, SUBSTR(COALESCE({detail}, ''), 1, 200), 'open', %s, '' {base} AND {condition} "
            f"AND NOT EXISTS (SELECT 1 FROM {flag} f WHERE f.application_id = a.id AND f.kind = '{kind.value}')",
            params,
        )
    if raised:
        execute(
            f"INSERT INTO {q(ApplicationEvent._meta.db_table)} (application_id, at, kind, from_status, to_status, "
            f"user_id, note) SELECT f.application_id, %s, %s, '', '', NULL, f.kind FROM {flag} f "
            "WHERE f.raised_at = %s",
            [now, EventKind.FLAGGED.value, now],
        )
    return raised


def do_clear_flag(flag: Flag, by, note: str) -> Flag:
    """A reviewer clears a flag with a note (why it is not fraud); matching may then go ahead."""
    note = (note or "").strip()
    if not note:
        raise ReliefError("note_required", _("Clearing a flag needs a note saying why."))
    with transaction.atomic():
        locked = Flag.objects.select_for_update().select_related("application").get(pk=flag.pk)
        if locked.status != FlagStatus.OPEN:
            raise ReliefError("already_cleared", _("This flag is already cleared."))
        locked.status, locked.cleared_at, locked.cleared_by, locked.note = (
            FlagStatus.CLEARED,
            timezone.now(),
            _user(by),
            note[:300],
        )
        locked.save()
        _event(locked.application, EventKind.FLAG_CLEARED, by, f"{locked.kind}: {note}")
    return locked


# --- screening -----------------------------------------------------------------------------------


def _screen_values(application: Application, in_city: set[str]) -> dict:
    applicant = application.applicant
    return {
        "kind": applicant.kind,
        "amount_fen": application.amount_fen,
        "employees": applicant.employees,
        "sector": applicant.sector,
        "documents": set(application.documents.values_list("kind", flat=True)),
        "in_city": applicant.code_area in in_city,
    }


def do_screen(application: Application, by=None) -> Application:
    """Screen one application against the eligibility policy in force (again, after a document
    was added or the policy changed, until it is matched)."""
    values = policy()
    rules = Rules.from_policy(values)
    with transaction.atomic():
        locked = _locked(application)
        reasons = eligibility_reasons(rules, **_screen_values(locked, city_area_codes()))
        locked.reasons, locked.screened_at, locked.policy_version = reasons, timezone.now(), values.version
        target = S.INELIGIBLE if reasons else S.ELIGIBLE
        _move(locked, target, EventKind.SCREENED, by, "; ".join(r["code"] for r in reasons))
    return locked


def do_screen_all(by=None, fund: Fund | None = None) -> dict[str, int]:
    """Screen every submitted application at once: the columns in one query, the rules over numpy
    arrays, one UPDATE per distinct outcome, the events in one insert."""
    values = policy()
    rules = Rules.from_policy(values)
    pending = Application.objects.filter(status=S.SUBMITTED)
    if fund is not None:
        pending = pending.filter(fund=fund)
    with transaction.atomic():
        rows = list(
            pending.select_for_update(of=("self",)).values_list(
                "pk",
                "applicant__kind",
                "amount_fen",
                "applicant__employees",
                "applicant__sector",
                "applicant__code_area",
            )
        )
        if not rows:
            return {"eligible": 0, "ineligible": 0}
        ids, kinds, amounts, employees, sectors, areas = (np.array(col) for col in zip(*rows, strict=True))
        docs = Document.objects.filter(application_id__in=ids.tolist()).values_list("application_id", "kind")
        by_kind: dict[str, list[int]] = defaultdict(list)
        for application_id, kind in docs:
            by_kind[kind].append(application_id)
        has = {kind: np.isin(ids, owners) for kind, owners in by_kind.items()}
        reasons = eligibility_reasons_array(
            rules,
            kinds=kinds,
            amount_fen=amounts,
            employees=employees,
            sectors=sectors,
            has=has,
            in_city=np.isin(areas, list(city_area_codes())),
        )
        groups: dict[str, list[int]] = defaultdict(list)
        for application_id, found in zip(ids.tolist(), reasons, strict=True):
            groups[json.dumps(found, ensure_ascii=False)].append(application_id)
        now = timezone.now()
        counts = {"eligible": 0, "ineligible": 0}
        events = []
        for key, members in groups.items():
            found = json.loads(key)
            target = S.INELIGIBLE if found else S.ELIGIBLE
            Application.objects.filter(pk__in=members).update(
                status=target, reasons=found, screened_at=now, policy_version=values.version, updated_at=now
            )
            counts[target] += len(members)
            note = "; ".join(r["code"] for r in found)
            events += [
                ApplicationEvent(
                    application_id=m,
                    at=now,
                    kind=EventKind.SCREENED,
                    from_status=S.SUBMITTED,
                    to_status=target,
                    user=_user(by),
                    note=note,
                )
                for m in members
            ]
        ApplicationEvent.objects.bulk_create(events, batch_size=2000)
    return counts


# --- matching ------------------------------------------------------------------------------------


def _match_sql(where: str) -> str:
    """Rank the active products that fit each application: the amount inside the product's range,
    the applicant's sector served (empty list: all); by rate, then how central the amount is in the
    range, then bank code (issue #12 item 2). Window functions: one statement for every application."""
    app, applicant = q(Application._meta.db_table), q(Applicant._meta.db_table)
    product, bank, flag, match = (
        q(LoanProduct._meta.db_table),
        q(Bank._meta.db_table),
        q(Flag._meta.db_table),
        q(Match._meta.db_table),
    )
    centrality = (
        "CASE WHEN p.max_fen = p.min_fen THEN 1.0 "
        "ELSE 1.0 - ABS(2.0 * a.amount_fen - p.min_fen - p.max_fen) / (p.max_fen - p.min_fen) END"
    )
    return (
        f"INSERT INTO {match} (application_id, product_id, bank_id, rank, centrality, sector_listed, status, "
        "matched_at, decline_reason) "
        "SELECT x.application_id, x.product_id, x.bank_id, x.rnk, x.centrality, x.sector_listed, 'open', %s, '' "
        "FROM (SELECT a.id AS application_id, p.id AS product_id, p.bank_id AS bank_id, "
        f"{centrality} AS centrality, p.sectors <> '' AS sector_listed, "
        f"ROW_NUMBER() OVER (PARTITION BY a.id ORDER BY p.rate, {centrality} DESC, b.code, p.code) AS rnk "
        f"FROM {app} a JOIN {applicant} ap ON ap.id = a.applicant_id "
        f"JOIN {product} p ON p.active AND a.amount_fen BETWEEN p.min_fen AND p.max_fen "
        "AND (p.sectors = '' OR (';' || p.sectors || ';') LIKE ('%%;' || ap.sector || ';%%')) "
        f"JOIN {bank} b ON b.id = p.bank_id "
        f"WHERE a.status = '{S.ELIGIBLE.value}' AND ({where}) "
        f"AND NOT EXISTS (SELECT 1 FROM {flag} f WHERE f.application_id = a.id AND f.status = 'open') "
        f"AND NOT EXISTS (SELECT 1 FROM {match} m WHERE m.application_id = a.id)) x "
        "WHERE x.rnk <= %s"
    )


def _match(where: str, by) -> int:
    """Shortlist the eligible, unflagged applications matching ``where``; mark them matched."""
    now = timezone.now()
    size = int(policy().relief_shortlist_size)
    execute(_match_sql(where), [now, size])
    app, match = q(Application._meta.db_table), q(Match._meta.db_table)
    new = f"SELECT m.application_id FROM {match} m WHERE m.matched_at = %s"
    execute(
        f"INSERT INTO {q(ApplicationEvent._meta.db_table)} (application_id, at, kind, from_status, to_status, "
        f"user_id, note) SELECT a.id, %s, %s, %s, %s, %s, "
        f"CAST((SELECT COUNT(*) FROM {match} m WHERE m.application_id = a.id) AS text) "
        f"FROM {app} a WHERE a.status = %s AND a.id IN ({new})",
        [
            now,
            EventKind.MATCHED.value,
            S.ELIGIBLE.value,
            S.MATCHED.value,
            getattr(_user(by), "pk", None),
            S.ELIGIBLE.value,
            now,
        ],
    )
    return execute(
        f"UPDATE {app} SET status = %s, updated_at = %s WHERE status = %s AND id IN ({new})",
        [S.MATCHED.value, now, S.ELIGIBLE.value, now],
    )


def do_match(application: Application, by=None) -> int:
    """Shortlist one eligible application (refused while a fraud flag is open); returns the number
    of products on the shortlist (0: none fits, it stays eligible)."""
    with transaction.atomic():
        locked = _locked(application)
        if locked.status != S.ELIGIBLE:
            raise ReliefError("transition_refused", _("Only an eligible application can be matched."))
        if locked.flags.filter(status=FlagStatus.OPEN).exists():
            raise ReliefError("open_flags", _("Open fraud flags block matching until a reviewer clears them."))
        _match(f"a.id = {int(locked.pk)}", by)
        return locked.matches.count()


def do_match_all(by=None, fund: Fund | None = None) -> int:
    """Shortlist every eligible application without open flags; returns how many were matched."""
    with transaction.atomic():
        return _match("1=1" if fund is None else f"a.fund_id = {int(fund.pk)}", by)


# --- bank decisions ------------------------------------------------------------------------------


def check_approval(match: Match, application: Application, amount_fen: int) -> None:
    """An approved amount is at most the request and within the product's range."""
    if amount_fen > application.amount_fen:
        raise ReliefError(
            "amount_above_request",
            _("The amount approved (%(amount)s) is above the amount requested (%(requested)s).")
            % {"amount": _yuan(amount_fen), "requested": application.amount},
        )
    product = match.product
    if not product.min_fen <= amount_fen <= product.max_fen:
        raise ReliefError(
            "amount_outside_range",
            _("The amount approved (%(amount)s) is outside the product's range %(range)s.")
            % {"amount": _yuan(amount_fen), "range": product.range_text},
        )


def _yuan(fen: int) -> str:
    from relief.models import yuan

    return yuan(fen)


def do_decide(
    match: Match,
    decision: str,
    by=None,
    *,
    amount_fen: int | None = None,
    rate: Decimal | None = None,
    term_months: int | None = None,
    decided_on: dt.date | None = None,
    disbursed_on: dt.date | None = None,
    reason: str = "",
) -> Match:
    """A bank's decision on one shortlisted product. The first approval makes the application
    approved and closes the other banks' open matches as taken; a decline needs a reason, and the
    last open match declined makes the application declined. Refused: a decision already recorded,
    an application taken by another bank, an amount above the request or outside the range, a
    disbursement before the decision."""
    if decision not in Decision.values:
        raise ReliefError("invalid_value", _("The decision is approve or decline."))
    today = timezone.localdate()
    decided_on = decided_on or today
    if decided_on > today or (disbursed_on is not None and not decided_on <= disbursed_on <= today):
        raise ReliefError("invalid_date", _("Dates cannot be in the future, nor disbursement before the decision."))
    with transaction.atomic():
        application = _locked(match.application)
        locked = Match.objects.select_for_update().select_related("product", "bank").get(pk=match.pk)
        if locked.status != MatchStatus.OPEN:
            raise ReliefError("decision_conflict", _("This bank's decision is already recorded."))
        if application.status != S.MATCHED:
            code = "taken_by_another_bank" if application.status in (S.APPROVED, S.DISBURSED) else "transition_refused"
            raise ReliefError(code, _("The application is %(status)s.") % {"status": application.get_status_display()})
        locked.decided_on, locked.decided_by = decided_on, _user(by)
        if decision == Decision.DECLINE:
            reason = (reason or "").strip()
            if not reason:
                raise ReliefError("reason_required", _("A decline needs a reason."))
            locked.status, locked.decline_reason = MatchStatus.DECLINED, reason[:300]
            locked.save()
            note = f"{locked.bank.code} {locked.product.code}: {reason}"
            if not application.matches.filter(status=MatchStatus.OPEN).exists():
                _move(application, S.DECLINED, EventKind.DECLINED, by, note)
            else:
                _event(application, EventKind.DECLINED, by, note)
            return locked
        amount_fen = application.amount_fen if amount_fen is None else amount_fen
        check_approval(locked, application, amount_fen)
        locked.status, locked.amount_fen = MatchStatus.APPROVED, amount_fen
        locked.rate = locked.product.rate if rate is None else rate
        locked.term_months = term_months or locked.product.term_months
        locked.disbursed_on = disbursed_on
        locked.save()
        application.approved_match = locked
        application.matches.filter(status=MatchStatus.OPEN).exclude(pk=locked.pk).update(status=MatchStatus.TAKEN)
        _move(
            application, S.APPROVED, EventKind.APPROVED, by, f"{locked.bank.code} {locked.product.code} {locked.amount}"
        )
        if disbursed_on is not None:
            _move(application, S.DISBURSED, EventKind.DISBURSED, by, f"{disbursed_on}")
    return locked


def do_disburse(match: Match, on: dt.date, by=None) -> Match:
    """Record that the approved loan was paid out on ``on``."""
    if on > timezone.localdate():
        raise ReliefError("invalid_date", _("A disbursement cannot be dated in the future."))
    with transaction.atomic():
        application = _locked(match.application)
        locked = Match.objects.select_for_update().get(pk=match.pk)
        if locked.status != MatchStatus.APPROVED or application.status != S.APPROVED:
            raise ReliefError("transition_refused", _("Only an approved loan not yet paid out can be disbursed."))
        if locked.decided_on and on < locked.decided_on:
            raise ReliefError("invalid_date", _("A disbursement cannot come before the decision."))
        locked.disbursed_on = on
        locked.save()
        _move(application, S.DISBURSED, EventKind.DISBURSED, by, f"{on}")
    return locked


def do_withdraw(application: Application, by=None, note: str = "") -> Application:
    """The applicant withdraws; the banks' open matches are closed."""
    with transaction.atomic():
        locked = _locked(application)
        _move(locked, S.WITHDRAWN, EventKind.WITHDRAWN, by, note)
        locked.matches.filter(status=MatchStatus.OPEN).update(status=MatchStatus.CLOSED)
    return locked


# --- totals --------------------------------------------------------------------------------------


def disbursed(user) -> QuerySet[Match]:
    return visible_matches(user).filter(status=MatchStatus.APPROVED, disbursed_on__isnull=False)


def totals(user, fund: Fund | None = None) -> dict:
    """Loans disbursed (count and fen) overall and by bank, district and sector: GROUP BY queries."""
    rows = disbursed(user)
    if fund is not None:
        rows = rows.filter(application__fund=fund)
    measures = {"count": Count("pk"), "fen": Sum("amount_fen")}
    return {
        "overall": rows.aggregate(**measures),
        "by_bank": list(rows.values("bank__code", "bank__name").annotate(**measures).order_by("-fen", "bank__code")),
        "by_district": list(
            rows.values("application__district__code", "application__district__name")
            .annotate(**measures)
            .order_by("-fen", "application__district__code")
        ),
        "by_sector": list(
            rows.values("application__applicant__sector")
            .annotate(**measures)
            .order_by("-fen", "application__applicant__sector")
        ),
    }


# --- catalogue -----------------------------------------------------------------------------------


def do_load_catalogue(banks: list[dict], products: list[dict], funds: list[dict]) -> dict[str, int]:
    """Banks, their loan products and funds (rows as relief.synth writes them, amounts in yuan):
    inserted or updated by code in one statement per table; a second load changes nothing."""
    now = timezone.now()
    with transaction.atomic():
        Bank.objects.bulk_create(
            [Bank(code=b["bank_code"], name=b["bank_name"]) for b in banks],
            update_conflicts=True,
            unique_fields=["code"],
            update_fields=["name"],
        )
        bank_ids = dict(Bank.objects.values_list("code", "pk"))
        LoanProduct.objects.bulk_create(
            [
                LoanProduct(
                    bank_id=bank_ids[p["bank_code"]],
                    code=p["product_code"],
                    name=p["name"],
                    min_fen=int(p["min_amount"]) * 100,
                    max_fen=int(p["max_amount"]) * 100,
                    sectors=p["sectors"] or "",
                    rate=Decimal(str(p["rate"])),
                    term_months=int(p["term_months"]),
                    updated_at=now,
                )
                for p in products
            ],
            update_conflicts=True,
            unique_fields=["bank", "code"],
            update_fields=["name", "min_fen", "max_fen", "sectors", "rate", "term_months"],
        )
        Fund.objects.bulk_create(
            [
                Fund(
                    code=f["fund_code"],
                    name=f["name"],
                    total_fen=int(f["total"]) * 100,
                    opens_on=dt.date.fromisoformat(str(f["opens_on"])),
                    closes_on=dt.date.fromisoformat(str(f["closes_on"])),
                )
                for f in funds
            ],
            update_conflicts=True,
            unique_fields=["code"],
            update_fields=["name", "total_fen", "opens_on", "closes_on"],
        )
    return {"banks": len(banks), "products": len(products), "funds": len(funds)}
