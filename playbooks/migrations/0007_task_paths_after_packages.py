"""Waiting timers keep their task path in the task table; playbooks' tasks moved into packages.

Timers may wait up to 14 days, so rows written before the move are pointed at the new paths.
"""

from django.db import migrations

MOVED = {
    "playbooks.tasks.promise_timer": "playbooks.promises.tasks.promise_timer",
    "playbooks.tasks.deadline_timer": "playbooks.promises.tasks.deadline_timer",
    "playbooks.ack_tasks.chase_acknowledgements": "playbooks.acknowledgements.tasks.chase_acknowledgements",
    "playbooks.debrief_tasks.survey_timer": "playbooks.surveys.tasks.survey_timer",
}
TABLE = "django_tasks_database_dbtaskresult"


def _repoint(schema_editor, moves):
    connection = schema_editor.connection
    if TABLE not in connection.introspection.table_names():
        return  # a new database: no task was ever written
    with connection.cursor() as cursor:
        for old, new in moves.items():
            cursor.execute(f"UPDATE {TABLE} SET task_path = %s WHERE task_path = %s", [new, old])


def forwards(apps, schema_editor):
    _repoint(schema_editor, MOVED)


def backwards(apps, schema_editor):
    _repoint(schema_editor, {new: old for old, new in MOVED.items()})


class Migration(migrations.Migration):
    dependencies = [("playbooks", "0006_debriefs")]
    operations = [migrations.RunPython(forwards, backwards)]
