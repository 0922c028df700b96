"""A whole incident of each kind, from create to closed, through the REST API alone (token auth):
the playbooks imported as files, clients and contacts added, an alert from monitoring confirmed
into an outage, updates drafted, approved and published, checklist items done (one reopened),
the incident edited, the debrief written with action items and completed, proof of notification
and the leadership figures read. At every step before `closed` the transitions list is not empty,
and a step refused says what it still needs.

The cast: dave (admin) loads the playbooks, alice (commander) runs the incidents, frank (a second
commander) approves the stages that need a second pair of eyes, bob (communicator) writes.
"""

import csv
import io
import json

import pytest

from playbooks.alerts.services import alert_endpoint_create
from playbooks.models import Playbook
from playbooks.starter import starter_playbook_files


@pytest.fixture
def team(api, alice, bob, dave, frank):
    return {"alice": api(alice), "bob": api(bob), "dave": api(dave), "frank": api(frank)}


def ok(response, code=200):
    assert response.status_code == code, response.content.decode()[:2000]
    return response.json() if response.get("Content-Type", "").startswith("application/json") else response


def load_playbooks(team):
    slugs = {}
    for path in starter_playbook_files():
        result = ok(team["dave"].post("/api/playbooks/import/", {"file": path.read_text()}, format="json"), 201)
        slugs[result["slug"]] = result["playbook"]
    return slugs


def add_clients(team):
    alice = team["alice"]
    acme = ok(
        alice.post(
            "/api/clients/",
            {
                "name": "Acme GmbH",
                "country": "DE",
                "default_language": "de",
                "timezone": "Europe/Berlin",
                "tags": ["product"],
            },
            format="json",
        ),
        201,
    )
    ok(
        alice.post(
            "/api/contacts/",
            {"client": acme["id"], "name": "Anna Schmidt", "email": "anna@acme.example", "language": "de"},
            format="json",
        ),
        201,
    )
    boston = ok(
        alice.post(
            "/api/clients/",
            {"name": "Boston Retail", "country": "US", "default_language": "en", "timezone": "America/New_York"},
            format="json",
        ),
        201,
    )
    ok(
        alice.post(
            "/api/contacts/",
            {"client": boston["id"], "name": "John Miller", "email": "john@boston.example"},
            format="json",
        ),
        201,
    )
    return [acme["id"], boston["id"]]


def transitions(team, incident_id):
    answer = ok(team["alice"].get(f"/api/incidents/{incident_id}/transitions/"))
    return {row["name"]: row for row in answer}


def step(team, incident_id, name, **extra):
    """Take one step, checking first that it is listed and ready (the list is never empty)."""
    listed = transitions(team, incident_id)
    assert listed, "the transitions list is empty before closed"
    assert name in listed and listed[name]["ready"], listed
    incident = ok(
        team["alice"].post(f"/api/incidents/{incident_id}/transitions/", {"transition": name, **extra}, format="json")
    )
    return incident


def publish_update(team, incident_id):
    """Draft the stage's prepared words (bob), approve them when the stage asks (frank), publish (alice)."""
    update = ok(team["bob"].post("/api/updates/", {"incident": incident_id}, format="json"), 201)
    if update["needs_approval"]:
        refused = team["alice"].post(f"/api/updates/{update['id']}/publish/")
        assert refused.status_code == 400
        ok(team["frank"].post(f"/api/updates/{update['id']}/approve/", {"note": "Reads well."}, format="json"))
    published = ok(team["alice"].post(f"/api/updates/{update['id']}/publish/"))
    assert published["status"] == "published"
    return published


def work_the_checklist(team, incident_id):
    incident = ok(team["alice"].get(f"/api/incidents/{incident_id}/"))
    items = incident["checklist"]
    assert items, "the playbook's checklist was copied into the incident"
    first = items[0]["id"]
    done = ok(
        team["bob"].post(
            f"/api/incidents/{incident_id}/checklist/{first}/complete/",
            {"note": "Done from the runbook tool."},
            format="json",
        )
    )
    assert done["completed_at"] and done["completion_note"] == "Done from the runbook tool."
    again = team["bob"].post(f"/api/incidents/{incident_id}/checklist/{first}/complete/", {}, format="json")
    assert again.status_code == 400 and "already done" in again.content.decode()
    reopened = ok(
        team["alice"].post(
            f"/api/incidents/{incident_id}/checklist/{first}/reopen/", {"note": "Ticked by mistake."}, format="json"
        )
    )
    assert reopened["completed_at"] is None
    for item in items:
        ok(team["bob"].post(f"/api/incidents/{incident_id}/checklist/{item['id']}/complete/", {}, format="json"))
    assert all(item["completed_at"] for item in ok(team["alice"].get(f"/api/incidents/{incident_id}/"))["checklist"])


