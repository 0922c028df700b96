"""A published update's messages written in chunks by workers (a streamed publish): the chunk
builder comms calls back, and the audience figures recorded once every chunk is written."""

import datetime as dt

from django.db import transaction

from playbooks.models import IncidentUpdate
from playbooks.updates import services
from playbooks.updates.audience import audience_contacts, audience_of
from playbooks.updates.pipeline import Batch, batch_chunk
from playbooks.updates.preflight import batch_findings, refuse_if_blocked, update_findings

BUILDER = "playbooks.updates.fanout.update_chunk_build"


def update_fan_out_inputs(*, update, incident, due_at):
    """What a chunk written later needs to render the very words of the publish (the incident's
    title and summary may be edited meanwhile)."""
    return {
        "update": update.pk,
        "organization_name": incident.organization.name,
        "title": incident.title,
        "summary": incident.summary,
        "due_at": due_at.isoformat() if due_at else None,
    }


def update_chunk_build(*, inputs, contact_ids, strict):
    """The pipeline's batch for some of an update's audience. `strict` (the first chunk, inside
    the publish, one reader of every language and channel kind first) runs the preflight on it and
    refuses the publish on a blocking finding; later chunks leave out an SMS too long once filled
    in and report it in the figures (batch_build does)."""
    update = IncidentUpdate.objects.select_related("incident__organization").get(pk=inputs["update"])
    incident = update.incident
    incident.organization.name = inputs["organization_name"]
    incident.title, incident.summary = inputs["title"], inputs["summary"]
    due_at = dt.datetime.fromisoformat(inputs["due_at"]) if inputs["due_at"] else None
    audience = audience_of(audience_contacts(contact_ids=contact_ids))
    batch = services._batch_for(update, incident, audience, due_at)
    if strict:
        refuse_if_blocked(
            update_findings(update=update, incident=incident, audience=audience, batch=batch, due_at=due_at)
        )
        refuse_if_blocked(batch_findings(batch=batch, expects_link="status_url"))
    if batch is None:  # words that do not render: the first chunk's preflight refused them already
        batch = Batch()
    return batch_chunk(batch=batch, audience=audience)


def update_audience_figures(figures, *, contacts, complete):
    """update.audience from a fan-out's figures."""
    audience = {
        "contacts": contacts,
        "email": figures.get("email", 0),
        "sms": figures.get("sms", 0),
        "unreachable": figures.get("unreachable", []),
        "languages": figures.get("languages", {}),
    }
    if figures.get("too_long"):
        audience["too_long"] = figures["too_long"]
    if not complete:
        audience["fan_out"] = "writing"
    return audience


@transaction.atomic
def update_fan_out_completed(*, source, figures):
    """Every chunk is written: the update's audience figures become exact."""
    if not source.startswith("update:"):
        return
    # A published update is otherwise immutable (IncidentUpdate.save refuses): only its figures change.
    IncidentUpdate.objects.filter(pk=int(source.split(":", 1)[1])).update(
        audience=update_audience_figures(figures, contacts=figures.get("contacts", 0), complete=True)
    )
