"""Import kinds of relief finance, through the shared framework (core.imports):

- ``relief_applications``: bulk intake from the platform (one row per application, the applicant's
  details with it; documents named by kind, the files stay on the platform). Key: ``reference``.
- ``loan_decisions``: the banks' decisions on shortlisted applications. Key: (application
  reference, bank code, product code).

Both load set-based (staging table, UPDATE … FROM, INSERT … SELECT); re-importing a file changes
nothing. Rows that cannot be used are kept with a reason code (issue #12 bad input: a decision for
an unknown application is refused as ``unknown_application``).
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.imports.columns import Choice, Column, Date, DateTime, Decimal, Integer, Pattern, Phone, TagList, Text
from core.imports.kinds import PLACED, ImportKind, LoadContext, place_of_division, register
from core.imports.reasons import REASON_LABELS, REASONS
from core.imports.sql import Staging, UpsertResult, as_json, execute, q, upsert
from core.policy import policy
from relief.choices import (
    ApplicantKind,
    ApplicationStatus,
    Decision,
    DocumentKind,
    EventKind,
    MatchStatus,
    Need,
    Sector,
)
from relief.codes import CodeProblem, area_of, code_problems_array
from relief.models import Applicant, Application, ApplicationEvent, Document, Fund, LoanProduct, Match
from relief.rules import Rules, missing_documents

RELIEF_REASONS = {
    "unknown_fund": (_("The fund code %(detail)s is not known."), _("Unknown fund")),
    "fund_not_open": (_("The fund did not take applications on that day (%(detail)s)."), _("Fund not open")),
    "unknown_area": (
        _("The area code %(detail)s is not a district, street or community of the city."),
        _("Unknown area"),
    ),
    CodeProblem.FORMAT.value: (
        _("The applicant's code is not a credit code (GB 32100) or ID number (GB 11643) of 18 characters: %(detail)s."),
        _("Applicant code malformed"),
    ),
    "applicant_kind_conflict": (
        _("The applicant's code is already registered as another kind of applicant (%(detail)s)."),
        _("Applicant kind conflicts"),
    ),
    "missing_documents": (_("Required documents missing: %(detail)s."), _("Documents missing")),
    "application_locked": (
        _("Application %(detail)s is already screened; its details can no longer change by import."),
        _("Application already screened"),
    ),
    "unknown_application": (_("No application has the reference %(detail)s."), _("Unknown application")),
    "unknown_bank": (_("The bank code %(detail)s is not a partner bank."), _("Unknown bank")),
    "bank_not_shortlisted": (
        _("The bank %(detail)s is not on this application's shortlist."),
        _("Bank not on the shortlist"),
    ),
    "product_not_shortlisted": (
        _("The product %(detail)s is not on this application's shortlist."),
        _("Product not on the shortlist"),
    ),
    "amount_outside_range": (_("The amount is outside the product's range (%(detail)s)."), _("Amount outside range")),
    "amount_above_request": (_("The amount is above the amount requested (%(detail)s)."), _("Amount above request")),
    "decision_conflict": (
        _("A different decision is already recorded for this application and bank (%(detail)s)."),
        _("Decision already recorded differently"),
    ),
    "taken_by_another_bank": (
        _("Another bank already approved this application (%(detail)s)."),
        _("Taken by another bank"),
    ),
}
for _code, (_sentence, _label) in RELIEF_REASONS.items():
    REASONS.setdefault(_code, _sentence)
    REASON_LABELS.setdefault(_code, _label)

CODE = Pattern(r"^[0-9A-Za-z][0-9A-Za-z\-_.]{0,39}$", upper=True)
KIND_SPELLINGS = {
    "firm": ApplicantKind.FIRM,
    "企业": ApplicantKind.FIRM,
    "小微企业": ApplicantKind.FIRM,
    "self_employed": ApplicantKind.SELF_EMPLOYED,
    "个体工商户": ApplicantKind.SELF_EMPLOYED,
    "个体": ApplicantKind.SELF_EMPLOYED,
}
SECTOR_SPELLINGS = {
    **{s: s for s in Sector.values},
    "制造业": Sector.MANUFACTURING,
    "批发零售": Sector.WHOLESALE_RETAIL,
    "批发和零售业": Sector.WHOLESALE_RETAIL,
    "餐饮": Sector.CATERING,
    "餐饮业": Sector.CATERING,
    "住宿": Sector.ACCOMMODATION,
    "住宿业": Sector.ACCOMMODATION,
    "交通运输": Sector.TRANSPORT,
    "物流": Sector.TRANSPORT,
    "建筑业": Sector.CONSTRUCTION,
    "信息技术": Sector.TECHNOLOGY,
    "文化旅游": Sector.CULTURE_TOURISM,
    "居民服务": Sector.SERVICES,
    "农业": Sector.AGRICULTURE,
    "房地产": Sector.REAL_ESTATE,
    "金融": Sector.FINANCE,
    "其他": Sector.OTHER,
}
NEED_SPELLINGS = {
    **{n: n for n in Need.values},
    "流动资金": Need.WORKING_CAPITAL,
    "发放工资": Need.PAYROLL,
    "工资": Need.PAYROLL,
    "租金": Need.RENT,
    "房租": Need.RENT,
    "原材料": Need.SUPPLIES,
    "物资": Need.SUPPLIES,
    "其他": Need.OTHER,
}
DECISION_SPELLINGS = {
    "approve": Decision.APPROVE,
    "approved": Decision.APPROVE,
    "批准": Decision.APPROVE,
    "同意": Decision.APPROVE,
    "通过": Decision.APPROVE,
    "decline": Decision.DECLINE,
    "declined": Decision.DECLINE,
    "拒绝": Decision.DECLINE,
    "不同意": Decision.DECLINE,
}
MAX_YUAN = 1e11


def _fen(table: pa.Table, name: str) -> pa.Array:
    """Yuan (float) to integer fen, rounded to the fen."""
    values = pc.fill_null(table.column(name), 0.0).to_numpy(zero_copy_only=False)
    fen = np.rint(values * 100).astype(np.int64)
    return pa.array(fen, mask=pc.is_null(table.column(name)).to_numpy(zero_copy_only=False))


def _event_insert(select_sql: str, params: list) -> None:
    execute(
        f"INSERT INTO {q(ApplicationEvent._meta.db_table)} (application_id, at, kind, from_status, to_status, "
        f"user_id, note) {select_sql}",
        params,
    )


@register
class ReliefApplicationImport(ImportKind):
    """Applications from the intake platform: applicants upserted by code, applications by reference,
    documents by kind; fraud checks run over the loaded applications."""

    name = "relief_applications"
    label = _("Relief applications")
    key = ("reference",)
    columns = (
        Column("reference", "申请编号", True, CODE),
        Column("fund_code", "基金编号", True, CODE),
        Column("applicant_kind", "主体类型", True, Choice(KIND_SPELLINGS)),
        Column("applicant_code", "主体代码", True, Pattern(r"^[0-9A-Za-z]{1,40}$", upper=True)),
        Column("name", "名称", True, Text(120)),
        Column("sector", "行业", True, Choice(SECTOR_SPELLINGS)),
        Column("employees", "从业人数", False, Integer(0, 10_000_000)),
        Column("annual_revenue", "年营业收入", False, Decimal(0.0, MAX_YUAN)),
        Column("area_code", "所在区划代码", True, Pattern(r"^\d{12}$")),
        Column("phone", "联系电话", False, Phone()),
        Column("bank_account", "收款账户", False, Pattern(r"^\d{8,30}$")),
        Column("need", "资金需求", True, Choice(NEED_SPELLINGS)),
        Column("amount", "申请金额", True, Decimal(0.01, MAX_YUAN)),
        Column("purpose", "资金用途", False, Text(1000)),
        Column("documents", "已交材料", False, TagList(tuple(DocumentKind.values))),
        Column("submitted_at", "申请时间", False, DateTime()),
    )
    staging_extra = (
        ("_target_id", "bigint"),
        ("_action", "text"),
        ("_fund_id", "bigint"),
        ("_area_id", "bigint"),
        ("_district_id", "bigint"),
        ("_street_id", "bigint"),
        ("_community_id", "bigint"),
        ("_applicant_id", "bigint"),
    )

    def check(self, table, reasons, columns, details) -> None:
        """Code shape per kind; the fund known and open on the day submitted; required documents."""
        kinds = table.column("applicant_kind").to_numpy(zero_copy_only=False).astype(str)
        codes = pc.fill_null(table.column("applicant_code"), "").to_numpy(zero_copy_only=False).astype(str)
        problems = code_problems_array(kinds, codes)
        bad = (reasons == "") & (problems == CodeProblem.FORMAT.value)
        reasons[bad], columns[bad], details[bad] = CodeProblem.FORMAT.value, "applicant_code", codes[bad]

        funds = {f.code: (f.opens_on, f.closes_on) for f in Fund.objects.all()}
        fund_codes = pc.fill_null(table.column("fund_code"), "").to_numpy(zero_copy_only=False).astype(str)
        unknown = (reasons == "") & ~np.isin(fund_codes, list(funds) or [""])
        reasons[unknown], columns[unknown], details[unknown] = "unknown_fund", "fund_code", fund_codes[unknown]
        stamps = table.column("submitted_at").to_pylist()
        today = timezone.localdate()
        for i in np.flatnonzero(reasons == ""):
            opens, closes = funds[fund_codes[i]]
            day = timezone.localdate(stamps[i]) if stamps[i] is not None else today
            if not opens <= day <= closes:
                reasons[i], columns[i], details[i] = "fund_not_open", "submitted_at", f"{day}: {opens} – {closes}"

        rules = Rules.from_policy(policy())
        documents = pc.fill_null(table.column("documents"), "").to_numpy(zero_copy_only=False).astype(str)
        padded = np.char.add(np.char.add(";", documents), ";")
        has = {doc: np.char.find(padded, f";{doc};") >= 0 for doc in DocumentKind.values}
        missing = missing_documents(rules, kinds, has)
        lacking = (reasons == "") & (missing != "")
        reasons[lacking], columns[lacking], details[lacking] = "missing_documents", "documents", missing[lacking]

    def derive(self, table: pa.Table) -> pa.Table:
        kinds = table.column("applicant_kind").to_numpy(zero_copy_only=False).astype(str)
        codes = table.column("applicant_code").to_numpy(zero_copy_only=False).astype(str)
        problems = code_problems_array(kinds, codes)
        areas = [area_of(k, c) for k, c in zip(kinds, codes, strict=True)]
        return (
            table.append_column("_code_valid", pa.array(problems == "", type=pa.bool_()))
            .append_column("_code_area", pa.array(areas, type=pa.string()))
            .append_column("_amount_fen", _fen(table, "amount"))
            .append_column("_revenue_fen", _fen(table, "annual_revenue"))
        )

    access = PLACED

    def placement_sql(self, staging: Staging) -> str:
        """In the applicant's registered area; an applicant already known also where it is now."""
        s = staging.name
        return (
            f"SELECT s._line, {place_of_division('d')} FROM {s} s "
            "JOIN geo_division d ON d.code = s.area_code "
            "UNION ALL SELECT s._line, a.district_id AS district_id, a.street_id AS street_id, "
            "a.community_id AS community_id, NULL AS grid_id, NULL AS compound_id, NULL AS building_id "
            f"FROM {s} s JOIN relief_applicant a ON a.code = s.applicant_code"
        )

    def load(self, ctx: LoadContext, staging: Staging) -> UpsertResult:
        s = q(staging.name)
        app, applicant = q(Application._meta.db_table), q(Applicant._meta.db_table)
        execute(f"UPDATE {s} AS s SET _fund_id = f.id FROM {q(Fund._meta.db_table)} f WHERE f.code = s.fund_code")
        execute(
            f"UPDATE {s} AS s SET _area_id = d.id, "
            "_district_id = CASE WHEN d.level = 'district' THEN d.id ELSE d.district_id END, "
            "_street_id = CASE WHEN d.level = 'street' THEN d.id ELSE d.street_id END, "
            "_community_id = CASE WHEN d.level = 'community' THEN d.id ELSE d.community_id END "
            "FROM geo_division d WHERE d.code = s.area_code AND d.level IN ('district', 'street', 'community')"
        )
        ctx.reject(staging, "s._area_id IS NULL", "unknown_area", "area_code", "s.area_code")
        ctx.reject(
            staging,
            f"EXISTS (SELECT 1 FROM {applicant} ap WHERE ap.code = s.applicant_code AND ap.kind <> s.applicant_kind)",
            "applicant_kind_conflict",
            "applicant_kind",
            "s.applicant_code",
        )
        # the same code as another kind further down the file: a window, not a correlated scan per row
        execute("DROP TABLE IF EXISTS stage_relief_kinds")
        execute(
            "CREATE TEMPORARY TABLE stage_relief_kinds AS SELECT x._line FROM (SELECT s._line, s.applicant_kind, "
            "FIRST_VALUE(s.applicant_kind) OVER (PARTITION BY s.applicant_code ORDER BY s._line) AS first_kind "
            f"FROM {s} s) x WHERE x.applicant_kind <> x.first_kind"
        )
        ctx.reject(
            staging,
            "s._line IN (SELECT _line FROM stage_relief_kinds)",
            "applicant_kind_conflict",
            "applicant_kind",
            "s.applicant_code",
        )
        execute("DROP TABLE IF EXISTS stage_relief_kinds")
        ctx.reject(
            staging,
            f"EXISTS (SELECT 1 FROM {app} a JOIN {applicant} ap ON ap.id = a.applicant_id "
            f"WHERE a.reference = s.reference AND a.status <> '{ApplicationStatus.SUBMITTED.value}' "
            "AND (a.fund_id <> s._fund_id OR ap.code <> s.applicant_code OR a.need <> s.need "
            "OR a.amount_fen <> s._amount_fen))",
            "application_locked",
            "reference",
            "s.reference",
        )
        first_of_applicant = f"s._line IN (SELECT MIN(x._line) FROM {s} x GROUP BY x.applicant_code)"
        upsert(
            staging,
            target=Applicant._meta.db_table,
            model_label=Applicant._meta.label_lower,
            key=[("code", "s.applicant_code")],
            values=[
                ("kind", "s.applicant_kind"),
                ("name", "s.name"),
                ("sector", "s.sector"),
                ("employees", "COALESCE(s.employees, 0)"),
                ("annual_revenue_fen", "COALESCE(s._revenue_fen, 0)"),
                ("phone", "COALESCE(s.phone, '')"),
                ("bank_account", "COALESCE(s.bank_account, '')"),
                ("area_id", "s._area_id"),
                ("district_id", "s._district_id"),
                ("street_id", "s._street_id"),
                ("community_id", "s._community_id"),
                ("code_valid", "s._code_valid"),
                ("code_area", "s._code_area"),
            ],
            insert_only=[("extra", as_json("'{}'"))],
            batch_id=ctx.batch_id,
            user_id=ctx.user_id,
            source=ctx.source,
            where=first_of_applicant,
        )
        execute(
            f"UPDATE {s} AS s SET _applicant_id = ap.id, _target_id = NULL, _action = NULL "
            f"FROM {applicant} ap WHERE ap.code = s.applicant_code"
        )
        status = ApplicationStatus.SUBMITTED.value
        result = upsert(
            staging,
            target=Application._meta.db_table,
            model_label=Application._meta.label_lower,
            key=[("reference", "s.reference")],
            values=[
                ("fund_id", "s._fund_id"),
                ("applicant_id", "s._applicant_id"),
                ("need", "s.need"),
                ("amount_fen", "s._amount_fen"),
                ("purpose", "COALESCE(s.purpose, '')"),
                ("district_id", "s._district_id"),
                ("street_id", "s._street_id"),
                ("community_id", "s._community_id"),
            ],
            insert_only=[
                ("status", f"'{status}'"),
                ("reasons", as_json("'[]'")),
                ("submitted_at", "COALESCE(s.submitted_at, CURRENT_TIMESTAMP)"),
                ("batch_id", str(int(ctx.batch_id))),
                ("extra", as_json("s._extra")),
            ],
            batch_id=ctx.batch_id,
            user_id=ctx.user_id,
            source=ctx.source,
        )
        now = timezone.now()
        _event_insert(
            f"SELECT s._target_id, %s, %s, '', %s, %s, %s FROM {s} s WHERE s._action = 'insert'",
            [now, EventKind.IMPORTED.value, status, ctx.user_id, f"import #{ctx.batch_id}"],
        )
        self._load_documents(staging, now)
        from relief.services import raise_flags

        raise_flags(f"a.id IN (SELECT x._target_id FROM {s} x)")
        return result

    @staticmethod
    def _load_documents(staging: Staging, now) -> None:
        """One row per (application, document kind) named in the file; kinds already held stay."""
        from core.imports.sql import fetch

        rows = fetch(
            f"SELECT _target_id, documents FROM {q(staging.name)} WHERE documents IS NOT NULL AND documents <> ''"
        )
        if not rows:
            return
        ids, lists = zip(*rows, strict=True)
        split = pc.split_pattern(pa.array(lists, type=pa.string()), ";")
        flat = pc.list_flatten(split)
        owners = pc.take(pa.array(ids, type=pa.int64()), pc.list_parent_indices(split))
        docs = Staging.create("stage_relief_documents", pa.table({"application_id": owners, "kind": flat}))
        try:
            document = q(Document._meta.db_table)
            execute(
                f"INSERT INTO {document} (application_id, kind, file, added_at) "
                f"SELECT DISTINCT d.application_id, d.kind, '', %s FROM {q(docs.name)} d WHERE d.kind <> '' "
                f"AND NOT EXISTS (SELECT 1 FROM {document} x WHERE x.application_id = d.application_id "
                "AND x.kind = d.kind)",
                [now],
            )
        finally:
            docs.drop()


