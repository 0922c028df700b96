"""/health/ (liveness), /health/ready/ (can this instance do its work) and /metrics (Prometheus)."""

import ipaddress
import secrets
import uuid

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.http import HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from prometheus_client import CONTENT_TYPE_LATEST

from .collectors import oldest_due_message_age, uses_rq
from .metrics import exposition


@never_cache
def health(request):
    """The process answers: nothing else is checked, so a slow database never restarts the web."""
    return JsonResponse({"status": "ok"})


def _check_database():
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


def _check_cache():
    key = f"candor:ready:{uuid.uuid4().hex}"
    cache.set(key, "1", 10)
    if cache.get(key) != "1":
        raise RuntimeError("the cache did not return what was just stored")
    cache.delete(key)


def _check_task_queue():
    if uses_rq():
        import django_rq

        django_rq.get_connection(settings.CANDOR_TASK_QUEUES[0]).ping()
    else:
        from django_tasks_db.models import DBTaskResult

        DBTaskResult.objects.exists()


def _check_queue_lag():
    lag = oldest_due_message_age()
    if lag > settings.CANDOR_READY_MAX_QUEUE_LAG_SECONDS:
        raise RuntimeError(
            f"the oldest due message has waited {lag:.0f} s for a worker "
            f"(more than CANDOR_READY_MAX_QUEUE_LAG_SECONDS={settings.CANDOR_READY_MAX_QUEUE_LAG_SECONDS})"
        )


CHECKS = {
    "database": _check_database,
    "cache": _check_cache,
    "task_queue": _check_task_queue,
    "queue_lag": _check_queue_lag,
}


@never_cache
def ready(request):
    """200 when the database, the cache and the task queue answer and the outbox is not falling
    behind; 503 naming what failed otherwise."""
    results, healthy = {}, True
    for name, check in CHECKS.items():
        try:
            check()
            results[name] = "ok"
        except Exception as error:
            results[name] = f"failed: {error}"
            healthy = False
    return JsonResponse(
        {"status": "ok" if healthy else "unavailable", "checks": results}, status=200 if healthy else 503
    )


def _metrics_allowed(request):
    token = settings.CANDOR_METRICS_TOKEN
    if token:
        given = request.headers.get("Authorization", "")
        if secrets.compare_digest(given.encode(), f"Bearer {token}".encode()):
            return True
    try:
        address = ipaddress.ip_address(request.META.get("REMOTE_ADDR", ""))
    except ValueError:
        return False
    return any(
        address in ipaddress.ip_network(allowed, strict=False) for allowed in settings.CANDOR_METRICS_ALLOWED_IPS
    )


@never_cache
def metrics(request):
    """Prometheus text format, for a bearer token (CANDOR_METRICS_TOKEN) or an allowed address
    (CANDOR_METRICS_ALLOWED_IPS, loopback by default); anyone else gets 403."""
    if not _metrics_allowed(request):
        return HttpResponse(
            "Metrics need a bearer token or an allowed address.\n", status=403, content_type="text/plain"
        )
    return HttpResponse(exposition(), content_type=CONTENT_TYPE_LATEST)
