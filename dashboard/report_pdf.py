"""The daily report as an A4 PDF (fpdf2), with a CJK font embedded (subset) so the Chinese report
reads the same on any machine that opens it.

fpdf2 rather than reportlab: reportlab embeds TrueType outlines only, and the CJK font Debian
installs with Chromium (fonts-noto-cjk) is an OpenType/CFF collection, which fpdf2 embeds as is.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext
from fontTools.ttLib import TTCollection
from fpdf import FPDF, FontFace

if TYPE_CHECKING:
    from dashboard.report import DailyReport, Table

# Tried in order; LINLI_PDF_FONT (a .ttf, .otf or .ttc path) comes first when set.
CJK_FONTS = (
    Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"),  # fonts-noto-cjk: Chinese and Latin
    Path("/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf"),  # fonts-droid-fallback: Chinese only
)
# for the digits and Latin letters a Chinese-only font lacks (Droid Sans Fallback has no digits)
LATIN_FONTS = (
    Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"),  # fonts-dejavu-core
    Path("/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf"),  # fonts-liberation
)
COLLECTIONS = (".ttc", ".otc")
NEEDED_LATIN = "0123456789."
NEEDED_CJK = "日报"
MARGIN = 15  # mm
HEADING = FontFace(emphasis=None, fill_color=(229, 231, 235))
NARROW_HEADING = FontFace(emphasis=None, fill_color=(229, 231, 235), size_pt=7)
TOTAL = FontFace(fill_color=(243, 244, 246))
WARNING_RGB = (185, 28, 28)


class ReportFontError(RuntimeError):
    """No font that can write the report's Chinese: the fix is a package to install."""


def cjk_font() -> Path:
    """The first usable CJK font: LINLI_PDF_FONT, else the known Debian paths."""
    override = os.environ.get("LINLI_PDF_FONT")
    if override:
        if not Path(override).is_file():
            raise ReportFontError(gettext("LINLI_PDF_FONT is %(path)s, which is not a font file.") % {"path": override})
        return Path(override)
    for path in CJK_FONTS:
        if path.is_file():
            return path
    raise ReportFontError(
        gettext(
            "No Chinese font for the PDF report: install the Debian package fonts-noto-cjk (or "
            "fonts-droid-fallback), or set LINLI_PDF_FONT to a font file with Chinese glyphs."
        )
    )


def face_number(path: Path) -> int:
    """In a collection, the Simplified Chinese face (Noto's collections start with the Japanese one,
    whose glyph shapes differ for some characters); 0 elsewhere."""
    if path.suffix.lower() not in COLLECTIONS:
        return 0
    faces = TTCollection(path, lazy=True).fonts
    for number, face in enumerate(faces):
        family = face["name"].getDebugName(1) or ""
        if family.endswith(" SC"):
            return number
    return 0


def _add_fonts(pdf: FPDF) -> None:
    """Sets ``pdf`` up with the CJK font, and a Latin fallback when that font lacks digits."""
    path = cjk_font()
    pdf.add_font("cjk", "", path, collection_font_number=face_number(path))
    cmap = pdf.fonts["cjk"].cmap
    if any(ord(ch) not in cmap for ch in NEEDED_CJK):
        raise ReportFontError(
            gettext("%(path)s has no Chinese glyphs: set LINLI_PDF_FONT to one that has.") % {"path": path}
        )
    if all(ord(ch) in cmap for ch in NEEDED_LATIN):
        return
    latin = next((p for p in LATIN_FONTS if p.is_file()), None)
    if latin is None:
        raise ReportFontError(
            gettext(
                "%(path)s has no digits and no Latin font was found: install the Debian package fonts-noto-cjk "
                "or fonts-dejavu-core."
            )
            % {"path": path}
        )
    pdf.add_font("latin", "", latin)
    pdf.set_fallback_fonts(["latin"], exact_match=False)


class ReportPDF(FPDF):
    """A4 portrait with the area, day and page number at the foot of every page."""

    def __init__(self, report: DailyReport) -> None:
        super().__init__(orientation="portrait", unit="mm", format="A4")
        self.report = report
        self.set_margins(MARGIN, MARGIN, MARGIN)
        self.set_auto_page_break(auto=True, margin=MARGIN)

    def footer(self) -> None:
        self.set_y(-10)
        self.set_font("cjk", size=7)
        self.set_text_color(110)
        report = self.report
        text = gettext("%(title)s · %(area)s · %(day)s · page %(page)s of %(pages)s") % {
            "title": report.title(),
            "area": report.area.name,
            "day": report.day.isoformat(),
            "page": self.page_no(),
            "pages": "{nb}",
        }
        self.cell(0, 5, text, align="C")


def _widths(table: Table) -> tuple[tuple[float, ...], float]:
    """Column widths (mm) and the table width: a wide label column, narrower number columns."""
    full = 210 - 2 * MARGIN
    values = len(table.columns)
    if values == 1:
        return (80.0, 30.0), 110.0
    if values <= 3:
        return (full - 30 * values, *(30.0,) * values), full
    label = 30.0
    return (label, *((full - label) / values,) * values), full


def _draw_table(pdf: FPDF, number: int, table: Table) -> None:
    if pdf.will_page_break(24):
        pdf.add_page()
    pdf.set_font("cjk", size=11)
    pdf.cell(0, 8, f"{number}. {table.title}", new_x="LMARGIN", new_y="NEXT")
    widths, width = _widths(table)
    wide = len(table.columns) > 3
    pdf.set_font("cjk", size=8 if wide else 9)
    with pdf.table(
        col_widths=widths,
        width=width,
        align="LEFT",
        text_align=("LEFT", *("RIGHT",) * len(table.columns)),
        headings_style=NARROW_HEADING if wide else HEADING,
        line_height=5,
        padding=1,
    ) as out:
        out.row(table.headings())
        for line in table.rows:
            out.row([str(line.label), *line.texts()], style=TOTAL if line.total else None)
    pdf.ln(4)


def render_pdf(report: DailyReport) -> bytes:
    """The title, the header lines (the never-refreshed warning in red), then the tables in order."""
    pdf = ReportPDF(report)
    _add_fonts(pdf)
    title = report.title()
    pdf.set_title(f"{title} {report.area.name} {report.day.isoformat()}")
    pdf.set_creator("Linli")
    pdf.set_lang(translation.get_language() or settings.LANGUAGE_CODE)
    pdf.add_page()
    pdf.set_font("cjk", size=16)
    pdf.cell(0, 10, f"{title} · {report.area.name} · {report.day.isoformat()}", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("cjk", size=9)
    for line in report.header_lines():
        pdf.set_text_color(*(WARNING_RGB if line.warning else (0, 0, 0)))
        pdf.multi_cell(0, 5, f"{line.label}: {line.value}", new_x="LMARGIN", new_y="NEXT")
    pdf.set_text_color(0)
    pdf.ln(3)
    for number, table in enumerate(report.tables, start=1):
        _draw_table(pdf, number, table)
    return bytes(pdf.output())