def debrief_and_close(team, incident_id, frank_id):
    listed = transitions(team, incident_id)
    assert list(listed) == ["close"]
    assert listed["close"]["ready"] is False
    assert "debrief" in listed["close"]["missing"][0]
    refused = team["alice"].post(f"/api/incidents/{incident_id}/transitions/", {"transition": "close"}, format="json")
    assert refused.status_code == 409
    conflict = refused.json()
    assert conflict["state"] == "debriefing" and conflict["missing"]
    assert "It still needs a complete debrief: write what went well" in conflict["detail"]

    debrief = ok(team["bob"].get(f"/api/incidents/{incident_id}/debrief/"))
    assert debrief["what_happened"] and debrief["is_complete"] is False
    assert debrief["missing"] == ["what went well", "what did not go well"]
    early = team["bob"].post(f"/api/incidents/{incident_id}/debrief/complete/")
    assert early.status_code == 400 and "what went well" in early.content.decode()
    ok(
        team["bob"].patch(
            f"/api/incidents/{incident_id}/debrief/",
            {"went_well": "First notice in 20 minutes.", "went_badly": "The SMS came late."},
            format="json",
        )
    )
    item = ok(
        team["bob"].post(
            f"/api/incidents/{incident_id}/debrief/action-items/",
            {"description": "Add a second SMS provider", "owner": frank_id, "due_on": "2027-01-15"},
            format="json",
        ),
        201,
    )
    ok(
        team["bob"].patch(
            f"/api/incidents/{incident_id}/debrief/action-items/{item['id']}/", {"is_done": True}, format="json"
        )
    )
    complete = ok(team["bob"].post(f"/api/incidents/{incident_id}/debrief/complete/"))
    assert complete["is_complete"] and complete["action_items"][0]["is_done"] is True

    assert transitions(team, incident_id)["close"] == {
        "name": "close",
        "label": "Close",
        "target": "closed",
        "needs": [],
        "ready": True,
        "missing": [],
        "waits_for": "",
    }
    closed = step(team, incident_id, "close", note="Debrief done.")
    assert closed["state"] == "closed" and closed["closed_at"]
    assert transitions(team, incident_id) == {}
    late = team["bob"].patch(f"/api/incidents/{incident_id}/debrief/", {"went_well": "x"}, format="json")
    assert late.status_code == 400


