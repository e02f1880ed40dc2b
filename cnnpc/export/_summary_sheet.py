"""The workbook's Summary sheet: per search a vertical block a person reads top to bottom.

Title; labelled lines (model, links, objective, best plan and its layout, accuracies, speedups,
traffic, spend); the latency breakdown of the best plan beside the baselines as a table; and a
stacked-bar chart of that table beside the lines.
"""

from __future__ import annotations

from collections.abc import Sequence

from openpyxl.chart import BarChart, Reference
from openpyxl.chart._chart import ChartBase
from openpyxl.drawing.text import CharacterProperties, ParagraphProperties
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.pagebreak import Break
from openpyxl.worksheet.worksheet import Worksheet

from cnnpc.export._overview import PART_LABELS, Overview
from cnnpc.export._pareto import nice_axis

TITLE_FONT = Font(bold=True, size=14, color="1F4E78")
LABEL_FONT = Font(bold=True)
HEADER_FONT = Font(bold=True, color="FFFFFF")
HEADER_FILL = PatternFill(fill_type="solid", start_color="1F4E78", end_color="1F4E78")
BEST_FILL = PatternFill(fill_type="solid", start_color="E2EFDA", end_color="E2EFDA")
PART_COLORS = ("4472C4", "A5A5A5", "ED7D31", "7F7F7F", "70AD47", "FFC000")
VALUE_COLUMNS = 8  # B..I: a line's value spans them (merged)
TABLE_HEADER = ("plan", *PART_LABELS, "total ms", "vs best", "layout")
CHART_ROWS = 19
OFF_SCALE = 3.0  # a bar over 3x the fastest one is cut at the axis (its number is in the table)


def write_summary(sheet: Worksheet, overviews: Sequence[Overview]) -> None:
    """Write one block per search, separated by two empty rows."""
    sheet.column_dimensions["A"].width = 38
    for col in range(2, 2 + VALUE_COLUMNS):
        sheet.column_dimensions[get_column_letter(col)].width = 11
    sheet.column_dimensions[get_column_letter(len(TABLE_HEADER))].width = 50
    sheet.sheet_view.showGridLines = False
    fit_to_page_width(sheet)
    row = 1
    for view in overviews:
        if row > 1:  # each search starts a printed page
            sheet.row_breaks.append(Break(id=row - 1))
        row = _block(sheet, view, row) + 2


def _block(sheet: Worksheet, view: Overview, top: int) -> int:
    """Write one search's block from row `top`; return its last row."""
    title = sheet.cell(top, 1, view.title)
    title.font = TITLE_FONT
    row = top + 1
    for line in view.lines:
        sheet.cell(row, 1, line.label).font = LABEL_FONT
        cell = sheet.cell(row, 2, "-" if line.value is None else line.value)
        cell.alignment = Alignment(horizontal="left")
        if line.fmt is not None and isinstance(line.value, int | float):
            cell.number_format = line.fmt
        sheet.merge_cells(start_row=row, start_column=2, end_row=row, end_column=1 + VALUE_COLUMNS)
        row += 1
    if view.note:
        sheet.cell(row, 1, view.note).font = Font(italic=True, color="C00000")
        row += 1
    if not view.bars:
        return row - 1
    row += 1
    header = row
    sheet.cell(header, 1, "Latency breakdown (ms)").font = LABEL_FONT
    header += 1
    for col, name in enumerate(TABLE_HEADER, start=1):
        cell = sheet.cell(header, col, name)
        cell.font = HEADER_FONT
        cell.fill = HEADER_FILL
        cell.alignment = Alignment(horizontal="center")
    best = view.bars[0] if view.bars[0].label == "best plan" else None
    for i, bar in enumerate(view.bars, start=1):
        r = header + i
        values = [bar.label, *bar.parts, bar.latency_ms]
        for col, value in enumerate(values, start=1):
            cell = sheet.cell(r, col, value)
            if col > 1:
                cell.number_format = "0.00"
        speed = None if best is None or not best.latency_ms else bar.latency_ms / best.latency_ms
        ratio = sheet.cell(r, len(values) + 1, speed)
        ratio.number_format = '0.00"x"'
        ratio.alignment = Alignment(horizontal="center")
        sheet.cell(r, len(values) + 2, bar.layout).alignment = Alignment(indent=1)
        if bar is best:
            for col in range(1, len(TABLE_HEADER) + 1):
                sheet.cell(r, col).fill = BEST_FILL
    last = header + len(view.bars)
    _breakdown_chart(sheet, view, header, last, top)
    return max(last, top + CHART_ROWS)


def _breakdown_chart(sheet: Worksheet, view: Overview, header: int, last: int, top: int) -> None:
    """Horizontal stacked bars, one per plan of the table, parts in the table's colours."""
    chart = BarChart()
    chart.type = "bar"
    chart.grouping = "stacked"
    chart.overlap = 100
    chart.gapWidth = 60
    lat = [b.latency_ms for b in view.bars]
    shown = [x for x in lat if x <= OFF_SCALE * min(lat)]
    axis = nice_axis([0.0, *shown], pad=0.02, lower=0.0)
    off = [f"{b.label} {b.latency_ms:.0f} ms" for b in view.bars if b.latency_ms > axis.high]
    chart.title = "Best plan vs baselines, ms" + (f" ({', '.join(off)}: cut)" if off else "")
    small_title(chart)
    chart.y_axis.scaling.min = 0.0
    chart.y_axis.scaling.max = axis.high
    chart.y_axis.majorUnit = axis.step
    chart.x_axis.title = None
    chart.y_axis.title = "latency (ms)"
    chart.y_axis.number_format = "0"
    chart.y_axis.majorGridlines = None
    chart.x_axis.scaling.orientation = "maxMin"  # the best plan on top, as in the table
    chart.x_axis.delete = False
    chart.y_axis.delete = False
    data = Reference(sheet, min_col=2, max_col=1 + len(PART_LABELS), min_row=header, max_row=last)
    chart.add_data(data, titles_from_data=True)
    chart.set_categories(Reference(sheet, min_col=1, min_row=header + 1, max_row=last))
    for series, color in zip(chart.series, PART_COLORS, strict=True):
        series.graphicalProperties.solidFill = color
        series.graphicalProperties.line.solidFill = color
    chart.legend.position = "b"
    chart.height, chart.width = 9.5, 18
    sheet.add_chart(chart, f"G{top + 1}")  # beside the lines, right of their values


def fit_to_page_width(sheet: Worksheet) -> None:
    """Print (and PDF) a sheet landscape, as wide as one page, as long as it needs."""
    sheet.page_setup.orientation = "landscape"
    sheet.page_setup.fitToWidth = 1
    sheet.page_setup.fitToHeight = 0
    sheet.sheet_properties.pageSetUpPr.fitToPage = True


def small_title(chart: ChartBase) -> None:
    """An 11 pt bold title (applications default to a size that wraps a long one)."""
    paragraph = chart.title.tx.rich.p[0]
    paragraph.pPr = ParagraphProperties(defRPr=CharacterProperties(sz=1100, b=True))
