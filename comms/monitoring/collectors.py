"""Gauges computed from the database (and Redis) at scrape time: the outbox and the task engine."""

import datetime as dt

from django.conf import settings
from django.db.models import Count, Min
from django.utils import timezone
from prometheus_client.core import GaugeMetricFamily

from ..models import Message, MessageStatus


class OutboxCollector:
    """Messages by channel and status, and per channel how many are due now and since when."""

    def collect(self):
        now = timezone.now()
        by_status = GaugeMetricFamily(
            "candor_messages", "Messages in the outbox by channel and status.", labels=["channel", "status"]
        )
        for row in Message.objects.values("channel", "status").annotate(count=Count("id")).order_by():
            by_status.add_metric([row["channel"], row["status"]], row["count"])
        yield by_status
        depth = GaugeMetricFamily(
            "candor_outbox_due_messages", "Queued messages due now: the delivery backlog.", labels=["channel"]
        )
        oldest = GaugeMetricFamily(
            "candor_outbox_oldest_due_seconds",
            "Age of the oldest queued message due now (0 when none).",
            labels=["channel"],
        )
        due = (
            Message.objects.filter(status=MessageStatus.QUEUED, next_attempt_at__lte=now)
            .values("channel")
            .annotate(count=Count("id"), oldest=Min("next_attempt_at"))
            .order_by()
        )
        found = {row["channel"]: row for row in due}
        for channel in ("email", "sms"):
            row = found.get(channel)
            depth.add_metric([channel], row["count"] if row else 0)
            oldest.add_metric([channel], (now - row["oldest"]).total_seconds() if row else 0)
        yield depth
        yield oldest


def oldest_due_message_age(now=None):
    """Seconds the oldest due message has waited for a worker (0 when the outbox is drained)."""
    now = now or timezone.now()
    oldest = Message.objects.filter(status=MessageStatus.QUEUED, next_attempt_at__lte=now).aggregate(
        at=Min("next_attempt_at")
    )["at"]
    return (now - oldest).total_seconds() if oldest else 0.0


def uses_rq():
    return settings.TASKS["default"]["BACKEND"] == settings.TASK_BACKENDS["rq"]


class TaskCollector:
    """Tasks by queue and state, and the workers serving them, on whichever engine runs."""

    def collect(self):
        tasks = GaugeMetricFamily("candor_tasks", "Background tasks by queue and state.", labels=["queue", "state"])
        workers = GaugeMetricFamily(
            "candor_task_workers",
            "Task workers alive (RQ reports them; the database "
            "engine does not, watch candor_task_oldest_ready_seconds).",
        )
        lag = GaugeMetricFamily(
            "candor_task_oldest_ready_seconds", "How long the oldest task ready to run has waited (0 when none)."
        )
        if uses_rq():
            yield from self._rq(tasks, workers, lag)
        else:
            yield from self._database(tasks, lag)

    def _database(self, tasks, lag):
        from django_tasks_db.models import DBTaskResult

        for row in DBTaskResult.objects.values("queue_name", "status").annotate(count=Count("id")).order_by():
            tasks.add_metric([row["queue_name"], row["status"]], row["count"])
        oldest = DBTaskResult.objects.ready().aggregate(at=Min("enqueued_at"))["at"]
        lag.add_metric([], (timezone.now() - oldest).total_seconds() if oldest else 0)
        yield tasks
        yield lag

    def _rq(self, tasks, workers, lag):
        import django_rq
        from rq import Worker

        oldest_wait = 0.0
        now = dt.datetime.now(dt.UTC)
        for name in settings.CANDOR_TASK_QUEUES:
            queue = django_rq.get_queue(name)
            tasks.add_metric([name, "READY"], queue.count)
            tasks.add_metric([name, "SCHEDULED"], queue.scheduled_job_registry.count)
            tasks.add_metric([name, "RUNNING"], queue.started_job_registry.count)
            tasks.add_metric([name, "FAILED"], queue.failed_job_registry.count)
            first = queue.get_jobs(0, 1)
            if first and first[0].enqueued_at:
                enqueued_at = first[0].enqueued_at
                if enqueued_at.tzinfo is None:  # RQ stores UTC without a zone
                    enqueued_at = enqueued_at.replace(tzinfo=dt.UTC)
                oldest_wait = max(oldest_wait, (now - enqueued_at).total_seconds())
        workers.add_metric([], Worker.count(connection=django_rq.get_connection(settings.CANDOR_TASK_QUEUES[0])))
        lag.add_metric([], oldest_wait)
        yield tasks
        yield workers
        yield lag
