"""Server-side SVG bar charts for the leadership pages: no JavaScript, no chart library, no CDN.

A chart is an `<svg role="img">` with a `<title>` and a `<desc>` that lists every value (what a
screen reader reads), real text labels and values, and a viewBox so it scales with its container.
The pages show the same figures in a table next to it.
"""

import unicodedata
from dataclasses import dataclass

from django.utils.html import escape
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _

# A viewBox about as wide as a phone's column, so the 13px text stays readable when scaled down.
WIDTH = 420
FONT_SIZE = 13
GAP = 8
SIDE_LABEL_MAX = 170  # labels wider than this go above their bar instead of beside it
ROW_HEIGHT = 30
BAR_HEIGHT = 18
LINE_HEIGHT = 17
TOP = 6
AXIS_HEIGHT = 22


@dataclass(frozen=True)
class Bar:
    label: str
    value: float | None  # None: no data (no bar, "no data" shown)
    text: str = ""  # the value as shown; defaults to the value with one decimal


def text_width(text, size=FONT_SIZE):
    """A generous estimate of how wide `text` is drawn: the server cannot measure the reader's font,
    so wide (CJK) characters and M, W count a full em, other capitals 0.78 em and every other
    character 0.64 em, more than common sans-serifs (DejaVu Sans is among the widest) need."""
    return sum(_em(char) for char in str(text)) * size


def _em(char):
    if char in "MWmw" or unicodedata.east_asian_width(char) in "WF":
        return 1
    return 0.78 if char.isupper() else 0.64


def wrap(text, width):
    """`text` as lines no wider than `width`: broken between words, and a word that is wider on its
    own (a German compound, a Japanese phrase) between characters."""
    lines, line = [], ""
    for word in str(text).split():
        candidate = f"{line} {word}" if line else word
        if text_width(candidate) <= width:
            line = candidate
            continue
        if line:
            lines.append(line)
        line = ""
        for char in word:
            if line and text_width(line + char) > width:
                lines.append(line)
                line = ""
            line += char
    if line:
        lines.append(line)
    return lines or [""]


def _number(value):
    return f"{value:g}" if float(value).is_integer() else f"{value:.1f}"


def bar_chart(*, chart_id, title, description, bars, unit="", minimum=None, maximum=None):
    """A horizontal bar chart as safe SVG markup. Negative values (an NPS) extend left of a zero
    line; `minimum`/`maximum` fix the scale (e.g. 1-5 for a satisfaction score).

    Labels are never cut: short ones (months, scores) stand beside their bar in a column as wide
    as the widest; when one is too long for that (a playbook kind in German), every label goes on
    its own line(s) above its bar, across the chart's full width."""
    bars = list(bars)
    values = [bar.value for bar in bars if bar.value is not None]
    low = min([0, *values]) if minimum is None else min(minimum, 0)
    high = max([0, *values]) if maximum is None else maximum
    if high <= low:
        high = low + 1
    no_data = _("no data")
    texts = [bar.text or (_number(bar.value) + unit if bar.value is not None else no_data) for bar in bars]
    value_width = max([text_width(text) for text in texts] + [40]) + GAP
    label_width = max([text_width(bar.label) for bar in bars] + [0]) + GAP
    beside = label_width <= SIDE_LABEL_MAX
    plot_left = label_width if beside else 0
    plot_width = WIDTH - plot_left - value_width - GAP
    labels = [[str(bar.label)] if beside else wrap(bar.label, WIDTH) for bar in bars]

    def x(value):
        return plot_left + (value - low) / (high - low) * plot_width

    zero = x(0)
    rows_height = [ROW_HEIGHT if beside else LINE_HEIGHT * len(lines) + ROW_HEIGHT - 4 for lines in labels]
    plot_height = sum(rows_height) or ROW_HEIGHT
    height = TOP + plot_height + AXIS_HEIGHT
    summary = "; ".join(f"{bar.label}: {text}" for bar, text in zip(bars, texts, strict=False)) or no_data
    title_id, desc_id = f"{chart_id}-title", f"{chart_id}-desc"
    parts = [
        (
            f'<svg class="chart" id="{escape(chart_id)}" role="img" aria-labelledby="{title_id} {desc_id}" '
            f'viewBox="0 0 {WIDTH} {height:.0f}" width="100%" preserveAspectRatio="xMinYMin meet" '
            f'xmlns="http://www.w3.org/2000/svg">'
        ),
        f'<title id="{title_id}">{escape(title)}</title>',
        f'<desc id="{desc_id}">{escape(description)} {escape(summary)}.</desc>',
    ]
    y, axis = TOP, []
    for bar, text, lines, row_height in zip(bars, texts, labels, rows_height, strict=False):
        middle = y + row_height / 2 if beside else y + LINE_HEIGHT * len(lines) + (ROW_HEIGHT - 4) / 2
        parts.append('<g class="bar-row">')
        if beside:
            parts.append(
                f'<text class="chart-label" x="{label_width - GAP:.1f}" y="{middle:.1f}" text-anchor="end" '
                f'dominant-baseline="middle">{escape(lines[0])}</text>'
            )
        else:
            spans = "".join(
                f'<tspan x="0" y="{y + LINE_HEIGHT * (number + 1) - 4:.1f}">{escape(line)}</tspan>'
                for number, line in enumerate(lines)
            )
            parts.append(f'<text class="chart-label">{spans}</text>')
        if bar.value is not None:
            end = x(bar.value)
            left, width = min(end, zero), abs(end - zero)
            css = "chart-bar negative" if bar.value < 0 else "chart-bar"
            parts.append(
                f'<rect class="{css}" x="{left:.1f}" y="{middle - BAR_HEIGHT / 2:.1f}" '
                f'width="{max(width, 1.5):.1f}" height="{BAR_HEIGHT}" rx="2"></rect>'
            )
        parts.append(
            f'<text class="chart-value{" chart-none" if bar.value is None else ""}" x="{WIDTH - value_width:.1f}" '
            f'y="{middle:.1f}" dominant-baseline="middle">{escape(text)}</text>'
        )
        parts.append("</g>")
        # The zero line runs beside the bars, never through a label above them.
        if not beside:
            axis.append((middle - BAR_HEIGHT / 2 - 3, y + row_height))
        y += row_height
    axis_y = TOP + plot_height
    for top, bottom in axis or [(TOP, axis_y)]:
        parts.append(
            f'<line class="chart-axis" x1="{zero:.1f}" y1="{top:.1f}" x2="{zero:.1f}" y2="{bottom:.1f}"></line>'
        )
    parts.append(
        f'<text class="chart-scale" x="{plot_left:.1f}" y="{axis_y + 15:.1f}">{escape(_number(low) + unit)}</text>'
        f'<text class="chart-scale" x="{plot_left + plot_width:.1f}" y="{axis_y + 15:.1f}" text-anchor="end">'
        f"{escape(_number(high) + unit)}</text>"
    )
    parts.append("</svg>")
    return mark_safe("".join(parts))
