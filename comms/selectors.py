"""Read queries about messages, for callers that know their own topics and sources."""

from collections import defaultdict

from django.db.models import Count

from .models import REACHED_STATUSES, FanOut, InboundMessage, Message


def message_counts(*, source):
    """{channel: {status: count}} for one source (e.g. one update)."""
    counts = defaultdict(dict)
    rows = Message.objects.filter(source=source).values("channel", "status").annotate(n=Count("id"))
    for row in rows:
        counts[row["channel"]][row["status"]] = row["n"]
    return {channel: dict(statuses) for channel, statuses in counts.items()}


def message_counts_by_source(*, topic):
    """{source: {status: count}} for every source of a topic, in one query."""
    counts = defaultdict(lambda: defaultdict(int))
    rows = Message.objects.filter(topic=topic).values("source", "status").annotate(n=Count("id"))
    for row in rows:
        counts[row["source"]][row["status"]] += row["n"]
    return {source: dict(statuses) for source, statuses in counts.items()}


def message_list(*, organization, topic=None, source=None, status=None, channel=None):
    messages = Message.objects.filter(organization=organization).select_related("contact__client")
    if topic:
        messages = messages.filter(topic=topic)
    if source:
        messages = messages.filter(source=source)
    if status:
        messages = messages.filter(status=status)
    if channel:
        messages = messages.filter(channel=channel)
    return messages.order_by("id")


def reply_list(*, organization, topic=None):
    replies = InboundMessage.objects.filter(organization=organization, kind="reply")
    return replies.filter(topic=topic) if topic else replies


def contacts_reached(*, organization, topic, source_prefix=""):
    """Ids of the contacts a topic's messages reached (sent or delivered) on at least one channel,
    optionally only messages whose source starts with `source_prefix` (e.g. "update:")."""
    messages = Message.objects.filter(
        organization=organization, topic=topic, contact__isnull=False, status__in=REACHED_STATUSES
    )
    if source_prefix:
        messages = messages.filter(source__startswith=source_prefix)
    return set(messages.values_list("contact_id", flat=True).distinct())


def fan_outs_writing(*, topic):
    """{source: (contacts written, contacts in all)} for a topic's fan-outs still being written."""
    rows = FanOut.objects.filter(topic=topic, completed_at__isnull=True).values_list("source", "position", "contacts")
    return {source: (position, contacts) for source, position, contacts in rows}
