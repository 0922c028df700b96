"""Durable timers of kept promises, on the "timers" queue. Thin: each calls one service, which
re-reads the database and does nothing when the moment has passed it by."""

from django.utils import timezone
from django_tasks import task

from playbooks.models import IncidentChecklistItem, IncidentUpdate
from playbooks.promises import services as cadence


@task(queue_name="timers")
def promise_timer(update_id):
    update = IncidentUpdate.objects.filter(pk=update_id).first()
    if update is None:
        return cadence.Action.STALE
    return cadence.promise_check(update=update, now=timezone.now())


@task(queue_name="timers")
def deadline_timer(item_id):
    item = IncidentChecklistItem.objects.filter(pk=item_id).first()
    if item is None:
        return cadence.Action.STALE
    return cadence.deadline_check(item=item, now=timezone.now())
