"""Shared fixtures: two organisations and a small cast.

Northwind (the organisation under test): alice is a commander, bob a communicator, carol in
leadership, dave an admin, frank a second commander. Globex (another tenant): eve, a commander.
"""

import datetime as dt
import functools
import io
import logging
import os
import re
from urllib.parse import urlsplit

import pytest
from django.test import override_settings

from accounts.models import ClientAccount, Contact, Organization, Role, SmsConsent, User

FINAL_NOTICE_STAGES = {"resolved", "completed"}
_PROMISE_SENTENCE = re.compile(r"[^.。\n]*\{\{ next_update_at \}\}[^.。\n]*[.。]?")


def words_for_stage(stage, text):
    """A test playbook's words for a stage: a final notice (resolved, completed) promises no next
    update, so its sentence about the next update is left out."""
    return _PROMISE_SENTENCE.sub("", text) if stage in FINAL_NOTICE_STAGES else text


ESTABLISHED_AT = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)


def make_user(username, organization, role, **extra):
    return User.objects.create_user(
        username=username, password="pw-" + username, organization=organization, role=role, **extra
    )


def make_client(organization, name="Acme GmbH", **extra):
    extra.setdefault("country", "DE")
    extra.setdefault("default_language", "de")
    extra.setdefault("timezone", "Europe/Berlin")
    return ClientAccount.objects.create(organization=organization, name=name, **extra)


def make_contact(client, name="Anna Schmidt", **extra):
    extra.setdefault("email", name.lower().replace(" ", ".") + "@example.com")
    if extra.get("phone"):
        extra.setdefault("accepts_sms", True)
        extra.setdefault("sms_consent", SmsConsent.GRANTED)
    return Contact.objects.create(client=client, name=name, **extra)


@pytest.fixture(autouse=True)
def fresh_cache():
    """Rate-limit counters and cached pages start empty in every test."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    """Tests create many users; the production hasher is slow on purpose."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(scope="session", autouse=True)
def no_heartbeat_thread():
    """Leases are renewed by hand in tests, under the controlled clock, never by a thread: not in a
    test and not in a module's fixture either (the demo loader runs tasks). A heartbeat thread that
    outlives its test keeps failing to renew, and its tracebacks are formatted with ast.parse, which
    on CPython 3.11 races with another thread's ast.parse ("AST constructor recursion depth
    mismatch") and crashed the session."""
    with override_settings(CANDOR_LEASE_RENEW_SECONDS=0):
        yield


@pytest.fixture
def organization(db):
    # Northwind has used Candor for years: incidents detected before "now" are not before it existed.
    return Organization.objects.create(
        name="Northwind", slug="northwind", country="DE", timezone="Europe/Berlin", created_at=ESTABLISHED_AT
    )


@pytest.fixture
def other_organization(db):
    return Organization.objects.create(
        name="Globex", slug="globex", country="US", timezone="America/New_York", created_at=ESTABLISHED_AT
    )


@pytest.fixture
def alice(organization):
    return make_user("alice", organization, Role.COMMANDER)


@pytest.fixture
def frank(organization):
    return make_user("frank", organization, Role.COMMANDER)


@pytest.fixture
def bob(organization):
    return make_user("bob", organization, Role.COMMUNICATOR)


@pytest.fixture
def carol(organization):
    return make_user("carol", organization, Role.LEADERSHIP)


@pytest.fixture
def dave(organization):
    return make_user("dave", organization, Role.ADMIN, is_staff=True)


@pytest.fixture
def eve(other_organization):
    return make_user("eve", other_organization, Role.COMMANDER)


# ---------------------------------------------------------------------------------------------
# Task backends: the delivery, timer and recovery tests run on the database backend and on RQ.

BOTH_TASK_BACKENDS = {
    "tests/comms/test_publish_delivery.py",
    "tests/playbooks/test_cadence.py",
    "tests/playbooks/test_deadlines_clock.py",
    "tests/debriefs/test_surveys.py",
    "tests/client_side/test_acknowledgements.py",
    "tests/comms/test_rq_engine.py",
    "tests/monitoring/test_health_and_metrics.py",
}


def pytest_generate_tests(metafunc):
    """Tests of the modules above that run a worker run once per task backend, unless marked
    `database_tasks_only` (they read the database backend's task rows)."""
    path = metafunc.definition.path.relative_to(metafunc.config.rootpath).as_posix()
    if (
        "task_backend" in metafunc.fixturenames
        and path in BOTH_TASK_BACKENDS
        and not metafunc.definition.get_closest_marker("database_tasks_only")
    ):
        metafunc.parametrize("task_backend", ["database", pytest.param("rq", marks=needs_redis())], indirect=True)


_REDIS_TEST_DATABASES = range(15, 8, -1)  # flushed by the tests; database 8 holds who uses which
_redis_test_database = None


def _release_redis_test_database(registry, key):
    if int(registry.get(key) or 0) == os.getpid():
        registry.delete(key)


