"""Internal alerts to the organisation's own people (reminders, escalations, replies to read).

They travel through the same outbox and providers as client messages, addressed to users instead
of contacts, and are posted into the organisation's team channels (Slack, Teams) when it has any.
Users have no consent state: these alerts are operational, not marketing.
"""

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from .models import Message, MessageContent, TeamChannel
from .rendering import sms_friendly, sms_size
from .services import TEAM_ACTION_KEY, TEAM_LINK_KEY, _enqueue_delivery

# Internal SMS are kept to at most two segments: the email carries the detail.
TEAM_SMS_MAX_SEGMENTS = 2


def team_sms_text(subject, body, link=""):
    """The SMS for an internal alert: the subject, as much of the body as fits two segments, the link."""
    tail = f" {link}" if link else ""
    text = " ".join(sms_friendly(f"{subject}. {body}" if body else subject).split())
    if sms_size(text + tail).segments <= TEAM_SMS_MAX_SEGMENTS:
        return text + tail
    while text and sms_size(text + "..." + tail).segments > TEAM_SMS_MAX_SEGMENTS:
        text = text[: len(text) - max(1, len(text) // 20)].rstrip()
    return text + "..." + tail


@transaction.atomic
def team_notify(*, organization, users, topic, source, subject, body, link="", action="", scopes=()):
    """Queue one email (user.email) and one SMS (user.phone, when set) per user, and one post per
    active team channel of the organisation (Slack, Teams) whose scope is blank or in `scopes`.

    The SMS carries the subject and as much of the body as fits two segments; `link` (where to
    act) ends both, whole. `action` says what to do now ("Approve the update"): the team
    channel post shows it beside a button to `link`; the email and SMS say it in `body`.

    Idempotent per (source, user or team channel, channel): notifying the same source twice queues
    nothing new. Inactive users, users of another organisation and users without any address are
    skipped. Returns the number of messages queued now.
    """
    now = timezone.now()
    posted = _team_channels_post(
        organization=organization,
        topic=topic,
        source=source,
        subject=subject,
        body=body,
        link=link,
        action=action,
        scopes=scopes,
        now=now,
    )
    recipients = []
    seen = set()
    for user in users:
        if user is None or user.pk in seen or not user.is_active or user.organization_id != organization.pk:
            continue
        seen.add(user.pk)
        recipients.append(user)
    if not recipients:
        return posted
    sms_text = team_sms_text(subject, body, link)
    if link:
        body = f"{body}\n\n{link}"
    already = set(
        Message.objects.filter(source=source, user__in=[user.pk for user in recipients]).values_list(
            "user_id", "channel"
        )
    )
    wanted = [
        (user, channel, address)
        for user in recipients
        for channel, address in (("email", user.email), ("sms", user.phone))
        if address and (user.pk, channel) not in already
    ]
    if not wanted:
        return posted
    words = {"email": (subject, body), "sms": ("", sms_text)}
    specs = {
        channel: MessageContent(
            source=source,
            channel=channel,
            language="en",
            subject=words[channel][0],
            body=words[channel][1],
            digest=MessageContent.digest_of(
                channel=channel, language="en", subject=words[channel][0], body=words[channel][1]
            ),
        )
        for channel in {channel for _, channel, _ in wanted}
    }
    MessageContent.objects.bulk_create(specs.values(), ignore_conflicts=True)
    contents = {
        content.channel: content
        for content in MessageContent.objects.filter(source=source, digest__in=[spec.digest for spec in specs.values()])
    }
    segments = sms_size(sms_text).segments
    Message.objects.bulk_create(
        [
            Message(
                organization=organization,
                user=user,
                channel=channel,
                topic=topic,
                source=source,
                content=contents[channel],
                to_address=address,
                segments=segments if channel == "sms" else 1,
                queued_at=now,
                next_attempt_at=now,
                status_changed_at=now,
            )
            for user, channel, address in wanted
        ],
        ignore_conflicts=True,
    )
    for channel in sorted(specs):
        _enqueue_delivery(channel)
    return len(wanted) + posted


def _team_channels_post(*, organization, topic, source, subject, body, link, action, scopes, now):
    channels = list(
        TeamChannel.objects.filter(organization=organization, is_active=True).filter(
            Q(scope="") | Q(scope__in=[scope for scope in scopes if scope])
        )
    )
    if not channels:
        return 0
    already = set(
        Message.objects.filter(source=source, team_channel__in=channels).values_list("team_channel_id", flat=True)
    )
    channels = [channel for channel in channels if channel.pk not in already]
    if not channels:
        return 0
    contents = {}
    for kind in sorted({channel.kind for channel in channels}):
        contents[kind], _ = MessageContent.objects.get_or_create(
            source=source,
            channel=kind,
            digest=MessageContent.digest_of(channel=kind, language="en", subject=subject, body=body),
            defaults={"language": "en", "subject": subject, "body": body},
        )
    Message.objects.bulk_create(
        [
            Message(
                organization=organization,
                team_channel=channel,
                channel=channel.kind,
                topic=topic,
                source=source,
                content=contents[channel.kind],
                substitutions={TEAM_ACTION_KEY: action, TEAM_LINK_KEY: link},
                to_address=channel.name[:254],
                queued_at=now,
                next_attempt_at=now,
                status_changed_at=now,
            )
            for channel in channels
        ],
        ignore_conflicts=True,
    )
    for kind in sorted(contents):
        _enqueue_delivery(kind)
    return len(channels)


def team_notice_count(*, topic, source_prefix, since):
    """How many internal alerts of one kind (sources starting with `source_prefix`) a topic got since then."""
    return (
        Message.objects.filter(topic=topic, source__startswith=source_prefix, user__isnull=False, queued_at__gte=since)
        .values("source")
        .distinct()
        .count()
    )
