"""Timers wait in the task table for days: paths stored before the packages moved still run."""

import importlib
from types import SimpleNamespace

from django.db import connection
from django.utils.module_loading import import_string
from django_tasks.base import Task

migration = importlib.import_module("playbooks.migrations.0007_task_paths_after_packages")


def test_every_moved_task_path_names_a_task():
    for new in migration.MOVED.values():
        assert isinstance(import_string(new), Task)


def test_stored_timer_rows_are_repointed_to_the_new_paths(db):
    from django_tasks_db.models import DBTaskResult

    from playbooks.promises.tasks import promise_timer

    result = promise_timer.enqueue(update_id=1)
    DBTaskResult.objects.filter(pk=result.id).update(task_path="playbooks.tasks.promise_timer")

    migration.forwards(None, SimpleNamespace(connection=connection))

    assert DBTaskResult.objects.get(pk=result.id).task_path == "playbooks.promises.tasks.promise_timer"
