"""The commander changes who a live incident affects through the API, makes it public, and reads
who confirmed an acknowledgement.

The cast (tests.console.factories): Anna and Olaf at Berliner Bank, John and Bianca at Boston
Retail (both tagged "payments"); Uma at Unaffected Ltd (tagged "dashboard", in GB) joins here.
"""

import pytest

from accounts.models import ClientAccount
from comms.models import Message
from playbooks.acknowledgements.services import acknowledgement_confirm
from playbooks.incidents.services import incident_create, incident_transition
from playbooks.models import PlaybookStage, StageAcknowledgement, TimelineEntry, TimelineKind
from playbooks.updates.services import update_draft, update_publish
from tests.conftest import make_contact


@pytest.fixture
def uma(contacts, organization):
    return make_contact(ClientAccount.objects.get(organization=organization, name="Unaffected Ltd"), "Uma Unaffected")


@pytest.fixture
def published(live_incident, alice):
    return update_publish(update=update_draft(incident=live_incident, author=alice), actor=alice)


def scope_path(incident):
    return f"/api/incidents/{incident.pk}/scope/"


def test_adding_a_tag_names_who_is_added_and_sends_them_the_latest_update(
    api, alice, live_incident, published, contacts, uma
):
    anna_messages = Message.objects.filter(contact=contacts["anna"]).count()

    response = api(alice).post(scope_path(live_incident), {"affected_tags": ["payments", "dashboard"]}, format="json")

    assert response.status_code == 200, response.json()
    body = response.json()
    assert [client["name"] for client in body["clients_added"]] == ["Unaffected Ltd"]
    assert [contact["name"] for contact in body["contacts_added"]] == ["Uma Unaffected"]
    assert body["contacts_removed"] == []
    assert body["messages_queued"] == 1
    assert body["incident"]["affected_tags"] == ["dashboard", "payments"]
    # The same update, under the same source; nobody who had it gets it again.
    assert Message.objects.get(contact=uma).source == f"update:{published.pk}"
    assert Message.objects.filter(contact=contacts["anna"]).count() == anna_messages
    entry = TimelineEntry.objects.get(incident=live_incident, kind=TimelineKind.SCOPE)
    assert entry.actor == alice
    assert entry.note.startswith(
        "alice changed the scope: added clients Unaffected Ltd; tags payments -> dashboard, payments."
    )
    assert "1 contacts added, 0 removed." in entry.note


def test_a_dry_run_says_who_would_be_removed_and_changes_nothing(api, alice, live_incident, published, contacts):
    response = api(alice).post(
        scope_path(live_incident), {"affected_tags": [], "affected_countries": ["US"], "dry_run": True}, format="json"
    )

    assert response.status_code == 200
    body = response.json()
    assert [client["name"] for client in body["clients_removed"]] == ["Berliner Bank"]
    assert {contact["name"] for contact in body["contacts_removed"]} == {"Anna Schmidt", "Olaf Opted"}
    assert body["messages_queued"] == 0
    live_incident.refresh_from_db()
    assert live_incident.affected_tags == ["payments"]
    assert not TimelineEntry.objects.filter(incident=live_incident, kind=TimelineKind.SCOPE).exists()


def test_choosing_clients_by_id_and_keeping_the_lists_left_out(api, alice, live_incident, contacts, uma):
    response = api(alice).post(scope_path(live_incident), {"affected_clients": [uma.client_id]}, format="json")

    assert response.status_code == 200
    body = response.json()
    assert body["incident"]["affected_clients"] == [uma.client_id]
    assert body["incident"]["affected_tags"] == ["payments"]  # kept
    assert body["messages_queued"] == 0  # nothing was published yet


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"affected_countries": ["Germany"]}, "affected_countries"),
        ({"affected_clients": [999999]}, "affected_clients"),
        ({"affected_tags": "payments"}, "affected_tags"),
    ],
)
def test_bad_scope_input_is_a_400_naming_the_field(api, alice, live_incident, payload, field):
    response = api(alice).post(scope_path(live_incident), payload, format="json")

    assert response.status_code == 400
    assert field in response.json()


def test_only_commanders_change_the_scope(api, bob, live_incident):
    assert api(bob).post(scope_path(live_incident), {"affected_tags": []}, format="json").status_code == 403


def test_another_organisations_incident_is_a_404(api, eve, live_incident):
    assert api(eve).post(scope_path(live_incident), {"affected_tags": []}, format="json").status_code == 404


def test_a_closed_incident_keeps_its_scope(api, alice, draft_incident):
    incident_transition(incident=draft_incident, name="cancel", actor=alice)

    response = api(alice).post(scope_path(draft_incident), {"affected_tags": []}, format="json")

    assert response.status_code == 400


def test_making_an_incident_public_is_on_the_timeline(api, alice, live_incident):
    response = api(alice).post(f"/api/incidents/{live_incident.pk}/public/", {"is_public": True}, format="json")

    assert response.status_code == 200
    assert response.json()["is_public"] is True
    entry = TimelineEntry.objects.filter(incident=live_incident, kind=TimelineKind.NOTE).last()
    assert (entry.actor, entry.note) == (alice, "alice made the incident public on the status page.")


# ---------------------------------------------------------------------------------------------
# Acknowledgements


@pytest.fixture
def acknowledged_incident(outage_playbook, alice, contacts):
    stage = PlaybookStage.objects.get(playbook=outage_playbook, stage="investigating")
    StageAcknowledgement.objects.create(
        stage=stage, texts={"en": {"request": "Confirm you have paused card payments.", "keyword": "PAUSED"}}
    )
    outage_playbook.refresh_from_db()
    incident = incident_create(playbook=outage_playbook, actor=alice, title="Card payments", affected_tags=["payments"])
    incident = incident_transition(incident=incident, name="activate", actor=alice)
    update_publish(update=update_draft(incident=incident, author=alice), actor=alice)
    return incident


def test_the_commander_reads_who_confirmed_when_and_how(api, carol, acknowledged_incident, contacts):
    acknowledgement_confirm(incident=acknowledged_incident, contact=contacts["anna"], via="page")

    response = api(carol).get(f"/api/incidents/{acknowledged_incident.pk}/acknowledgements/")

    assert response.status_code == 200
    boston, berlin = response.json()
    assert (boston["client_name"], boston["is_confirmed"], boston["confirmed_by"]) == ("Boston Retail", False, "")
    assert (berlin["client_name"], berlin["is_confirmed"], berlin["confirmed_by"], berlin["confirmed_via"]) == (
        "Berliner Bank",
        True,
        "Anna Schmidt",
        "page",
    )
    assert berlin["confirmed_at"] is not None
    assert berlin["request"] == "Confirm you have paused card payments."


def test_clients_newly_in_scope_are_asked_too(api, alice, acknowledged_incident, contacts, uma):
    api(alice).post(scope_path(acknowledged_incident), {"affected_tags": ["payments", "dashboard"]}, format="json")

    response = api(alice).get(f"/api/incidents/{acknowledged_incident.pk}/acknowledgements/")

    assert {row["client_name"] for row in response.json()} == {"Berliner Bank", "Boston Retail", "Unaffected Ltd"}


def test_acknowledgements_of_another_organisation_are_a_404(api, eve, acknowledged_incident):
    assert api(eve).get(f"/api/incidents/{acknowledged_incident.pk}/acknowledgements/").status_code == 404
