"""An organisation's public status page and its Atom feed: only the incidents it chose to show,
in its own language and timezone, revalidated with ETags."""

import datetime as dt
import xml.etree.ElementTree as ET

import pytest
import time_machine

from playbooks.incidents.services import incident_create, incident_transition
from playbooks.models import Incident
from tests.client_side.conftest import T0, make_recall_playbook, publish
from tests.conftest import make_client, make_contact

ATOM = "{http://www.w3.org/2005/Atom}"


@pytest.fixture
def public_recall(recall):
    Incident.objects.filter(pk=recall.pk).update(is_public=True)
    return recall


@pytest.fixture
def past_incident(organization, alice, public_recall):
    """An earlier public recall, completed and closed, in the history."""
    with time_machine.travel(T0 - dt.timedelta(days=10), tick=False):
        incident = incident_create(
            playbook=public_recall.playbook, actor=alice, title="Recall of lot 1200", affected_tags=["lot-4711"]
        )
        for name in ["activate", "announce"]:
            incident = incident_transition(incident=incident, name=name, actor=alice)
        publish(
            incident,
            alice,
            texts={
                "en": {
                    "email_subject": "Lot 1200",
                    "email_body": "Lot 1200 is recalled. {{ status_url }}",
                    "sms_body": "",
                }
            },
        )
        for name in ["offer_remedy", "start_remedy"]:
            incident = incident_transition(incident=incident, name=name, actor=alice)
        incident = incident_transition(incident=incident, name="complete", actor=alice, resolution_summary="Done.")
    Incident.objects.filter(pk=incident.pk).update(is_public=True)
    return incident


@time_machine.travel(T0 + dt.timedelta(minutes=5), tick=False)
def test_the_public_page_shows_opted_in_incidents_in_the_organisations_language_without_personal_details(
    client, public_recall, past_incident, organization, other_organization, alice, eve
):
    private = incident_create(
        playbook=public_recall.playbook, actor=alice, title="Quiet internal recall", affected_tags=["lot-4711"]
    )
    incident_transition(incident=private, name="activate", actor=alice)
    foreign_playbook = make_recall_playbook(other_organization)
    make_contact(make_client(other_organization, name="Globex Client", tags=["x"]), "Gus")
    foreign = incident_create(playbook=foreign_playbook, actor=eve, title="Globex recall", affected_tags=["x"])
    incident_transition(incident=foreign, name="activate", actor=eve)
    Incident.objects.filter(pk=foreign.pk).update(is_public=True)

    response = client.get("/status/northwind/")
    assert response.status_code == 200
    page = response.content.decode()
    assert '<html lang="en">' in page
    assert "<h1>Northwind status</h1>" in page
    current, history = page.split('id="history-heading"')
    assert "Recall of lot 4711" in current and "Recall announced" in current
    # Rendered for the public: the update's words, no greeting or private link, times in Berlin time.
    assert "Recall announced. Please quarantine lot 4711." in current and "Dear" not in current
    assert "10:00 CET, 24 Nov" in current
    assert "/s/" not in page and "Anna" not in page
    assert "Recall of lot 1200" in history and "Lot 1200 is recalled." in history
    assert "Quiet internal recall" not in page and "Globex" not in page
    assert response["Cache-Control"] == "public, no-cache"
    assert 'type="application/atom+xml"' in page


def test_an_unknown_organisation_has_no_public_page(client, db):
    assert client.get("/status/nobody/").status_code == 404
    assert client.get("/status/nobody/feed.atom").status_code == 404


@time_machine.travel(T0 + dt.timedelta(minutes=5), tick=False)
def test_an_organisation_with_nothing_public_says_all_is_well(client, recall):
    page = client.get("/status/northwind/").content.decode()
    assert "There are no incidents at the moment." in page
    assert "Recall of lot 4711" not in page


