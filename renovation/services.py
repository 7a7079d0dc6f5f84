"""Renovation actions: select a compound, plan, consult the households, start, record works and
spending, finish, cancel; and set the yearly targets.

Each step locks the project row (``select_for_update``), checks the move against the one table of
allowed steps (renovation.choices.TRANSITIONS) and the rule of that step, writes the step's date on
the project and a :class:`ProjectStep` history row, in one transaction. The rules read their
thresholds from versioned policy (core.policy, items registered in renovation.apps):

- selection: only compounds built before ``renovation_built_before`` (国办发〔2020〕23号: built before
  the end of 2000); an unknown year is refused too; one active project per compound;
- start: the latest consultation on or before the start must reach ``renovation_consent`` (PRC Civil
  Code art. 278: 2/3 of the households take part, 3/4 of those taking part in favour);
- finish: every work item finished (or dropped) and a final inspection date; dates in order;
- spending over budget is allowed and flagged (Project.over_budget).

Actions do not check permissions; views and the API do. Refusals raise :class:`RenovationError`
with a translated sentence and write nothing.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core.policy import Policy, policy
from geo.models import Compound, Division
from renovation.choices import ACTIVE, TRANSITIONS, WORK_DONE, ProjectStatus, WorkStatus
from renovation.models import BUDGET_FIELDS, Consultation, Programme, Project, ProjectStep, Work, YearTarget

EPSILON = 1e-9  # 6 of 9 households is exactly 2/3 and must pass
MAX_MONEY = Decimal("9999999999.99")
INSPECT_SOURCE = "renovation.inspect"


class RenovationError(ValueError):
    """A step refused as asked (the message is translated); nothing was written."""


def _user(by):
    return by if by is not None and getattr(by, "is_authenticated", False) else None


def _today() -> dt.date:
    return timezone.localdate()


def _not_future(on: dt.date, what: str) -> None:
    if on > _today():
        raise RenovationError(_("The date of %(what)s is in the future.") % {"what": what})


def _money(value, what: str) -> Decimal:
    amount = Decimal(str(value))
    if amount < 0 or amount > MAX_MONEY:
        raise RenovationError(_("%(what)s must be between 0 and %(max)s.") % {"what": what, "max": MAX_MONEY})
    return amount.quantize(Decimal("0.01"))


# --- programme and targets -------------------------------------------------------------------------


def do_create_programme(code: str, name: str, first_year: int, last_year: int) -> Programme:
    if last_year < first_year:
        raise RenovationError(_("A programme's last year cannot come before its first."))
    programme, _created = Programme.objects.get_or_create(
        code=code, defaults={"name": name, "first_year": first_year, "last_year": last_year}
    )
    return programme


def do_set_target(
    programme: Programme,
    year: int,
    district: Division | None,
    *,
    to_start: int,
    to_finish: int,
    budget: Decimal | int | str = 0,
) -> YearTarget:
    """The yearly target of a district (or of the whole city, ``district`` None), created or changed."""
    if year not in programme.years:
        raise RenovationError(_("%(year)s is not a year of this programme.") % {"year": year})
    if district is not None and district.level != "district":
        raise RenovationError(_("Targets are set for a district or for the whole city."))
    if to_start < 0 or to_finish < 0:
        raise RenovationError(_("A target cannot be negative."))
    target, _created = YearTarget.objects.update_or_create(
        programme=programme,
        year=year,
        district=district,
        defaults={"to_start": to_start, "to_finish": to_finish, "budget": _money(budget, _("The budget"))},
    )
    return target


# --- selection -----------------------------------------------------------------------------------


def selection_problem(compound: Compound, rules: Policy | None = None) -> str | None:
    """Why ``compound`` cannot be selected (too new, year unknown, already in a project), or None."""
    rules = rules or policy()
    before = int(rules.renovation_built_before)
    if compound.built_year is None:
        return _("The year %(compound)s was built is not known; only compounds built before %(year)s qualify.") % {
            "compound": compound.name,
            "year": before,
        }
    if compound.built_year >= before:
        return _("%(compound)s was built in %(built)s; only compounds built before %(year)s qualify.") % {
            "compound": compound.name,
            "built": compound.built_year,
            "year": before,
        }
    active = Project.objects.filter(compound=compound, status__in=ACTIVE).select_related("programme").first()
    if active is not None:
        return _("%(compound)s is already in an active project (%(programme)s, %(year)s).") % {
            "compound": compound.name,
            "programme": active.programme.name,
            "year": active.year,
        }
    return None


def do_select(
    programme: Programme, compound: Compound, year: int, *, on: dt.date | None = None, by=None, note: str = ""
) -> Project:
    """Put an old compound into the programme for ``year``."""
    on = on or _today()
    _not_future(on, _("the selection"))
    if year not in programme.years:
        raise RenovationError(_("%(year)s is not a year of this programme.") % {"year": year})
    with transaction.atomic():
        compound = Compound.objects.select_for_update().get(pk=compound.pk)
        problem = selection_problem(compound)
        if problem:
            raise RenovationError(problem)
        if Project.objects.filter(programme=programme, compound=compound).exists():
            raise RenovationError(
                _("%(compound)s was cancelled from this programme; it can join a later one.")
                % {"compound": compound.name}
            )
        project = Project(programme=programme, compound=compound, year=year, selected_on=on, note=note[:300])
        project.fill_place()
        try:
            with transaction.atomic():
                project.save()
        except IntegrityError as exc:  # a concurrent selection of the same compound won
            raise RenovationError(
                _("%(compound)s is already in an active project.") % {"compound": compound.name}
            ) from exc
        ProjectStep.objects.create(
            project=project, status=ProjectStatus.SELECTED, on=on, user=_user(by), note=note[:300]
        )
    return project


# --- steps ---------------------------------------------------------------------------------------


def _locked(project: Project) -> Project:
    return Project.objects.select_for_update(of=("self",)).select_related("compound").get(pk=project.pk)


def _move(project: Project, to: str, on: dt.date, by, note: str = "", **fields) -> Project:
    """The move itself, inside the caller's transaction on a locked row."""
    if to not in TRANSITIONS[project.status]:
        raise RenovationError(
            _("A project that is %(status)s cannot become %(to)s.")
            % {"status": project.get_status_display(), "to": ProjectStatus(to).label}
        )
    _not_future(on, ProjectStatus(to).label)
    latest = max(d for d in (project.selected_on, project.planned_on, project.started_on) if d is not None)
    if on < latest:
        raise RenovationError(
            _("%(step)s on %(on)s would come before the project's previous step (%(latest)s).")
            % {"step": ProjectStatus(to).label, "on": on, "latest": latest}
        )
    project.status = to
    date_field = {
        ProjectStatus.PLANNED: "planned_on",
        ProjectStatus.STARTED: "started_on",
        ProjectStatus.FINISHED: "finished_on",
        ProjectStatus.CANCELLED: "cancelled_on",
    }[to]
    setattr(project, date_field, on)
    for name, value in fields.items():
        setattr(project, name, value)
    project.updated_at = timezone.now()
    project.save()
    ProjectStep.objects.create(project=project, status=to, on=on, user=_user(by), note=note[:300])
    return project


