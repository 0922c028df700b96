"""Starting the demo over: every row that belongs to the demo organisation goes, the organisation too.

Only `manage.py load_demo --reset` calls this. The incident timeline is append-only (the ORM refuses
deletes, and on PostgreSQL a trigger does); wiping a demo is the one deliberate exception, done with
raw deletes in one transaction (foreign keys are checked at commit).
"""

from collections import deque

from django.apps import apps
from django.db import connection, models, transaction

from accounts.models import Organization
from playbooks.models import ClientSurvey, Incident, IncidentChecklistItem, IncidentUpdate

# The timers that name one of our rows (see the tasks modules): they must not outlive it, as the
# database may give its id to a new row.
TIMER_KWARGS = {
    "update_id": IncidentUpdate,
    "item_id": IncidentChecklistItem,
    "survey_id": ClientSurvey,
    "incident_id": Incident,
}


def _path_to_organization(model, depth=5):
    """The shortest lookup from `model` to Organization through foreign keys, e.g.
    "incident__organization", or None when its rows belong to no organisation."""
    queue = deque([(model, "", 0)])
    seen = {model}
    while queue:
        current, path, level = queue.popleft()
        for field in current._meta.concrete_fields:
            if not isinstance(field, models.ForeignKey):
                continue
            lookup = f"{path}__{field.name}" if path else field.name
            if field.related_model is Organization:
                return lookup
            if level + 1 < depth and field.related_model not in seen:
                seen.add(field.related_model)
                queue.append((field.related_model, lookup, level + 1))
    return None


def _timeline_trigger(enabled):
    if connection.vendor == "postgresql":
        action = "ENABLE" if enabled else "DISABLE"
        with connection.cursor() as cursor:
            # PostgreSQL refuses to alter a table with deferred constraint checks still pending in
            # this transaction: run them now (every row they check is gone or consistent), then defer again.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute(f"ALTER TABLE playbooks_timelineentry {action} TRIGGER timeline_append_only")
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")


@transaction.atomic
def organization_data_delete(*, organization):
    """Delete the organisation and everything that belongs to it (members, clients, playbooks,
    incidents and their timelines, messages), and the timers that name its rows. Returns the rows deleted."""
    doomed = {}
    for model in apps.get_models(include_auto_created=True):
        if model._meta.proxy or not model._meta.managed:
            continue
        if model is Organization:
            doomed[model] = [organization.pk]
            continue
        path = _path_to_organization(model)
        if path:
            doomed[model] = list(model._base_manager.filter(**{path: organization}).values_list("pk", flat=True))
    _timers_delete({name: set(doomed.get(model, ())) for name, model in TIMER_KWARGS.items()})
    deleted = 0
    _timeline_trigger(False)
    for model, pks in doomed.items():
        for start in range(0, len(pks), 500):
            deleted += model._base_manager.filter(pk__in=pks[start : start + 500])._raw_delete(connection.alias)
    _timeline_trigger(True)
    return deleted


def _timers_delete(ids_by_kwarg):
    from django.conf import settings

    if settings.TASKS["default"]["BACKEND"] != "django_tasks_db.DatabaseBackend":
        return  # RQ's timers find nothing and stop (see the tasks modules)
    from django_tasks_db.models import DBTaskResult

    stale = []
    for pk, args_kwargs in DBTaskResult.objects.filter(status="READY").values_list("pk", "args_kwargs"):
        kwargs = (args_kwargs or {}).get("kwargs") or {}
        if any(kwargs.get(name) in ids for name, ids in ids_by_kwarg.items() if name in kwargs):
            stale.append(pk)
    DBTaskResult.objects.filter(pk__in=stale).delete()
