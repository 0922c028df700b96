"""Leases: how a live worker says "still mine" and how the work of a dead one is taken back.

A worker holds a lease (a `Lease` row) on each task it runs and on each batch of messages it
claims, and a heartbeat thread in that process renews all of them every
CANDOR_LEASE_RENEW_SECONDS. A lease not renewed for CANDOR_LEASE_SECONDS means the process is gone
(SIGKILL, lost machine): a slow but live batch is never taken away, a dead one is recovered
within seconds. Task leases are taken through the django-tasks worker signals, so every task on
every backend gets one without its code knowing.
"""

import datetime as dt
import logging
import os
import socket
import threading
import uuid

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone
from django.utils.module_loading import import_string

from .models import Lease

logger = logging.getLogger("candor.outbox")


def lease_duration():
    return dt.timedelta(seconds=settings.CANDOR_LEASE_SECONDS)


def lease_acquire(*, token=None, task_result_id="", now=None):
    """Write a lease for this process and keep it renewed until `lease_release`. Returns the token.

    Called inside the transaction that claims the work, so the claim and its lease commit together.
    """
    now = now or timezone.now()
    token = token or uuid.uuid4().hex
    Lease.objects.create(**lease_columns(token=token, now=now), task_result_id=task_result_id)
    heartbeat.hold(token)
    return token


def lease_columns(*, token, now):
    """The values of a new lease row for this process (but `task_result_id`), for `lease_acquire`
    and for a statement that writes its lease itself (the outbox's claim, which then calls
    `heartbeat.hold(token)`)."""
    return {
        "token": token,
        "holder": f"{socket.gethostname()}:{os.getpid()}"[:100],
        "acquired_at": now,
        "expires_at": now + lease_duration(),
    }


def lease_release(*, token):
    """The work is done (or handed back): stop renewing and forget the lease."""
    heartbeat.drop(token)
    Lease.objects.filter(token=token).delete()


def leases_renew(*, tokens, now=None):
    """Push back the expiry of the given leases; what the heartbeat does. Returns how many."""
    if not tokens:
        return 0
    now = now or timezone.now()
    return Lease.objects.filter(token__in=list(tokens)).update(expires_at=now + lease_duration())


def live_lease(*, now, **match):
    """An Exists() expression: a lease not yet expired matching `match` (e.g. token=OuterRef(...))."""
    return Exists(Lease.objects.filter(expires_at__gte=now, **match))


def leases_prune(*, now):
    """Forget leases that expired a while ago (their work has been recovered by then)."""
    return Lease.objects.filter(expires_at__lt=now - 4 * lease_duration()).delete()[0]


class Heartbeat:
    """One thread per process renewing every lease the process holds; it runs only while there
    are leases to renew, and uses its own database connection, which it closes when it stops."""

    def __init__(self):
        self._tokens = set()
        self._lock = threading.Lock()
        self._thread = None

    def hold(self, token):
        with self._lock:
            self._tokens.add(token)
            if self._thread is None and settings.CANDOR_LEASE_RENEW_SECONDS > 0:
                self._thread = threading.Thread(target=self._run, name="candor-heartbeat", daemon=True)
                self._thread.start()

    def drop(self, token):
        with self._lock:
            self._tokens.discard(token)

    @property
    def tokens(self):
        with self._lock:
            return set(self._tokens)

    def _run(self):
        stop = threading.Event()
        try:
            while True:
                stop.wait(settings.CANDOR_LEASE_RENEW_SECONDS)
                with self._lock:
                    tokens = set(self._tokens)
                    if not tokens:
                        self._thread = None
                        return
                try:
                    leases_renew(tokens=tokens)
                except Exception:  # a database hiccup: try again at the next beat
                    logger.exception("Could not renew %d leases", len(tokens))
                    connection.close()
        finally:
            connection.close()


heartbeat = Heartbeat()


# ---------------------------------------------------------------------------------------------
# Task leases, through the django-tasks worker signals


_task_leases = {}


def on_task_started(sender, task_result, **kwargs):
    _task_leases[str(task_result.id)] = lease_acquire(task_result_id=_normal_id(task_result.id))


def on_task_finished(sender, task_result, **kwargs):
    token = _task_leases.pop(str(task_result.id), None)
    if token:
        lease_release(token=token)


def _normal_id(value):
    try:
        return str(uuid.UUID(str(value)))
    except ValueError:
        return str(value)


class LeaseExpired(Exception):
    """The worker running a task stopped renewing its lease: it was killed or lost."""


def stale_tasks_recover(*, now):
    """Mark task rows RUNNING under a dead worker as failed, with the reason, and enqueue each
    task again (our tasks are idempotent: the rows they move are the truth).

    Only the database task backend keeps such rows; other backends (RQ) detect their own
    abandoned jobs. Returns the task paths recovered.
    """
    if settings.TASKS["default"]["BACKEND"] != "django_tasks_db.DatabaseBackend":
        return []
    from django_tasks import TaskResultStatus
    from django_tasks_db.models import DBTaskResult

    running = list(DBTaskResult.objects.filter(status=TaskResultStatus.RUNNING, started_at__lt=now - lease_duration()))
    if not running:
        return []
    alive = set(
        Lease.objects.filter(
            expires_at__gte=now, task_result_id__in=[_normal_id(row.id) for row in running]
        ).values_list("task_result_id", flat=True)
    )
    recovered = []
    for row in running:
        if _normal_id(row.id) in alive:
            continue
        reason = (
            f"{LeaseExpired.__module__}.{LeaseExpired.__qualname__}: the worker {row.worker_ids[-1:] or '?'} "
            f"stopped renewing its lease (started {row.started_at:%Y-%m-%d %H:%M:%S} UTC, not renewed for "
            f"{settings.CANDOR_LEASE_SECONDS:g} s); recovered {now:%Y-%m-%d %H:%M:%S} UTC and enqueued again."
        )
        with transaction.atomic():
            taken = DBTaskResult.objects.filter(pk=row.pk, status=TaskResultStatus.RUNNING).update(
                status=TaskResultStatus.FAILED,
                finished_at=now,
                return_value=None,
                exception_class_path=f"{LeaseExpired.__module__}.{LeaseExpired.__qualname__}",
                traceback=reason,
            )
            if not taken:
                continue
            try:
                task = import_string(row.task_path)
            except ImportError:
                logger.warning("Task %s of a dead worker no longer exists (%s): marked failed.", row.pk, row.task_path)
                continue
            args_kwargs = row.args_kwargs or {}
            task.using(queue_name=row.queue_name, priority=row.priority).enqueue(
                *args_kwargs.get("args", []), **args_kwargs.get("kwargs", {})
            )
        recovered.append(row.task_path)
    if recovered:
        logger.warning("Recovered %d tasks of a dead worker: %s", len(recovered), ", ".join(sorted(set(recovered))))
    return recovered


def alive_claims(*, now):
    """Exists() for a message's claim still covered by a live lease."""
    return live_lease(now=now, token=OuterRef("claim"))
