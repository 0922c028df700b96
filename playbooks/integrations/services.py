"""What happened to an incident -> which webhook event with which payload, and which team channels
hear about it. Called by the services that cause each event, inside their transaction, so a
rolled-back change sends nothing."""

from django.conf import settings
from django.urls import NoReverseMatch, reverse

from comms.outgoing_webhooks.services import webhook_deliveries_queue
from playbooks.incidents.topics import incident_topic
from playbooks.integrations import events

PAYLOAD_VERSION = 1


def incident_page_url(incident):
    try:
        path = reverse("incident_detail", args=[incident.pk])
    except NoReverseMatch:
        path = f"/incidents/{incident.pk}/"
    return f"{settings.CANDOR_PUBLIC_URL}{path}"


def playbook_scope(playbook_slug):
    """The team channel scope of one playbook's incidents (TeamChannel.scope)."""
    return f"playbook:{playbook_slug}"


def team_channel_scopes(incident):
    """The scopes whose team channels hear about this incident, beside the organisation-wide ones."""
    slug = (incident.plan or {}).get("slug") or getattr(incident.playbook, "slug", "")
    return (playbook_scope(slug),) if slug else ()


def incident_summary(incident):
    """The incident as every event carries it."""
    return {
        "id": incident.pk,
        "title": incident.title,
        "kind": incident.kind,
        "state": incident.state,
        "severity": incident.severity,
        "playbook": (incident.plan or {}).get("slug", ""),
        "playbook_version": incident.playbook_version,
        "detected_at": incident.detected_at.isoformat() if incident.detected_at else None,
        "url": incident_page_url(incident),
    }


def incident_webhook_emit(*, incident, event_type, source, data=None, at=None):
    """Queue `event_type` for every endpoint of the incident's organisation that wants it.
    `source` names the cause once (a repeat queues nothing); `data` is the event's own part."""
    if event_type not in events.EVENT_TYPES:
        raise ValueError(f"Unknown webhook event type {event_type!r}.")
    return webhook_deliveries_queue(
        organization=incident.organization,
        event_type=event_type,
        source=f"{incident_topic(incident)}:{source}",
        topic=incident_topic(incident),
        data={"version": PAYLOAD_VERSION, "incident": incident_summary(incident), **(data or {})},
        at=at,
    )
