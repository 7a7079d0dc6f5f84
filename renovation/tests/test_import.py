"""The renovation_projects import: every reject reason kept with its row, the steps and
consultations the rows bring, and a re-import that changes nothing."""

from __future__ import annotations

from core.imports.runner import run_import
from core.models import ImportRejection
from renovation.models import Consultation, Project, ProjectStep
from renovation.services import do_create_programme
from renovation.tests.conftest import NEW, OLD_A, OLD_B, OLD_C
from tests_support.city import to_csv

COLUMNS = (
    "programme_code",
    "compound_code",
    "year",
    "status",
    "selected_on",
    "planned_on",
    "started_on",
    "inspected_on",
    "finished_on",
    "cancelled_on",
    "budget_central",
    "budget_city",
    "budget_residents",
    "spent",
    "consulted_on",
    "households",
    "participating",
    "in_favour",
    "against",
)


def row(compound: str, status: str = "selected", programme: str = "WH-2020", year: str = "2021", **values) -> dict:
    base = dict.fromkeys(COLUMNS, "")
    return (
        base
        | {
            "programme_code": programme,
            "compound_code": compound,
            "year": year,
            "status": status,
            "selected_on": "2020-10-01",
        }
        | values
    )


FINISHED = {
    "planned_on": "2020-12-01",
    "started_on": "2021-04-01",
    "inspected_on": "2021-10-20",
    "finished_on": "2021-10-25",
    "budget_central": "300",
    "budget_city": "100",
    "budget_residents": "20",
    "spent": "433.5",
    "consulted_on": "2021-03-10",
    "households": "90",
    "participating": "60",
    "in_favour": "45",
    "against": "10",
}
SHORT = {"consulted_on": "2021-02-01", "households": "90", "participating": "59", "in_favour": "50", "against": "5"}


def rows() -> list[dict]:
    return [
        row(OLD_A, "finished", **FINISHED),  # 2: accepted
        row(OLD_B, "planned", planned_on="2020-11-15", **SHORT),  # 3: accepted, its consultation kept
        row(OLD_A, "selected"),  # 4: the key again
        row(OLD_C, programme="NOPE"),  # 5
        row(OLD_C, programme="WH-2023"),  # 6: 2021 is not a year of WH-2023
        row("420199999999999-01"),  # 7
        row(NEW),  # 8: built 2001
        row(OLD_C, "started", planned_on="2020-12-01", started_on="2021-04-01"),  # 9: no consultation
        row("C-10", "planned", planned_on="2020-09-01"),  # 10: planned before selected
        row("C-11", "finished", planned_on="2020-12-01", inspected_on="2021-10-01", finished_on="2021-10-02"),
        row("C-12", "finished", planned_on="2020-12-01", started_on="2021-04-01", finished_on="2021-10-02"),
        row("C-13", "started", started_on="2021-04-01"),  # 13: planned_on missing
        row("C-14", consulted_on="2021-01-01", households="10", participating="12", in_favour="1", against="1"),
        row("C-15", consulted_on="2021-01-01"),  # 15: counts missing
        row("C-16", selected_on="2099-01-01"),  # 16: future
        row("C-17", started_on="2021-04-01", planned_on="2020-12-01"),  # 17: started date on a selected row
        row("C-18", budget_city="-5"),  # 18
        row("C-19", "finished", **(FINISHED | {"finished_on": "2021-03-01"})),  # 19: finished before start
    ]


def reasons(batch) -> dict[int, str]:
    return dict(ImportRejection.objects.filter(batch=batch).values_list("row_number", "reason"))


def test_every_bad_row_is_kept_with_its_reason_and_a_reimport_changes_nothing(setting):
    do_create_programme("WH-2023", "第二期", 2023, 2025)
    data = to_csv(rows())
    batch = run_import("renovation_projects", data, filename="projects.csv")
    assert (batch.inserted, batch.updated) == (2, 0)
    assert reasons(batch) == {
        4: "duplicate_key_in_file",
        5: "unknown_programme",
        6: "year_outside_programme",
        7: "unknown_compound",
        8: "compound_too_new",
        9: "consent_not_reached",
        10: "dates_out_of_order",
        11: "finished_without_start",
        12: "finished_without_inspection",
        13: "missing_step_date",
        14: "consultation_counts",
        15: "consultation_incomplete",
        16: "invalid_date",
        17: "date_beyond_status",
        18: "invalid_number",
        19: "dates_out_of_order",
    }
    rejected = ImportRejection.objects.get(batch=batch, row_number=9)
    assert rejected.data["compound_code"] == OLD_C and "no consultation" in rejected.detail
    finished = Project.objects.get(compound__code=OLD_A)
    assert finished.status == "finished" and finished.budget_total == 420 and finished.over_budget
    assert finished.district_id == setting.old_a.district_id and finished.grid_id == setting.old_a.grid_id
    assert list(finished.steps.values_list("status", flat=True)) == ["selected", "planned", "started", "finished"]
    assert Consultation.objects.count() == 2
    planned = Project.objects.get(compound__code=OLD_B)
    assert planned.consultations.get().participating == 59  # kept; its start will be refused

    again = run_import("renovation_projects", data, filename="projects.csv")
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 2)
    assert again.rejected_total == batch.rejected_total
    assert ProjectStep.objects.count() == 6 and Consultation.objects.count() == 2
    assert ImportRejection.objects.filter(status="open").count() == 16  # counted again, not stored twice

    second_round = FINISHED | {"consulted_on": "2021-04-20", "inspected_on": "", "finished_on": ""}
    second_round |= {"planned_on": "2020-11-15", "started_on": "2021-05-01"}
    moved = run_import("renovation_projects", to_csv([row(OLD_B, "started", **second_round)]), filename="update.csv")
    assert (moved.inserted, moved.updated, moved.rejected_total) == (0, 1, 0)
    assert Project.objects.get(compound__code=OLD_B).status == "started"  # a second round reached consent
    assert ProjectStep.objects.filter(project__compound__code=OLD_B, status="started").exists()


def test_a_compound_of_unknown_year_or_in_another_programme(setting):
    run_import("renovation_projects", to_csv([row(OLD_A)]), filename="first.csv")
    do_create_programme("WH-2023", "第二期", 2023, 2025)
    setting.new.built_year = None
    setting.new.save()
    batch = run_import(
        "renovation_projects",
        to_csv([row(OLD_A, programme="WH-2023", year="2023"), row(NEW), row(OLD_C, "cancelled", cancelled_on="")]),
        filename="second.csv",
    )
    assert reasons(batch) == {2: "compound_in_other_project", 3: "built_year_unknown", 4: "missing_step_date"}
    detail = ImportRejection.objects.get(batch=batch, row_number=2).detail
    assert detail == "WH-2020"
