"""A commander whose console language is German runs an incident in a real browser: opens it from a
playbook, activates it, drafts and publishes the first update and sees it on the timeline.

Buttons are found by their form's address, not their words, so the test reads the same whichever
areas are translated. German is asserted for the console's frame and settings page (the menu, the
role, the settings page); the lead adds each area's German words where marked below as they merge.
With CANDOR_SCREENSHOTS=1 it redraws docs/screenshots/console-de-*.png.
"""

import os
import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from playbooks.models import Incident, IncidentUpdate
from tests.console.factories import make_contacts, make_outage_playbook

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
]

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


def screenshot(page, name):
    if os.environ.get("CANDOR_SCREENSHOTS") == "1":
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / f"console-de-{name}.png"), full_page=False)


def test_german_commander_runs_an_incident_in_german(open_browser, alice, organization):
    alice.language = "de"
    alice.save()
    make_contacts(organization)
    playbook = make_outage_playbook(organization)
    playbook.name = "Störung"  # the organisation's own words, as a German team names its playbooks
    playbook.save()
    page = open_browser(alice, viewport={"width": 1280, "height": 900})  # the browser itself asks for English

    assert page.locator("html").get_attribute("lang") == "de"
    menu = page.get_by_role("navigation", name="Hauptmenü")
    expect(menu).to_contain_text("Vorfälle")
    expect(menu).to_contain_text("Nachverfolgungen")
    expect(page.locator(".who")).to_contain_text("Incident Commander")
    expect(page.get_by_role("button", name="Abmelden")).to_be_visible()
    # The lead adds: the incident list's headings and empty state in German.
    screenshot(page, "incidents")

    menu.get_by_role("link", name="Neuer Vorfall").click()
    page.locator("#id_playbook").select_option(value=str(playbook.pk))
    page.locator("#id_title").fill("Zahlungen schlagen fehl")
    page.locator("#id_affected_tags").fill("payments")
    page.locator("main form button[type=submit]").click()
    # The lead adds: the new-incident form's labels and the audience preview in German.
    incident = Incident.objects.get()
    page.wait_for_url(f"**/incidents/{incident.pk}/")

    page.locator(f'form[action="/incidents/{incident.pk}/transitions/activate/"] button[type=submit]').click()
    expect(page.locator("#live-head")).to_contain_text("Zahlungen schlagen fehl")
    incident.refresh_from_db()
    assert incident.state == "investigating"
    # The lead adds: the state ("Wir untersuchen …") and the next steps in German.

    page.locator(f'form[action="/incidents/{incident.pk}/updates/new/"] button:not([name])').click()
    update = IncidentUpdate.objects.get()
    page.wait_for_url(f"**/updates/{update.pk}/")
    # The lead adds: the plain-language check, the preview and the preflight in German.
    screenshot(page, "update")
    page.locator(f'form[action="/updates/{update.pk}/publish/"] button[type=submit]').click()
    expect(page.locator(".messages")).to_be_visible()
    update.refresh_from_db()
    assert update.published_at is not None
    # The lead adds: the "Published to …" notice in German.

    page.goto(f"/incidents/{incident.pk}/")
    expect(page.locator(".timeline")).to_contain_text(f"#{update.pk}")
    expect(page.get_by_role("navigation", name="Hauptmenü")).to_contain_text("Vorfälle")
    expect(page.get_by_role("heading", name="Nächste Schritte")).to_be_visible()
    expect(page.get_by_role("heading", name="Verlauf")).to_be_visible()
    # The countdown, kept running by the console's script, counts in German too.
    expect(page.locator(".next-update time[data-countdown]")).to_have_text(re.compile(r"^in \d+ Min\.$"))
    expect(page.locator("main")).to_contain_text("Die Texte des Playbooks für die Phase „Wir untersuchen“")
    # The timeline's notes stay as they were stored, in English (lang="en").
    screenshot(page, "incident")

    page.get_by_role("link", name="Ihre Einstellungen").click()
    expect(page.get_by_role("heading", name="Ihre Einstellungen")).to_be_visible()
    expect(page.get_by_label("Sprache")).to_have_value("de")
    page.get_by_label("Zeitzone").select_option("Europe/Lisbon")
    page.get_by_role("button", name="Einstellungen speichern").click()
    expect(page.locator(".messages")).to_contain_text("Ihre Einstellungen sind gespeichert.")
    alice.refresh_from_db()
    assert alice.timezone == "Europe/Lisbon"
    screenshot(page, "settings")
