"""Reads of the commander console and the API, scoped to the caller's organisation: incidents live
first, updates with their delivery counts, the transitions a user may take now.

Nothing here changes state; previews of an update are in playbooks.updates.preview.
"""

from dataclasses import dataclass

from django.db.models import Case, IntegerField, Value, When
from django.http import Http404
from django.utils.translation import pgettext_lazy

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
    missing: tuple = ()  # what it still waits for, in plain words; empty when it can be taken now

    @property
    def needs_resolution_summary(self):
        return "resolution_summary" in self.needs

    @property
    def waits_for(self):
        """What must happen first, in words ("" when nothing)."""
        return "; ".join(self.missing)

    @property
    def is_ready(self):
        return not self.missing


def transitions_available(*, incident, user, include_waiting=False):
    """The transitions this user may perform now, with their labels and the inputs they ask for.
    With include_waiting, also those still waiting for something (a complete debrief), saying what."""
    available = []
    for transition, missing in incident.transition_plan(user):
        if missing and not include_waiting:
            continue
        custom = transition.custom or {}
        # The debrief waits until every contact told has been sent the final notice.
        notice_missing = final_notice_missing(incident=incident) if transition.target == State.DEBRIEFING else ""
        waiting_for_final_notice = (notice_missing,) if notice_missing else ()
        available.append(
            AvailableTransition(
                name=transition.name,
                label=custom.get("label", transition.name.replace("_", " ").capitalize()),
                target=transition.target,
                needs=tuple(custom.get("needs", ())),
                missing=tuple(missing) + waiting_for_final_notice,
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
    """{update_id: {"queued", "sent", "delivered", "failed", "total"}} for every update of an incident,
    with "written" and "contacts" while a streamed publish is still writing its messages."""
    from comms.selectors import fan_outs_writing, message_counts_by_source

    counts = {}
    writing = fan_outs_writing(topic=incident_topic(incident))
    for source, statuses in message_counts_by_source(topic=incident_topic(incident)).items():
        prefix, _, value = source.partition(":")
        if prefix != "update" or not value.isdigit():
            continue
        row = {"queued": 0, "sent": 0, "delivered": 0, "failed": 0}
        for status, number in statuses.items():
            row[DELIVERY_BUCKETS.get(status, "queued")] += number
        row["total"] = sum(row.values())
        if source in writing:
            # A streamed publish still writing its messages: how many contacts are written so far.
            row["written"], row["contacts"] = writing[source]
        counts[int(value)] = row
    return counts


def update_status(update):
    """A short, plain status of an update: draft, awaiting approval, approved, published (a machine
    value: the API returns it; update_status_label() is how the console words it)."""
    if update.is_published:
        return "published"
    if update.needs_approval:
        return "approved" if update.is_approved else "awaiting approval"
    return "draft"


# How the console shows update_status() (its value is a machine value too: the API's "status", CSS classes).
UPDATE_STATUS_LABELS = {
    "published": pgettext_lazy("update status", "published"),
    "approved": pgettext_lazy("update status", "approved"),
    "awaiting approval": pgettext_lazy("update status", "awaiting approval"),
    "draft": pgettext_lazy("update status", "draft"),
}


def update_status_label(update):
    """update_status() in the reader's language."""
    status = update_status(update)
    return UPDATE_STATUS_LABELS.get(status, status)
