"""A client on a phone opens the private status link from their SMS, reads where things stand and
confirms the quarantine, in Debian's Chromium (never a browser downloaded by Playwright)."""

import datetime as dt
import os

import pytest

from playbooks.models import ClientAcknowledgement
from tests.client_side.conftest import (  # noqa: F401 (fixtures)
    anna,
    clients,
    fresh_cache,
    kenji,
    luis,
    recall,
    status_path,
)

CHROMIUM = "/usr/bin/chromium"
PHONE = {"width": 390, "height": 844}
SCREENSHOTS = "/tmp/candor-status-page-phone-{}.png"

pytestmark = [pytest.mark.browser]


@pytest.fixture
def phone(watch_csp):
    # Playwright's sync API runs an event loop in this thread; the live server's ORM calls are fine.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        context = watch_csp(
            browser.new_context(
                viewport=PHONE,
                device_scale_factor=2,
                is_mobile=True,
                has_touch=True,
                locale="de-DE",
                timezone_id="Europe/Berlin",
            )
        )
        yield context.new_page()
        context.close()
        browser.close()


@pytest.mark.django_db(transaction=True)
def test_a_client_on_a_phone_reads_the_status_and_confirms(live_server, recall, anna, phone):
    phone.goto(live_server.url + status_path(recall, anna))

    assert phone.locator("html").get_attribute("lang") == "de"
    assert phone.get_by_role("heading", level=1).inner_text() == "Recall of lot 4711"
    assert phone.locator(".pub-stage-words").inner_text() == "Rückruf angekündigt"
    assert "Bitte sperren Sie Charge 4711." in phone.locator(".pub-update .pub-body").inner_text()
    # The promise as an absolute time, and the live countdown the script adds to it.
    assert phone.locator(".pub-next time").inner_text().endswith("Uhr CET")
    assert phone.locator(".pub-countdown").inner_text().startswith("(")
    # Nothing is wider than the phone.
    assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    button = phone.get_by_role("button", name="Bestätigen")
    box = button.bounding_box()
    assert box["height"] >= 44 and box["width"] >= 300  # a thumb-sized target

    phone.screenshot(path=SCREENSHOTS.format("before"), full_page=True)

    button.click()
    phone.wait_for_url("**/#acknowledgement")
    assert "Bestätigt von Anna Schmidt" in phone.locator(".pub-ack-confirmed").inner_text()
    assert ClientAcknowledgement.objects.get(client=anna.client).confirmed_via == "page"
    phone.locator("#acknowledgement").scroll_into_view_if_needed()
    phone.screenshot(path=SCREENSHOTS.format("confirmed"), full_page=True)


@pytest.mark.django_db(transaction=True)
def test_a_client_on_a_phone_reads_the_final_notice_without_a_greeting(live_server, recall, anna, alice, phone):
    import time_machine

    from playbooks.incidents.services import incident_transition
    from tests.client_side.conftest import T0, publish

    with time_machine.travel(T0 + dt.timedelta(hours=2), tick=False):
        for name in ["offer_remedy", "start_remedy"]:
            incident_transition(incident=recall, name=name, actor=alice)
        incident_transition(incident=recall, name="complete", actor=alice, resolution_summary="All lots returned.")
        publish(recall, alice)  # the final notice: the playbook's words for the completed stage
    phone.goto(live_server.url + status_path(recall, anna))

    assert phone.locator(".pub-stage-words").inner_text() == "Rückruf abgeschlossen"
    assert phone.locator(".pub-next").inner_text() == "Weitere Meldungen sind nicht geplant."
    current = phone.locator(".pub-update-current")
    assert current.locator(".pub-meta").inner_text().endswith("Rückruf abgeschlossen")
    assert "Rückruf abgeschlossen. Bitte sperren Sie Charge 4711." in current.locator(".pub-body").inner_text()
    page = phone.locator("main").inner_text() if phone.locator("main").count() else phone.inner_text("body")
    assert "Guten Tag" not in page and "Anna Schmidt" not in page  # the page greets no one
    assert phone.locator(f'a[href$="{status_path(recall, anna)}"]').count() == 0  # no link to itself
    assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    phone.screenshot(path=SCREENSHOTS.format("final-notice"), full_page=True)