def _claim_redis_test_database(base):
    """A Redis database of its own for this test run: two runs on one machine (two checkouts, CI and a
    developer) flushing the same database would delete each other's jobs. Claimed in database 8 by
    process id; a claim of a process that is gone is taken over. Database 15 when Redis is down."""
    import atexit

    import redis

    registry = redis.Redis.from_url(urlsplit(base)._replace(path="/8").geturl(), socket_connect_timeout=0.5)
    try:
        for number in _REDIS_TEST_DATABASES:
            key = f"candor:test-run:{number}"
            if not registry.set(key, os.getpid(), nx=True, ex=6 * 3600):
                holder = int(registry.get(key) or 0)
                try:
                    os.kill(holder, 0)
                    continue  # a live run holds it
                except (ProcessLookupError, ValueError):
                    registry.set(key, os.getpid(), ex=6 * 3600)
                except PermissionError:
                    continue
            atexit.register(_release_redis_test_database, registry, key)
            return number
    except redis.exceptions.ConnectionError:
        return 15
    return 15


def redis_test_url():
    """A Redis database of REDIS_URL's server that only this test run uses: the tests flush it."""
    global _redis_test_database
    base = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    if _redis_test_database is None:
        _redis_test_database = _claim_redis_test_database(base)
    return urlsplit(base)._replace(path=f"/{_redis_test_database}").geturl()


@functools.cache
def redis_answers():
    import redis

    try:
        return bool(redis.Redis.from_url(redis_test_url(), socket_connect_timeout=0.5).ping())
    except redis.exceptions.ConnectionError:
        return False


def needs_redis():
    """The mark of a test that runs on Redis: skipped, saying why, only when no Redis answers (the
    suite also passes on a machine without one); decided once, when the tests are collected."""
    return pytest.mark.skipif(
        not redis_answers(), reason=f"no Redis answers at {redis_test_url()} (start one: redis-server --daemonize yes)"
    )


@pytest.fixture
def redis_test_db():
    """A flushed Redis database of this run's own (tests using it are marked `needs_redis()`)."""
    import redis

    url = redis_test_url()
    connection = redis.Redis.from_url(url, socket_connect_timeout=0.5)
    connection.flushdb()
    yield url
    connection.flushdb()
    connection.close()


@pytest.fixture
def task_backend(request):
    """Which task backend the test runs on: "database" unless parametrized."""
    backend = getattr(request, "param", "database")
    if backend == "rq":
        url = request.getfixturevalue("redis_test_db")
        settings = request.getfixturevalue("settings")
        settings.RQ_QUEUES = {name: {"URL": url} for name in settings.CANDOR_TASK_QUEUES}
        settings.TASKS = {"default": {"BACKEND": settings.TASK_BACKENDS["rq"], "QUEUES": settings.CANDOR_TASK_QUEUES}}
    return backend


@pytest.fixture(autouse=True)
def _task_backend_before_anything(request):
    """A test on RQ must have RQ before its fixtures enqueue anything (timers on activation)."""
    if "task_backend" in request.fixturenames:
        request.getfixturevalue("task_backend")


class DatabaseWorker:
    """Runs the database task worker until no task is due now (time-machine sets "now")."""

    def __call__(self):
        from django.core.management import call_command

        call_command(
            "db_worker",
            "--batch",
            "--queue-name",
            "*",
            "--no-startup-delay",
            "--no-reload",
            stdout=io.StringIO(),
            stderr=io.StringIO(),
        )

    def lose_all_tasks(self):
        """What a wiped task store looks like: every pending task gone, our rows untouched."""
        from django_tasks_db.models import DBTaskResult

        DBTaskResult.objects.all().delete()


class RQWorker:
    """Runs an RQ worker in burst mode, in this process, with RQ's scheduler moving jobs whose
    run_after has come (time-machine sets "now") onto their queue, until nothing is left to do.

    The test's database transaction never commits, so the on-commit hooks that would send jobs
    to Redis are run here, as a commit would; jobs enqueue more on-commit hooks, hence the loop.
    """

    def __call__(self):
        import django_rq
        from django.conf import settings
        from django.db import connection
        from django_tasks_rq.backend import Job
        from rq import SimpleWorker

        for _ in range(50):
            pending, connection.run_on_commit[:] = connection.run_on_commit[:], []
            for _savepoints, callback, _robust in pending:
                callback()
            worker = django_rq.get_worker(*settings.CANDOR_TASK_QUEUES, job_class=Job, worker_class=SimpleWorker)
            worker.log.setLevel(logging.WARNING)
            did_work = worker.work(burst=True, with_scheduler=True, logging_level="WARNING")
            if not pending and not did_work and not connection.run_on_commit:
                return
        raise AssertionError("the RQ worker never ran out of work")

    def lose_all_tasks(self):
        import django_rq
        from django.db import connection

        connection.run_on_commit[:] = []
        django_rq.get_connection("default").flushdb()


@pytest.fixture
def run_worker(db, monkeypatch, task_backend):
    """Run the task worker of the test's backend until no task is due now.

    The database worker recycles database connections between tasks, which would end the test's
    own transaction on PostgreSQL; in tests the connection is kept.
    """
    from django_tasks_db.management.commands import db_worker

    monkeypatch.setattr(db_worker, "close_old_connections", lambda: None)
    return RQWorker() if task_backend == "rq" else DatabaseWorker()
