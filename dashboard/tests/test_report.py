"""The daily report (issue #10): its numbers are the figures, its files open, and the command writes
them for every level."""

from __future__ import annotations

import datetime as dt
import io
import re
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone, translation
from openpyxl import load_workbook
from pypdf import PdfReader

from cases.choices import Category
from dashboard import report_pdf
from dashboard.figures import children_figures, figures_for
from dashboard.indicators import INDICATORS
from dashboard.models import Figure, Refresh
from dashboard.report import AREA_COLUMNS, NOT_REFRESHED, daily_report, percent, render

DAY = dt.date(2026, 11, 28)
CITY, DISTRICT, STREET, COMMUNITY = "420100000000", "420102000000", "420102001000", "420102001001"
# the community of the other district counted no campaign target: its coverage is "—", not 0
NO_TARGET = "420106001001"
LEVEL_OF = {CITY: "city", DISTRICT: "district", STREET: "street", COMMUNITY: "community"}


def _values(base: int) -> dict[str, int]:
    values = {code: base + i for i, code in enumerate(INDICATORS)}
    values["coverage_target"], values["coverage_tested"] = 2 * base, base
    values["tasks_closed_on_time"] = values["tasks_closed"] - 3
    return values


@pytest.fixture
def figures(city):
    """Distinct figures for every area above the grids on DAY, and a refresh of DAY."""
    rows = []
    for n, area in enumerate(d for d in city.divisions.values() if d.level != "grid"):
        for code, value in _values(100 * (n + 1)).items():
            if area.code == NO_TARGET and code == "coverage_target":
                continue
            rows.append(Figure(day=DAY, level=area.level, division=area, indicator=code, value=value))
    Figure.objects.bulk_create(rows)
    Refresh.objects.create(day=DAY, at=timezone.now(), seconds=0.5, rows=len(rows))
    return city


def _pdf_text(data: bytes) -> str:
    """The page text as a reader copies it: each shown string decoded through its font's ToUnicode
    map. (pypdf's own extract_text reads a CFF font's embedded CMap as one-byte codes.)"""
    reader = PdfReader(io.BytesIO(data))
    out = []
    for page in reader.pages:
        maps = {}
        for name, font in page["/Resources"]["/Font"].items():
            cmap = font.get_object()["/ToUnicode"].get_object().get_data().decode("latin-1")
            pairs = re.findall(r"<([0-9A-F]{4})> <([0-9A-F]+)>", cmap)
            maps[name] = {int(code, 16): bytes.fromhex(text).decode("utf-16-be") for code, text in pairs}
        current: dict[int, str] = {}
        for operands, operator in page.get_contents().operations:
            if operator == b"Tf":
                current = maps[operands[0]]
            elif operator in (b"Tj", b"TJ"):
                shown = (
                    operands[0]
                    if operator == b"Tj"
                    else b"".join(part.original_bytes for part in operands[0] if hasattr(part, "original_bytes"))
                )
                raw = shown if isinstance(shown, bytes) else shown.original_bytes
                out.append("".join(current.get(int.from_bytes(raw[i : i + 2]), "") for i in range(0, len(raw), 2)))
    return " ".join(out)


def _embedded_fonts(data: bytes) -> list[str]:
    reader = PdfReader(io.BytesIO(data))
    found = []
    for font in reader.pages[0]["/Resources"]["/Font"].values():
        descendant = font.get_object()["/DescendantFonts"][0].get_object()
        descriptor = descendant["/FontDescriptor"].get_object()
        assert "/FontFile2" in descriptor or "/FontFile3" in descriptor, descriptor
        found.append(str(descriptor["/FontName"]))
    return found


def test_tables_are_the_figures(figures):
    city = figures.divisions[CITY]
    own = figures_for(city, DAY)
    below = children_figures(city, DAY)
    report = daily_report(city, DAY).as_dict()
    tables = report["tables"]

    assert list(tables["categories"]) == list(Category.values)
    for value in Category.values:
        row = tables["categories"][value]
        assert row == {"new": own[f"new_{value}"], "cumulative": own[f"cum_{value}"], "now": own[f"now_{value}"]}
    for key in ("contacts", "testing", "help", "beds", "tasks"):
        for code, number in tables[key].items():
            if code in INDICATORS:
                assert number == own[code], (key, code)
    assert set(tables["contacts"]) == {
        "contacts_traced",
        "contacts_placed",
        "contacts_unplaced",
        "containments_open",
        "containments_late",
        "containments_done",
    }
    assert tables["testing"]["coverage_pct"] == 50.0
    assert tables["tasks"]["on_time_pct"] == percent(own["tasks_closed"] - 3, own["tasks_closed"])
    assert set(tables["beds"]) == {"beds_open", "beds_occupied", "beds_free", "transfers_waiting", "transfers_moving"}
    assert set(tables["help"]) == {"help_opened", "help_done", "help_open", "help_overdue", "deliveries"}

    by_area = tables["by_area"]
    assert list(by_area) == ["420102000000", "420106000000", "total"]
    for child in (figures.divisions["420102000000"], figures.divisions["420106000000"]):
        row = by_area[child.code]
        for column in AREA_COLUMNS[:-1]:
            assert row[column.key] == below[child.pk][column.key]
        assert row["coverage_pct"] == 50.0
    assert by_area["total"] == {c.key: own.get(c.key, 50.0) for c in AREA_COLUMNS}
    assert report["area"] == {"code": CITY, "name": "武汉市", "level": "city"}
    assert report["refreshed"] is True


