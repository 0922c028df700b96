"""Prometheus metrics. Counters and histograms are counted where things happen (a provider call,
a refused webhook, an HTTP request); gauges about rows are read from the database when Prometheus
scrapes (see collectors.py), so every web process reports the same truth.

Under gunicorn and RQ, set PROMETHEUS_MULTIPROC_DIR to an empty directory shared by the processes
of one machine: prometheus-client then keeps each process's counts in a file there and /metrics
adds them up.
"""

import logging
import os
import time

from django.conf import settings
from django.utils.module_loading import import_string
from prometheus_client import (
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)

from ..providers.base import Outcome

logger = logging.getLogger("candor.delivery")

PROVIDER_MESSAGES = Counter(
    "candor_provider_messages",
    "Messages handed to a provider, by what it answered (accepted, transient, permanent).",
    ["channel", "provider", "outcome"],
)
PROVIDER_SECONDS = Histogram(
    "candor_provider_request_seconds",
    "Time one batch took at the provider (an SMS batch runs its requests concurrently).",
    ["channel", "provider"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120),
)
DELIVERY_RETRIES = Counter(
    "candor_delivery_retries",
    "Messages put back in the queue after a transient provider error, by error class.",
    ["channel", "provider", "error_class"],
)
WEBHOOKS_REFUSED = Counter(
    "candor_webhook_refused",
    "Provider webhook requests refused because their signature was missing, forged or stale.",
    ["provider", "hook"],
)
HTTP_SECONDS = Histogram(
    "candor_http_request_seconds",
    "Time to answer an HTTP request, by route pattern and status class.",
    ["method", "route", "status"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)


def record_delivery(*, channel, provider, results, seconds):
    """Count one provider batch: its outcomes, its time, and its retries by error class; and log
    one line per message, so an operator can search a message id."""
    PROVIDER_SECONDS.labels(channel, provider).observe(seconds)
    for result in results:
        PROVIDER_MESSAGES.labels(channel, provider, result.outcome).inc()
        logger.info(
            "Message %s: %s %s at %s%s",
            result.message_id,
            channel,
            result.outcome,
            provider,
            f" ({result.error_code})" if result.error_code else "",
            extra={
                "message_id": result.message_id,
                "channel": channel,
                "provider": provider,
                "outcome": result.outcome,
                "error_code": result.error_code,
            },
        )
        if result.outcome == Outcome.TRANSIENT:
            DELIVERY_RETRIES.labels(channel, provider, result.error_code or "unclassified").inc()


class Timer:
    """with Timer() as timer: ...; timer.seconds"""

    def __enter__(self):
        self.started = time.perf_counter()
        return self

    def __exit__(self, *exc_info):
        self.seconds = time.perf_counter() - self.started


def _database_collectors():
    registry = CollectorRegistry(auto_describe=False)
    for path in settings.CANDOR_METRICS_COLLECTORS:
        registry.register(import_string(path)())
    return registry


def exposition():
    """The Prometheus text page: counts of every process (multiprocess mode) or of this one,
    then the gauges read from the database now."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        counted = CollectorRegistry()
        multiprocess.MultiProcessCollector(counted)
    else:
        counted = REGISTRY
    return generate_latest(counted) + generate_latest(_database_collectors())
