"""The commander's journey in a real browser: activate an outage playbook, see the audience, draft,
check and publish the first update, watch it reach the (fake) providers, move the incident to
identified and resolved; the approval flow with two commanders; the incident page on a phone."""

import re

import pytest
from playwright.sync_api import expect

from playbooks.incidents.services import incident_create, incident_transition
from playbooks.models import Incident, IncidentUpdate
from tests.console.factories import make_contacts, make_outage_playbook

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def contacts(organization):
    return make_contacts(organization)


def test_commander_activates_publishes_and_resolves(
    open_browser, alice, organization, contacts, provider_settings, fake_providers, run_worker
):
    playbook = make_outage_playbook(organization)
    page = open_browser(alice)

    page.get_by_role("link", name="Activate a playbook", exact=True).click()
    page.get_by_label("Playbook").select_option(value=str(playbook.pk))
    page.get_by_label("Title").fill("Payments API errors")
    page.get_by_label("Affected tags").fill("payments")
    page.get_by_role("button", name="Create the draft and preview the audience").click()

    # The audience preview, before anything is sent.
    preview = page.locator("#audience")
    expect(preview).to_contain_text("2 clients, 4 contacts: 2 by email, 1 by SMS, 2 unreachable.")
    expect(preview).to_contain_text("segment per second")
    preview.get_by_text("2 contacts cannot be reached").click()
    expect(preview).to_contain_text("Olaf Opted (Berliner Bank): SMS consent: opted out")
    incident = Incident.objects.get()
    assert incident.state == "draft"

    page.get_by_role("button", name="Activate: start investigating").click()
    expect(page.locator("#live-head")).to_contain_text("We are investigating")
    expect(page.locator("#live-head")).to_contain_text("No update published yet")

    # Draft the first update: the playbook's words, the check and the preview.
    page.get_by_role("button", name="Draft an update").click()
    expect(page.get_by_role("heading", name="Plain-language check")).to_be_visible()
    expect(page.locator("#check-en")).to_contain_text("Flesch-Kincaid grade")
    expect(page.locator("#preview-en")).to_contain_text("Hello John Miller.")
    expect(page.locator("#preflight")).to_contain_text("every language and channel reads well")
    page.get_by_label("SMS text (English)").fill(
        "{{ organization_name }}: payments are failing. No action needed. Next update {{ next_update_at }}. "
        "{{ status_url }}"
    )
    page.get_by_role("button", name="Save and check").click()
    expect(page.locator(".messages")).to_contain_text("Saved.")
    expect(page.locator("#preview-en")).to_contain_text("Northwind: payments are failing. No action needed.")
    # Anna reads the German SMS: without her status link the preflight says so, in red, and
    # publishing waits until it is back.
    german_sms = page.get_by_label("SMS text (German)")
    with_link = german_sms.input_value()
    german_sms.fill(with_link.replace("{{ status_url }}", ""))
    page.get_by_role("button", name="Save and check").click()
    finding = page.locator("#preflight .finding.blocking")
    expect(finding).to_have_text(
        "Blocks publishing: de SMS: carries no status link: add {{ status_url }} (every message must carry it)."
    )
    assert finding.evaluate("element => getComputedStyle(element).color") == "rgb(176, 0, 32)"  # red: var(--bad)
    expect(page.get_by_role("button", name="Publish now")).to_be_disabled()
    page.get_by_label("SMS text (German)").fill(with_link)
    page.get_by_role("button", name="Save and check").click()
    expect(page.locator("#preflight")).to_contain_text("every language and channel reads well")

    page.get_by_role("button", name="Publish now").click()
    expect(page.locator(".messages")).to_contain_text("Published to 2 contacts by email and 1 by SMS.")
    row = page.locator("tr[data-update]")
    expect(row.locator('[data-count="queued"]')).to_have_text("3")
    expect(page.locator("#live-head")).to_contain_text("Next update promised for")

    # The worker delivers through the real SDKs to the fake providers (the page is closed meanwhile:
    # the live server and this thread share one in-memory SQLite connection).
    incident_url = page.url
    page.goto("about:blank")
    run_worker()
    assert [message["To"] for message in fake_providers.twilio_messages()] == ["+4915112345678"]
    assert fake_providers.twilio_messages()[0]["Body"].startswith("Northwind: Wir untersuchen das Problem.")
    mailed = {p["to"][0]["email"] for mail in fake_providers.sendgrid_mails() for p in mail["personalizations"]}
    assert mailed == {"anna.schmidt@example.com", "john.miller@example.com"}
    page.goto(incident_url)
    expect(page.locator('tr[data-update] [data-count="sent"]')).to_have_text("3")

    # Identified, then resolved with a resolution summary.
    page.get_by_role("button", name="Cause identified").click()
    expect(page.locator("#live-head")).to_contain_text("We have found the cause")
    page.get_by_role("button", name="Resolve").click()
    expect(page.locator("#id_resolve-resolution_summary_error")).to_have_text("This field is required.")
    page.get_by_label("Resolution summary").fill("We rolled back the faulty release.")
    page.get_by_role("button", name="Resolve").click()
    expect(page.locator("#live-head")).to_contain_text("Resolved")
    expect(page.locator("#live-head")).to_contain_text("We rolled back the faulty release.")
    incident.refresh_from_db()
    assert incident.state == "resolved"


