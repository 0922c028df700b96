"""What comms hands back up (settings.CANDOR_COMMS_EVENT_HANDLER): onto the incident timeline."""
from accounts.models import Contact

from .models import Incident, TimelineKind
from .services import timeline_record

NOTES = {
    "message_failed": "{channel} to {contact} failed: {error}",
    "fallback_queued": "SMS to {contact} failed; sending the update by email instead.",
    "contact_unreachable": "{contact} could not be reached on any channel.",
    "contact_opted_out": "{contact} opted out of SMS ({reason}).",
    "client_reply": "{contact} replied: {body}",
}


def on_comms_event(event):
    incident_id = _incident_id(event.topic)
    if incident_id is None:
        return
    incident = Incident.objects.filter(pk=incident_id).first()
    if incident is None:
        return
    contact = Contact.objects.select_related("client").filter(pk=event.contact_id).first()
    who = f"{contact.name} ({contact.client.name})" if contact else event.data.get("from", "Unknown sender")
    note = NOTES.get(event.kind, event.kind).format(
        contact=who,
        channel=str(event.data.get("channel", "")).upper(),
        error=event.data.get("error", ""),
        reason=event.data.get("reason", ""),
        body=event.data.get("body", ""),
    )
    kind = TimelineKind.CLIENT_REPLY if event.kind == "client_reply" else TimelineKind.DELIVERY
    timeline_record(
        incident=incident,
        kind=kind,
        note=note,
        data={"event": event.kind, "contact": event.contact_id, "message": event.message_id, **event.data},
        at=event.at,
    )


def _incident_id(topic):
    prefix, _, value = (topic or "").partition(":")
    if prefix != "incident" or not value.isdigit():
        return None
    return int(value)
