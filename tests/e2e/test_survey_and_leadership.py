"""After the crisis, in Debian's Chromium: a client answers the survey on a phone from the link in
their SMS (and cannot answer twice), and a leadership user reads the review with its charts."""

import pytest

from playbooks.incidents.links import survey_token
from playbooks.models import SurveyResponse
from tests.debriefs.conftest import (  # noqa: F401 (fixtures)
    clients,
    contacts,
    playbook,
    resolved_incident,
    reviewed_incident,
    surveyed_incident,
)

PHONE = {"width": 390, "height": 844}
SCREENSHOTS = "/tmp/candor-debrief-{}.png"

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def allow_orm_beside_playwright(monkeypatch):
    """Playwright's sync API runs an event loop in this thread; the setup's ORM calls are fine.
    Set per test (not at import) so no other test, nor a subprocess it starts, inherits it."""
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture
def phone(chromium, live_server, watch_csp):
    context = watch_csp(
        chromium.new_context(
            base_url=live_server.url,
            viewport=PHONE,
            device_scale_factor=2,
            is_mobile=True,
            has_touch=True,
            locale="de-DE",
            timezone_id="Europe/Berlin",
        )
    )
    context.set_default_timeout(10_000)
    yield context.new_page()
    context.close()


def test_a_client_answers_the_survey_on_a_phone_once(surveyed_incident, contacts, phone):
    path = f"/survey/{survey_token(surveyed_incident.pk, contacts['anna'].pk)}/"
    phone.goto(path)

    assert phone.locator("html").get_attribute("lang") == "de"
    assert phone.get_by_role("heading", level=1).inner_text() == "Wie zufrieden waren Sie mit uns?"
    assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]  # nothing wider than the phone
    satisfaction = phone.get_by_role("group", name="Wie zufrieden sind Sie insgesamt damit")
    option = satisfaction.locator("label.survey-option").nth(3)
    box = option.bounding_box()
    assert box["height"] >= 44 and box["width"] >= 44  # thumb-sized
    option.click()
    phone.get_by_role("group", name="Wir haben Sie auf dem Laufenden gehalten").get_by_text("5", exact=True).click()
    phone.get_by_role("group", name="Wie wahrscheinlich ist es").get_by_text("9", exact=True).click()
    phone.get_by_label("Möchten Sie uns noch etwas sagen?").fill("Schnell und klar informiert.")
    assert satisfaction.get_by_role("radio", name="4").is_checked()
    phone.screenshot(path=SCREENSHOTS.format("survey-phone"), full_page=True)

    phone.get_by_role("button", name="Antworten senden").click()
    phone.wait_for_url("**?sent=1")
    assert phone.get_by_role("heading", level=1).inner_text() == "Vielen Dank"
    phone.screenshot(path=SCREENSHOTS.format("survey-thanks"), full_page=True)

    response = SurveyResponse.objects.get()
    assert (response.csat, response.kept_informed, response.clarity, response.nps) == (4, 5, None, 9)
    assert response.comment == "Schnell und klar informiert."

    phone.goto(path)
    assert phone.get_by_role("heading", level=1).inner_text() == "Sie haben bereits geantwortet"
    assert "Jeder Link kann einmal verwendet werden." in phone.locator("main").inner_text()
    assert phone.locator("form").count() == 0


def test_leadership_reads_the_review_with_its_figures_and_charts(reviewed_incident, carol, open_browser):
    page = open_browser(carol)
    page.goto("/leadership/")
    assert page.get_by_role("heading", level=1).inner_text() == "Leadership review"
    headline = page.locator("dl.headline")
    assert "30 min" in headline.inner_text() and "75%" in headline.inner_text()
    charts = page.locator("svg.chart")
    assert charts.count() == 4
    csat_chart = page.get_by_role("img", name="Average satisfaction score (1-5), by month")
    assert csat_chart.is_visible() and csat_chart.bounding_box()["width"] > 200
    assert "2026-11" in csat_chart.text_content() and "3.0" in csat_chart.text_content()
    page.screenshot(path=SCREENSHOTS.format("leadership"), full_page=True)

    page.get_by_role("region", name="Incidents").get_by_role(
        "link", name=f"#{reviewed_incident.incident.pk} Payments API errors"
    ).click()
    assert page.get_by_role("heading", level=1).inner_text() == "Review: Payments API errors"
    did = page.get_by_role("region", name="What we did")
    felt = page.get_by_role("region", name="How it was felt")
    assert "30 min" in did.inner_text() and "+100" in felt.inner_text()
    assert page.get_by_role("img", name="Contacts reached per client").is_visible()
    assert page.get_by_role("button", name="Close follow-up").count() == 0  # the follow-up is alice's
    page.screenshot(path=SCREENSHOTS.format("review"), full_page=True)
