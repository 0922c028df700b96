"""Input an attacker or a careless user sends: every answer is a clear 4xx, never a 500.

Alice (a commander of Northwind) is signed in for the API and the console; the webhooks are
signed as Twilio and SendGrid sign them, so their checks run past the signature.
"""

import json

import pytest
from django.test import Client

from accounts.importing import contacts_import
from accounts.models import ClientAccount
from comms.models import InboundMessage
from playbooks.alerts.services import alert_endpoint_create
from playbooks.models import InboundAlert, Incident
from playbooks.updates.services import update_draft
from tests.comms.webhook_helpers import PUBLIC_URL, TWILIO_AUTH_TOKEN, SendGridSigner, post_twilio

NUL = "\x00"


def nested(depth):
    return "[" * depth + "]" * depth


@pytest.fixture
def webhooks(settings, db):
    signer = SendGridSigner()
    settings.CANDOR_PUBLIC_URL = PUBLIC_URL
    settings.TWILIO_AUTH_TOKEN = TWILIO_AUTH_TOKEN
    settings.SENDGRID_WEBHOOK_PUBLIC_KEY = signer.public_key
    return signer


@pytest.fixture
def console(alice):
    client = Client(raise_request_exception=False)
    client.force_login(alice)
    return client


@pytest.mark.parametrize(
    "query",
    [
        "/api/clients/?search=%00",
        "/api/clients/?country=D%00",
        "/api/incidents/?state=live%00",
        "/api/contacts/?search=a%00b",
        "/api/incidents/?%00=1",
    ],
)
def test_a_nul_in_the_query_string_is_400(api, alice, query):
    response = api(alice).get(query)
    assert response.status_code == 400
    assert "NUL" in response.json()["detail"]


def test_a_nul_in_a_console_form_is_400(console):
    response = console.get("/console/?q=%00")
    assert response.status_code == 400


@pytest.mark.parametrize(
    "body",
    [
        {"name": "Acme" + NUL, "country": "DE", "default_language": "en", "timezone": "UTC"},
        {NUL: "key", "name": "Acme"},
        {"name": "Acme", "tags": ["a", "b" + NUL]},
    ],
)
def test_a_nul_anywhere_in_a_json_body_is_400(api, alice, body):
    response = api(alice).post("/api/clients/", body, format="json")
    assert response.status_code == 400
    assert not ClientAccount.objects.exists()


@pytest.mark.parametrize("depth", [100, 10_000, 200_000])
def test_deeply_nested_json_on_the_api_is_400(api, alice, outage_playbook, depth):
    body = f'{{"playbook": {outage_playbook.pk}, "title": "Deep", "affected_tags": {nested(depth)}}}'
    response = api(alice).generic("POST", "/api/incidents/", body, content_type="application/json")
    assert response.status_code == 400
    assert "nests deeper" in response.json()["detail"]
    assert not Incident.objects.exists()


def test_a_json_body_over_the_size_limit_is_400(api, alice, settings):
    settings.CANDOR_JSON_MAX_BYTES = 1000
    body = json.dumps({"name": "x" * 2000})
    response = api(alice).generic("POST", "/api/clients/", body, content_type="application/json")
    assert response.status_code == 400 and "larger than" in response.json()["detail"]


def test_nested_json_inside_strings_is_not_mistaken_for_depth(api, alice):
    body = json.dumps({"name": "Acme [" + "[" * 100, "country": "DE", "default_language": "en", "timezone": "UTC"})
    response = api(alice).generic("POST", "/api/clients/", body, content_type="application/json")
    assert response.status_code == 201


@pytest.fixture
def endpoint(organization, outage_playbook, alice):
    endpoint, secret = alert_endpoint_create(
        organization=organization, name="Alertmanager", playbook=outage_playbook, on_duty_commander=alice
    )
    endpoint.secret = secret
    return endpoint


