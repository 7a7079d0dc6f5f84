"""Feed import kinds (contracts.md): clinic visits, case reports, lab results, travel.

Each load: upsert the records set-based, link every new or changed row to a person (people.linkage),
copy the person's place onto the record for scoping, then turn the rows that mean something for the
four categories into reports for cases.services (feeds → people → cases → tasks).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from cases.choices import CaseState, Category, PlacementKind, SourceKind
from cases.services import Report, do_apply
from core.imports.columns import Choice, Column, Date, DateTime, Decimal, LenientIdNumber, Text, id_problems
from core.imports.kinds import ImportKind, LoadContext, register
from core.imports.sql import Staging, UpsertResult, as_json, execute, fetch, is_postgres, upsert
from core.policy import policy
from feeds.models import FEED_MODELS, LinkMethod
from people.importers import SEX
from people.models import PLACE_COLUMNS, LinkCandidate, Resident
from people.pinyin import pinyin_column

PERSON_COLUMNS = (
    Column("id_number", "身份证号", False, LenientIdNumber()),
    Column("name", "姓名", False, Text(60)),
    Column("sex", "性别", False, SEX),
    Column("birth_date", "出生日期", False, Date()),
    Column("phone", "手机号", False, Text(20)),
    Column("address", "地址", False, Text(200)),
)
SENT_IDENTITY = [
    ("sent_id_number", "COALESCE(s.id_number, '')"),
    ("sent_name", "COALESCE(s.name, '')"),
    ("sent_sex", "COALESCE(s.sex, '')"),
    ("sent_birth_date", "s.birth_date"),
    ("sent_phone", "COALESCE(s.phone, '')"),
    ("sent_address", "COALESCE(s.address, '')"),
]
FEED_STAGING = (("_target_id", "bigint"), ("_action", "text"))
# Apps that act on lab results set-based (the campaigns app settles pooled tubes) add a handler here
# in AppConfig.ready; it gets the load's staging table and returns the sample ids it dealt with,
# which the per-row four-category reporting below then leaves alone.
LAB_RESULT_HANDLERS: list[Callable[[LoadContext, Staging], set[str]]] = []


class FeedImport(ImportKind):
    """What the four feed kinds share: person columns, linkage, places, category reports."""

    key_column = ""
    person_optional_when = ""  # a column whose presence means the row names no person (pool results)

    @property
    def key(self) -> tuple[str, ...]:  # type: ignore[override]
        return (self.key_column,)

    def check(self, table, reasons, columns, details) -> None:
        check_person_columns(table, reasons, columns, details, self.person_optional_when)

    def derive(self, table: pa.Table) -> pa.Table:
        valid = id_problems(table.column("id_number")) == ""
        table = table.append_column("_id_valid", pa.array(valid))
        return table.append_column("name_pinyin", pinyin_column(table.column("name")))

    def values(self) -> list[tuple[str, str]]:
        raise NotImplementedError

    def load(self, ctx: LoadContext, staging: Staging) -> UpsertResult:
        model = FEED_MODELS[self.name]
        target = model._meta.db_table
        result = upsert(
            staging,
            target=target,
            model_label=model._meta.label_lower,
            key=[(self.key_column, f"s.{self.key_column}")],
            values=[*self.values(), *SENT_IDENTITY, ("extra", as_json("s._extra"))],
            insert_only=[("link_method", "''"), ("batch_id", str(int(ctx.batch_id)))],
            batch_id=ctx.batch_id,
            user_id=ctx.user_id,
            source=ctx.source,
        )
        link_rows(ctx, staging, target)
        copy_places(staging, target)
        self.report(ctx, staging)
        return result

    def report(self, ctx: LoadContext, staging: Staging) -> None:
        """Turn the changed rows into four-category reports."""

    def touched(self, staging: Staging, columns: str) -> list[tuple]:
        model = FEED_MODELS[self.name]
        return fetch(
            f"SELECT t.person_id, t.{self.key_column}, {columns} FROM {staging.name} s "
            f"JOIN {model._meta.db_table} t ON t.id = s._target_id "
            "WHERE s._action IS NOT NULL AND t.person_id IS NOT NULL ORDER BY s._line"
        )


def check_person_columns(table, reasons, columns, details, optional_when: str = "") -> None:
    """contracts.md, Person columns: without a valid identity number, name + phone or name + birth
    date; ``optional_when`` names a column whose value means the row names nobody (pool results)."""
    problems = id_problems(table.column("id_number"))
    named = pc.is_valid(table.column("name")).to_numpy(zero_copy_only=False)
    other = pc.is_valid(table.column("phone")).to_numpy(zero_copy_only=False) | pc.is_valid(
        table.column("birth_date")
    ).to_numpy(zero_copy_only=False)
    unlinkable = (reasons == "") & (problems != "") & ~(named & other)
    if optional_when:
        names_nobody = (
            pc.is_valid(table.column(optional_when)).to_numpy(zero_copy_only=False) & (problems == "missing") & ~named
        )
        unlinkable &= ~names_nobody
    reasons[unlinkable] = np.where(problems[unlinkable] == "missing", "missing_required", problems[unlinkable])
    columns[unlinkable] = "id_number"
    details[unlinkable] = pc.fill_null(table.column("id_number"), "").to_numpy(zero_copy_only=False)[unlinkable]


def link_rows(ctx: LoadContext, staging: Staging, target: str) -> None:
    """Exact identity numbers first (set-based), then the probabilistic model for the rest."""
    truthy = "true" if is_postgres() else "1"
    linked_exact = execute(
        f"UPDATE {target} AS t SET person_id = r.id, link_method = '{LinkMethod.ID_NUMBER}', link_probability = 1.0 "
        f"FROM {staging.name} s, people_resident r WHERE t.id = s._target_id AND s._action IS NOT NULL "
        f"AND s._id_valid = {truthy} AND r.id_number = s.id_number AND r.merged_into_id IS NULL "
        f"AND t.link_method <> '{LinkMethod.MANUAL}'"
    )
    rows = fetch(
        f"SELECT s._target_id, s.id_number, s.name, s.name_pinyin, s.sex, s.birth_date, s.phone, s.address "
        f"FROM {staging.name} s JOIN {target} t ON t.id = s._target_id WHERE s._action IS NOT NULL "
        f"AND t.link_method NOT IN ('{LinkMethod.ID_NUMBER}', '{LinkMethod.MANUAL}') "
        "AND (s.name IS NOT NULL OR s.id_number IS NOT NULL)"
    )
    counts = {LinkMethod.ID_NUMBER.value: max(linked_exact, 0)}
    if rows:
        counts |= link_probabilistically(target, rows)
    for method, count in counts.items():
        if count:
            ctx.linked[method] = ctx.linked.get(method, 0) + count


def link_probabilistically(target: str, rows: list[tuple]) -> dict[str, int]:
    """Score the rows against the register; link, queue for review, or register new persons."""
    from people.linkage import FEED_COLUMNS, decide, score
    from people.register import register_table

    columns = list(zip(*rows, strict=True))
    feeds = pa.table(
        {
            name: pa.array(
                [str(v) if v is not None and name == "birth_date" else v for v in values],
                type=pa.int64() if name == "unique_id" else pa.string(),
            )
            for name, values in zip(FEED_COLUMNS, columns, strict=True)
        }
    )
    register = register_table()
    current = policy()
    decisions = decide(
        [row[0] for row in rows],
        score(feeds, register),
        float(current.linkage_auto_link_probability),
        float(current.linkage_review_probability),
    )
    if decisions.linked:
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.executemany(
                f"UPDATE {target} SET person_id = %s, link_method = '{LinkMethod.PROBABILISTIC}', "
                "link_probability = %s WHERE id = %s",
                [(person, probability, feed_id) for feed_id, (person, probability) in decisions.linked.items()],
            )
    by_id = {row[0]: row for row in rows}
    new_people = _register_new_people(
        target, [by_id[i] for i in [*decisions.review, *decisions.unmatched]], set(decisions.review)
    )
    _queue_candidates(decisions.review, new_people, target)
    return {
        LinkMethod.PROBABILISTIC.value: len(decisions.linked),
        LinkMethod.REVIEW.value: len(decisions.review),
        LinkMethod.NEW_PERSON.value: len(decisions.unmatched),
    }


def _identity_key(row: tuple) -> tuple:
    """Rows of one batch that obviously name the same unknown person share one new person."""
    _, id_number, name, _pinyin, _sex, birth_date, phone, _address = row
    if id_number and len(id_number) == 18:
        return ("id", id_number)
    return ("name", name, phone or "", str(birth_date or ""))


def _register_new_people(target: str, rows: list[tuple], in_review: set[int]) -> dict[int, Resident]:
    """One unregistered person per distinct identity, created in one bulk insert; the feed rows are
    linked to them. The change log gets one bulk-create row, as for imported residents."""
    from core.audit import current_actor
    from core.choices import ChangeAction
    from core.models import ChangeLog
    from people.identity import is_valid_id_number

    made: dict[tuple, Resident] = {}
    by_feed: dict[int, Resident] = {}
    taken = set(
        Resident.objects.filter(id_number__in=[r[1] for r in rows if r[1] and is_valid_id_number(r[1])]).values_list(
            "id_number", flat=True
        )
    )
    for row in rows:
        key = _identity_key(row)
        person = made.get(key)
        if person is None:
            _feed_id, id_number, name, _pinyin, sex, birth_date, phone, _address = row
            usable_id = id_number if id_number and is_valid_id_number(id_number) and id_number not in taken else None
            person = Resident(
                id_number=usable_id,
                name=name or "",
                sex=sex or "",
                phone=phone or "",
                registered=False,
                birth_date=dt.date.fromisoformat(str(birth_date)) if birth_date else None,
            )
            if usable_id:
                taken.add(usable_id)
            made[key] = person
        by_feed[row[0]] = person
    people = list(made.values())
    readings = pinyin_column(pa.array([p.name for p in people], type=pa.string())).to_pylist()
    for person, reading in zip(people, readings, strict=True):
        person.name_pinyin = reading
    Resident.objects.bulk_create(people, batch_size=2000)  # ids come back on PostgreSQL and SQLite ≥ 3.35
    actor = current_actor()
    ChangeLog.objects.create(
        user_id=actor.user_id,
        source=actor.source,
        action=ChangeAction.BULK_CREATE,
        model="people.resident",
        after={"count": len(people), "registered": False},
        batch_id=actor.batch_id,
    )
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.executemany(
            f"UPDATE {target} SET person_id = %s, link_method = %s, link_probability = NULL WHERE id = %s",
            [
                (person.pk, LinkMethod.REVIEW if feed_id in in_review else LinkMethod.NEW_PERSON, feed_id)
                for feed_id, person in by_feed.items()
            ],
        )
    return by_feed


def _queue_candidates(review: dict, new_people: dict[int, Resident], target: str) -> None:
    residents = Resident.objects.in_bulk({c[0] for candidates in review.values() for c in candidates})
    rows = []
    for feed_id, candidates in review.items():
        for person_id, probability, weight, evidence in candidates:
            resident = residents.get(person_id)
            if resident is None or resident.pk == new_people[feed_id].pk:
                continue
            candidate = LinkCandidate(
                new_person=new_people[feed_id],
                resident=resident,
                probability=probability,
                weight=weight,
                evidence=json.loads(json.dumps(evidence, default=str)),
                source=f"{target}:{feed_id}",
            )
            candidate.copy_place(resident)
            rows.append(candidate)
    LinkCandidate.objects.bulk_create(rows, ignore_conflicts=True)


def copy_places(staging: Staging, target: str) -> None:
    sets = ", ".join(f"{column} = r.{column}" for column in PLACE_COLUMNS)
    execute(
        f"UPDATE {target} AS t SET {sets} FROM {staging.name} s, people_resident r "
        "WHERE t.id = s._target_id AND s._action IS NOT NULL AND r.id = t.person_id"
    )


def _person(person_id: int, cache: dict[int, Resident]) -> Resident:
    if person_id not in cache:
        cache[person_id] = Resident.objects.get(pk=person_id)
    return cache[person_id]


def _moment(value, fallback: dt.datetime) -> dt.datetime:
    if value is None:
        return fallback
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    return value if timezone.is_aware(value) else timezone.make_aware(value, dt.UTC)


@register
class ClinicVisitImport(FeedImport):
    name = "clinic_visits"
    label = _("Clinic visits")
    key_column = "visit_id"
    columns = (
        Column("visit_id", "就诊号", True, Text(64)),
        *PERSON_COLUMNS,
        Column("hospital_code", "医院编码", True, Text(40)),
        Column("visited_at", "就诊时间", True, DateTime()),
        Column("temperature", "体温", False, Decimal(30, 45)),
        Column(
            "category",
            "分类",
            False,
            Choice(
                {
                    "fever": "fever",
                    "发热": "fever",
                    "suspected": "suspected",
                    "疑似": "suspected",
                    "confirmed": "confirmed",
                    "确诊": "confirmed",
                    "other": "other",
                    "其他": "other",
                }
            ),
        ),
        Column("onset_date", "发病日期", False, Date()),
    )
    staging_extra = FEED_STAGING

    def values(self):
        return [
            ("hospital_code", "s.hospital_code"),
            ("visited_at", "s.visited_at"),
            ("temperature", "s.temperature"),
            ("category", "COALESCE(s.category, '')"),
            ("onset_date", "s.onset_date"),
        ]

    def report(self, ctx, staging) -> None:
        """A temperature at or above the policy threshold, or a fever category, makes 'fever' (domain.md §3)."""
        threshold = float(policy().fever_threshold_c)
        people: dict[int, Resident] = {}
        now = timezone.now()
        for person_id, visit_id, visited_at, temperature, category, onset in self.touched(
            staging, "t.visited_at, t.temperature, t.category, t.onset_date"
        ):
            chosen = {"confirmed": Category.CONFIRMED, "suspected": Category.SUSPECTED}.get(category)
            feverish = temperature is not None and float(temperature) >= threshold
            if chosen is None and (category == "fever" or feverish):
                chosen = Category.FEVER
            if chosen is None:
                continue
            do_apply(
                Report(
                    person=_person(person_id, people),
                    state=CaseState.IDENTIFIED,
                    category=chosen,
                    at=_moment(visited_at, now),
                    source_kind=SourceKind.FEED,
                    source_ref=f"clinic_visits:{visit_id}",
                    note=f"{temperature or ''} °C" if temperature is not None else "",
                    details={"onset_date": onset},
                )
            )


CLASSIFICATIONS = {
    "confirmed": "confirmed",
    "确诊": "confirmed",
    "asymptomatic": "asymptomatic",
    "无症状": "asymptomatic",
    "suspected": "suspected",
    "疑似": "suspected",
    "excluded": "excluded",
    "排除": "excluded",
    "recovered": "recovered",
    "治愈": "recovered",
    "died": "died",
    "死亡": "died",
}
SEVERITIES = {
    "mild": "mild",
    "轻型": "mild",
    "moderate": "moderate",
    "普通型": "moderate",
    "severe": "severe",
    "重型": "severe",
    "critical": "critical",
    "危重型": "critical",
}


@register
class CaseReportImport(FeedImport):
    name = "case_reports"
    label = _("Case reports")
    key_column = "case_id"
    columns = (
        Column("case_id", "病例编号", True, Text(64)),
        *PERSON_COLUMNS,
        Column("classification", "分类", True, Choice(CLASSIFICATIONS)),
        Column("onset_date", "发病日期", False, Date()),
        Column("sampled_at", "采样时间", False, DateTime()),
        Column("diagnosed_at", "诊断时间", False, DateTime()),
        Column("severity", "病情", False, Choice(SEVERITIES)),
        Column("hospital_code", "医院编码", False, Text(40)),
    )
    staging_extra = FEED_STAGING

    def values(self):
        return [
            ("classification", "s.classification"),
            ("onset_date", "s.onset_date"),
            ("sampled_at", "s.sampled_at"),
            ("diagnosed_at", "s.diagnosed_at"),
            ("severity", "COALESCE(s.severity, '')"),
            ("hospital_code", "COALESCE(s.hospital_code, '')"),
        ]

    def report(self, ctx, staging) -> None:
        people: dict[int, Resident] = {}
        now = timezone.now()
        for person_id, case_id, classification, onset, sampled, diagnosed, severity, hospital in self.touched(
            staging, "t.classification, t.onset_date, t.sampled_at, t.diagnosed_at, t.severity, t.hospital_code"
        ):
            person = _person(person_id, people)
            at = _moment(diagnosed or sampled, now)
            ref = f"case_reports:{case_id}"
            details = {
                "onset_date": onset,
                "sampled_at": _moment(sampled, now) if sampled else None,
                "severity": severity,
            }
            if classification in {"confirmed", "asymptomatic", "suspected"}:
                category = {
                    "confirmed": Category.CONFIRMED,
                    "asymptomatic": Category.ASYMPTOMATIC,
                    "suspected": Category.SUSPECTED,
                }[classification]
                event = do_apply(
                    Report(
                        person=person,
                        state=CaseState.IDENTIFIED,
                        category=category,
                        at=at,
                        source_kind=SourceKind.FEED,
                        source_ref=ref,
                        details=details,
                    )
                )
                if hospital and classification == "confirmed" and event.outcome == "applied":
                    # diagnosed in hospital: already placed there (domain.md §3, designated hospital)
                    kind = (
                        PlacementKind.DESIGNATED_HOSPITAL
                        if severity in {"severe", "critical"}
                        else PlacementKind.SHELTER_HOSPITAL
                    )
                    do_apply(
                        Report(
                            person=person,
                            state=CaseState.PLACED,
                            category=category,
                            at=at,
                            source_kind=SourceKind.FEED,
                            source_ref=ref,
                            details={"placement_kind": kind, "placement_name": hospital},
                        )
                    )
            else:
                state = {"excluded": CaseState.EXCLUDED, "recovered": CaseState.DISCHARGED, "died": CaseState.DIED}[
                    classification
                ]
                do_apply(Report(person=person, state=state, at=at, source_kind=SourceKind.FEED, source_ref=ref))


@register
class LabResultImport(FeedImport):
    name = "lab_results"
    label = _("Lab results")
    key_column = "sample_id"
    person_optional_when = "pool_id"
    columns = (
        Column("sample_id", "样本号", True, Text(64)),
        Column("pool_id", "混管号", False, Text(64)),
        *PERSON_COLUMNS,
        Column("sampled_at", "采样时间", True, DateTime()),
        Column("reported_at", "报告时间", False, DateTime()),
        Column("lab_code", "实验室", False, Text(40)),
        Column("method", "方法", False, Choice({"pcr": "pcr", "核酸": "pcr", "antigen": "antigen", "抗原": "antigen"})),
        Column(
            "result",
            "结果",
            True,
            Choice(
                {
                    "positive": "positive",
                    "阳性": "positive",
                    "negative": "negative",
                    "阴性": "negative",
                    "invalid": "invalid",
                    "无效": "invalid",
                }
            ),
        ),
        Column("ct_value", "CT值", False, Decimal(0, 60)),
    )
    staging_extra = FEED_STAGING

    def values(self):
        return [
            ("pool_id", "COALESCE(s.pool_id, '')"),
            ("sampled_at", "s.sampled_at"),
            ("reported_at", "s.reported_at"),
            ("lab_code", "COALESCE(s.lab_code, '')"),
            ("method", "COALESCE(s.method, '')"),
            ("result", "s.result"),
            ("ct_value", "s.ct_value"),
        ]

    def report(self, ctx, staging) -> None:
        """A positive individual result makes a person suspected until a diagnosis is reported
        (unless a handler, such as a testing campaign's recall, has decided it already)."""
        handled: set[str] = set()
        for handler in LAB_RESULT_HANDLERS:
            handled |= handler(ctx, staging)
        people: dict[int, Resident] = {}
        now = timezone.now()
        for person_id, sample_id, result, sampled_at, reported_at in self.touched(
            staging, "t.result, t.sampled_at, t.reported_at"
        ):
            if result != "positive" or sample_id in handled:
                continue
            do_apply(
                Report(
                    person=_person(person_id, people),
                    state=CaseState.IDENTIFIED,
                    category=Category.SUSPECTED,
                    at=_moment(reported_at or sampled_at, now),
                    source_kind=SourceKind.FEED,
                    source_ref=f"lab_results:{sample_id}",
                    note=str(_("Positive test")),
                    details={"sampled_at": _moment(sampled_at, now)},
                )
            )


@register
class TravelImport(FeedImport):
    name = "travel"
    label = _("Travel records")
    key_column = "record_id"
    columns = (
        Column("record_id", "记录号", True, Text(64)),
        *PERSON_COLUMNS,
        Column("arrived_at", "到达时间", True, DateTime()),
        Column("origin_area_code", "来源地代码", True, Text(12)),
        Column("origin_area_name", "来源地", False, Text(100)),
        Column("mode", "方式", False, Text(20)),
    )
    staging_extra = FEED_STAGING

    def values(self):
        return [
            ("arrived_at", "s.arrived_at"),
            ("origin_area_code", "s.origin_area_code"),
            ("origin_area_name", "COALESCE(s.origin_area_name, '')"),
            ("mode", "COALESCE(s.mode, '')"),
        ]
