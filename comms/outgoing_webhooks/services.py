"""Use cases of outgoing webhooks: register an endpoint, queue an event's deliveries, deliver
them with retries and backoff, retry one by hand, and sweep what a stopped worker left behind.

Every attempt is a WebhookDeliveryAttempt row with what was sent and what came back. An answer is
classified as for the team channels (comms.providers.base.result_for_http_status): 2xx delivered;
408, 429 and 5xx retried after Retry-After or with backoff; anything else given up at once.
"""

import datetime as dt
import ipaddress
import json
import logging
import secrets
import time
import uuid
from urllib.parse import urlsplit

import requests
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from candor.helpers import enqueue_task

from ..models import WebhookDelivery, WebhookDeliveryAttempt, WebhookDeliveryStatus, WebhookEndpoint
from ..providers.base import Outcome, result_for_http_status
from ..services import retry_delay
from .signing import EVENT_ID_HEADER, EVENT_TYPE_HEADER, SIGNATURE_HEADER, signature_header

logger = logging.getLogger("candor.webhooks")

RESPONSE_BODY_KEPT = 2000
USER_AGENT = "Candor-Webhooks/1"


# ---------------------------------------------------------------------------------------------
# Endpoints


def webhook_url_problem(url):
    """Why this URL cannot receive webhooks, or "" when it can: HTTPS only, except plain http to
    a loopback address while CANDOR_WEBHOOK_ALLOW_LOOPBACK_HTTP is on (tests, development)."""
    parts = urlsplit(url or "")
    if parts.scheme == "https" and parts.hostname:
        return ""
    if parts.scheme == "http" and parts.hostname:
        if settings.CANDOR_WEBHOOK_ALLOW_LOOPBACK_HTTP and _is_loopback(parts.hostname):
            return ""
        return "Use an https:// URL: deliveries carry incident details."
    return "Enter an https:// URL."


def _is_loopback(host):
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def webhook_secret_generate():
    return "whsec_" + secrets.token_urlsafe(32)


@transaction.atomic
def webhook_endpoint_save(*, organization, name, url, event_types, known_event_types, endpoint=None, is_active=True):
    """Create (or change) an endpoint of the organisation, with a new secret when created.

    `known_event_types` is the caller's catalogue: an unknown type is a field error, as is a URL
    that is not HTTPS. Raises ValidationError with field messages.
    """
    errors = {}
    if not (name or "").strip():
        errors["name"] = "Name the endpoint, e.g. the system that receives it."
    problem = webhook_url_problem(url)
    if problem:
        errors["url"] = problem
    unknown = sorted(set(event_types) - set(known_event_types))
    if unknown:
        errors["event_types"] = f"Unknown event types: {', '.join(unknown)}. Known: {', '.join(known_event_types)}."
    if errors:
        raise ValidationError(errors)
    if endpoint is None:
        endpoint = WebhookEndpoint(organization=organization, secret=webhook_secret_generate())
    endpoint.name = name.strip()
    endpoint.url = url
    endpoint.event_types = sorted(set(event_types))
    endpoint.is_active = is_active
    endpoint.save()
    return endpoint


@transaction.atomic
def webhook_endpoint_rotate_secret(*, endpoint):
    """A new secret; deliveries signed from now on use it (pending retries included)."""
    endpoint.secret = webhook_secret_generate()
    endpoint.save(update_fields=["secret"])
    return endpoint


# ---------------------------------------------------------------------------------------------
# Queueing


def _enqueue(run_after=None, batches=1):
    from .tasks import deliver_webhooks

    for _ in range(batches):
        enqueue_task(deliver_webhooks, run_after=run_after)


