"""Pareto charts of the workbook: one scatter chart per search on the Pareto sheet.

Series: feasible and infeasible trials (markers), the Pareto front (a line), the accuracy floor
or latency budget (a dashed line across the plot) and the best plan (a large marker). Axes are
fitted to the data. The points live on a "Chart data" sheet, one block per search.
"""

from __future__ import annotations

from collections.abc import Sequence

from openpyxl.chart import Reference, ScatterChart, Series
from openpyxl.chart.marker import Marker
from openpyxl.chart.shapes import GraphicalProperties
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from openpyxl.workbook.workbook import Workbook
from openpyxl.worksheet.worksheet import Worksheet

from cnnpc.export._pareto import ParetoData, Point, pareto_data
from cnnpc.export._report import SearchReport
from cnnpc.export._summary_sheet import fit_to_page_width, small_title

CHART_HEIGHT_ROWS = 22


def add_pareto_charts(
    workbook: Workbook, pareto: Worksheet, reports: Sequence[SearchReport]
) -> None:
    """One chart per search with measured trials, stacked beside the Pareto table."""
    data_sheet: Worksheet | None = None
    fit_to_page_width(pareto)
    anchor_col = get_column_letter(pareto.max_column + 2)
    row = 1
    placed = 0
    for report in reports:
        data = pareto_data(report)
        if not (data.feasible or data.infeasible):
            continue
        if data_sheet is None:
            data_sheet = workbook.create_sheet("Chart data")
            data_sheet.append(["Points of the Pareto charts (one block per search)"])
            data_sheet["A1"].font = Font(bold=True)
            for col, width in (("A", 34), ("B", 12), ("C", 14)):
                data_sheet.column_dimensions[col].width = width
            row = 3
        search = report.summary.search
        title = f"#{search.id} {search.model}/{search.device} {search.links.bandwidth_mbps:g} Mbps"
        chart, row = _chart(data_sheet, row, title, data)
        pareto.add_chart(chart, f"{anchor_col}{2 + placed * CHART_HEIGHT_ROWS}")
        placed += 1


def _chart(sheet: Worksheet, row: int, title: str, data: ParetoData) -> tuple[ScatterChart, int]:
    sheet.cell(row, 1, f"search {title}").font = Font(bold=True)
    for col, name in enumerate(("series", "latency ms", "val accuracy"), start=1):
        sheet.cell(row + 1, col, name).font = Font(bold=True)
    row += 2
    chart = ScatterChart()
    chart.title = f"Pareto front {title}"
    small_title(chart)
    chart.style = 13
    chart.scatterStyle = "lineMarker"
    chart.height, chart.width = 10.5, 18
    chart.x_axis.title = "latency (ms)"
    chart.y_axis.title = "validation accuracy"
    chart.x_axis.number_format = "General"  # steps may be 2.5
    chart.y_axis.number_format = "0.0%"
    for axis, bounds in ((chart.x_axis, data.x), (chart.y_axis, data.y)):
        axis.scaling.min = bounds.low
        axis.scaling.max = bounds.high
        axis.majorUnit = bounds.step
        axis.delete = False  # recent Excel hides axes openpyxl leaves undecided
    chart.legend.position = "b"
    groups: list[tuple[str, Sequence[Point], str]] = [
        ("feasible", data.feasible, "points:2E75B6"),
        ("infeasible", data.infeasible, "points:A5A5A5"),
        ("Pareto front", data.front, "line:1F4E78"),
        (data.target_label, data.target, "dash:C00000"),
        (data.best_label, [data.best] if data.best else [], "best:00B050"),
    ]
    for name, points, style in groups:
        if not points:
            continue
        first = row
        for x, y in points:
            sheet.cell(row, 1, name)
            sheet.cell(row, 2, x).number_format = "0.00"
            sheet.cell(row, 3, y).number_format = "0.00%"
            row += 1
        xs = Reference(sheet, min_col=2, min_row=first, max_row=row - 1)
        ys = Reference(sheet, min_col=3, min_row=first, max_row=row - 1)
        series = Series(ys, xs, title=name)
        _style(series, style)
        chart.series.append(series)
    return chart, row + 1


def _style(series: Series, style: str) -> None:
    kind, color = style.split(":")
    series.graphicalProperties = GraphicalProperties()
    line = series.graphicalProperties.line
    if kind in ("points", "best"):
        line.noFill = True
        series.smooth = False
        symbol, size = ("diamond", 14) if kind == "best" else ("circle", 6)
        series.marker = Marker(symbol=symbol, size=size)
        props = GraphicalProperties(solidFill=color)
        props.line.solidFill = "000000" if kind == "best" else color
        series.marker.graphicalProperties = props
        return
    series.marker = Marker(symbol="none")
    series.smooth = False
    line.solidFill = color
    line.width = 28575 if kind == "dash" else 19050  # EMU: 2.25 pt, 1.5 pt
    if kind == "dash":
        line.prstDash = "dash"
