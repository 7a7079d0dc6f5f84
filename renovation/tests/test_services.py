"""The rules of the programme through its actions: selection (old compounds only, one active
project each), consultation before the start (Civil Code art. 278 by households), finishing (works
done, inspection dated), dates in order, spending over budget flagged, history rows."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from core.policy import do_update_policy
from renovation.choices import ProjectStatus, WorkStatus
from renovation.models import Consultation, Project, ProjectStep
from renovation.services import (
    RenovationError,
    consent_problem,
    do_add_work,
    do_cancel,
    do_create_programme,
    do_finish,
    do_plan,
    do_record_consultation,
    do_record_spending,
    do_select,
    do_set_budget,
    do_set_target,
    do_set_work_status,
    do_start,
    selection_problem,
)
from renovation.tests.conftest import DAY
from tasks.models import Task

D = dt.timedelta


def consult(project, on=DAY, households=90, participating=60, in_favour=45, against=10, **kw):
    return do_record_consultation(
        project,
        held_on=on,
        kind="survey",
        households=households,
        participating=participating,
        in_favour=in_favour,
        against=against,
        **kw,
    )


def started(setting, compound=None, on=DAY):
    project = do_select(setting.programme, compound or setting.old_a, 2021, on=on)
    do_plan(project, on=on + D(days=10), budget={"central": 300, "city": 100, "residents": 20})
    consult(project, on=on + D(days=20))
    return do_start(project, on=on + D(days=30))


# --- selection -------------------------------------------------------------------------------------


def test_selection_takes_old_compounds_and_writes_the_first_step(setting):
    project = do_select(setting.programme, setting.old_a, 2021, on=DAY)
    assert project.status == ProjectStatus.SELECTED and project.district_id == setting.old_a.district_id
    assert project.grid_id == setting.old_a.grid_id and project.street_id == setting.old_a.street_id
    assert list(ProjectStep.objects.values_list("status", "on")) == [("selected", DAY)]


def test_a_compound_built_in_2001_or_later_is_refused_with_the_reason(setting):
    with pytest.raises(RenovationError, match="built in 2001; only compounds built before 2001"):
        do_select(setting.programme, setting.new, 2021, on=DAY)
    assert not Project.objects.exists()


def test_a_compound_of_unknown_year_is_refused(setting):
    setting.old_a.built_year = None
    setting.old_a.save()
    with pytest.raises(RenovationError, match="is not known"):
        do_select(setting.programme, setting.old_a, 2021, on=DAY)


def test_the_year_threshold_is_policy(setting):
    do_update_policy({"renovation_built_before": 1990}, None, "stricter")
    assert "only compounds built before 1990" in selection_problem(setting.old_a)
    assert selection_problem(setting.old_b) is None  # built 1988


def test_a_compound_in_an_active_project_is_refused(setting):
    do_select(setting.programme, setting.old_a, 2021, on=DAY)
    later = do_create_programme("WH-2023", "第二期", 2023, 2025)
    with pytest.raises(RenovationError, match="already in an active project"):
        do_select(later, setting.old_a, 2023, on=DAY)
    with pytest.raises(RenovationError, match="already in an active project"):
        do_select(setting.programme, setting.old_a, 2022, on=DAY)


def test_a_cancelled_project_frees_the_compound_for_another_programme(setting):
    project = do_select(setting.programme, setting.old_a, 2021, on=DAY)
    do_cancel(project, reason="居民意见分歧", on=DAY + D(days=5))
    with pytest.raises(RenovationError, match="cancelled from this programme"):
        do_select(setting.programme, setting.old_a, 2022, on=DAY)
    later = do_create_programme("WH-2023", "第二期", 2023, 2025)
    assert do_select(later, setting.old_a, 2023, on=DAY).status == ProjectStatus.SELECTED


def test_selection_year_must_be_in_the_programme_and_date_not_in_future(setting):
    with pytest.raises(RenovationError, match="not a year of this programme"):
        do_select(setting.programme, setting.old_a, 2024, on=DAY)
    with pytest.raises(RenovationError, match="in the future"):
        do_select(setting.programme, setting.old_a, 2021, on=timezone.localdate() + D(days=2))


# --- consultation and start -------------------------------------------------------------------------


def test_start_needs_a_consultation(setting):
    project = do_select(setting.programme, setting.old_a, 2021, on=DAY)
    do_plan(project, on=DAY)
    with pytest.raises(RenovationError, match="No consultation"):
        do_start(project, on=DAY + D(days=1))
    assert Project.objects.get().status == ProjectStatus.PLANNED


@pytest.mark.parametrize(
    ("households", "participating", "in_favour", "ok"),
    [
        (90, 60, 45, True),  # exactly 2/3 taking part, exactly 3/4 of them in favour
        (90, 59, 45, False),  # participation short by one household
        (90, 60, 44, False),  # consent short by one household
        (9, 6, 5, True),
        (100, 100, 74, False),
    ],
)
def test_civil_code_thresholds_by_households(setting, households, participating, in_favour, ok):
    project = do_select(setting.programme, setting.old_a, 2021, on=DAY)
    do_plan(project, on=DAY)
    consult(project, households=households, participating=participating, in_favour=in_favour, against=0)
    problem = consent_problem(project, DAY)
    assert (problem is None) is ok
    if not ok:
        with pytest.raises(RenovationError, match=r"Civil Code art\. 278"):
            do_start(project, on=DAY)


def test_the_latest_consultation_before_the_start_decides(setting):
    project = do_select(setting.programme, setting.old_a, 2021, on=DAY)
    do_plan(project, on=DAY)
    consult(project, on=DAY, participating=40, in_favour=30, against=5)  # too few took part
    consult(project, on=DAY + D(days=10))  # a second round reaches the thresholds
    with pytest.raises(RenovationError, match="44%"):
        do_start(project, on=DAY + D(days=5))  # before the second round, the first decides
    assert do_start(project, on=DAY + D(days=10)).status == ProjectStatus.STARTED


def test_consent_thresholds_are_policy(setting):
    project = do_select(setting.programme, setting.old_a, 2021, on=DAY)
    do_plan(project, on=DAY)
    consult(project, participating=50, in_favour=26, against=20)
    assert consent_problem(project, DAY) is not None
    do_update_policy({"renovation_consent": {"participation": 0.5, "consent": 0.5}}, None, "looser")
    assert consent_problem(project, DAY) is None
    with pytest.raises(ValueError, match="between 0 and 1"):
        do_update_policy({"renovation_consent": {"participation": 1.5, "consent": 0.5}}, None, "bad")


@pytest.mark.parametrize(
    ("counts", "message"),
    [
        ({"participating": 91}, "More households taking part"),
        ({"in_favour": 50, "against": 20}, "exceed the households taking part"),
        ({"households": 0, "participating": 0, "in_favour": 0, "against": 0}, "cannot be zero"),
        ({"against": -1}, "cannot be negative"),
    ],
)
def test_consultation_counts_must_add_up(setting, counts, message):
    project = do_select(setting.programme, setting.old_a, 2021, on=DAY)
    with pytest.raises(RenovationError, match=message):
        consult(project, **counts)
    assert not Consultation.objects.exists()


def test_consultation_dates_and_minutes(setting):
    project = do_select(setting.programme, setting.old_a, 2021, on=DAY)
    with pytest.raises(RenovationError, match="before the compound was selected"):
        consult(project, on=DAY - D(days=1))
    with pytest.raises(RenovationError, match="in the future"):
        consult(project, on=timezone.localdate() + D(days=1))
    record = consult(project, minutes=SimpleUploadedFile("纪要.pdf", b"%PDF-1.4 minutes"))
    assert record.minutes.endswith("纪要.pdf")
    with default_storage.open(record.minutes) as stored:
        assert stored.read() == b"%PDF-1.4 minutes"
    with pytest.raises(RenovationError, match="already recorded"):
        consult(project)


def test_steps_follow_the_table(setting):
    project = do_select(setting.programme, setting.old_a, 2021, on=DAY)
    with pytest.raises(RenovationError, match="cannot become Works started"):
        do_start(project, on=DAY)
    with pytest.raises(RenovationError, match="cannot become Finished"):
        do_finish(project, inspected_on=DAY, on=DAY)
    do_cancel(project, reason="并入其他项目", on=DAY)
    with pytest.raises(RenovationError, match="cannot become Planned"):
        do_plan(project, on=DAY)
    with pytest.raises(RenovationError, match="Say why"):
        do_cancel(Project.objects.get(), reason=" ")


def test_dates_must_be_in_order(setting):
    project = do_select(setting.programme, setting.old_a, 2021, on=DAY)
    with pytest.raises(RenovationError, match="before the project's previous step"):
        do_plan(project, on=DAY - D(days=1))
    do_plan(project, on=DAY + D(days=5))
    consult(project, on=DAY + D(days=1))
    with pytest.raises(RenovationError, match="before the project's previous step"):
        do_start(project, on=DAY + D(days=4))


# --- works, finishing, spending ----------------------------------------------------------------------


def test_finish_needs_every_work_done_and_an_inspection(setting):
    project = started(setting)
    with pytest.raises(RenovationError, match="No work item"):
        do_finish(project, inspected_on=DAY + D(days=60), on=DAY + D(days=60))
    pipes = do_add_work(project, kind="pipes", quantity=1200, cost=180)
    lift = do_add_work(project, kind="elevator", quantity=2, cost=120)
    walls = do_add_work(project, kind="walls", quantity=5000, cost=60)
    do_set_work_status(pipes, WorkStatus.FINISHED, on=DAY + D(days=50))
    do_set_work_status(walls, WorkStatus.DROPPED)
    with pytest.raises(RenovationError, match="1 work items are not finished"):
        do_finish(project, inspected_on=DAY + D(days=60), on=DAY + D(days=60))
    assert not Task.objects.filter(task_type="inspect").exists()
    do_set_work_status(lift, WorkStatus.FINISHED, on=DAY + D(days=55))
    task = Task.objects.get(task_type="inspect")  # the street is asked for the final inspection
    assert task.subject_compound_id == setting.old_a.pk and task.source == "renovation.inspect"
    with pytest.raises(RenovationError, match="final inspection"):
        do_finish(project, inspected_on=None, on=DAY + D(days=60))
    with pytest.raises(RenovationError, match="must fall between"):
        do_finish(project, inspected_on=DAY + D(days=61), on=DAY + D(days=60))
    with pytest.raises(RenovationError, match="must fall between"):
        do_finish(project, inspected_on=DAY, on=DAY + D(days=60))
    done = do_finish(project, inspected_on=DAY + D(days=58), on=DAY + D(days=60))
    assert done.status == ProjectStatus.FINISHED and done.inspected_on == DAY + D(days=58)
    task.refresh_from_db()
    assert task.status == "cancelled"  # nobody is answerable for the street in this city: nobody took it
    assert list(ProjectStep.objects.filter(project=project).values_list("status", flat=True)) == [
        "selected",
        "planned",
        "started",
        "finished",
    ]
    with pytest.raises(RenovationError, match="takes no more works"):
        do_add_work(project, kind="lighting")


def test_works_rules(setting):
    project = do_select(setting.programme, setting.old_a, 2021, on=DAY)
    work = do_add_work(project, kind="roofs", quantity=800, cost=40)
    assert work.unit == "m²"
    with pytest.raises(RenovationError, match="only once the project has started"):
        do_set_work_status(work, WorkStatus.IN_PROGRESS)
    with pytest.raises(RenovationError, match="Unknown kind"):
        do_add_work(project, kind="pool")
    with pytest.raises(RenovationError, match="cannot be negative"):
        do_add_work(project, kind="roofs", quantity=-1)
    with pytest.raises(RenovationError, match="between 0 and"):
        do_add_work(project, kind="roofs", cost=-5)


def test_spending_over_budget_is_allowed_and_flagged(setting):
    project = started(setting)
    assert project.budget_total == 420
    assert not do_record_spending(project, 400).over_budget
    over = do_record_spending(project, "455.5")
    assert over.spent - over.budget_total == Decimal("35.5") and over.over_budget
    with pytest.raises(RenovationError, match="between 0 and"):
        do_record_spending(project, -1)
    assert do_set_budget(project, {"enterprise": 50}).over_budget is False
    with pytest.raises(RenovationError, match="Unknown funding sources"):
        do_set_budget(project, {"lottery": 5})


def test_targets(setting, city):
    with pytest.raises(RenovationError, match="not a year"):
        do_set_target(setting.programme, 2019, None, to_start=1, to_finish=1)
    with pytest.raises(RenovationError, match="district or for the whole city"):
        do_set_target(setting.programme, 2021, city.divisions["420102001000"], to_start=1, to_finish=1)
    with pytest.raises(RenovationError, match="negative"):
        do_set_target(setting.programme, 2021, None, to_start=-1, to_finish=1)
    again = do_set_target(setting.programme, 2021, None, to_start=30, to_finish=26)
    assert (again.to_start, again.to_finish) == (30, 26)
    assert setting.programme.targets.filter(year=2021).count() == 3
