"""The commander in a real browser sees what clients did: who confirmed the stage's request, when
and how, and who has not; and widens who is affected while the incident runs, seeing who is added
before saving."""

import pytest
from playwright.sync_api import expect

from accounts.models import ClientAccount
from comms.models import Message
from playbooks.acknowledgements.services import acknowledgement_confirm
from playbooks.incidents.services import incident_create, incident_transition
from playbooks.models import PlaybookStage, StageAcknowledgement
from playbooks.updates.services import update_draft, update_publish
from tests.conftest import make_contact
from tests.console.factories import make_contacts, make_outage_playbook

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def incident(organization, alice):
    contacts = make_contacts(organization)
    playbook = make_outage_playbook(organization)
    StageAcknowledgement.objects.create(
        stage=PlaybookStage.objects.get(playbook=playbook, stage="investigating"),
        texts={"en": {"request": "Confirm you have paused card payments.", "keyword": "PAUSED"}},
    )
    incident = incident_create(playbook=playbook, actor=alice, title="Card payments", affected_tags=["payments"])
    incident = incident_transition(incident=incident, name="activate", actor=alice)
    update_publish(update=update_draft(incident=incident, author=alice), actor=alice)
    acknowledgement_confirm(incident=incident, contact=contacts["anna"], via="page")
    incident.contacts = contacts
    return incident


def test_the_commander_sees_who_confirmed_and_who_has_not(open_browser, alice, incident):
    page = open_browser(alice)
    page.goto(f"/incidents/{incident.pk}/")

    confirmations = page.locator("#acknowledgements")
    expect(confirmations.get_by_role("heading")).to_have_text("Confirmations from clients")
    rows = confirmations.locator("tbody tr")
    expect(rows).to_have_count(2)
    # Pending first: the commander's next call.
    expect(rows.nth(0)).to_contain_text("Boston Retail")
    expect(rows.nth(0)).to_contain_text("not yet")
    expect(rows.nth(1)).to_contain_text("Berliner Bank")
    expect(rows.nth(1)).to_contain_text("Anna Schmidt")
    expect(rows.nth(1)).to_contain_text("on the status page")
    expect(rows.nth(1)).to_contain_text("Confirm you have paused card payments.")


def test_the_commander_previews_and_widens_the_scope(open_browser, alice, organization, incident):
    uma = make_contact(ClientAccount.objects.get(organization=organization, name="Unaffected Ltd"), "Uma Unaffected")
    page = open_browser(alice)
    page.goto(f"/incidents/{incident.pk}/")

    page.get_by_role("link", name="Change who is affected").click()
    page.get_by_label("Affected tags").fill("payments, dashboard")
    page.get_by_role("button", name="Preview who is added or removed").click()
    expect(page.locator("#scope-diff")).to_contain_text("1 contact added, 0 removed.")
    expect(page.locator(".scope-added")).to_contain_text("Uma Unaffected (Unaffected Ltd)")

    page.get_by_role("button", name="Save the new scope").click()
    expect(page.locator(".messages")).to_contain_text("Scope changed: 1 contacts added, 0 removed")
    expect(page.locator("#live-main .timeline")).to_contain_text("alice changed the scope")
    assert Message.objects.filter(contact=uma, source__startswith="update:").count() == 1
