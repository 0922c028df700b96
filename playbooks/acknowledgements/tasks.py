"""Background tasks of client acknowledgements (queue "timers"). Thin: each calls one service,
and each is safe to run late or twice: the acknowledgement rows say what was already done."""

from django.utils import timezone
from django_tasks import task

from playbooks.acknowledgements import services as acknowledgements
from playbooks.models import Incident


@task(queue_name="timers")
def chase_acknowledgements(incident_id):
    """Scheduled with run_after when a request opens: remind and escalate whoever is still silent."""
    incident = Incident.objects.filter(pk=incident_id).first()
    if incident is None:
        return 0
    return len(acknowledgements.acknowledgements_chase(incident=incident, now=timezone.now()))
