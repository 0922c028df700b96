"""A comms person writes a stage's German words in the playbook editor and sees the reader's preview."""

import os
import re
from pathlib import Path

import pytest

from tests.console.factories import make_contacts, make_outage_playbook

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


def test_writing_a_german_stage_message_updates_the_preview_and_refuses_a_broken_variable(
    open_browser, organization, alice
):
    make_contacts(organization)
    playbook = make_outage_playbook(organization)
    page = open_browser(alice, viewport={"width": 1400, "height": 1000})

    page.goto(f"/playbooks/{playbook.pk}/stages/investigating/")
    sms = page.locator("#update-de-sms-body")
    sms.fill("Störung bei {{ organization_name }}: wir arbeiten daran. Nächstes Update {{ next_update_at }}.")
    preview = page.locator("#preview-de")
    preview.get_by_text("Störung bei Northwind").wait_for()
    assert "1 segment" in preview.locator("[data-sms-size]").inner_text()

    sms.fill("Störung bei {{ organization_name }}. " * 8)
    preview.locator("[data-sms-size]", has_text=re.compile(r"[2-4] segments")).wait_for()
    if os.environ.get("CANDOR_SCREENSHOTS") == "1":  # redraws docs/screenshots/editor.png
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.locator("#language-de").screenshot(path=str(SCREENSHOTS / "editor.png"))

    page.locator("#update-de-email-body").fill("Wir prüfen das. {{ incident_titel }}")
    page.get_by_role("button", name="Save the stage").click()
    page.get_by_role("alert").first.wait_for()
    assert "incident_titel" in page.content()