def after_the_crisis(team, incident_id):
    proof = ok(team["alice"].get(f"/api/incidents/{incident_id}/proof/"))
    assert proof["incident"] == incident_id
    proof_csv = ok(team["alice"].get(f"/api/incidents/{incident_id}/proof/csv/"))
    assert proof_csv["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(proof_csv.content.decode())))
    assert rows[0][:3] == ["incident_id", "client", "client_country"]
    per_contact = [max(len(person["messages"]), 1) for row in proof["clients"] for person in row["contacts"]]
    assert len(rows) - 1 == sum(per_contact)  # a row per message; one for a contact never messaged
    answers = ok(team["alice"].get(f"/api/incidents/{incident_id}/survey-responses/"))
    assert answers["results"] == []
    return proof


def test_an_outage_from_a_monitoring_alert_to_closed_through_the_api(team, organization, alice, frank, client):
    playbooks = load_playbooks(team)
    add_clients(team)
    # The team keeps its playbooks as code: the outage playbook reaches every client of the product,
    # so an incident opened by monitoring has an audience before anyone sets its scope.
    exported = ok(team["dave"].get(f"/api/playbooks/{playbooks['outage-standard']}/export/")).content.decode()
    edited = exported.replace(
        "audience:\n  all_clients: false\n  tags: []", "audience:\n  all_clients: false\n  tags:\n  - product"
    )
    assert edited != exported
    assert ok(team["dave"].post("/api/playbooks/import/", {"file": edited}, format="json"))["changed"]
    outage = Playbook.objects.get(pk=playbooks["outage-standard"])
    endpoint, secret = alert_endpoint_create(
        organization=organization, name="Production Alertmanager", playbook=outage, on_duty_commander=alice
    )
    received = client.post(
        f"/alerts/{endpoint.pk}/",
        data=json.dumps({"title": "Payments API down", "severity": 1}),
        content_type="application/json",
        headers={"Authorization": f"Bearer {secret}"},
    )
    assert received.status_code in (200, 201, 202)

    pending = ok(team["alice"].get("/api/alerts/?status=pending"))["results"]
    assert [alert["title"] for alert in pending] == ["Payments API down"]
    alert = pending[0]
    assert transitions(team, alert["incident"])["activate"]["ready"]
    confirmed = ok(team["alice"].post(f"/api/alerts/{alert['id']}/confirm/", {"note": "Real."}, format="json"))
    assert confirmed["status"] == "confirmed"
    twice = team["alice"].post(f"/api/alerts/{alert['id']}/confirm/", {}, format="json")
    assert twice.status_code == 409
    assert twice.json()["detail"] == "This alert is already decided: “Confirmed: incident activated”."
    incident_id = confirmed["incident"]

    edited = ok(
        team["alice"].patch(
            f"/api/incidents/{incident_id}/",
            {
                "title": "Payments API errors",
                "summary": "Card payments fail.",
                "severity": 2,
                "backup_commander": frank.pk,
                "is_public": True,
            },
            format="json",
        )
    )
    assert (edited["title"], edited["severity"], edited["backup_commander"], edited["is_public"]) == (
        "Payments API errors",
        2,
        frank.pk,
        True,
    )
    assert team["bob"].patch(f"/api/incidents/{incident_id}/", {"title": "x"}, format="json").status_code == 403

    publish_update(team, incident_id)
    work_the_checklist(team, incident_id)
    step(team, incident_id, "identify")
    publish_update(team, incident_id)
    step(team, incident_id, "monitor")
    missing_summary = team["alice"].post(
        f"/api/incidents/{incident_id}/transitions/", {"transition": "resolve"}, format="json"
    )
    assert missing_summary.status_code == 400 and "resolution_summary" in missing_summary.json()
    step(team, incident_id, "resolve", resolution_summary="A bad deploy was rolled back.")
    publish_update(team, incident_id)  # the resolution notice, before the debrief
    step(team, incident_id, "start_debrief")
    debrief_and_close(team, incident_id, frank.pk)
    after_the_crisis(team, incident_id)
    assert team["alice"].patch(f"/api/incidents/{incident_id}/", {"title": "x"}, format="json").status_code == 409


def test_a_recall_from_create_to_closed_through_the_api(team, frank):
    playbooks = load_playbooks(team)
    clients = add_clients(team)
    incident = ok(
        team["alice"].post(
            "/api/incidents/",
            {
                "playbook": playbooks["recall-eu-product"],
                "title": "Lot 4711 heaters overheat",
                "summary": "Heaters of lot 4711 can overheat; stop using them.",
                "affected_clients": clients[:1],
            },
            format="json",
        ),
        201,
    )
    incident_id = incident["id"]
    assert set(transitions(team, incident_id)) == {"activate", "cancel"}
    step(team, incident_id, "activate")
    publish_update(team, incident_id)
    work_the_checklist(team, incident_id)
    for name in ("announce", "offer_remedy", "start_remedy"):
        step(team, incident_id, name)
        publish_update(team, incident_id)
    step(team, incident_id, "complete", resolution_summary="Every affected heater was replaced.")
    publish_update(team, incident_id)
    step(team, incident_id, "start_debrief")
    debrief_and_close(team, incident_id, frank.pk)
    proof = after_the_crisis(team, incident_id)
    assert [client["name"] for client in proof["clients"]] == ["Acme GmbH"]
    assert proof["clients"][0]["contacts"][0]["messages"], "Anna was sent the recall updates"


def test_a_compliance_incident_from_create_to_closed_through_the_api(team, frank):
    playbooks = load_playbooks(team)
    clients = add_clients(team)
    incident = ok(
        team["alice"].post(
            "/api/incidents/",
            {
                "playbook": playbooks["compliance-data-incident"],
                "title": "Customer data exposed",
                "summary": "A misconfigured export exposed contact names and emails.",
                "affected_clients": clients,
            },
            format="json",
        ),
        201,
    )
    incident_id = incident["id"]
    step(team, incident_id, "activate")
    publish_update(team, incident_id)
    listed = transitions(team, incident_id)
    assert listed["notify_clients"]["ready"] is False
    assert "authority" in listed["notify_clients"]["missing"][0]
    assert listed["notify_authority"]["ready"] is True
    work_the_checklist(team, incident_id)
    for name in ("notify_authority", "notify_clients", "remediate"):
        step(team, incident_id, name)
        publish_update(team, incident_id)
    step(team, incident_id, "resolve", resolution_summary="Access was revoked and every client told.")
    publish_update(team, incident_id)
    step(team, incident_id, "start_debrief")
    debrief_and_close(team, incident_id, frank.pk)
    after_the_crisis(team, incident_id)

    figures = ok(team["alice"].get("/api/leadership/?months=all"))
    assert figures["total"]["incidents"] == 1
    assert [group["key"] for group in figures["by_kind"]] == ["compliance"]
    assert {group["key"] for group in figures["by_country"]} == {"DE", "US"}
    assert figures["incidents"][0]["incident"] == incident_id
    assert figures["incidents"][0]["updates_sent"] == 5
    assert {client["name"] for client in figures["incidents"][0]["clients"]} == {"Acme GmbH", "Boston Retail"}