@transaction.atomic
def webhook_deliveries_queue(*, organization, event_type, source, topic, data, at=None):
    """Queue one delivery of this event to each active endpoint of the organisation that wants it.

    `source` names what caused the event, once ("incident:42:created"): queueing it again creates
    nothing new. The body is fixed now, so every retry sends (and signs) the same bytes. Returns the
    number of deliveries queued now.
    """
    at = at or timezone.now()
    endpoints = [
        endpoint
        for endpoint in WebhookEndpoint.objects.filter(organization=organization, is_active=True)
        if endpoint.wants(event_type)
    ]
    if not endpoints:
        return 0
    rows = []
    for endpoint in endpoints:
        event_id = uuid.uuid4()
        body = {"id": str(event_id), "type": event_type, "created_at": at.isoformat(), "data": data}
        rows.append(
            WebhookDelivery(
                endpoint=endpoint,
                event_type=event_type,
                event_id=event_id,
                topic=topic,
                source=source,
                body=json.dumps(body, separators=(",", ":"), sort_keys=True, default=str),
                next_attempt_at=at,
                created_at=at,
            )
        )
    before = WebhookDelivery.objects.filter(source=source, endpoint__in=endpoints).count()
    WebhookDelivery.objects.bulk_create(rows, ignore_conflicts=True)
    created = WebhookDelivery.objects.filter(source=source, endpoint__in=endpoints).count() - before
    if created:
        _enqueue()
    return created


# ---------------------------------------------------------------------------------------------
# Delivery


def _claim(limit, now):
    token = uuid.uuid4().hex
    with transaction.atomic():
        ids = list(
            WebhookDelivery.objects.select_for_update(skip_locked=True)
            .filter(status=WebhookDeliveryStatus.PENDING, next_attempt_at__lte=now)
            .order_by("next_attempt_at", "id")
            .values_list("pk", flat=True)[:limit]
        )
        WebhookDelivery.objects.filter(pk__in=ids, status=WebhookDeliveryStatus.PENDING).update(
            status=WebhookDeliveryStatus.SENDING, claim=token, claimed_at=now, attempts=F("attempts") + 1
        )
    return list(WebhookDelivery.objects.select_related("endpoint").filter(claim=token, pk__in=ids).order_by("id"))


def webhook_deliver_batch(*, limit=None):
    """Claim the due deliveries, post each, record the attempt and move the row on. Returns the
    number handled. Safe to run in many workers at once."""
    deliveries = _claim(limit or settings.CANDOR_WEBHOOK_BATCH_SIZE, timezone.now())
    retry_at = None
    for delivery in deliveries:
        next_at = _deliver_one(delivery)
        if next_at is not None:
            retry_at = min(retry_at or next_at, next_at)
    if retry_at is not None:
        with transaction.atomic():
            _enqueue(run_after=retry_at)
    return len(deliveries)


def _deliver_one(delivery):
    """Post one delivery; returns when to try again, or None."""
    endpoint = delivery.endpoint
    body = delivery.body.encode()
    started_at = timezone.now()
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        EVENT_TYPE_HEADER: delivery.event_type,
        EVENT_ID_HEADER: str(delivery.event_id),
        SIGNATURE_HEADER: signature_header(secret=endpoint.secret, body=body, timestamp=int(time.time())),
    }
    status_code, response_body = None, ""
    started = time.monotonic()
    if not endpoint.is_active or webhook_url_problem(endpoint.url):
        result = None
        outcome, error = Outcome.PERMANENT, "The endpoint is switched off or its URL is no longer allowed."
        retry_after = None
    else:
        try:
            response = requests.post(
                endpoint.url,
                data=body,
                headers=headers,
                timeout=settings.CANDOR_WEBHOOK_TIMEOUT_SECONDS,
                allow_redirects=False,  # a redirect could carry the signed body somewhere else
            )
        except requests.exceptions.Timeout as exc:
            result = None
            outcome, error, retry_after = Outcome.TRANSIENT, f"timeout: {exc}", None
        except requests.exceptions.RequestException as exc:
            result = None
            outcome, error, retry_after = Outcome.TRANSIENT, f"connection: {exc}", None
        else:
            status_code, response_body = response.status_code, response.text[:RESPONSE_BODY_KEPT]
            result = result_for_http_status(
                delivery.pk, status_code, headers=response.headers, description=response.reason or ""
            )
            outcome, error, retry_after = result.outcome, result.error, result.retry_after_seconds
    duration_ms = int((time.monotonic() - started) * 1000)
    shown_headers = {name: value for name, value in headers.items() if name != SIGNATURE_HEADER}
    return _record_attempt(
        delivery,
        started_at=started_at,
        duration_ms=duration_ms,
        headers={**shown_headers, SIGNATURE_HEADER: headers[SIGNATURE_HEADER].split(",v1=")[0] + ",v1=..."},
        status_code=status_code,
        response_body=response_body,
        outcome=outcome,
        error=error,
        retry_after=retry_after,
    )


