"""Alert-triggered activation: the monitoring endpoint's auth, payloads, de-duplication, and the
commander's confirm or dismiss. Nothing reaches clients without a human."""

import datetime as dt
import json
import uuid

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError
from django_tasks_db.models import DBTaskResult

from comms.models import Message
from playbooks.alerts.services import alert_confirm, alert_dismiss, alert_endpoint_create, alert_endpoint_rotate_secret
from playbooks.models import AlertEndpoint, InboundAlert, Incident
from tests.playbooks.conftest import make_playbook

T0 = dt.datetime(2026, 11, 24, 3, 12, tzinfo=dt.UTC)

ALERTMANAGER = {
    "version": "4",
    "groupKey": '{}:{alertname="PaymentsAPIHighErrorRate"}',
    "truncatedAlerts": 0,
    "status": "firing",
    "receiver": "candor",
    "groupLabels": {"alertname": "PaymentsAPIHighErrorRate"},
    "commonLabels": {"alertname": "PaymentsAPIHighErrorRate", "severity": "critical", "service": "payments-api"},
    "commonAnnotations": {
        "summary": "Payments API 5xx rate above 5%",
        "description": "More than 5% of payment requests fail.",
    },
    "externalURL": "http://alertmanager.internal:9093",
    "alerts": [
        {
            "status": "firing",
            "labels": {"alertname": "PaymentsAPIHighErrorRate", "instance": "pay-1:8080", "severity": "critical"},
            "annotations": {"summary": "Payments API 5xx rate above 5%"},
            "startsAt": "2026-11-24T03:10:00Z",
            "endsAt": "0001-01-01T00:00:00Z",
            "generatorURL": "http://prometheus/graph",
            "fingerprint": "a1b2c3d4",
        },
        {
            "status": "firing",
            "labels": {"alertname": "PaymentsAPIHighErrorRate", "instance": "pay-2:8080", "severity": "critical"},
            "annotations": {"summary": "Payments API 5xx rate above 5%"},
            "startsAt": "2026-11-24T03:10:30Z",
            "endsAt": "0001-01-01T00:00:00Z",
            "generatorURL": "http://prometheus/graph",
            "fingerprint": "e5f6a7b8",
        },
    ],
}


@pytest.fixture
def endpoint(organization, outage_playbook, alice):
    alice.email = "alice@northwind.example"
    alice.phone = "+4915100000001"
    alice.save()
    endpoint, secret = alert_endpoint_create(
        organization=organization, name="Production Alertmanager", playbook=outage_playbook, on_duty_commander=alice
    )
    endpoint.secret = secret  # only for the tests: Candor keeps the digest alone
    return endpoint


def post(client, endpoint, body, secret=None, *, raw=None):
    headers = {} if secret is None else {"Authorization": f"Bearer {secret}"}
    data = raw if raw is not None else json.dumps(body)
    with time_machine.travel(T0, tick=False):
        return client.post(f"/alerts/{endpoint.pk}/", data=data, content_type="application/json", headers=headers)


def nothing_created():
    return not InboundAlert.objects.exists() and not Incident.objects.exists() and not Message.objects.exists()


# ---------------------------------------------------------------------------------------------
# Auth


def test_an_alert_without_a_secret_is_refused_with_401_and_creates_nothing(client, endpoint):
    response = post(client, endpoint, {"title": "Payments down"})
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert nothing_created()


def test_an_alert_with_a_wrong_secret_is_refused_with_403_and_creates_nothing(client, endpoint):
    assert post(client, endpoint, {"title": "Payments down"}, "cnd_wrong").status_code == 403
    assert nothing_created()


def test_another_endpoints_secret_does_not_open_this_one(client, endpoint, organization, outage_playbook, alice):
    _, other_secret = alert_endpoint_create(
        organization=organization, name="Staging", playbook=outage_playbook, on_duty_commander=alice
    )
    assert post(client, endpoint, {"title": "Payments down"}, other_secret).status_code == 403
    assert nothing_created()


