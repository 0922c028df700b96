"""Server-side SVG bar charts for the leadership pages: no JavaScript, no chart library, no CDN.

A chart is an `<svg role="img">` with a `<title>` and a `<desc>` that lists every value (what a
screen reader reads), real text labels and values, and a viewBox so it scales with its container.
The pages show the same figures in a table next to it.
"""

from dataclasses import dataclass

from django.utils.html import escape
from django.utils.safestring import mark_safe

# A viewBox about as wide as a phone's column, so the 13px text stays readable when scaled down.
WIDTH = 420
LABEL_WIDTH = 120
VALUE_WIDTH = 76
ROW_HEIGHT = 30
BAR_HEIGHT = 18
TOP = 6
AXIS_HEIGHT = 22
LABEL_CHARS = 17


@dataclass(frozen=True)
class Bar:
    label: str
    value: float | None  # None: no data (no bar, "no data" shown)
    text: str = ""  # the value as shown; defaults to the value with one decimal


def _shorten(text, limit=LABEL_CHARS):
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _number(value):
    return f"{value:g}" if float(value).is_integer() else f"{value:.1f}"


def bar_chart(*, chart_id, title, description, bars, unit="", minimum=None, maximum=None):
    """A horizontal bar chart as safe SVG markup. Negative values (an NPS) extend left of a zero
    line; `minimum`/`maximum` fix the scale (e.g. 1-5 for a satisfaction score)."""
    bars = list(bars)
    values = [bar.value for bar in bars if bar.value is not None]
    low = min([0, *values]) if minimum is None else min(minimum, 0)
    high = max([0, *values]) if maximum is None else maximum
    if high <= low:
        high = low + 1
    plot_width = WIDTH - LABEL_WIDTH - VALUE_WIDTH - 8

    def x(value):
        return LABEL_WIDTH + (value - low) / (high - low) * plot_width

    zero = x(0)
    height = TOP + ROW_HEIGHT * max(len(bars), 1) + AXIS_HEIGHT
    texts = [bar.text or (_number(bar.value) + unit if bar.value is not None else "no data") for bar in bars]
    summary = "; ".join(f"{bar.label}: {text}" for bar, text in zip(bars, texts, strict=False)) or "no data"
    title_id, desc_id = f"{chart_id}-title", f"{chart_id}-desc"
    parts = [
        (
            f'<svg class="chart" id="{escape(chart_id)}" role="img" aria-labelledby="{title_id} {desc_id}" '
            f'viewBox="0 0 {WIDTH} {height}" width="100%" preserveAspectRatio="xMinYMin meet" '
            f'xmlns="http://www.w3.org/2000/svg">'
        ),
        f'<title id="{title_id}">{escape(title)}</title>',
        f'<desc id="{desc_id}">{escape(description)} {escape(summary)}.</desc>',
    ]
    for row, (bar, text) in enumerate(zip(bars, texts, strict=False)):
        y = TOP + row * ROW_HEIGHT
        middle = y + ROW_HEIGHT / 2
        parts.append('<g class="bar-row">')
        parts.append(
            f'<text class="chart-label" x="{LABEL_WIDTH - 8}" y="{middle:.1f}" text-anchor="end" '
            f'dominant-baseline="middle">{escape(_shorten(bar.label))}</text>'
        )
        if bar.value is not None:
            end = x(bar.value)
            left, width = min(end, zero), abs(end - zero)
            css = "chart-bar negative" if bar.value < 0 else "chart-bar"
            parts.append(
                f'<rect class="{css}" x="{left:.1f}" y="{middle - BAR_HEIGHT / 2:.1f}" '
                f'width="{max(width, 1.5):.1f}" height="{BAR_HEIGHT}" rx="2"></rect>'
            )
        parts.append(
            f'<text class="chart-value{" chart-none" if bar.value is None else ""}" x="{WIDTH - VALUE_WIDTH}" '
            f'y="{middle:.1f}" dominant-baseline="middle">{escape(text)}</text>'
        )
        parts.append("</g>")
    axis_y = TOP + ROW_HEIGHT * max(len(bars), 1)
    parts.append(f'<line class="chart-axis" x1="{zero:.1f}" y1="{TOP}" x2="{zero:.1f}" y2="{axis_y}"></line>')
    parts.append(
        f'<text class="chart-scale" x="{LABEL_WIDTH}" y="{axis_y + 15}">{escape(_number(low) + unit)}</text>'
        f'<text class="chart-scale" x="{LABEL_WIDTH + plot_width}" y="{axis_y + 15}" text-anchor="end">'
        f"{escape(_number(high) + unit)}</text>"
    )
    parts.append("</svg>")
    return mark_safe("".join(parts))
