"""Health checks, the Prometheus page and searchable logs, as an operator and Prometheus see them.
Delivery runs on both task backends: the sent count and the task gauges come from either."""

import datetime as dt
import json
import logging

import pytest
import time_machine
from prometheus_client.parser import text_string_to_metric_families

from candor.logging import JsonFormatter, request_id_var
from comms.models import Message, MessageStatus
from tests.comms.conftest import (  # noqa: F401  # noqa: F401
    T0,
    cast_of_contacts,
    fake_providers,
    fake_providers_server,
    live_incident,
    provider_settings,
    publish_first_update,
)
from tests.comms.webhook_helpers import post_twilio
from tests.conftest import needs_redis

METRICS_TOKEN = "scrape-token-for-tests"


@pytest.fixture(autouse=True)
def metrics_settings(settings):
    settings.CANDOR_METRICS_TOKEN = METRICS_TOKEN
    settings.CANDOR_METRICS_ALLOWED_IPS = ["10.0.0.0/8"]
    return settings


def scrape(client):
    response = client.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain; version=")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.content.decode())
        for sample in family.samples
    }


def value(samples, name, **labels):
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def total(samples, name, **labels):
    """Sum of the samples of `name` whose labels include these."""
    return sum(
        found
        for (sample_name, sample_labels), found in samples.items()
        if sample_name == name and set(labels.items()) <= set(sample_labels)
    )


def test_liveness_answers_without_looking_at_anything(client):
    response = client.get("/health/")
    assert response.status_code == 200 and response.json() == {"status": "ok"}


def test_readiness_checks_database_cache_and_task_queue(client, db, task_backend):
    response = client.get("/health/ready/")
    assert response.status_code == 200
    assert response.json()["checks"] == {"database": "ok", "cache": "ok", "task_queue": "ok", "queue_lag": "ok"}


def test_readiness_fails_naming_the_lag_when_due_messages_wait_too_long(client, live_incident, alice, settings):
    with time_machine.travel(T0, tick=False):
        publish_first_update(live_incident, alice)
    later = T0 + dt.timedelta(seconds=settings.CANDOR_READY_MAX_QUEUE_LAG_SECONDS + 60)
    with time_machine.travel(later, tick=False):
        response = client.get("/health/ready/")
    assert response.status_code == 503
    checks = response.json()["checks"]
    assert checks["database"] == "ok"
    assert checks["queue_lag"].startswith("failed: the oldest due message has waited 360 s for a worker")


def test_readiness_names_an_unreachable_task_queue(client, db, settings):
    settings.TASKS = {"default": {"BACKEND": settings.TASK_BACKENDS["rq"], "QUEUES": settings.CANDOR_TASK_QUEUES}}
    settings.RQ_QUEUES = {name: {"URL": "redis://127.0.0.1:1/0"} for name in settings.CANDOR_TASK_QUEUES}
    response = client.get("/health/ready/")
    assert response.status_code == 503
    assert response.json()["checks"]["task_queue"].startswith("failed: Error 111 connecting to 127.0.0.1:1")


def test_metrics_refuse_strangers_and_answer_a_token_or_an_allowed_address(client, db):
    assert client.get("/metrics").status_code == 403  # the test client comes from 127.0.0.1
    assert client.get("/metrics", headers={"Authorization": "Bearer guessed"}).status_code == 403
    assert client.get("/metrics", REMOTE_ADDR="10.1.2.3").status_code == 200
    assert client.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}).status_code == 200


def test_metrics_show_what_was_sent_and_what_waits(
    client, live_incident, alice, provider_settings, fake_providers, run_worker, task_backend
):
    before = scrape(client)
    with time_machine.travel(T0, tick=False):
        publish_first_update(live_incident, alice)
        waiting = scrape(client)
        run_worker()
        after = scrape(client)

    assert value(waiting, "candor_outbox_due_messages", channel="sms") == 2
    assert value(waiting, "candor_outbox_due_messages", channel="email") == 3
    assert value(after, "candor_outbox_due_messages", channel="sms") == 0
    assert value(after, "candor_messages", channel="sms", status="sent") == 2
    assert value(after, "candor_messages", channel="email", status="sent") == 3
    accepted = {"channel": "sms", "provider": "twilio", "outcome": "accepted"}
    assert (
        value(after, "candor_provider_messages_total", **accepted)
        - value(before, "candor_provider_messages_total", **accepted)
    ) == 2
    latency = {"channel": "email", "provider": "sendgrid"}
    assert (
        value(after, "candor_provider_request_seconds_count", **latency)
        - value(before, "candor_provider_request_seconds_count", **latency)
    ) >= 1
    assert value(after, "candor_promises_due", state="open") == 1
    assert value(after, "candor_deadlines_due", state="open") == 1
    if task_backend == "rq":
        assert value(after, "candor_tasks", queue="timers", state="SCHEDULED") == 5  # promise and deadline timers
    else:
        assert value(after, "candor_tasks", queue="timers", state="READY") == 5  # and 3 deadline alerts