def test_an_unknown_endpoint_answers_like_a_wrong_secret(client, endpoint):
    endpoint.pk = uuid.uuid4()
    assert post(client, endpoint, {"title": "Payments down"}, "cnd_anything").status_code == 403


def test_a_rotated_secret_replaces_the_old_one_at_once(client, endpoint):
    old = endpoint.secret
    endpoint, new = alert_endpoint_rotate_secret(endpoint=endpoint)
    assert post(client, endpoint, {"title": "Payments down"}, old).status_code == 403
    assert post(client, endpoint, {"title": "Payments down"}, new).status_code == 202
    assert new not in AlertEndpoint.objects.filter(pk=endpoint.pk).values_list("secret_hash", flat=True)[0]


def test_an_inactive_endpoint_accepts_nothing(client, endpoint):
    AlertEndpoint.objects.filter(pk=endpoint.pk).update(is_active=False)
    assert post(client, endpoint, {"title": "Payments down"}, endpoint.secret).status_code == 403
    assert nothing_created()


def test_only_post_is_accepted(client, endpoint):
    assert client.get(f"/alerts/{endpoint.pk}/").status_code == 405


# ---------------------------------------------------------------------------------------------
# Payloads


def test_a_generic_alert_opens_a_draft_incident_and_tells_the_on_duty_commander(client, endpoint, alice):
    response = post(
        client,
        endpoint,
        {
            "title": "Payments API down",
            "severity": "critical",
            "summary": "Checkout fails for all cards.",
            "tags": ["payments", "eu"],
        },
        endpoint.secret,
    )
    assert response.status_code == 202
    result = response.json()["alerts"][0]
    assert result["result"] == "created" and result["status"] == "pending" and result["count"] == 1
    incident = Incident.objects.get(pk=result["incident"])
    assert incident.state == "draft" and incident.commander == alice and incident.severity == 1
    assert incident.title == "Payments API down"
    assert incident.detected_at == T0
    assert "Checkout fails for all cards." in incident.summary and "Tags: payments, eu" in incident.summary
    note = incident.timeline.get(kind="note")
    assert note.note.startswith("Opened as a draft by an alert from Production Alertmanager.")
    notices = Message.objects.filter(user=alice)
    assert set(notices.values_list("channel", flat=True)) == {"email", "sms"}
    assert notices.get(channel="email").content.subject == ("[Northwind] Alert: Payments API down - confirm or dismiss")
    # Nothing to clients, and no clocks running, until the commander confirms.
    assert not Message.objects.filter(contact__isnull=False).exists()
    assert not DBTaskResult.objects.filter(queue_name="timers").exists()


def test_an_alertmanager_group_becomes_one_draft_incident(client, endpoint):
    response = post(client, endpoint, ALERTMANAGER, endpoint.secret)
    assert response.status_code == 202
    alert = InboundAlert.objects.get()
    assert alert.title == "Payments API 5xx rate above 5%"
    assert alert.severity == 1
    assert alert.fingerprint.startswith("am:")
    assert "2 of 2 alerts firing." in alert.summary and "pay-2:8080" in alert.summary
    assert alert.incident.state == "draft"
    assert alert.payload["groupKey"] == ALERTMANAGER["groupKey"]


