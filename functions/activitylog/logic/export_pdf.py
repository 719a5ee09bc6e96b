"""The PDF export format (docs/exports.md, "PDF"): a cover, a summary, then the events as a table.

fpdf2 draws it with the Noto fonts the Lambda layer ships (layers/fonts: Latin, Greek and Cyrillic in
Noto Sans; Arabic, Hebrew and Simplified Chinese as fallbacks for what Noto Sans lacks). Text in a
right-to-left or joining script goes through HarfBuzz (uharfbuzz); other text is drawn directly.

The table is laid out here, not with fpdf2's `table()`/`multi_cell()`: those measure every
character through the fallback fonts twice per cell, about 28 ms a row (five minutes for 10,000
events). Widths come from the fonts' own tables, cached per character, and each line is one `text()`
call (docs/benchmarks.md, "PDF").
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from fpdf import FPDF
from fpdf.fonts import TTFFont

from activitylog.logic.export_pdf_summary import (
    Ranked,
    Summary,
    filters_in_words,
    range_text,
    row_cells,
    summarise,
)
from activitylog.models.filters import EventFilter
from activitylog.models.text import format_time

# (family, style, package under layers/fonts/node_modules/@embedpdf, file): layers/build.py copies
# exactly these files into the layer's fonts/ (tests/unit/test_layer_build.py keeps the two agreeing).
FONT_FILES: tuple[tuple[str, str, str, str], ...] = (
    ("noto", "", "fonts-latin", "NotoSans-Regular.ttf"),
    ("noto", "B", "fonts-latin", "NotoSans-Bold.ttf"),
    ("noto-arabic", "", "fonts-arabic", "NotoNaskhArabic-Regular.ttf"),
    ("noto-arabic", "B", "fonts-arabic", "NotoNaskhArabic-Bold.ttf"),
    ("noto-hebrew", "", "fonts-hebrew", "NotoSansHebrew-Regular.ttf"),
    ("noto-hebrew", "B", "fonts-hebrew", "NotoSansHebrew-Bold.ttf"),
    ("noto-cjk", "", "fonts-sc", "NotoSansHans-Regular.otf"),
)
FALLBACKS = ["noto-arabic", "noto-hebrew", "noto-cjk"]
LAYER_FONTS = Path("/opt/fonts")  # the layer's fonts/ directory in Lambda
CHECKOUT_FONTS = Path(__file__).resolve().parents[3] / "layers" / "fonts" / "node_modules" / "@embedpdf"

# Scripts whose letters join or run right to left: drawn through the shaping engine.
_COMPLEX = re.compile("[\u0590-\u08ff\ufb1d-\ufdff\ufe70-\ufeff]")

PAGE_W, PAGE_H = 841.89, 595.28  # A4 landscape, in points
MARGIN = 28.0
BOTTOM = PAGE_H - 36.0  # the footer lives below
SIZE = 7.0  # table text
LINE = 9.0
PAD = 2.5
COLUMNS: tuple[tuple[str, float], ...] = (
    ("Time (UTC)", 78.0),
    ("User", 118.0),
    ("Action", 100.0),
    ("Resource", 118.0),
    ("Outcome", 40.0),
    ("IP", 68.0),
    ("Description and changes", PAGE_W - 2 * MARGIN - 522.0),
)
STRIPE = (244, 246, 249)
INK = (33, 37, 41)
MUTED = (108, 117, 125)
ACCENT = (47, 95, 168)


class FontsMissingError(RuntimeError):
    """The PDF fonts are not where the layer (or `make fonts` in a checkout) puts them."""


@dataclass(frozen=True, slots=True)
class ReportInfo:
    """What the cover tells about the run."""

    export_name: str
    export_id: str
    run_id: str
    tenant: str
    filters: EventFilter
    range_from: datetime
    range_to: datetime
    generated_at: datetime


def font_path(package: str, file: str, dirs: Sequence[Path] | None = None) -> Path:
    for base in dirs or (LAYER_FONTS, CHECKOUT_FONTS):
        for candidate in (base / file, base / package / "fonts" / file):
            if candidate.is_file():
                return candidate
    raise FontsMissingError(f"PDF font {file} not found (make fonts; layers/build.py ships it in the layer)")


class _Report(FPDF):
    footer_text = ""

    def footer(self) -> None:
        # cell(), not text(): it falls back to the other fonts (the export's name may be in any script),
        # and only it fills in the page count
        self.set_text_shaping(True)
        self.set_font("noto", size=7)
        self.set_text_color(*MUTED)
        self.set_xy(MARGIN, PAGE_H - 25)
        self.cell(PAGE_W - 2 * MARGIN - 130, 9, self.footer_text)
        self.set_xy(PAGE_W - MARGIN - 120, PAGE_H - 25)
        self.cell(120, 9, f"Page {self.page_no()} of {{nb}}", align="R")
        self.set_text_shaping(False)


class _Widths:
    """Text widths from the fonts' own metrics, and which font draws each character: Noto Sans, else
    the first fallback that has it (`text()` does not fall back by itself, unlike `cell()`)."""

    def __init__(self, pdf: FPDF) -> None:
        self._pdf = pdf
        self._cache: dict[tuple[str, str], tuple[str, float]] = {}

    def _font(self, key: str) -> TTFFont | None:
        font = self._pdf.fonts.get(key)
        return font if isinstance(font, TTFFont) else None

    def _char(self, style: str, char: str) -> tuple[str, float]:
        key = (style, char)
        found = self._cache.get(key)
        if found is None:
            code = ord(char)
            for family in ("noto", *FALLBACKS):
                font = self._font(family + style) or self._font(family)
                if font is not None and code in font.cmap:
                    found = (family, font.cw[code] / 1000)
                    break
            else:  # no font has it: Noto Sans draws its .notdef box
                font = self._font("noto" + style) or self._font("noto")
                found = ("noto", font.cw[ord("?")] / 1000 if font else 0.5)
            self._cache[key] = found
        return found

    def of(self, text: str, size: float, style: str = "") -> float:
        char = self._char
        return sum(char(style, c)[1] for c in text) * size

    def runs(self, text: str, style: str = "") -> list[tuple[str, str]]:
        """`text` cut into (font family, characters) runs."""
        runs: list[tuple[str, str]] = []
        for c in text:
            family = self._char(style, c)[0]
            if runs and runs[-1][0] == family:
                runs[-1] = (family, runs[-1][1] + c)
            else:
                runs.append((family, c))
        return runs


def wrap(text: str, width: float, measure: _Widths, size: float, style: str = "") -> list[str]:
    """Greedy line breaking at spaces; a word wider than the column is cut between characters."""
    lines: list[str] = []
    space = measure.of(" ", size, style)
    for paragraph in text.split("\n"):
        line, used = "", 0.0
        for word in paragraph.split(" "):
            need = measure.of(word, size, style)
            if line and used + space + need <= width:
                line, used = f"{line} {word}", used + space + need
                continue
            if not line and need <= width:
                line, used = word, need
                continue
            if line:
                lines.append(line)
            line, used = "", 0.0
            if need <= width:
                line, used = word, need
                continue
            for char in word:
                step = measure.of(char, size, style)
                if line and used + step > width:
                    lines.append(line)
                    line, used = "", 0.0
                line, used = line + char, used + step
        lines.append(line)
    return lines


def _fit(text: str, width: float, measure: _Widths, size: float, style: str = "") -> str:
    if measure.of(text, size, style) <= width:
        return text
    while text and measure.of(text + "…", size, style) > width:
        text = text[:-1]
    return text + "…"


def _draw(pdf: FPDF, measure: _Widths, x: float, y: float, text: str, size: float, style: str = "") -> None:
    """One line at baseline y. Joining and right-to-left scripts go through `cell()` with HarfBuzz
    (shaping and bidirectional order); the rest is drawn run by run in the font that has it."""
    if _COMPLEX.search(text):
        pdf.set_font("noto", style, size)
        pdf.set_text_shaping(True)
        pdf.set_xy(x, y - size * 0.93)  # cell() takes the top; its baseline sits ~0.93 em lower here
        pdf.cell(measure.of(text, size, style) * 1.2 + 4, size * 1.2, text, align="L")
        pdf.set_text_shaping(False)
        return
    for family, run in measure.runs(text, style):
        pdf.set_font(family, style if family + style in pdf.fonts else "", size)
        pdf.text(x, y, run)
        x += measure.of(run, size, style)
    pdf.set_font("noto", style, size)


def _new_pdf(info: ReportInfo, fonts: Sequence[Path] | None) -> _Report:
    pdf = _Report(orientation="L", unit="pt", format="A4")
    pdf.set_auto_page_break(False)
    pdf.set_margins(MARGIN, MARGIN, MARGIN)
    for family, style, package, file in FONT_FILES:
        pdf.add_font(family, style, str(font_path(package, file, fonts)))
    pdf.set_fallback_fonts(FALLBACKS, exact_match=False)
    pdf.set_creation_date(info.generated_at)
    pdf.set_title(f"Activity report: {info.export_name}")
    pdf.set_author("Activity Log")
    pdf.set_subject(f"export {info.export_id}, run {info.run_id}")
    pdf.footer_text = f"Activity Log · {info.export_name[:80]} · run {info.run_id}"
    return pdf


def _cover(pdf: _Report, info: ReportInfo, rows: int) -> None:
    pdf.add_page()
    pdf.set_text_shaping(True)  # the export's name and filters may be in any script
    pdf.set_text_color(*ACCENT)
    pdf.set_font("noto", "B", 12)
    pdf.set_xy(MARGIN, 90)
    pdf.cell(0, 16, "Activity report", new_x="LMARGIN", new_y="NEXT")
    pdf.set_text_color(*INK)
    pdf.set_font("noto", "B", 24)
    pdf.multi_cell(PAGE_W - 2 * MARGIN, 30, info.export_name, new_x="LMARGIN", new_y="NEXT")
    pdf.ln(14)
    facts = [
        ("Tenant", info.tenant),
        ("Filters", "\n".join(filters_in_words(info.filters))),
        ("Time range", range_text(info.range_from, info.range_to)),
        ("Generated", format_time(info.generated_at) + " (UTC)"),
        ("Events", f"{rows:,}"),
        ("Export / run", f"{info.export_id} / {info.run_id}"),
        (
            "SHA-256",
            "in the run's manifest: the `sha256` of GET /v1/exports/"
            f"{info.export_id}/runs/{info.run_id} (a file cannot hold its own digest)",
        ),
    ]
    for label, value in facts:
        pdf.set_font("noto", "B", 10)
        pdf.set_text_color(*MUTED)
        pdf.set_x(MARGIN)
        y = pdf.get_y()
        pdf.cell(110, 15, label)
        pdf.set_font("noto", "", 10)
        pdf.set_text_color(*INK)
        pdf.set_xy(MARGIN + 110, y)
        pdf.multi_cell(PAGE_W - 2 * MARGIN - 110, 15, value, new_x="LMARGIN", new_y="NEXT")
        pdf.ln(3)
    pdf.set_text_shaping(False)


def _bar_label(start: Any, bucket: str) -> str:
    return start.strftime("%Y-%m") if bucket == "month" else start.strftime("%m-%d")


def _chart(pdf: _Report, summary: Summary, top: float) -> float:
    left, width, height = MARGIN + 30, PAGE_W - 2 * MARGIN - 30, 170.0
    per = {"day": "day", "week": "week (from Monday)", "month": "month"}[summary.bucket]
    pdf.set_font("noto", "B", 11)
    pdf.set_text_color(*INK)
    pdf.text(MARGIN, top, f"Events per {per}, UTC")
    base = top + 14 + height
    peak = max((n for _, n in summary.series), default=0) or 1
    pdf.set_font("noto", "", 7)
    pdf.set_draw_color(222, 226, 230)
    pdf.set_line_width(0.5)
    for fraction in (0.0, 0.5, 1.0):
        y = base - height * fraction
        pdf.line(left, y, left + width, y)
        label = f"{round(peak * fraction):,}"
        pdf.set_text_color(*MUTED)
        pdf.text(left - 4 - pdf.get_string_width(label), y + 2.5, label)
    slot = width / max(1, len(summary.series))
    every = max(1, round(len(summary.series) / 16))
    pdf.set_fill_color(*ACCENT)
    for n, (start, count) in enumerate(summary.series):
        x = left + n * slot
        if count:
            bar = height * count / peak
            pdf.rect(x + slot * 0.15, base - bar, slot * 0.7, bar, style="F")
        if n % every == 0:
            pdf.set_text_color(*MUTED)
            pdf.text(x + slot * 0.15, base + 10, _bar_label(start, summary.bucket))
    return base + 24


def _top_list(pdf: _Report, measure: _Widths, title: str, items: list[Ranked], x: float, top: float) -> None:
    width = (PAGE_W - 2 * MARGIN - 40) / 3
    pdf.set_font("noto", "B", 11)
    pdf.set_text_color(*INK)
    pdf.text(x, top, title)
    pdf.set_font("noto", "", 8.5)
    if not items:
        pdf.set_text_color(*MUTED)
        pdf.text(x, top + 16, "none")
    for n, item in enumerate(items):
        y = top + 16 + n * 13
        count = f"{item.count:,}"
        pdf.set_text_color(*INK)
        rank = f"{n + 1}."  # apart from the label: a right-to-left label would move it to the end
        pdf.text(x, y, rank)
        _draw(pdf, measure, x + 16, y, _fit(item.label, width - 66, measure, 8.5), 8.5)
        pdf.text(x + width - measure.of(count, 8.5), y, count)


def _summary(pdf: _Report, summary: Summary, measure: _Widths) -> None:
    pdf.add_page()
    pdf.set_font("noto", "B", 16)
    pdf.set_text_color(*INK)
    pdf.text(MARGIN, 50, "Summary")
    pdf.set_font("noto", "", 10)
    totals = (
        f"{summary.total:,} events · {summary.total - summary.failures:,} succeeded · "
        f"{summary.failures:,} failed · {summary.users:,} users"
    )
    pdf.text(MARGIN, 70, totals)
    below = _chart(pdf, summary, 100)
    column = (PAGE_W - 2 * MARGIN - 40) / 3 + 20
    for n, (title, items) in enumerate(
        (
            ("Top users", summary.top_users),
            ("Top actions", summary.top_actions),
            ("Top resources", summary.top_resources),
        )
    ):
        _top_list(pdf, measure, title, items, MARGIN + n * column, below + 10)


def _table_header(pdf: _Report) -> float:
    pdf.add_page()
    pdf.set_font("noto", "B", SIZE)
    pdf.set_fill_color(*ACCENT)
    pdf.rect(MARGIN, MARGIN, PAGE_W - 2 * MARGIN, LINE + 2 * PAD, style="F")
    pdf.set_text_color(255, 255, 255)
    x = MARGIN
    for title, width in COLUMNS:
        pdf.text(x + PAD, MARGIN + PAD + SIZE, title)
        x += width
    pdf.set_font("noto", "", SIZE)
    pdf.set_text_color(*INK)
    return MARGIN + LINE + 2 * PAD


def _table(pdf: _Report, events: Sequence[dict[str, Any]], measure: _Widths) -> None:
    y = _table_header(pdf)
    if not events:
        pdf.text(MARGIN + PAD, y + PAD + SIZE, "No event matches the export's filters in its time range.")
        return
    pdf.set_fill_color(*STRIPE)
    for n, event in enumerate(events):
        cells = [
            wrap(text, width - 2 * PAD, measure, SIZE)
            for text, (_title, width) in zip(row_cells(event), COLUMNS, strict=True)
        ]
        height = max(map(len, cells)) * LINE + 2 * PAD
        if y + height > BOTTOM:
            y = _table_header(pdf)
            pdf.set_fill_color(*STRIPE)
        if n % 2:
            pdf.rect(MARGIN, y, PAGE_W - 2 * MARGIN, height, style="F")
        x = MARGIN
        for lines, (_title, width) in zip(cells, COLUMNS, strict=True):
            for k, line in enumerate(lines):
                if line:
                    _draw(pdf, measure, x + PAD, y + PAD + SIZE + k * LINE, line, SIZE)
            x += width
        y += height


def render_pdf(
    info: ReportInfo, events: Sequence[dict[str, Any]], *, fonts: Sequence[Path] | None = None
) -> bytes:
    """The report for `events` (StoredEvent JSON objects as the API shows them, oldest first)."""
    pdf = _new_pdf(info, fonts)
    measure = _Widths(pdf)
    _cover(pdf, info, len(events))
    _summary(pdf, summarise(events, info.range_from, info.range_to), measure)
    _table(pdf, events, measure)
    return bytes(pdf.output())
