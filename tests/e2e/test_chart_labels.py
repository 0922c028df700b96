"""The leadership charts in Debian's Chromium: every label and value is drawn whole inside the
chart, in the longest words the console's languages give a playbook kind, on a phone and a desktop."""

from pathlib import Path

import pytest

from playbooks.leadership.charts import Bar, bar_chart

pytestmark = pytest.mark.browser

CSS = (Path(__file__).resolve().parents[2] / "playbooks/static/candor/leadership.css").read_text()
LONG_KINDS = [
    "Compliance / regulatory incident",
    "Compliance-/Regulierungsvorfall mit Meldepflicht",
    "Incidente de cumplimiento normativo / regulatorio",
    "Incidente de conformidade / regulatório",
    "コンプライアンス／規制上のインシデント",
    "Service outage",
]


def _charts():
    return [
        bar_chart(
            chart_id="kinds",
            title="NPS by kind",
            description="From -100 to 100.",
            bars=[Bar(label, value) for label, value in zip(LONG_KINDS, [40, -35, 0, None, 100, -100], strict=True)],
            minimum=-100,
            maximum=100,
        ),
        bar_chart(
            chart_id="months",
            title="CSAT by month",
            description="1-5.",
            bars=[Bar("2026-10", 4.5), Bar("2026-11", None, "keine Daten"), Bar("2026-12", 2)],
            minimum=0,
            maximum=5,
        ),
        bar_chart(
            chart_id="countries",
            title="Reach by country",
            description="0-100%.",
            bars=[Bar("DE", 50), Bar("JP", 100), Bar("WW", 0)],
            unit="%",
            minimum=0,
            maximum=100,
        ),
    ]


@pytest.mark.parametrize("width", [360, 1280])
def test_chart_labels_fit_inside_the_chart_in_every_language(chromium, width):
    context = chromium.new_context(viewport={"width": width, "height": 900})
    page = context.new_page()
    page.set_content(
        f"<!doctype html><html><head><style>{CSS}</style></head><body>"
        + "".join(f'<figure class="chart-figure">{svg}</figure>' for svg in _charts())
        + "</body></html>"
    )
    outside = page.evaluate(
        """() => [...document.querySelectorAll("svg.chart")].flatMap(svg => {
            const view = svg.viewBox.baseVal;
            return [...svg.querySelectorAll("text")].map(text => [text.textContent, text.getBBox()])
                .filter(([, box]) => box.x < -0.5 || box.x + box.width > view.width + 0.5
                        || box.y < -0.5 || box.y + box.height > view.height + 0.5)
                .map(([content]) => svg.id + ": " + content);
        })"""
    )
    labels = page.evaluate(
        """() => [...document.querySelectorAll("#kinds .chart-label")].map(label => {
            const lines = [...label.querySelectorAll("tspan")].map(line => line.textContent);
            return lines.length ? lines.join(" ") : label.textContent;
        })"""
    )
    page.screenshot(path=f"/tmp/candor-chart-labels-{width}.png", full_page=True)
    context.close()
    assert outside == []
    assert labels == LONG_KINDS  # whole, never cut with "…"
