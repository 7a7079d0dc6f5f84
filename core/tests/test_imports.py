"""The import framework end to end, through the real runner, on the configured database."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import CommandError, call_command
from openpyxl import Workbook

from core.choices import ImportStatus, RejectStatus
from core.imports import runner
from core.imports.errors import ImportFileError
from core.imports.runner import resubmit_rejection, run_import, run_import_rows
from core.models import ChangeLog, ImportBatch, ImportRejection
from geo.models import Household
from people.models import KeyGroupMembership, NodeCount, Resident
from tests_support.city import to_csv, valid_id

pytestmark = pytest.mark.django_db


def resident_row(city, **overrides) -> dict:
    row = dict(city.resident_rows[0])
    row.update(overrides)
    return row


def test_summary_counts_a_fresh_city(city):
    assert Resident.objects.count() == len(city.resident_rows) == 40
    assert Household.objects.count() == 24
    city_counts = NodeCount.objects.get(level="city")
    assert (city_counts.residents, city_counts.households, city_counts.elderly_alone, city_counts.chronic) == (
        40,
        24,
        8,
        24,
    )
    grid = city.grid("420102")
    assert NodeCount.objects.get(level="grid", node_id=grid.pk).residents == 10


def test_reimport_changes_nothing(city):
    data = to_csv(city.resident_rows)
    changes_before = ChangeLog.objects.count()
    batch = run_import("residents", data, filename="again.csv")
    assert (batch.inserted, batch.updated, batch.unchanged, batch.rejected) == (0, 0, 40, {})
    assert ChangeLog.objects.count() == changes_before
    assert KeyGroupMembership.objects.count() == 24 + 8


def test_updates_are_recorded_with_before_and_after(city):
    rows = [dict(r) for r in city.resident_rows]
    rows[0]["name"] = "改名"
    rows[0]["tags"] = "disabled"
    rows[1]["room"] = "999"
    batch = run_import("residents", to_csv(rows), filename="changes.csv")
    assert (batch.inserted, batch.updated, batch.unchanged) == (0, 2, 38)
    moved = Resident.objects.get(id_number=rows[1]["id_number"])
    assert moved.household.room == "999"
    renamed = Resident.objects.get(id_number=rows[0]["id_number"])
    entry = ChangeLog.objects.get(model="people.resident", object_id=renamed.pk, action="update")
    assert entry.before["name"] == rows[0]["name"] if False else entry.before["name"] == city.resident_rows[0]["name"]
    assert entry.after["name"] == "改名"
    assert entry.batch_id == batch.pk
    assert set(renamed.key_groups.values_list("group", flat=True)) == {"disabled"}


def test_bad_rows_are_kept_with_reasons_and_reimport_is_idempotent(city):
    good = resident_row(city, id_number=valid_id("420102", "19900101", 11), name="新人")
    rows = [
        good,
        resident_row(city, id_number=valid_id("420102", "19900101", 13)[:-1] + "0"),  # wrong check digit?
        resident_row(city, id_number="42010219900230011X"),  # 30 February
        resident_row(city, id_number=valid_id("420102", "19900101", 15), building_code="NOWHERE"),
        resident_row(city, id_number=valid_id("420102", "19900101", 17), sex="F"),  # odd sequence: male
        resident_row(city, id_number=valid_id("420102", "19900101", 19), tags="vip"),
        resident_row(city, id_number=valid_id("420102", "19900101", 21), name=""),
        resident_row(city, id_number=valid_id("420102", "19900101", 23), phone="12345"),
        dict(good, name="重复"),
    ]
    if rows[1]["id_number"] == valid_id("420102", "19900101", 13):
        rows[1]["id_number"] = rows[1]["id_number"][:-1] + "1"
    batch = run_import("residents", to_csv(rows), filename="bad.csv")
    assert batch.inserted == 1
    assert batch.rejected == {
        "duplicate_key_in_file": 1,
        "id_number_birth_date": 1,
        "id_number_checksum": 1,
        "invalid_phone": 1,
        "invalid_value": 1,
        "missing_required": 1,
        "sex_conflicts_with_id": 1,
        "unknown_parent": 1,
    }
    kept = ImportRejection.objects.filter(batch=batch)
    assert kept.count() == 8
    unknown = kept.get(reason="unknown_parent")
    assert unknown.row_number == 5 and unknown.data["building_code"] == "NOWHERE"
    assert unknown.detail == "NOWHERE"

    again = run_import("residents", to_csv(rows), filename="bad.csv")
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 1)
    assert ImportRejection.objects.filter(status=RejectStatus.OPEN).count() == 8
    assert set(kept.values_list("times_seen", flat=True)) == {2}


def test_rejected_row_can_be_corrected_and_resubmitted(city):
    user = city.staff("fixer", "community_worker", city.divisions["420102001001"])  # the row's community
    row = resident_row(city, id_number=valid_id("420102", "19900101", 31), building_code="NOWHERE")
    batch = run_import("residents", to_csv([row]), filename="one.csv")
    reject = ImportRejection.objects.get(batch=batch)
    still_bad = resubmit_rejection(reject, dict(reject.data, building_code="ALSO-NOWHERE"), user)
    assert still_bad.rejected == {"unknown_parent": 1}
    reject.refresh_from_db()
    assert reject.status == RejectStatus.OPEN
    fixed = resubmit_rejection(reject, dict(reject.data, building_code=city.resident_rows[0]["building_code"]), user)
    assert fixed.inserted == 1
    reject.refresh_from_db()
    assert reject.status == RejectStatus.RESOLVED and reject.resolved_by == user


def test_later_accepted_row_supersedes_open_reject(city):
    row = resident_row(city, id_number=valid_id("420102", "19900101", 33), tags="vip")
    run_import("residents", to_csv([row]))
    run_import("residents", to_csv([dict(row, tags="chronic")]))
    assert ImportRejection.objects.get(key_value=row["id_number"]).status == RejectStatus.SUPERSEDED


@pytest.mark.parametrize(
    ("kind", "data", "message"),
    [
        ("nonsense", b"a\n1\n", "Unknown import kind"),
        ("residents", b"code,name\n1,2\n", "Required columns are missing"),
        ("residents", b"", "empty"),
        ("residents", b"\x81\x30\x81\x30\xff\xff\xff", "neither UTF-8 nor GB18030"),
    ],
)
def test_unusable_files_change_nothing(city, kind, data, message):
    residents, batches = Resident.objects.count(), ImportBatch.objects.count()
    with pytest.raises(ImportFileError, match=message):
        run_import(kind, data, filename="x.csv")
    assert Resident.objects.count() == residents
    failed = ImportBatch.objects.latest("pk")
    assert ImportBatch.objects.count() == batches + 1 and failed.status == ImportStatus.FAILED and failed.error


def test_oversized_upload_is_refused(city, settings):
    settings.LINLI_MAX_UPLOAD_BYTES = 100
    with pytest.raises(ImportFileError, match="limit"):
        run_import("residents", to_csv(city.resident_rows))


def test_crash_midway_leaves_no_half_state(city, monkeypatch):
    rows = [resident_row(city, id_number=valid_id("420106", "19950505", 2 * i + 1), name=f"新{i}") for i in range(5)]
    residents, households, changes = Resident.objects.count(), Household.objects.count(), ChangeLog.objects.count()

    def explode(kind):
        raise RuntimeError("disk full")

    monkeypatch.setattr(runner, "AFTER_IMPORT_HOOKS", [explode])
    with pytest.raises(RuntimeError):
        run_import("residents", to_csv(rows), filename="crash.csv")
    assert Resident.objects.count() == residents
    assert Household.objects.count() == households
    assert ChangeLog.objects.count() == changes
    assert ImportBatch.objects.latest("pk").status == ImportStatus.FAILED


def test_chinese_headers_gb18030_and_extra_columns(city):
    row = resident_row(city, id_number=valid_id("420102", "19880808", 41), name="汉字")
    zh = {
        "身份证号": row["id_number"],
        "姓名": row["name"],
        "性别": "男",
        "手机号": row["phone"],
        "楼栋编码": row["building_code"],
        "单元": "1",
        "房号": "301",
        "人口类型": "流动",
        "标签": "慢病",
        "备注": "新搬来",
    }
    zh["标签"] = "chronic"
    batch = run_import("residents", to_csv([zh], encoding="gb18030"), filename="gb.csv")
    assert batch.inserted == 1, batch.rejected
    resident = Resident.objects.get(id_number=row["id_number"])
    assert resident.residence_type == "migrant" and resident.extra == {"备注": "新搬来"}


def test_xlsx_import(city):
    wb = Workbook()
    ws = wb.active
    ws.append(["building_code", "compound_code", "name", "units", "floors"])
    compound = next(iter(city.compounds))
    ws.append([f"{compound}-09", compound, "9栋", 2, 11.0])
    buf = io.BytesIO()
    wb.save(buf)
    batch = run_import("buildings", buf.getvalue(), filename="b.xlsx")
    assert batch.inserted == 1, batch.rejected


def test_division_tree_rules(city):
    rows = [
        {"code": "420102002000", "name": "新街道", "level": "street", "parent_code": "420102000000"},
        {"code": "420102002001", "name": "新社区", "level": "community", "parent_code": "420102002000"},
        {"code": "420102002002", "name": "新社区", "level": "community", "parent_code": "420102002000"},
        {"code": "420106002001", "name": "错前缀", "level": "community", "parent_code": "420102002000"},
        {"code": "420102003001", "name": "孤儿", "level": "community", "parent_code": "420102003000"},
        {"code": "420102002002001", "name": "网格", "level": "grid", "parent_code": "420102000000"},
        {"code": "420102002001001", "name": "第1网格", "level": "街道", "parent_code": "420102002001"},
    ]
    batch = run_import("divisions", to_csv(rows))
    assert batch.inserted == 2
    assert batch.rejected == {"bad_code_for_parent": 2, "name_taken": 1, "unknown_parent": 1, "invalid_value": 1}


def test_social_registry_links_by_id_and_by_name_and_phone(city):
    first, second = city.resident_rows[0], city.resident_rows[1]
    rows = [
        {"id_number": first["id_number"], "program": "low_income", "since": "2019-01-01", "name": "", "phone": ""},
        {
            "id_number": "",
            "program": "disabled",
            "since": "2020/02/03",
            "name": second["name"],
            "phone": second["phone"],
        },
        {"id_number": "", "program": "disabled", "since": "", "name": "无此人", "phone": "13900000000"},
        {"id_number": "", "program": "special_care", "since": "", "name": "只有名字", "phone": ""},
    ]
    batch = run_import("social_registry", to_csv(rows))
    assert batch.inserted == 2
    assert batch.linked == {"id_number": 1, "name_phone": 1}
    assert batch.rejected == {"person_not_found": 1, "missing_required": 1}
    assert NodeCount.objects.get(level="city").low_income == 1


def test_pushed_records_use_the_same_rules(city):
    batch = run_import_rows(
        "venues",
        [
            {"venue_code": "V420102000001", "name": "菜场", "kind": "market", "grid_code": city.grid("420102").code},
            {"venue_code": "V420102000002", "name": "无类", "kind": "spaceship"},
        ],
    )
    assert batch.inserted == 1 and batch.rejected == {"invalid_value": 1}


def test_cli_prints_json_summary_and_fails_clearly(city, tmp_path, capsys):
    path = tmp_path / "residents.csv"
    path.write_bytes(to_csv(city.resident_rows))
    call_command("import_data", "residents", str(path), "--json")
    summary = json.loads(capsys.readouterr().out)
    assert {k: summary[k] for k in ("kind", "rows", "inserted", "updated", "unchanged", "rejected")} == {
        "kind": "residents",
        "rows": 40,
        "inserted": 0,
        "updated": 0,
        "unchanged": 40,
        "rejected": {},
    }
    bad = tmp_path / "bad.csv"
    bad.write_bytes(b"nothing,useful\n1,2\n")
    with pytest.raises(CommandError, match="Required columns are missing"):
        call_command("import_data", "residents", str(bad))


def test_messages_are_chinese_by_default(city):
    from django.utils import translation

    with translation.override("zh-hans"):
        with pytest.raises(ImportFileError) as caught:
            run_import("residents", b"code,name\n1,2\n")
        assert "缺少必需的列" in str(caught.value) and "id_number [身份证号]" in str(caught.value)


def test_large_loads_rebuild_indexes_and_keep_them(city, monkeypatch):
    """A load as large as the table drops and rebuilds secondary indexes inside the transaction."""
    from django.db import connection

    from core.imports import sql

    def index_names(table: str) -> set[str]:
        with connection.cursor() as cursor:
            return {
                c["columns"][0] + ("!" if c["unique"] else "")
                for c in connection.introspection.get_constraints(cursor, table).values()
                if c["index"]
            }

    before = {t: index_names(t) for t in ("people_resident", "geo_household", "people_keygroupmembership")}
    monkeypatch.setattr(sql, "BULK_REBUILD_MIN_ROWS", 1)
    rows = [
        resident_row(
            city,
            id_number=valid_id("420106", "19770707", 2 * i + 1),
            name=f"大批{i}",
            room=str(900 + i),
            tags="chronic",
        )
        for i in range(60)
    ]
    batch = run_import("residents", to_csv(rows))
    assert batch.inserted == 60
    assert {t: index_names(t) for t in before} == before
    assert Resident.objects.filter(name__startswith="大批").count() == 60
    assert KeyGroupMembership.objects.filter(resident__name__startswith="大批", group="chronic").count() == 60


def test_large_loads_keep_foreign_keys(city, monkeypatch):
    """PostgreSQL drops the foreign keys of a large load and validates them again, once."""
    from django.db import IntegrityError, connection, transaction

    from core.imports import sql

    if connection.vendor != "postgresql":
        pytest.skip("only PostgreSQL drops and validates foreign keys around large loads")

    def foreign_keys(table: str) -> set[str]:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT conname FROM pg_constraint WHERE conrelid = %s::regclass AND contype = 'f' AND convalidated",
                [table],
            )
            return {row[0] for row in cursor.fetchall()}

    before = foreign_keys("people_resident")
    monkeypatch.setattr(sql, "BULK_REBUILD_MIN_ROWS", 1)
    rows = [
        resident_row(city, id_number=valid_id("420106", "19660606", 2 * i + 1), name=f"外键{i}", room=str(700 + i))
        for i in range(50)
    ]
    assert run_import("residents", to_csv(rows)).inserted == 50
    assert foreign_keys("people_resident") == before and before
    with pytest.raises(IntegrityError), transaction.atomic():
        Resident.objects.filter(name="外键0").update(household_id=10**9)
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")


def test_times_parse_the_same_whichever_form_and_path():
    """contracts.md, Times: the machine-written forms take fast paths (all plain local, or all ISO
    with +08:00); they must agree with the general parser, value for value, and still refuse
    impossible dates."""
    import pyarrow as pa

    from core.imports.columns import DateTime

    parser = DateTime()
    iso = ["2020-05-22T09:00:00+08:00", "2020-02-29T23:59:59+08:00", "2021-02-29T08:00:00+08:00"]
    plain = ["2020-05-22 09:00:00", "2020-02-29 23:59:59", "2021-02-29 08:00:00"]
    general = ["2020-05-22T01:00:00Z", "2020/02/29 23:59:59", "2021-02-29T08:00:00+0800"]  # mixed: slow path
    fast_iso, fast_plain, slow = (parser.parse(pa.array(values)) for values in (iso, plain, general))
    assert fast_iso.values.to_pylist()[:2] == fast_plain.values.to_pylist()[:2] == slow.values.to_pylist()[:2]
    assert list(fast_iso.reasons) == list(fast_plain.reasons) == list(slow.reasons) == ["", "", "invalid_date"]


@pytest.mark.django_db
def test_a_file_of_headers_only_imports_nothing_and_fails_nothing():
    """A reporter with nothing to send (a school on holiday) may send just the header row."""
    batch = run_import("pharmacy_sales", b"pharmacy_code,date,product_class,units,area_code\n", filename="none.csv")
    assert (batch.status, batch.rows, batch.inserted, batch.rejected_total) == ("done", 0, 0, 0)