@pytest.mark.parametrize(
    "body",
    [
        nested(50_000),
        json.dumps({"title": "Down" + NUL, "fingerprint": "abc"}),
        json.dumps({"alerts": [{"labels": {"alertname": NUL}}]}),
    ],
)
def test_hostile_alerts_are_400_and_create_nothing(client, endpoint, body):
    response = client.post(
        f"/alerts/{endpoint.pk}/",
        body,
        content_type="text/plain",
        headers={"Authorization": f"Bearer {endpoint.secret}"},
    )
    assert response.status_code == 400
    assert not InboundAlert.objects.exists() and not Incident.objects.exists()


def test_deeply_nested_json_to_the_signed_sendgrid_webhook_is_400(client, webhooks):
    response = webhooks.post(client, "/hooks/sendgrid/events/", None, body=nested(100_000))
    assert response.status_code == 400


TWILIO_INBOUND = "/hooks/twilio/inbound/"


@pytest.mark.parametrize(
    "fields",
    [
        {"Body": "STOP" + NUL},
        {"MessageSid": "SM" + NUL + "1"},
        {"MessageSid": "SM" + "a" * 120},
        {"From": "whatsapp:+4915112345678901"},
        {"To": "whatsapp:+1500555000600000"},
    ],
)
def test_signed_twilio_inbound_with_hostile_fields_is_400_and_records_nothing(client, webhooks, fields):
    params = {"MessageSid": "SM" + "1" * 32, "From": "+4915112345678", "To": "+15005550006", "Body": "hi", **fields}
    response = post_twilio(client, TWILIO_INBOUND, params)
    assert response.status_code == 400
    assert not InboundMessage.objects.exists()


def test_signed_twilio_status_with_an_overlong_sid_is_400(client, webhooks):
    response = post_twilio(client, "/hooks/twilio/status/", {"MessageSid": "SM" + "a" * 200, "MessageStatus": "sent"})
    assert response.status_code == 400


def test_a_csv_with_nul_bytes_is_refused_with_a_clear_message(organization):
    csv_file = b"client_name,client_country,contact_name,contact_email\nAcme\x00,DE,Anna,anna@example.com\n"
    report = contacts_import(organization=organization, csv_file=csv_file)
    assert report.file_is_unreadable and "NUL" in report.errors[0].message
    assert not ClientAccount.objects.exists()


@pytest.mark.parametrize(
    "words",
    [
        "{% include 'base.html' %}",
        "{% include '/etc/passwd' %}",
        "{% extends 'playbooks/console/base.html' %}",
        "{% load static %}",
        "{% if %}",
    ],
)
def test_template_tricks_in_an_update_are_400_with_the_reason(api, alice, live_incident, words):
    update = update_draft(incident=live_incident, author=alice)
    response = api(alice).patch(f"/api/updates/{update.pk}/", {"texts": {"en": {"email_body": words}}}, format="json")
    assert response.status_code == 400
    assert "Template error" in str(response.data)


@pytest.mark.parametrize("due", ["9999-12-31T23:59:59Z", "2999-01-01T00:00:00Z"])
def test_a_next_update_promised_beyond_30_days_is_400(api, alice, live_incident, due):
    response = api(alice).post(
        "/api/updates/", {"incident": live_incident.pk, "next_update_due_at": due}, format="json"
    )
    assert response.status_code == 400 and "within 30 days" in str(response.data["next_update_due_at"])


@pytest.mark.parametrize("detected_at", ["0001-01-01T00:00:00Z", "1970-01-01T00:00:00Z", "9999-12-31T00:00:00Z"])
def test_detection_far_in_the_past_or_the_future_is_400(api, alice, outage_playbook, detected_at):
    response = api(alice).post(
        "/api/incidents/",
        {"playbook": outage_playbook.pk, "title": "Down", "detected_at": detected_at},
        format="json",
    )
    assert response.status_code == 400 and "detected_at" in response.data
    assert not Incident.objects.exists()


def test_the_api_refuses_a_country_the_import_refuses(api, alice):
    body = {"name": "Nowhere Ltd", "country": "ZZ", "default_language": "en", "timezone": "UTC"}
    response = api(alice).post("/api/clients/", body, format="json")
    assert response.status_code == 400 and "Unknown country" in str(response.data["country"])