def test_alertmanager_repeats_and_resolution_of_the_same_group_update_one_alert(client, endpoint):
    post(client, endpoint, ALERTMANAGER, endpoint.secret)
    post(client, endpoint, {**ALERTMANAGER, "alerts": ALERTMANAGER["alerts"][:1]}, endpoint.secret)
    response = post(client, endpoint, {**ALERTMANAGER, "status": "resolved"}, endpoint.secret)
    assert response.json()["alerts"][0]["result"] == "resolved"
    alert = InboundAlert.objects.get()
    assert alert.count == 3 and alert.status == "resolved" and not alert.is_firing
    assert Incident.objects.count() == 1
    assert alert.incident.timeline.filter(note__contains="reports the alert resolved").exists()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"summary": "no title"}, "title"),
        ({"title": 42}, "title"),
        ({"title": "x", "severity": [1]}, "severity"),
        ({"title": "x", "severity": 9}, "severity"),
        ({"title": "x", "status": "exploded"}, "status"),
        ({"title": "x", "tags": "payments"}, "tags"),
        ({"title": "x", "fingerprint": "f" * 201}, "fingerprint"),
        ({"version": "4", "groupKey": "g", "alerts": []}, "alerts"),
        ({"version": "4", "groupKey": "g", "alerts": ["not an object"]}, "alerts"),
        ([{"title": "a list"}], "body"),
    ],
)
def test_a_malformed_alert_is_a_400_with_field_errors_and_creates_nothing(client, endpoint, body, field):
    response = post(client, endpoint, body, endpoint.secret)
    assert response.status_code == 400
    assert field in response.json()["errors"]
    assert nothing_created()


def test_a_body_that_is_not_json_is_a_400(client, endpoint):
    response = post(client, endpoint, None, endpoint.secret, raw="title=down")
    assert response.status_code == 400 and response.json()["errors"] == {"body": ["Send a JSON object."]}


# ---------------------------------------------------------------------------------------------
# De-duplication


def test_the_same_problem_while_pending_only_bumps_the_count(client, endpoint, alice):
    for _ in range(3):
        post(client, endpoint, {"title": "Payments API down", "fingerprint": "pay-5xx"}, endpoint.secret)
    alert = InboundAlert.objects.get()
    assert alert.count == 3 and Incident.objects.count() == 1
    assert Message.objects.filter(user=alice, channel="email").count() == 1  # told once


def test_without_a_fingerprint_the_title_and_tags_identify_the_problem(client, endpoint):
    post(client, endpoint, {"title": "Payments API down", "tags": ["eu", "payments"]}, endpoint.secret)
    post(client, endpoint, {"title": "payments  API down", "tags": ["payments", "eu"]}, endpoint.secret)
    post(client, endpoint, {"title": "Search is slow"}, endpoint.secret)
    assert sorted(InboundAlert.objects.values_list("count", flat=True)) == [1, 2]


def test_the_same_problem_while_its_incident_is_live_does_not_open_another(client, endpoint, alice):
    post(client, endpoint, {"title": "Payments API down", "fingerprint": "pay-5xx"}, endpoint.secret)
    alert_confirm(alert=InboundAlert.objects.get(), actor=alice)
    post(client, endpoint, {"title": "Payments API down", "fingerprint": "pay-5xx"}, endpoint.secret)
    assert Incident.objects.count() == 1 and InboundAlert.objects.get().count == 2


def test_the_same_problem_after_a_dismissal_opens_a_new_draft(client, endpoint, alice):
    post(client, endpoint, {"title": "Payments API down", "fingerprint": "pay-5xx"}, endpoint.secret)
    alert_dismiss(alert=InboundAlert.objects.get(), actor=alice, note="Load test.")
    post(client, endpoint, {"title": "Payments API down", "fingerprint": "pay-5xx"}, endpoint.secret)
    assert InboundAlert.objects.count() == 2 and Incident.objects.filter(state="draft").count() == 1


def test_a_resolution_for_an_unknown_problem_is_ignored(client, endpoint):
    response = post(client, endpoint, {"title": "Payments API down", "status": "resolved"}, endpoint.secret)
    assert response.status_code == 202 and response.json()["alerts"][0]["result"] == "ignored"
    assert nothing_created()


# ---------------------------------------------------------------------------------------------
# Confirm or dismiss


