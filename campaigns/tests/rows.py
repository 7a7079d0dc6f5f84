"""Contract rows for the campaign tests: member lists, tube results and individual results."""

from __future__ import annotations

from core.imports.runner import run_import
from tests_support.city import to_csv


def members(tubes: dict[str, list[str]], at: str = "2020-05-22T09:00:00+08:00") -> list[dict]:
    """``pool_members`` rows: each tube's people in order, swabbed at ``at`` at site S1."""
    return [
        {"pool_id": tube, "id_number": person, "position": str(n), "sampled_at": at, "site_code": "S1"}
        for tube, people in tubes.items()
        for n, person in enumerate(people, start=1)
    ]


def results(rows: dict[str, str], at: str = "2020-05-22T18:00:00+08:00") -> list[dict]:
    """``lab_results`` rows for whole tubes (no person): tube → result, reported at ``at``."""
    return [
        {
            "sample_id": tube,
            "pool_id": tube,
            "id_number": "",
            "sampled_at": "2020-05-22T10:00:00+08:00",
            "reported_at": at,
            "lab_code": "LAB1",
            "result": result,
        }
        for tube, result in rows.items()
    ]


def individual(person: str, result: str, sample: str) -> dict:
    """One person's own re-swab result."""
    return {
        "sample_id": sample,
        "pool_id": "",
        "id_number": person,
        "sampled_at": "2020-05-23T09:00:00+08:00",
        "reported_at": "2020-05-23T15:00:00+08:00",
        "result": result,
    }


def load(kind: str, rows: list[dict]):
    """Import ``rows`` as a CSV file of ``kind``; the import must not fail as a whole."""
    batch = run_import(kind, to_csv(rows), filename=f"{kind}.csv")
    assert batch.status == "done", batch.error
    return batch