@pytest.mark.parametrize("code", [CITY, DISTRICT, STREET, COMMUNITY])
def test_every_level_has_its_own_figures(figures, code):
    area = figures.divisions[code]
    report = daily_report(area, DAY)
    tables = report.as_dict()["tables"]
    assert tables["contacts"]["contacts_traced"] == figures_for(area, DAY)["contacts_traced"]
    if code == COMMUNITY:
        assert "by_area" not in tables  # no figures below a community
    else:
        below = {d.code for d in figures.divisions.values() if d.parent_id == area.pk}
        assert set(tables["by_area"]) == below | {"total"}


def test_an_area_without_a_campaign_target_shows_no_coverage(figures):
    street = figures.divisions["420106001000"]
    tables = daily_report(street, DAY).as_dict()["tables"]
    assert tables["by_area"][NO_TARGET]["coverage_pct"] is None
    community = daily_report(figures.divisions[NO_TARGET], DAY)
    assert community.as_dict()["tables"]["testing"]["coverage_pct"] is None
    testing = next(t for t in community.tables if t.key == "testing")
    assert testing.rows[-1].texts() == ["—"]


def test_a_day_never_refreshed_says_so(figures):
    city = figures.divisions[CITY]
    report = daily_report(city, DAY + dt.timedelta(days=1))
    assert not report.refreshed
    assert report.as_dict()["as_of"] is None
    as_of = next(line for line in report.header_lines() if line.label == "As of")
    assert as_of.value == str(NOT_REFRESHED) and as_of.warning
    sheet = load_workbook(io.BytesIO(report.to_xlsx())).active
    assert str(NOT_REFRESHED) in [c.value for c in sheet["B"]]
    assert "Never refreshed on this day" in _pdf_text(report.to_pdf())

    refreshed = daily_report(city, DAY)
    as_of = next(line for line in refreshed.header_lines() if line.label == "As of")
    assert not as_of.warning and re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d", as_of.value)


def test_the_report_reads_a_handful_of_rows_and_names_its_author(figures, django_assert_max_num_queries):
    user = get_user_model().objects.create_user("duty", first_name="王小明")
    with django_assert_max_num_queries(5):
        report = daily_report(figures.divisions[CITY], DAY, user)
    assert ("Generated by", "王小明") in [(line.label, line.value) for line in report.header_lines()]
    assert daily_report(figures.divisions[CITY], DAY).as_dict()["generated_by"] == ""
    with pytest.raises(ValueError, match="xlsx or pdf"):
        render(figures.divisions[CITY], DAY, "docx")


def test_percent_rounds_half_up():
    assert percent(1, 8) == 12.5
    assert percent(1, 400) == 0.3
    assert percent(2, 3) == 66.7
    assert percent(0, 5) == 0.0
    assert percent(3, 0) is None


def test_xlsx_has_the_tables_with_numbers(figures):
    city = figures.divisions[CITY]
    own = figures_for(city, DAY)
    content, content_type, filename = render(city, DAY, "xlsx")
    assert content_type == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert filename == f"日报-{CITY}-2026-11-28.xlsx"
    book = load_workbook(io.BytesIO(content))
    assert book.sheetnames == ["Daily report 2026-11-28"]
    sheet = book.active
    rows = {row[0].value: row for row in sheet.iter_rows() if row[0].value}
    titles = [label for label in rows if re.match(r"\d\. ", str(label))]
    assert titles == [
        "1. New and cumulative by category",
        "2. Contacts traced and placed",
        "3. Testing",
        "4. Resident services",
        "5. Beds and transport",
        "6. Tasks",
        "7. By area",
    ]
    assert sheet.freeze_panes is not None
    confirmed = rows["Confirmed"]
    assert [c.value for c in confirmed[1:4]] == [own["new_confirmed"], own["cum_confirmed"], own["now_confirmed"]]
    assert all(isinstance(c.value, int) for c in confirmed[1:4])
    assert confirmed[1].border.left.style == "thin"
    assert rows["Category"][0].font.b
    assert rows["Samples taken"][1].value == own["tests_sampled"]
    coverage = rows["Coverage %"][1]
    assert coverage.value == 50.0 and coverage.number_format == "0.0"
    total = rows["Total"]
    assert [c.value for c in total[1:4]] == [own["now_confirmed"], own["new_confirmed"], own["now_close_contact"]]
    assert rows["江岸区"][1].value == figures_for(figures.divisions[DISTRICT], DAY)["now_confirmed"]
    assert sheet.column_dimensions["A"].width >= 20