def do_set_budget(project: Project, budget: dict[str, Decimal | int | str], by=None) -> Project:
    """Set the project's budget by source (keys of renovation.choices.FundingSource)."""
    unknown = set(budget) - set(BUDGET_FIELDS)
    if unknown:
        raise RenovationError(_("Unknown funding sources: %(sources)s.") % {"sources": ", ".join(sorted(unknown))})
    with transaction.atomic():
        locked = _locked(project)
        if locked.status in (ProjectStatus.FINISHED, ProjectStatus.CANCELLED):
            raise RenovationError(_("The budget of a finished or cancelled project is closed."))
        for source, amount in budget.items():
            setattr(locked, BUDGET_FIELDS[source], _money(amount, _("A budget")))
        locked.updated_at = timezone.now()
        locked.save()
    return locked


def do_plan(
    project: Project, *, on: dt.date | None = None, budget: dict | None = None, by=None, note: str = ""
) -> Project:
    """The works are designed and budgeted: selected → planned."""
    with transaction.atomic():
        locked = _locked(project)
        fields = {}
        for source, amount in (budget or {}).items():
            if source not in BUDGET_FIELDS:
                raise RenovationError(_("Unknown funding sources: %(sources)s.") % {"sources": source})
            fields[BUDGET_FIELDS[source]] = _money(amount, _("A budget"))
        return _move(locked, ProjectStatus.PLANNED, on or _today(), by, note, **fields)


