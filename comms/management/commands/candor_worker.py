"""manage.py candor_worker: django-tasks-db's db_worker that wakes when work arrives.

The same options and the same loop as `manage.py db_worker`; on PostgreSQL an idle worker waits
for a NOTIFY on its queues' channels (sent by the transaction that enqueued the task, delivered
when it commits) instead of sleeping, up to --interval, so the first send of a publish does not
wait for a poll and an idle worker polls rarely. On SQLite it polls like db_worker.
"""

import time

import psycopg
from django.db import connection
from django_tasks_db.management.commands import db_worker

from comms.providers import get_email_provider, get_sms_provider
from comms.services import wake_channel


class WakeOnNotify:
    """Stands in for the `time` module inside db_worker's loop, whose only wait is
    `time.sleep(interval)` between polls: this one returns as soon as a notification arrives."""

    def __init__(self, queue_names):
        settings = connection.settings_dict
        self.listener = psycopg.connect(
            dbname=settings["NAME"],
            user=settings["USER"] or None,
            password=settings["PASSWORD"] or None,
            host=settings["HOST"] or None,
            port=settings["PORT"] or None,
            autocommit=True,
        )
        for queue_name in queue_names:
            self.listener.execute(f"LISTEN {wake_channel(queue_name)}")

    def sleep(self, seconds):
        woken = False
        for _ in self.listener.notifies(timeout=seconds, stop_after=1):
            woken = True
        if woken:  # several notifications at once: one poll takes them all
            for _ in self.listener.notifies(timeout=0):
                pass

    def __getattr__(self, name):
        return getattr(time, name)


class Command(db_worker.Command):
    help = "Run database-backend tasks, waking on PostgreSQL NOTIFY instead of polling."

    def handle(self, *args, queue_name, **options):
        if "sms" in queue_name or "*" in queue_name:
            get_sms_provider().warm_up()
        if "email" in queue_name or "*" in queue_name:
            get_email_provider()  # loads the SendGrid SDK and makes its connection pool
        if connection.vendor == "postgresql":
            queue_names = queue_name.split(",")
            if "*" in queue_names:
                from django.conf import settings

                queue_names = settings.TASKS["default"]["QUEUES"]
            db_worker.time = WakeOnNotify(queue_names)
        return super().handle(*args, queue_name=queue_name, **options)