def test_a_second_commander_approves_and_the_author_cannot(open_browser, alice, frank, organization, contacts):
    playbook = make_outage_playbook(organization, needs_approval=True)
    incident = incident_transition(
        incident=incident_create(playbook=playbook, actor=alice, title="Checkout down", affected_tags=["payments"]),
        name="activate",
        actor=alice,
    )
    author = open_browser(alice)
    author.goto(f"/incidents/{incident.pk}/")
    author.get_by_role("button", name="Draft an update").click()
    update = IncidentUpdate.objects.get()
    expect(author.locator("#own-update")).to_contain_text("You wrote this update, so you cannot approve it")
    expect(author.get_by_role("button", name="Approve every language as it stands")).to_have_count(0)
    expect(author.get_by_role("button", name="Publish now")).to_be_disabled()
    expect(author.locator(".blockers")).to_contain_text("needs a second commander's approval")

    approver = open_browser(frank)
    approver.goto(f"/updates/{update.pk}/")
    approver.get_by_label("Approval note").fill("Facts checked with SRE.")
    approver.get_by_role("button", name="Approve every language as it stands").click()
    expect(approver.locator(".messages")).to_contain_text("Approved.")

    author.reload()
    expect(author.get_by_text("Approved by frank.")).to_be_visible()
    author.get_by_role("button", name="Publish now").click()
    expect(author.locator(".messages")).to_contain_text("Published to 2 contacts by email and 1 by SMS.")

    # The author's incident page follows the other commander's step without reloading.
    author.evaluate("window.stillTheSamePage = true")
    approver.goto(f"/incidents/{incident.pk}/")
    approver.get_by_role("button", name="Cause identified").click()
    expect(author.locator("#live-head")).to_contain_text("We have found the cause", timeout=15_000)
    expect(author.locator(".timeline")).to_contain_text("We are investigating → We have found the cause")
    assert author.evaluate("window.stillTheSamePage") is True


def test_the_incident_page_fits_a_phone(open_browser, alice, organization, contacts):
    playbook = make_outage_playbook(organization)
    incident = incident_transition(
        incident=incident_create(
            playbook=playbook, actor=alice, title="Payments API errors", affected_tags=["payments"]
        ),
        name="activate",
        actor=alice,
    )
    page = open_browser(alice, viewport={"width": 390, "height": 844})
    page.goto(f"/incidents/{incident.pk}/")
    expect(page.get_by_role("button", name="Cause identified")).to_be_in_viewport()
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, f"the page scrolls sideways by {overflow}px"
    box = page.get_by_role("button", name="Draft an update").bounding_box()
    assert box["height"] >= 44  # a thumb-sized target
    page.keyboard.press("Tab")
    assert re.search("Skip to", page.evaluate("document.activeElement.textContent"))


def test_the_api_docs_render_from_our_own_static_files(open_browser, alice, live_server):
    page = open_browser(alice)
    outside = []
    page.on(
        "request",
        lambda request: outside.append(request.url) if not request.url.startswith((live_server.url, "data:")) else None,
    )
    page.goto("/api/docs/")
    expect(page.get_by_text("/api/incidents/{id}/transitions/").first).to_be_visible()
    assert outside == []