@transaction.atomic
def _record_attempt(
    delivery, *, started_at, duration_ms, headers, status_code, response_body, outcome, error, retry_after
):
    now = timezone.now()
    WebhookDeliveryAttempt.objects.create(
        delivery=delivery,
        started_at=started_at,
        duration_ms=duration_ms,
        request_headers=headers,
        status_code=status_code,
        response_body=response_body,
        outcome=outcome,
        error=error,
    )
    mine = WebhookDelivery.objects.filter(pk=delivery.pk, claim=delivery.claim, status=WebhookDeliveryStatus.SENDING)
    if outcome == Outcome.ACCEPTED:
        mine.update(
            status=WebhookDeliveryStatus.DELIVERED, delivered_at=now, last_status_code=status_code, last_error=""
        )
        return None
    if outcome == Outcome.TRANSIENT and delivery.attempts < settings.CANDOR_WEBHOOK_MAX_ATTEMPTS:
        next_at = now + dt.timedelta(seconds=retry_delay(delivery.attempts, retry_after))
        mine.update(
            status=WebhookDeliveryStatus.PENDING,
            next_attempt_at=next_at,
            last_status_code=status_code,
            last_error=error,
        )
        return next_at
    if outcome == Outcome.TRANSIENT:
        error = f"Gave up after {delivery.attempts} attempts. Last: {error}"
    mine.update(status=WebhookDeliveryStatus.FAILED, failed_at=now, last_status_code=status_code, last_error=error)
    logger.warning("Webhook delivery %s to %s failed: %s", delivery.pk, delivery.endpoint.url, error)
    return None


@transaction.atomic
def webhook_delivery_retry(*, delivery):
    """Send a failed delivery again now, with the same event id and body (a person asked)."""
    updated = WebhookDelivery.objects.filter(pk=delivery.pk, status=WebhookDeliveryStatus.FAILED).update(
        status=WebhookDeliveryStatus.PENDING, next_attempt_at=timezone.now(), failed_at=None
    )
    if updated:
        _enqueue()
    return bool(updated)


def webhook_sweep(*, now=None):
    """Put back deliveries a stopped worker left in 'sending', and make sure due ones have a task."""
    now = now or timezone.now()
    stuck_before = now - dt.timedelta(seconds=settings.CANDOR_WEBHOOK_STUCK_SECONDS)
    neglected_before = now - dt.timedelta(seconds=settings.CANDOR_SWEEP_GRACE_SECONDS)
    with transaction.atomic():
        recovered = WebhookDelivery.objects.filter(
            status=WebhookDeliveryStatus.SENDING, claimed_at__lt=stuck_before
        ).update(
            status=WebhookDeliveryStatus.PENDING,
            claim="",
            next_attempt_at=now,
            last_error="Recovered from a worker that stopped while sending.",
        )
        due = (
            recovered
            + WebhookDelivery.objects.filter(
                status=WebhookDeliveryStatus.PENDING, next_attempt_at__lte=neglected_before
            ).count()
        )
        if due:
            _enqueue(batches=-(-due // settings.CANDOR_WEBHOOK_BATCH_SIZE))
    if recovered:
        logger.warning("Recovered %s webhook deliveries left in 'sending' by a stopped worker.", recovered)
    return {"recovered": recovered, "due": due}