def test_pdf_embeds_a_cjk_font_and_the_text_is_extractable(figures):
    city = figures.divisions[CITY]
    own = figures_for(city, DAY)
    content, content_type, filename = render(city, DAY, "pdf")
    assert content.startswith(b"%PDF-") and content.rstrip().endswith(b"%%EOF")
    assert (content_type, filename) == ("application/pdf", f"日报-{CITY}-2026-11-28.pdf")
    assert _embedded_fonts(content)
    text = _pdf_text(content)
    for expected in ("Daily report", "武汉市", "江岸区", "武昌区", "7. By area", str(own["tests_sampled"]), "50.0"):
        assert expected in text


def test_reports_render_in_chinese(figures):
    street = figures.divisions[STREET]
    with translation.override("zh-hans"):
        report = daily_report(street, DAY)
        book = load_workbook(io.BytesIO(report.to_xlsx()))
        text = _pdf_text(report.to_pdf())
        category = str(Category.CONFIRMED.label)
    assert book.active.title.endswith("2026-11-28") and len(book.active.title) <= 31
    assert "江岸街道" in text and "江岸社区" in text and category in text
    assert any(row[0] == category for row in book.active.iter_rows(values_only=True))


def test_a_chinese_only_font_gets_latin_digits_from_a_fallback(figures, monkeypatch):
    droid = report_pdf.CJK_FONTS[1]
    if not droid.is_file() or not any(p.is_file() for p in report_pdf.LATIN_FONTS):
        pytest.skip("needs fonts-droid-fallback and fonts-dejavu-core")
    monkeypatch.setenv("LINLI_PDF_FONT", str(droid))
    content = daily_report(figures.divisions[COMMUNITY], DAY).to_pdf()
    assert len(_embedded_fonts(content)) == 2
    text = _pdf_text(content)
    assert "江岸社区" in text and "2026-11-28" in text


def test_no_cjk_font_is_a_clear_error(figures, monkeypatch, tmp_path):
    monkeypatch.delenv("LINLI_PDF_FONT", raising=False)
    monkeypatch.setattr(report_pdf, "CJK_FONTS", (tmp_path / "missing.ttc",))
    with pytest.raises(report_pdf.ReportFontError, match="fonts-noto-cjk"):
        daily_report(figures.divisions[CITY], DAY).to_pdf()
    with pytest.raises(CommandError, match="fonts-noto-cjk"):
        call_command("report", "daily", "--level", "city", "--code", CITY, "--format", "pdf", "--out", "x.pdf")
    monkeypatch.setenv("LINLI_PDF_FONT", str(tmp_path / "nowhere.ttf"))
    with pytest.raises(report_pdf.ReportFontError, match="LINLI_PDF_FONT"):
        report_pdf.cjk_font()


def _run(*args: str) -> str:
    out = io.StringIO()
    call_command("report", "daily", *args, stdout=out)
    return out.getvalue().strip()


@pytest.mark.parametrize("code", [CITY, DISTRICT, STREET, COMMUNITY])
def test_command_writes_both_formats_for_every_level(figures, tmp_path, code):
    level = LEVEL_OF[code]
    for fmt in ("xlsx", "pdf"):
        target = tmp_path / f"{code}.{fmt}"
        args = ("--level", level, "--code", code, "--date", "2026-11-28", "--format", fmt, "--out", str(target))
        assert _run(*args) == str(target)
        assert target.stat().st_size > 1000
    assert target.read_bytes().startswith(b"%PDF")
    sheet = load_workbook(tmp_path / f"{code}.xlsx").active
    area = figures.divisions[code]
    assert sheet["A1"].value == f"Daily report · {area.name} · 2026-11-28"


def test_command_defaults_to_today_and_a_file_here(figures, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    written = _run("--level", "district", "--code", DISTRICT)
    assert written == f"日报-{DISTRICT}-{timezone.localdate().isoformat()}.xlsx"
    assert (tmp_path / written).is_file()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--level", "city", "--code", "999999999999"), "no division 999999999999"),
        (("--level", "street", "--code", DISTRICT), "420102000000 (江岸区) is a district, not a street"),
        (("--level", "city", "--code", CITY, "--date", "2026-13-01"), "not a date"),
    ],
)
def test_command_errors_are_clear(figures, tmp_path, args, message):
    with pytest.raises(CommandError, match=re.escape(message)):
        _run(*args, "--out", str(Path(tmp_path) / "x.xlsx"))
