"""Outgoing webhooks: every delivery a row with its attempts, signed over timestamp and body,
retried with backoff on 500 and 429, given up on 410, verified as a receiver would."""

import datetime as dt
import hashlib
import hmac
import json

import pytest
import time_machine
from django.core.exceptions import ValidationError

from comms.models import WebhookDelivery, WebhookDeliveryAttempt, WebhookEndpoint
from comms.outgoing_webhooks.services import (
    webhook_deliveries_queue,
    webhook_delivery_retry,
    webhook_endpoint_save,
    webhook_sweep,
)
from comms.outgoing_webhooks.signing import signature_is_valid

T0 = dt.datetime(2025, 3, 3, 9, 0, tzinfo=dt.UTC)
SECRET = "whsec_test-secret"
DATA = {"incident": {"id": 7, "title": "Payments API errors", "state": "draft"}}


@pytest.fixture
def endpoint(organization, fake_providers, settings):
    settings.CANDOR_WEBHOOK_TIMEOUT_SECONDS = 2
    return WebhookEndpoint.objects.create(
        organization=organization, name="Ops bot", url=f"{fake_providers.base_url}/receiver/ops", secret=SECRET
    )


def queue(organization, event_type="incident.created", source="incident:7:created"):
    return webhook_deliveries_queue(
        organization=organization, event_type=event_type, source=source, topic="incident:7", data=DATA
    )


def receiver_verifies(request, secret=SECRET, now=None):
    """What docs/webhooks.md tells a receiver to do, written out independently of our code."""
    parts = dict(part.split("=", 1) for part in request.headers["candor-signature"].split(","))
    expected = hmac.new(secret.encode(), parts["t"].encode() + b"." + request.body, hashlib.sha256).hexdigest()
    fresh = abs((now or T0).timestamp() - int(parts["t"])) <= 300
    return hmac.compare_digest(expected, parts["v1"]) and fresh


def test_delivery_is_signed_json_with_the_event(organization, endpoint, fake_providers, run_worker):
    with time_machine.travel(T0, tick=False):
        assert queue(organization) == 1
        run_worker()

    [request] = fake_providers.received_webhooks()
    delivery = WebhookDelivery.objects.get()
    assert json.loads(request.body) == {
        "id": str(delivery.event_id),
        "type": "incident.created",
        "created_at": "2025-03-03T09:00:00+00:00",
        "data": DATA,
    }
    assert request.headers["content-type"] == "application/json"
    assert request.headers["candor-event"] == "incident.created"
    assert request.headers["candor-event-id"] == str(delivery.event_id)
    assert request.headers["candor-signature"].startswith(f"t={int(T0.timestamp())},v1=")
    assert receiver_verifies(request)
    assert not receiver_verifies(request, secret="whsec_another")
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("delivered", 1, 200)


def test_500_and_429_are_retried_with_backoff_then_delivered(organization, endpoint, fake_providers, run_worker):
    fake_providers.fail_next(1, "500", "webhook")
    fake_providers.fail_next(1, "429", "webhook", retry_after_seconds=120)
    with time_machine.travel(T0, tick=False) as clock:
        queue(organization)
        run_worker()
        delivery = WebhookDelivery.objects.get()
        assert (delivery.status, delivery.last_status_code) == ("pending", 500)
        assert T0 + dt.timedelta(seconds=2) <= delivery.next_attempt_at <= T0 + dt.timedelta(seconds=8)

        clock.shift(dt.timedelta(seconds=10))
        run_worker()
        delivery.refresh_from_db()
        assert (delivery.status, delivery.last_status_code) == ("pending", 429)
        assert delivery.next_attempt_at >= T0 + dt.timedelta(seconds=130)  # the receiver's Retry-After

        clock.shift(dt.timedelta(seconds=60))
        run_worker()
        assert WebhookDelivery.objects.get().status == "pending"  # not yet: Retry-After is obeyed

        clock.shift(dt.timedelta(seconds=120))
        run_worker()

    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("delivered", 3)
    attempts = list(delivery.attempts_made.values_list("status_code", "outcome", "error"))
    assert attempts == [
        (500, "transient", "HTTP 500: Internal Server Error"),
        (429, "transient", "HTTP 429: Too Many Requests"),
        (200, "accepted", ""),
    ]
    requests = [request for request in fake_providers.requests if request.channel == "webhook"]
    assert len({request.body for request in requests}) == 1  # every attempt sends the same event
    assert all(receiver_verifies(request, now=T0 + dt.timedelta(seconds=190)) for request in requests[-1:])