def test_transient_errors_count_as_retries_by_error_class(
    client, live_incident, alice, provider_settings, fake_providers, run_worker
):
    retried = {"channel": "sms", "provider": "twilio"}
    before = total(scrape(client), "candor_delivery_retries_total", **retried)
    fake_providers.fail_next(2, "500", channel="sms")
    with time_machine.travel(T0, tick=False):
        publish_first_update(live_incident, alice)
        run_worker()
    after = scrape(client)
    assert total(after, "candor_delivery_retries_total", **retried) - before == 2
    classes = {dict(labels)["error_class"] for name, labels in after if name == "candor_delivery_retries_total"}
    assert "20500" in classes  # Twilio's own code for its internal error


def test_forged_webhooks_are_counted(client, db, settings):
    settings.TWILIO_AUTH_TOKEN = "the-real-token"
    refused = {"provider": "twilio", "hook": "status"}
    before = value(scrape(client), "candor_webhook_refused_total", **refused)
    response = post_twilio(
        client, "/hooks/twilio/status/", {"MessageSid": "SM1", "MessageStatus": "delivered"}, token="a-forger"
    )
    assert response.status_code == 403
    assert value(scrape(client), "candor_webhook_refused_total", **refused) - before == 1


def test_every_response_carries_the_request_id_the_proxy_gave(client, db):
    response = client.get("/health/", headers={"X-Request-ID": "req-abc.123"})
    assert response["X-Request-ID"] == "req-abc.123"
    generated = client.get("/health/", headers={"X-Request-ID": "not acceptable; id"})["X-Request-ID"]
    assert len(generated) == 32 and generated.isalnum()


def test_production_logs_are_one_json_object_per_line_with_the_context():
    record = logging.LogRecord(
        "candor.delivery", logging.INFO, __file__, 1, "Message %s: sms %s at %s", (7, "accepted", "twilio"), None
    )
    record.message_id, record.provider, record.outcome, record.incident = 7, "twilio", "accepted", 42
    token = request_id_var.set("req-1")
    try:
        line = JsonFormatter().format(record)
    finally:
        request_id_var.reset(token)
    assert "\n" not in line
    assert json.loads(line) | {"time": "t"} == {
        "time": "t",
        "level": "INFO",
        "logger": "candor.delivery",
        "message": "Message 7: sms accepted at twilio",
        "request_id": "req-1",
        "message_id": 7,
        "provider": "twilio",
        "outcome": "accepted",
        "incident": 42,
    }


@needs_redis()
def test_readiness_on_rq_pings_redis_and_metrics_count_rq_workers(client, db, redis_test_db, settings):
    settings.TASKS = {"default": {"BACKEND": settings.TASK_BACKENDS["rq"], "QUEUES": settings.CANDOR_TASK_QUEUES}}
    settings.RQ_QUEUES = {name: {"URL": redis_test_db} for name in settings.CANDOR_TASK_QUEUES}
    assert client.get("/health/ready/").json()["checks"]["task_queue"] == "ok"
    assert value(scrape(client), "candor_task_workers") == 0  # none running: the "worker gone" alert fires


def test_sent_messages_count_only_once_in_the_gauge(client, live_incident, alice):
    with time_machine.travel(T0, tick=False):
        publish_first_update(live_incident, alice)
    Message.objects.filter(channel="sms").update(status=MessageStatus.FAILED)
    samples = scrape(client)
    assert value(samples, "candor_messages", channel="sms", status="failed") == 2
    assert value(samples, "candor_messages", channel="sms", status="queued") == 0


def test_a_request_log_line_never_holds_a_clients_signed_link(client, db, caplog):
    with caplog.at_level("INFO", logger="candor.http"):
        client.get("/s/secret-link-token-123/")
        client.get("/p/another-secret-456/unsubscribe/")
    lines = [record for record in caplog.records if record.name == "candor.http"]
    assert [record.getMessage().split(" ")[1] for record in lines] == ["/s/<token>/", "/p/<token>/unsubscribe/"]
    assert all("secret" not in record.path for record in lines)