@time_machine.travel(T0 + dt.timedelta(minutes=5), tick=False)
def test_the_public_page_is_revalidated_and_changes_with_a_new_update_or_opt_in(client, public_recall, alice):
    first = client.get("/status/northwind/")
    assert client.get("/status/northwind/", headers={"If-None-Match": first["ETag"]}).status_code == 304
    publish(
        public_recall,
        alice,
        texts={"en": {"email_subject": "More", "email_body": "Lot 4712 too. {{ status_url }}", "sms_body": ""}},
    )
    second = client.get("/status/northwind/", headers={"If-None-Match": first["ETag"]})
    assert second.status_code == 200 and "Lot 4712 too." in second.content.decode()
    Incident.objects.filter(pk=public_recall.pk).update(is_public=False)
    third = client.get("/status/northwind/", headers={"If-None-Match": second["ETag"]})
    assert third.status_code == 200 and "Lot 4712 too." not in third.content.decode()


@time_machine.travel(T0 + dt.timedelta(minutes=40), tick=False)
def test_the_atom_feed_is_valid_and_lists_every_public_update(client, public_recall, past_incident, alice):
    publish(
        public_recall,
        alice,
        texts={
            "en": {"email_subject": "Lot 4712 too", "email_body": "Lot 4712 as well. {{ status_url }}", "sms_body": ""}
        },
    )
    response = client.get("/status/northwind/feed.atom")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/atom+xml")
    feed = ET.fromstring(response.content)
    assert feed.tag == f"{ATOM}feed"
    # RFC 4287: a feed has an id, a title, an updated time and an author (or authors on every entry).
    assert feed.findtext(f"{ATOM}id") == "http://localhost:8000/status/northwind/feed.atom"
    assert feed.findtext(f"{ATOM}title") == "Northwind status"
    assert feed.findtext(f"{ATOM}updated") == "2026-11-24T09:40:00+00:00"
    assert feed.find(f"{ATOM}author/{ATOM}name").text == "Northwind"
    assert feed.find(f"{ATOM}link[@rel='alternate']").get("href") == "http://localhost:8000/status/northwind/"
    entries = feed.findall(f"{ATOM}entry")
    assert [entry.findtext(f"{ATOM}title") for entry in entries] == [
        "Recall of lot 4711: Lot 4712 too",
        "Recall of lot 4711: Recall of lot 4711: Recall announced",
        "Recall of lot 1200: Lot 1200",
    ]
    ids = [entry.findtext(f"{ATOM}id") for entry in entries]
    assert len(set(ids)) == 3 and all(
        entry_id.startswith("http://localhost:8000/status/northwind/#update-") for entry_id in ids
    )
    for entry in entries:
        assert entry.findtext(f"{ATOM}updated")
        assert entry.find(f"{ATOM}link").get("href").startswith("http://localhost:8000/status/northwind/#update-")
    assert "Lot 4712 as well." in entries[0].findtext(f"{ATOM}summary")
    assert entries[0].find(f"{ATOM}summary").get("type") == "html"


@time_machine.travel(T0 + dt.timedelta(minutes=5), tick=False)
def test_feed_readers_polling_get_304_until_something_changes(client, public_recall, alice):
    first = client.get("/status/northwind/feed.atom")
    assert client.get("/status/northwind/feed.atom", headers={"If-None-Match": first["ETag"]}).status_code == 304
    publish(
        public_recall,
        alice,
        texts={"en": {"email_subject": "More", "email_body": "More. {{ status_url }}", "sms_body": ""}},
    )
    assert client.get("/status/northwind/feed.atom", headers={"If-None-Match": first["ETag"]}).status_code == 200


@time_machine.travel(T0, tick=False)
def test_an_empty_feed_is_still_valid_atom(client, organization):
    feed = ET.fromstring(client.get("/status/northwind/feed.atom").content)
    assert feed.findtext(f"{ATOM}id") and feed.findtext(f"{ATOM}updated") and feed.findtext(f"{ATOM}title")
    assert feed.findall(f"{ATOM}entry") == []