@register
class LoanDecisionImport(ImportKind):
    """Banks' decisions on their shortlisted applications, with the disbursement date when paid."""

    name = "loan_decisions"
    label = _("Loan decisions")
    key = ("application_reference", "bank_code", "product_code")
    columns = (
        Column("application_reference", "申请编号", True, CODE),
        Column("bank_code", "银行代码", True, CODE),
        Column("product_code", "产品代码", True, CODE),
        Column("decision", "审批结果", True, Choice(DECISION_SPELLINGS)),
        Column("amount", "批准金额", False, Decimal(0.01, MAX_YUAN)),
        Column("rate", "年利率", False, Decimal(0.0, 36.0)),
        Column("term_months", "期限月数", False, Integer(1, 360)),
        Column("decided_on", "审批日期", True, Date()),
        Column("disbursed_on", "放款日期", False, Date()),
        Column("reason", "原因", False, Text(300)),
    )
    staging_extra = (
        ("_target_id", "bigint"),
        ("_action", "text"),
        ("_application_id", "bigint"),
        ("_bank_id", "bigint"),
        ("_match_id", "bigint"),
        ("_state", "text"),
    )

    def check(self, table, reasons, columns, details) -> None:
        """Dates: none in the future, no disbursement before the decision or on a decline; an
        approval names its amount, a decline its reason."""
        today = np.datetime64(timezone.localdate(), "D")
        decided = table.column("decided_on").to_numpy(zero_copy_only=False).astype("datetime64[D]")
        paid = table.column("disbursed_on").to_numpy(zero_copy_only=False).astype("datetime64[D]")
        decisions = table.column("decision").to_numpy(zero_copy_only=False).astype(str)
        has_paid = ~np.isnat(paid)
        rules = [
            ("invalid_date", "decided_on", decided > today),
            ("invalid_date", "disbursed_on", has_paid & ((paid > today) | (paid < decided))),
            ("invalid_value", "disbursed_on", has_paid & (decisions == Decision.DECLINE)),
            (
                "missing_required",
                "amount",
                (decisions == Decision.APPROVE) & pc.is_null(table.column("amount")).to_numpy(zero_copy_only=False),
            ),
            (
                "missing_required",
                "reason",
                (decisions == Decision.DECLINE) & pc.is_null(table.column("reason")).to_numpy(zero_copy_only=False),
            ),
        ]
        for code, column, bad in rules:
            bad = bad & (reasons == "")
            reasons[bad], columns[bad] = code, column
            if column in ("decided_on", "disbursed_on"):
                values = decided if column == "decided_on" else paid
                details[bad] = values[bad].astype(str)

    def derive(self, table: pa.Table) -> pa.Table:
        return table.append_column("_amount_fen", _fen(table, "amount"))

    def load(self, ctx: LoadContext, staging: Staging) -> UpsertResult:
        s = q(staging.name)
        app, match, product = q(Application._meta.db_table), q(Match._meta.db_table), q(LoanProduct._meta.db_table)
        execute(f"UPDATE {s} AS s SET _application_id = a.id FROM {app} a WHERE a.reference = s.application_reference")
        ctx.reject(
            staging,
            "s._application_id IS NULL",
            "unknown_application",
            "application_reference",
            "s.application_reference",
        )
        execute(f"UPDATE {s} AS s SET _bank_id = b.id FROM relief_bank b WHERE b.code = s.bank_code")
        ctx.reject(staging, "s._bank_id IS NULL", "unknown_bank", "bank_code", "s.bank_code")
        ctx.reject(
            staging,
            f"NOT EXISTS (SELECT 1 FROM {match} m WHERE m.application_id = s._application_id "
            "AND m.bank_id = s._bank_id)",
            "bank_not_shortlisted",
            "bank_code",
            "s.bank_code",
        )
        execute(
            f"UPDATE {s} AS s SET _match_id = m.id, _state = m.status FROM {match} m JOIN {product} p "
            "ON p.id = m.product_id WHERE m.application_id = s._application_id AND m.bank_id = s._bank_id "
            "AND p.code = s.product_code"
        )
        ctx.reject(staging, "s._match_id IS NULL", "product_not_shortlisted", "product_code", "s.product_code")
        approve = f"s.decision = '{Decision.APPROVE.value}'"
        ctx.reject(
            staging,
            f"{approve} AND s._amount_fen > (SELECT a.amount_fen FROM {app} a WHERE a.id = s._application_id)",
            "amount_above_request",
            "amount",
            f"(SELECT CAST(a.amount_fen / 100 AS text) FROM {app} a WHERE a.id = s._application_id)",
        )
        ctx.reject(
            staging,
            f"{approve} AND EXISTS (SELECT 1 FROM {match} m JOIN {product} p ON p.id = m.product_id "
            "WHERE m.id = s._match_id AND (s._amount_fen < p.min_fen OR s._amount_fen > p.max_fen))",
            "amount_outside_range",
            "amount",
            f"(SELECT CAST(p.min_fen / 100 AS text) || '-' || CAST(p.max_fen / 100 AS text) FROM {match} m "
            f"JOIN {product} p ON p.id = m.product_id WHERE m.id = s._match_id)",
        )
        self._sort_out_recorded(ctx, staging)
        return self._apply(ctx, staging)

    @staticmethod
    def _sort_out_recorded(ctx: LoadContext, staging: Staging) -> None:
        """Rows for matches already decided: the same decision is unchanged (or adds the payout
        date), anything else a conflict; rows for matches another bank took are refused, and so are
        later approvals in the file of an application an earlier row approves."""
        s, match = q(staging.name), q(Match._meta.db_table)
        open_ = MatchStatus.OPEN.value
        same_approval = (
            f"EXISTS (SELECT 1 FROM {match} m WHERE m.id = s._match_id AND s.decision = 'approve' "
            "AND m.amount_fen = s._amount_fen AND m.decided_on = s.decided_on "
            "AND (s.rate IS NULL OR m.rate = s.rate) AND (s.term_months IS NULL OR m.term_months = s.term_months) "
            "AND (m.disbursed_on IS NULL OR s.disbursed_on IS NULL OR m.disbursed_on = s.disbursed_on))"
        )
        execute(f"UPDATE {s} AS s SET _action = 'same' WHERE s._state = 'approved' AND {same_approval}")
        execute(
            f"UPDATE {s} AS s SET _action = 'disburse' WHERE s._action = 'same' AND s.disbursed_on IS NOT NULL "
            f"AND EXISTS (SELECT 1 FROM {match} m WHERE m.id = s._match_id AND m.disbursed_on IS NULL)"
        )
        execute(f"UPDATE {s} AS s SET _action = 'same' WHERE s._state = 'declined' AND s.decision = 'decline'")
        taken = MatchStatus.TAKEN.value
        ctx.reject(
            staging,
            f"s._state IN ('{taken}', '{MatchStatus.CLOSED.value}')",
            "taken_by_another_bank",
            "bank_code",
            f"(SELECT b.code FROM {match} m JOIN relief_bank b ON b.id = m.bank_id WHERE m.application_id = "
            f"s._application_id AND m.status = '{MatchStatus.APPROVED.value}')",
        )
        ctx.reject(
            staging,
            f"s._state <> '{open_}' AND s._action IS NULL",
            "decision_conflict",
            "decision",
            "s._state",
        )
        # a later approval in the file of an application an earlier row approves (a window, as above)
        execute("DROP TABLE IF EXISTS stage_relief_firsts")
        execute(
            "CREATE TEMPORARY TABLE stage_relief_firsts AS SELECT x._line, x.first_bank FROM (SELECT s._line, "
            "MIN(s._line) OVER (PARTITION BY s._application_id) AS first_line, FIRST_VALUE(s.bank_code) OVER "
            f"(PARTITION BY s._application_id ORDER BY s._line) AS first_bank FROM {s} s "
            f"WHERE s._state = '{open_}' AND s.decision = 'approve') x WHERE x._line > x.first_line"
        )
        ctx.reject(
            staging,
            "s._line IN (SELECT _line FROM stage_relief_firsts)",
            "taken_by_another_bank",
            "bank_code",
            "(SELECT f.first_bank FROM stage_relief_firsts f WHERE f._line = s._line)",
        )
        execute("DROP TABLE IF EXISTS stage_relief_firsts")
        execute(f"UPDATE {s} AS s SET _action = s.decision WHERE s._state = '{open_}'")

    @staticmethod
    def _apply(ctx: LoadContext, staging: Staging) -> UpsertResult:
        s, app, match = q(staging.name), q(Application._meta.db_table), q(Match._meta.db_table)
        product = q(LoanProduct._meta.db_table)
        now = timezone.now()
        A, S = MatchStatus, ApplicationStatus
        execute(
            f"UPDATE {match} AS m SET status = '{A.APPROVED.value}', amount_fen = s._amount_fen, "
            f"rate = COALESCE(s.rate, (SELECT p.rate FROM {product} p WHERE p.id = m.product_id)), term_months = "
            f"COALESCE(s.term_months, (SELECT p.term_months FROM {product} p WHERE p.id = m.product_id)), "
            "decided_on = s.decided_on, disbursed_on = s.disbursed_on, decided_by_id = %s "
            f"FROM {s} s WHERE m.id = s._match_id AND s._action = 'approve'",
            [ctx.user_id],
        )
        execute(
            f"UPDATE {match} SET status = '{A.TAKEN.value}' WHERE status = '{A.OPEN.value}' AND application_id IN "
            f"(SELECT _application_id FROM {s} WHERE _action = 'approve')"
        )
        execute(
            f"UPDATE {match} AS m SET status = '{A.DECLINED.value}', decline_reason = s.reason, "
            "decided_on = s.decided_on, decided_by_id = %s "
            f"FROM {s} s WHERE m.id = s._match_id AND s._action = 'decline'",
            [ctx.user_id],
        )
        execute(
            f"UPDATE {match} AS m SET disbursed_on = s.disbursed_on FROM {s} s "
            "WHERE m.id = s._match_id AND s._action = 'disburse'"
        )
        note = "s.bank_code || ' ' || s.product_code"
        for action, kind, before, after in (
            ("approve", EventKind.APPROVED, S.MATCHED, S.APPROVED),
            ("decline", EventKind.DECLINED, S.MATCHED, S.MATCHED),
        ):
            _event_insert(
                f"SELECT s._application_id, %s, %s, %s, %s, %s, {note} FROM {s} s WHERE s._action = %s",
                [now, kind.value, before.value, after.value, ctx.user_id, action],
            )
        paid = "(s._action = 'approve' AND s.disbursed_on IS NOT NULL) OR s._action = 'disburse'"
        _event_insert(
            f"SELECT s._application_id, %s, %s, %s, %s, %s, CAST(s.disbursed_on AS text) FROM {s} s WHERE {paid}",
            [now, EventKind.DISBURSED.value, S.APPROVED.value, S.DISBURSED.value, ctx.user_id],
        )
        execute(
            f"UPDATE {app} AS a SET status = %s, approved_match_id = s._match_id, updated_at = %s "
            f"FROM {s} s WHERE a.id = s._application_id AND s._action = 'approve'",
            [S.APPROVED.value, now],
        )
        execute(
            f"UPDATE {app} AS a SET status = %s, updated_at = %s FROM {s} s WHERE a.id = s._application_id "
            f"AND a.status = %s AND ({paid})",
            [S.DISBURSED.value, now, S.APPROVED.value],
        )
        execute(
            f"UPDATE {app} AS a SET status = %s, updated_at = %s WHERE a.status = %s "
            f"AND a.id IN (SELECT _application_id FROM {s} WHERE _action = 'decline') "
            f"AND NOT EXISTS (SELECT 1 FROM {match} m WHERE m.application_id = a.id AND m.status IN (%s, %s))",
            [S.DECLINED.value, now, S.MATCHED.value, A.OPEN.value, A.APPROVED.value],
        )
        return UpsertResult(
            inserted=staging.count("s._action IN ('approve', 'decline')"),
            updated=staging.count("s._action = 'disburse'"),
            unchanged=staging.count("s._action = 'same'"),
        )