def consent_problem(project: Project, on: dt.date | None = None, rules: Policy | None = None) -> str | None:
    """Why the works may not start on ``on``: no consultation by then, or the latest one short of
    participation or consent (PRC Civil Code art. 278, by households; renovation_consent)."""
    rules = rules or policy()
    thresholds = rules.renovation_consent
    consultations = Consultation.objects.filter(project=project)
    if on is not None:
        consultations = consultations.filter(held_on__lte=on)
    latest = consultations.order_by("-held_on", "-id").first()
    if latest is None:
        return _("No consultation of the households is recorded before the start.")
    if latest.participation + EPSILON < float(thresholds["participation"]):
        return _(
            "The latest consultation (%(on)s) had %(share).0f%% of households taking part; at least %(need).0f%% "
            "must (Civil Code art. 278)."
        ) % {
            "on": latest.held_on,
            "share": latest.participation * 100,
            "need": float(thresholds["participation"]) * 100,
        }
    if latest.consent + EPSILON < float(thresholds["consent"]):
        return _(
            "The latest consultation (%(on)s) had %(share).0f%% in favour among those taking part; at least "
            "%(need).0f%% must be (Civil Code art. 278)."
        ) % {"on": latest.held_on, "share": latest.consent * 100, "need": float(thresholds["consent"]) * 100}
    return None


def do_record_consultation(
    project: Project,
    *,
    held_on: dt.date,
    kind: str,
    households: int,
    participating: int,
    in_favour: int,
    against: int,
    minutes=None,
    note: str = "",
    by=None,
) -> Consultation:
    """Record a consultation of the compound's households (counts only) and its minutes file."""
    _not_future(held_on, _("the consultation"))
    if min(households, participating, in_favour, against) < 0:
        raise RenovationError(_("Counts of households cannot be negative."))
    if households == 0:
        raise RenovationError(_("A compound's households cannot be zero."))
    if participating > households:
        raise RenovationError(
            _("More households taking part (%(p)d) than in the compound (%(h)d).")
            % {"p": participating, "h": households}
        )
    if in_favour + against > participating:
        raise RenovationError(
            _("Votes in favour and against (%(v)d) exceed the households taking part (%(p)d).")
            % {"v": in_favour + against, "p": participating}
        )
    with transaction.atomic():
        locked = _locked(project)
        if locked.status in (ProjectStatus.FINISHED, ProjectStatus.CANCELLED):
            raise RenovationError(_("A finished or cancelled project takes no more consultations."))
        if held_on < locked.selected_on:
            raise RenovationError(_("A consultation cannot come before the compound was selected."))
        if Consultation.objects.filter(project=locked, held_on=held_on, kind=kind).exists():
            raise RenovationError(_("This consultation is already recorded for that day."))
        consultation = Consultation(
            project=locked,
            held_on=held_on,
            kind=kind,
            households=households,
            participating=participating,
            in_favour=in_favour,
            against=against,
            note=note[:300],
            recorded_by=_user(by),
        )
        if minutes is not None:
            name = minutes.name.rsplit("/", 1)[-1][-100:]
            consultation.minutes = default_storage.save(f"renovation/minutes/{locked.pk}/{name}", minutes)
        consultation.save()
    return consultation


def do_start(project: Project, *, on: dt.date | None = None, by=None, note: str = "") -> Project:
    """The works start: planned → started, only with the households' consent (consent_problem)."""
    on = on or _today()
    with transaction.atomic():
        locked = _locked(project)
        if locked.status == ProjectStatus.PLANNED:  # a wrong move is refused by _move with its own reason
            problem = consent_problem(locked, on)
            if problem:
                raise RenovationError(problem)
        return _move(locked, ProjectStatus.STARTED, on, by, note)


def do_finish(
    project: Project, *, inspected_on: dt.date | None, on: dt.date | None = None, by=None, note: str = ""
) -> Project:
    """The works are done and inspected: started → finished. Every work item must be finished (or
    dropped), the final inspection dated between the start and the finish."""
    on = on or _today()
    with transaction.atomic():
        locked = _locked(project)
        if locked.status == ProjectStatus.STARTED:
            works = list(Work.objects.filter(project=locked).values_list("status", flat=True))
            if not works:
                raise RenovationError(_("No work item is recorded for this project."))
            open_items = sum(1 for s in works if s not in WORK_DONE)
            if open_items:
                raise RenovationError(_("%(n)d work items are not finished yet.") % {"n": open_items})
            if inspected_on is None:
                raise RenovationError(_("A project is finished only after its final inspection: give its date."))
            _not_future(inspected_on, _("the final inspection"))
            if inspected_on < locked.started_on or inspected_on > on:
                raise RenovationError(
                    _(
                        "The final inspection (%(inspected)s) must fall between the start (%(start)s) "
                        "and the finish (%(on)s)."
                    )
                    % {"inspected": inspected_on, "start": locked.started_on, "on": on}
                )
        project = _move(locked, ProjectStatus.FINISHED, on, by, note, inspected_on=inspected_on)
        _close_inspection(project)
        return project


