"""Incident events reach the organisation's webhook endpoints with exact payloads, failures show on
the integrations page, and only organisation admins register endpoints through the API."""

import datetime as dt
import json

import pytest
import time_machine

from comms.models import Message, TeamChannel, WebhookDelivery, WebhookEndpoint
from playbooks.incidents.services import incident_transition
from playbooks.promises.services import incident_team_notify

T0 = dt.datetime(2025, 3, 3, 9, 0, tzinfo=dt.UTC)


@pytest.fixture
def endpoint(organization, fake_providers):
    return WebhookEndpoint.objects.create(
        organization=organization, name="Ops bot", url=f"{fake_providers.base_url}/receiver/ops", secret="whsec_x"
    )


def test_created_and_transitioned_incidents_are_delivered_with_exact_payloads(
    organization, alice, endpoint, outage_playbook, make_incident, fake_providers, run_worker
):
    with time_machine.travel(T0, tick=False):
        incident = make_incident(outage_playbook, title="Payments API errors")
        incident_transition(incident=incident, name="activate", actor=alice)
        run_worker()

    bodies = [json.loads(request.body) for request in fake_providers.received_webhooks()]
    assert [body["type"] for body in bodies] == ["incident.created", "incident.transitioned"]
    summary = {
        "id": incident.pk,
        "title": "Payments API errors",
        "kind": "outage",
        "state": "draft",
        "severity": incident.severity,
        "playbook": "outage-plan",
        "playbook_version": incident.playbook_version,
        "detected_at": "2025-03-03T09:00:00+00:00",
        "url": f"http://localhost:8000/incidents/{incident.pk}/",
    }
    assert bodies[0]["data"] == {"version": 1, "incident": summary}
    assert bodies[1]["data"] == {
        "version": 1,
        "incident": {**summary, "state": "investigating"},
        "transition": "activate",
        "from_state": "draft",
        "to_state": "investigating",
    }
    assert set(WebhookDelivery.objects.values_list("status", flat=True)) == {"delivered"}


def test_a_rolled_back_change_sends_nothing(organization, alice, endpoint, outage_playbook, make_incident):
    incident = make_incident(outage_playbook)
    with pytest.raises(Exception):  # noqa: B017 - a refused transition, whatever its type
        incident_transition(incident=incident, name="resolve", actor=alice)
    assert list(WebhookDelivery.objects.values_list("event_type", flat=True)) == ["incident.created"]


def test_a_410_shows_on_the_integrations_page_with_its_reason(
    client, organization, alice, endpoint, outage_playbook, make_incident, fake_providers, run_worker
):
    TeamChannel.objects.create(
        organization=organization,
        kind="slack",
        name="#outage-room",
        webhook_url=f"{fake_providers.base_url}/services/T1/B1/secret",
        scope="playbook:outage-plan",
    )
    fake_providers.fail_next(1, "410", "webhook")
    fake_providers.fail_next(1, "410", "slack")
    with time_machine.travel(T0, tick=False):
        incident = make_incident(outage_playbook)
        incident_team_notify(
            incident=incident, source="test:escalation", subject="Update overdue", body="Publish.", action="Publish."
        )
        run_worker()
    assert Message.objects.get(channel="slack").status == "failed"

    client.force_login(alice)
    page = client.get("/integrations/").content.decode()
    assert "Ops bot" in page and "HTTP 410: Gone" in page and "Send again" in page
    assert "#outage-room" in page and "HTTP 410: channel_is_archived" in page


def test_the_integrations_page_is_for_commanders_and_admins(client, bob):
    client.force_login(bob)
    assert client.get("/integrations/").status_code == 403


def test_admins_register_endpoints_through_the_api(api, organization, dave, alice, eve, settings):
    settings.CANDOR_WEBHOOK_ALLOW_LOOPBACK_HTTP = False
    admin_api = api(dave)
    bad = admin_api.post(
        "/api/webhook-endpoints/",
        {"name": "", "url": "http://hooks.example.com/", "event_types": ["incident.exploded"]},
        format="json",
    )
    assert bad.status_code == 400
    assert bad.json() == {
        "name": ["This field may not be blank."],
        "url": ["Use an https:// URL: deliveries carry incident details."],
        "event_types": {"0": ['"incident.exploded" is not a valid choice.']},
    }
    created = admin_api.post(
        "/api/webhook-endpoints/",
        {"name": "Ops bot", "url": "https://hooks.example.com/candor", "event_types": ["incident.created"]},
        format="json",
    )
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["secret"].startswith("whsec_") and body["event_types"] == ["incident.created"]
    assert api(alice).get("/api/webhook-endpoints/").status_code == 403
    assert api(eve).get(f"/api/webhook-endpoints/{body['id']}/").status_code == 403  # a commander elsewhere
    rotated = admin_api.post(f"/api/webhook-endpoints/{body['id']}/rotate-secret/")
    assert rotated.status_code == 200 and rotated.json()["secret"] != body["secret"]
    assert admin_api.get(f"/api/webhook-endpoints/{body['id']}/deliveries/").json()["results"] == []