def test_confirming_activates_the_incident_and_starts_its_deadline_clocks(client, endpoint, alice):
    post(client, endpoint, {"title": "Payments API down"}, endpoint.secret)
    alert = InboundAlert.objects.get()
    with time_machine.travel(T0 + dt.timedelta(minutes=4), tick=False):
        alert = alert_confirm(alert=alert, actor=alice, note="Real: checkout failing.")
    assert alert.status == "confirmed" and alert.decided_by == alice
    incident = Incident.objects.get()
    assert incident.state == "investigating"
    assert incident.timeline.filter(kind="transition", note="Real: checkout failing.").exists()
    assert DBTaskResult.objects.filter(task_path="playbooks.promises.tasks.deadline_timer").count() == 3
    assert not Message.objects.filter(contact__isnull=False).exists()  # the commander publishes the first update


def test_dismissing_cancels_the_draft(client, endpoint, frank):
    post(client, endpoint, {"title": "Payments API down"}, endpoint.secret)
    alert = alert_dismiss(alert=InboundAlert.objects.get(), actor=frank, note="Synthetic check misfired.")
    assert alert.status == "dismissed" and alert.decision_note == "Synthetic check misfired."
    assert Incident.objects.get().state == "cancelled"
    with pytest.raises(ValidationError):
        alert_confirm(alert=alert, actor=frank)


def test_only_the_organisations_commanders_decide(client, endpoint, bob, eve):
    post(client, endpoint, {"title": "Payments API down"}, endpoint.secret)
    alert = InboundAlert.objects.get()
    for someone in (bob, eve):
        with pytest.raises(PermissionDenied):
            alert_confirm(alert=alert, actor=someone)
        with pytest.raises(PermissionDenied):
            alert_dismiss(alert=alert, actor=someone)
    assert Incident.objects.get().state == "draft"


def test_an_endpoint_needs_its_organisations_playbook_and_commander(organization, other_organization, eve, bob):
    playbook = make_playbook(organization)
    with pytest.raises(ValidationError) as error:
        alert_endpoint_create(organization=organization, name="x", playbook=playbook, on_duty_commander=eve)
    assert "on_duty_commander" in error.value.message_dict
    with pytest.raises(ValidationError):
        alert_endpoint_create(organization=organization, name="x", playbook=playbook, on_duty_commander=bob)
    assert not AlertEndpoint.objects.exists()


def test_an_alert_is_kept_even_when_its_draft_cannot_be_opened(client, endpoint, alice, outage_playbook):
    outage_playbook.is_active = False
    outage_playbook.save()
    post(client, endpoint, {"title": "Payments API down"}, endpoint.secret)
    alert = InboundAlert.objects.get()
    assert alert.incident is None and "not active" in alert.decision_note
    assert "No draft incident could be opened" in Message.objects.get(user=alice, channel="email").content.body
    outage_playbook.is_active = True
    outage_playbook.save()
    alert = alert_confirm(alert=alert, actor=alice)
    assert alert.incident.state == "investigating"


# ---------------------------------------------------------------------------------------------
# Admin


def test_admin_shows_a_new_endpoints_secret_once_and_rotates_it(client, organization, outage_playbook, alice, dave):
    dave.is_superuser = True  # all model permissions; still scoped to his organisation
    dave.save()
    client.force_login(dave)
    response = client.post(
        "/admin/playbooks/alertendpoint/add/",
        {"name": "Grafana", "playbook": outage_playbook.pk, "on_duty_commander": alice.pk, "is_active": "on"},
        follow=True,
    )
    assert response.status_code == 200
    endpoint = AlertEndpoint.objects.get()
    assert endpoint.organization == organization
    shown = [str(message) for message in response.context["messages"]]
    secret = shown[0].split("Secret for Grafana: ")[1].split(". Copy it now")[0]
    assert endpoint.check_secret(secret) and f"/alerts/{endpoint.pk}/" in shown[0]

    response = client.post(
        "/admin/playbooks/alertendpoint/",
        {"action": "rotate_secret", "_selected_action": [str(endpoint.pk)]},
        follow=True,
    )
    rotated = str(next(iter(response.context["messages"])))
    new_secret = rotated.split("Secret for Grafana: ")[1].split(". Copy it now")[0]
    endpoint.refresh_from_db()
    assert endpoint.check_secret(new_secret) and not endpoint.check_secret(secret)