def do_cancel(project: Project, *, reason: str, on: dt.date | None = None, by=None) -> Project:
    """Drop a compound from the programme (residents refused, merged into another scheme …)."""
    if not reason.strip():
        raise RenovationError(_("Say why the project is cancelled."))
    with transaction.atomic():
        project = _move(_locked(project), ProjectStatus.CANCELLED, on or _today(), by, reason)
        _close_inspection(project, reason)
        return project


def do_record_spending(project: Project, spent: Decimal | int | str, by=None) -> Project:
    """Spending to date (the running total, not an increment). Over the budget is allowed, and flagged."""
    with transaction.atomic():
        locked = _locked(project)
        if locked.status == ProjectStatus.CANCELLED:
            raise RenovationError(_("A cancelled project takes no spending."))
        locked.spent = _money(spent, _("Spending"))
        locked.updated_at = timezone.now()
        locked.save()
    return locked


# --- works ---------------------------------------------------------------------------------------


def do_add_work(
    project: Project,
    *,
    kind: str,
    quantity: Decimal | int | str = 0,
    unit: str = "",
    cost: Decimal | int | str = 0,
    description: str = "",
    by=None,
) -> Work:
    from renovation.choices import WORK_UNITS, WorkKind

    if kind not in WorkKind.values:
        raise RenovationError(_("Unknown kind of work: %(kind)s.") % {"kind": kind})
    quantity = Decimal(str(quantity))
    if quantity < 0:
        raise RenovationError(_("A quantity cannot be negative."))
    with transaction.atomic():
        locked = _locked(project)
        if locked.status in (ProjectStatus.FINISHED, ProjectStatus.CANCELLED):
            raise RenovationError(_("A finished or cancelled project takes no more works."))
        return Work.objects.create(
            project=locked,
            kind=kind,
            quantity=quantity,
            unit=(unit or WORK_UNITS[kind])[:8],
            cost=_money(cost, _("A cost")),
            description=description[:200],
        )


def do_set_work_status(work: Work, status: str, *, on: dt.date | None = None, by=None) -> Work:
    """Move one work item; when the last open item of a started project is done, the street is given
    an inspection task (tasks: ``inspect``, owned at street level) for the final inspection."""
    if status not in WorkStatus.values:
        raise RenovationError(_("Unknown work status: %(status)s.") % {"status": status})
    with transaction.atomic():
        project = _locked(work.project)
        if project.status in (ProjectStatus.FINISHED, ProjectStatus.CANCELLED):
            raise RenovationError(_("The works of a finished or cancelled project are closed."))
        if status in (WorkStatus.IN_PROGRESS, WorkStatus.FINISHED) and project.status != ProjectStatus.STARTED:
            raise RenovationError(_("Works go ahead only once the project has started."))
        locked = Work.objects.select_for_update().get(pk=work.pk, project=project)
        finished_on = None
        if status == WorkStatus.FINISHED:
            finished_on = on or _today()
            _not_future(finished_on, _("the work item"))
            if finished_on < project.started_on:
                raise RenovationError(_("A work item cannot finish before the project started."))
        locked.status, locked.finished_on = status, finished_on
        locked.save()
        still_open = Work.objects.filter(project=project).exclude(status__in=WORK_DONE).exists()
        if project.status == ProjectStatus.STARTED and not still_open:
            _open_inspection(project, by)
    return locked


def _open_inspection(project: Project, by) -> None:
    from tasks.choices import TaskType
    from tasks.services import do_open_task

    do_open_task(
        TaskType.INSPECT,
        subject=project.compound,
        title=_("Final inspection of the renovation of %(compound)s") % {"compound": project.compound.name},
        detail=_("Every work item is finished; inspect the works and record the date on the project."),
        source=INSPECT_SOURCE,
        dedupe_key=f"{INSPECT_SOURCE}:{project.pk}",
        opened_by=by,
    )


def _close_inspection(project: Project, note: str = "") -> None:
    """The inspection task is done with the project (finished) or moot (cancelled); one nobody took
    is cancelled (tasks.services.do_complete_many)."""
    from tasks.models import Task
    from tasks.services import do_complete_many

    ids = Task.objects.filter(dedupe_key=f"{INSPECT_SOURCE}:{project.pk}").values_list("pk", flat=True)
    text = note or _("Project %(status)s.") % {"status": project.get_status_display()}
    do_complete_many(dict.fromkeys(ids, text))
