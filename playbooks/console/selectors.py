"""Read-side helpers of the commander console and the API: the audience preview before an incident
is activated, how long its SMS take to leave, and previews filled in for a sample reader.

Nothing here changes state; the use cases stay in services.py and updates.py.
"""

import math
from collections import Counter
from dataclasses import dataclass

from django.conf import settings
from django.db.models import Case, IntegerField, Value, When
from django.http import Http404

from comms.links import preferences_url
from comms.rendering import PER_RECIPIENT_TOKENS, apply_substitutions
from playbooks.incidents.links import status_url
from playbooks.incidents.selectors import audience_clients, incident_list
from playbooks.models import LIVE_STATES, IncidentUpdate
from playbooks.updates.services import audience_for, stage_texts, update_preview


@dataclass(frozen=True)
class SmsSendEstimate:
    """How long the SMS of one publish take to leave at the sender's throughput."""

    segments: int
    segments_per_second: float
    seconds: int
    queue_limit_hours: float

    @property
    def exceeds_queue_limit(self):
        return self.seconds > self.queue_limit_hours * 3600

    @property
    def duration_text(self):
        return duration_words(self.seconds)


def sms_send_estimate(*, segments):
    """Providers send SMS segments at a fixed rate per sender (about 1 per second for a long code,
    3 for toll-free, 100 for a short code); Twilio drops what waits longer than its queue limit."""
    rate = float(getattr(settings, "CANDOR_SMS_SEGMENTS_PER_SECOND", 1)) or 1.0
    limit = float(getattr(settings, "CANDOR_SMS_QUEUE_LIMIT_HOURS", 10))
    return SmsSendEstimate(
        segments=segments, segments_per_second=rate, seconds=math.ceil(segments / rate), queue_limit_hours=limit
    )


def duration_words(seconds):
    if seconds < 60:
        return f"{seconds} s"
    minutes, second = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {second} s" if second else f"{minutes} min"
    hours, minute = divmod(minutes, 60)
    return f"{hours} h {minute} min" if minute else f"{hours} h"


def activation_stage(incident):
    """The stage an incident enters when activated (its first update is drafted there)."""
    transition = type(incident.as_kind()).activate._django_fsm.get_transition("draft")
    return transition.target if transition else incident.state


def audience_preview(*, incident, texts=None, stage=None):
    """Who an incident reaches and what its first (or given) update costs, before anything is sent:
    affected clients with their contacts, counts per channel and language, SMS segments and the
    time they take to leave, and the contacts that cannot be reached with the reason."""
    stage = stage or (activation_stage(incident) if incident.state == "draft" else incident.state)
    draft = IncidentUpdate(incident=incident, stage=stage, texts=texts or stage_texts(incident, stage))
    preview = update_preview(update=draft) if draft.texts else None
    audience = audience_for(incident=incident)
    contacts_per_client = Counter(contact.client_id for contact in audience.contacts)
    email_per_client = Counter(contact.client_id for contact in audience.email)
    sms_per_client = Counter(contact.client_id for contact in audience.sms)
    clients = [
        {
            "id": client.pk,
            "name": client.name,
            "country": client.country,
            "language": client.default_language,
            "contacts": contacts_per_client[client.pk],
            "email": email_per_client[client.pk],
            "sms": sms_per_client[client.pk],
        }
        for client in sorted(audience_clients(incident=incident), key=lambda client: client.name)
    ]
    languages = []
    segments_total = 0
    if preview:
        for language, row in sorted(preview["languages"].items()):
            languages.append(
                {
                    "language": language,
                    "email_recipients": row["email_recipients"],
                    "sms_recipients": row["sms_recipients"],
                    "sms_segments": row["sms_segments"],
                    "sms_encoding": row["sms_encoding"],
                    "sms_messages": row["sms_messages"],
                }
            )
        segments_total = preview["sms_segments_total"]
    estimate = sms_send_estimate(segments=segments_total)
    return {
        "stage": stage,
        "clients": clients,
        "contacts": len(audience.contacts),
        "email_recipients": len(audience.email),
        "sms_recipients": len(audience.sms),
        "languages": languages,
        "sms_segments_total": segments_total,
        "sms_send": {
            "segments_per_second": estimate.segments_per_second,
            "seconds": estimate.seconds,
            "duration": estimate.duration_text,
            "queue_limit_hours": estimate.queue_limit_hours,
            "exceeds_queue_limit": estimate.exceeds_queue_limit,
        },
        "unreachable": [
            {"contact": contact.pk, "name": contact.name, "client": contact.client.name, "reason": reason}
            for contact, reason in audience.unreachable
        ],
        "has_texts": bool(preview),
    }


def sample_previews(*, update, preview):
    """The rendered preview of each language, filled in for a real contact who reads it (or a
    made-up one when no contact does), as {language: {"contact", "email_subject", ...}}."""
    incident = update.incident
    audience = audience_for(incident=incident)
    readers = {}
    for contact in audience.contacts:
        language = contact.effective_language
        readers.setdefault(language, contact)
    samples = {}
    for language, row in preview["languages"].items():
        contact = readers.get(language)
        if contact is not None:
            values = {
                PER_RECIPIENT_TOKENS["contact_name"]: contact.name,
                PER_RECIPIENT_TOKENS["client_name"]: contact.client.name,
                PER_RECIPIENT_TOKENS["status_url"]: status_url(incident.pk, contact.pk),
                PER_RECIPIENT_TOKENS["preferences_url"]: preferences_url(contact.pk),
            }
            reader = f"{contact.name} ({contact.client.name})"
        else:
            values = {
                PER_RECIPIENT_TOKENS["contact_name"]: "Sam Sample",
                PER_RECIPIENT_TOKENS["client_name"]: "Sample Client Ltd",
                PER_RECIPIENT_TOKENS["status_url"]: f"{settings.CANDOR_PUBLIC_URL}/s/(private link)/",
                PER_RECIPIENT_TOKENS["preferences_url"]: f"{settings.CANDOR_PUBLIC_URL}/p/(private link)/",
            }
            reader = "a sample reader (no contact reads this language)"
        samples[language] = {
            "reader": reader,
            "email_subject": apply_substitutions(row["email_subject"], values),
            "email_body": apply_substitutions(row["email_body"], values),
            "sms_body": apply_substitutions(row["sms_body"], values),
            "sms_segments": row["sms_segments"],
            "sms_encoding": row["sms_encoding"],
            "email_recipients": row["email_recipients"],
            "sms_recipients": row["sms_recipients"],
        }
    return samples


# ---------------------------------------------------------------------------------------------
# Lookups scoped to the caller's organisation


def incidents_live_first(*, user):
    """The user's incidents: live ones first, then drafts, then the rest; newest first in each."""
    return (
        incident_list(user=user)
        .annotate(
            live_order=Case(
                When(state__in=LIVE_STATES, then=Value(0)),
                When(state="draft", then=Value(1)),
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

    @property
    def needs_resolution_summary(self):
        return "resolution_summary" in self.needs


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
    for source, statuses in message_counts_by_source(topic=f"incident:{incident.pk}").items():
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
