"""Reads of the commander console and the API, scoped to the caller's organisation: incidents live
first, updates with their delivery counts, the transitions a user may take now.

Nothing here changes state; previews of an update are in playbooks.updates.preview.
"""

from dataclasses import dataclass

from django.db.models import Case, IntegerField, Value, When
from django.http import Http404

from playbooks.incidents.selectors import incident_list
from playbooks.incidents.services import final_notice_missing
from playbooks.incidents.topics import incident_topic
from playbooks.models import LIVE_STATES, IncidentUpdate, State

# ---------------------------------------------------------------------------------------------
# Lookups scoped to the caller's organisation


def incidents_live_first(*, user):
    """The user's incidents: live ones first, then drafts, then the rest; newest first in each."""
    return (
        incident_list(user=user)
        .annotate(
            live_order=Case(
                When(state__in=LIVE_STATES, then=Value(0)),
                When(state=State.DRAFT, then=Value(1)),
                default=Value(2),
                output_field=IntegerField(),
            )
        )
        .order_by("live_order", "-created_at")
    )


def update_list(*, user):
    if not user.is_authenticated or user.organization_id is None:
        return IncidentUpdate.objects.none()
    return IncidentUpdate.objects.filter(incident__organization_id=user.organization_id).select_related(
        "incident", "author", "approver", "published_by"
    )


def update_get(*, user, pk):
    """One update of the user's organisation; another organisation's is a 404."""
    try:
        return update_list(user=user).get(pk=pk)
    except (IncidentUpdate.DoesNotExist, ValueError, TypeError):
        raise Http404("No such update.") from None


# ---------------------------------------------------------------------------------------------
# Transitions and delivery, as the console and the API show them


@dataclass(frozen=True)
class AvailableTransition:
    name: str
    label: str
    target: str
    needs: tuple
    waits_for: str = ""  # what must happen first, in words ("" when nothing)


def transitions_available(*, incident, user):
    """The transitions this user may perform now, with their labels and the inputs they ask for."""
    available = []
    for transition in incident.transitions_for(user):
        custom = transition.custom or {}
        available.append(
            AvailableTransition(
                name=transition.name,
                label=custom.get("label", transition.name.replace("_", " ").capitalize()),
                target=transition.target,
                needs=tuple(custom.get("needs", ())),
                # The debrief waits until every contact told has been sent the final notice.
                waits_for=final_notice_missing(incident=incident) if transition.target == State.DEBRIEFING else "",
            )
        )
    return available


DELIVERY_BUCKETS = {
    "queued": "queued",
    "sending": "queued",
    "sent": "sent",
    "delivered": "delivered",
    "failed": "failed",
    "undelivered": "failed",
    "bounced": "failed",
}


def delivery_counts_by_update(*, incident):
    """{update_id: {"queued", "sent", "delivered", "failed", "total"}} for every update of an incident."""
    from comms.selectors import message_counts_by_source

    counts = {}
    for source, statuses in message_counts_by_source(topic=incident_topic(incident)).items():
        prefix, _, value = source.partition(":")
        if prefix != "update" or not value.isdigit():
            continue
        row = {"queued": 0, "sent": 0, "delivered": 0, "failed": 0}
        for status, number in statuses.items():
            row[DELIVERY_BUCKETS.get(status, "queued")] += number
        row["total"] = sum(row.values())
        counts[int(value)] = row
    return counts


def update_status(update):
    """A short, plain status of an update: draft, awaiting approval, approved, published."""
    if update.is_published:
        return "published"
    if update.needs_approval:
        return "approved" if update.is_approved else "awaiting approval"
    return "draft"