def test_410_gives_up_at_once_and_keeps_the_answer(organization, endpoint, fake_providers, run_worker):
    fake_providers.fail_next(1, "410", "webhook")
    with time_machine.travel(T0, tick=False) as clock:
        queue(organization)
        run_worker()
        clock.shift(dt.timedelta(hours=2))
        run_worker()
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("failed", 1, 410)
    assert delivery.last_error == "HTTP 410: Gone"
    attempt = WebhookDeliveryAttempt.objects.get()
    assert (attempt.status_code, attempt.outcome, attempt.response_body) == (410, "permanent", "failure on demand")
    assert attempt.request_headers["Candor-Signature"].endswith(",v1=...")  # the signature itself is not kept


def test_a_failed_delivery_can_be_sent_again_by_hand(organization, endpoint, fake_providers, run_worker):
    fake_providers.fail_next(1, "410", "webhook")
    with time_machine.travel(T0, tick=False):
        queue(organization)
        run_worker()
        assert webhook_delivery_retry(delivery=WebhookDelivery.objects.get())
        run_worker()
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.attempts) == ("delivered", 2)


def test_gives_up_after_the_last_attempt(organization, endpoint, fake_providers, run_worker, settings):
    settings.CANDOR_WEBHOOK_MAX_ATTEMPTS = 3
    fake_providers.fail_next(5, "500", "webhook")
    with time_machine.travel(T0, tick=False) as clock:
        queue(organization)
        for _ in range(4):
            run_worker()
            clock.shift(dt.timedelta(hours=1))
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.attempts) == ("failed", 3)
    assert delivery.last_error == "Gave up after 3 attempts. Last: HTTP 500: Internal Server Error"


def test_same_event_twice_queues_one_delivery_and_only_wanted_events_are_sent(organization, endpoint, run_worker):
    other = WebhookEndpoint.objects.create(
        organization=organization,
        name="BI",
        url="https://bi.example/hook",
        secret=SECRET,
        event_types=["survey.answered"],
    )
    with time_machine.travel(T0, tick=False):
        assert queue(organization) == 1
        assert queue(organization) == 0
    assert not other.deliveries.exists()


def test_a_stuck_delivery_is_recovered_by_the_sweep(organization, endpoint, fake_providers, run_worker, settings):
    with time_machine.travel(T0, tick=False) as clock:
        queue(organization)
        WebhookDelivery.objects.update(status="sending", claimed_at=T0, attempts=1, claim="dead-worker")
        clock.shift(dt.timedelta(seconds=settings.CANDOR_WEBHOOK_STUCK_SECONDS + 1))
        assert webhook_sweep()["recovered"] == 1
        run_worker()
    assert WebhookDelivery.objects.get().status == "delivered"
    assert len(fake_providers.received_webhooks()) == 1


@pytest.mark.parametrize(
    ("url", "allow_loopback", "problem"),
    [
        ("https://hooks.example.com/candor", False, None),
        ("http://hooks.example.com/candor", True, "Use an https:// URL: deliveries carry incident details."),
        ("http://127.0.0.1:9000/hook", True, None),
        ("http://127.0.0.1:9000/hook", False, "Use an https:// URL: deliveries carry incident details."),
        ("ftp://hooks.example.com/", True, "Enter an https:// URL."),
    ],
)
def test_endpoints_must_be_https_except_loopback_while_developing(organization, settings, url, allow_loopback, problem):
    settings.CANDOR_WEBHOOK_ALLOW_LOOPBACK_HTTP = allow_loopback
    save = {
        "organization": organization,
        "name": "Ops bot",
        "url": url,
        "event_types": ["incident.created"],
        "known_event_types": ["incident.created"],
    }
    if problem is None:
        endpoint = webhook_endpoint_save(**save)
        assert endpoint.secret.startswith("whsec_") and len(endpoint.secret) > 40
    else:
        with pytest.raises(ValidationError) as error:
            webhook_endpoint_save(**save)
        assert error.value.message_dict == {"url": [problem]}


def test_signature_check_refuses_tampering_replays_and_garbage():
    from comms.outgoing_webhooks.signing import signature_header

    body = b'{"id":"1"}'
    header = signature_header(secret=SECRET, body=body, timestamp=1_700_000_000)
    assert signature_is_valid(secret=SECRET, body=body, header=header, now=1_700_000_010)
    assert not signature_is_valid(secret=SECRET, body=b'{"id":"2"}', header=header, now=1_700_000_010)
    assert not signature_is_valid(secret=SECRET, body=body, header=header, now=1_700_001_000)
    for garbage in ("", "t=abc,v1=00", "v1=00", "nonsense", "t=1700000000"):
        assert not signature_is_valid(secret=SECRET, body=body, header=garbage, now=1_700_000_010)
