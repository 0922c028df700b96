"""Internal alerts to the organisation's own people (reminders, escalations, replies to read).

They travel through the same outbox and providers as client messages, addressed to users instead
of contacts, and are posted into the organisation's team channels (Slack, Teams) when it has any.
Users have no consent state: these alerts are operational, not marketing. Each member reads them
in their console language and timezone; the team channels in the organisation's.
"""

from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone, translation

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


@dataclass(frozen=True)
class TeamNoticeWords:
    """What a team notice says in one language and timezone (see `team_notify`'s `words`)."""

    subject: str
    body: str
    action: str = ""


def console_language(code):
    """`code` when the console speaks it (settings.LANGUAGES), else None."""
    code = (code or "").lower()
    return code if code in {language for language, _ in settings.LANGUAGES} else None


def organization_language(organization):
    """The language of the organisation's shared notices: its default language when the console
    speaks it, else English (settings.LANGUAGE_CODE)."""
    return console_language(organization.default_language) or settings.LANGUAGE_CODE


def member_language(user, organization):
    """The language a member of `organization` reads notices in: theirs, else the organisation's,
    else English."""
    return console_language(user.language) or organization_language(organization)


def member_timezone(user, organization):
    """The timezone a member of `organization` reads times in: theirs, else the organisation's."""
    return user.timezone or organization.timezone or "UTC"


def _render(words, *, language, timezone_name):
    """The words under `language`'s translations (gettext inside `words` speaks it)."""
    with translation.override(language):
        return words(language=language, timezone_name=timezone_name)


@transaction.atomic
def team_notify(
    *,
    organization,
    users,
    topic,
    source,
    subject="",
    body="",
    link="",
    action="",
    scopes=(),
    words: Callable[..., TeamNoticeWords] | None = None,
):
    """Queue one email (user.email) and one SMS (user.phone, when set) per user, and one post per
    active team channel of the organisation (Slack, Teams) whose scope is blank or in `scopes`.

    `words(language=..., timezone_name=...)` returns the notice's TeamNoticeWords for readers of
    one language and timezone; it is called under that language's translations once per group of
    members sharing both (their own, else the organisation's) and once for the team channels (the
    organisation's). Without `words`, `subject`, `body` and `action` are the words for everyone.

    The SMS carries the subject and as much of the body as fits two segments; `link` (where to
    act) ends both, whole. `action` says what to do now ("Approve the update"): the team
    channel post shows it beside a button to `link`; the email and SMS say it in `body`.

    Idempotent per (source, user or team channel, channel): notifying the same source twice queues
    nothing new. Inactive users, users of another organisation and users without any address are
    skipped. Returns the number of messages queued now.
    """
    if words is None:
        fixed = TeamNoticeWords(subject=subject, body=body, action=action)

        def words(*, language, timezone_name):
            return fixed

        language_of, timezone_of = (lambda user, organization: settings.LANGUAGE_CODE), (lambda user, organization: "")
    else:
        language_of, timezone_of = member_language, member_timezone
    now = timezone.now()
    posted = _team_channels_post(
        organization=organization,
        topic=topic,
        source=source,
        words=words,
        link=link,
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
    already = set(
        Message.objects.filter(source=source, user__in=[user.pk for user in recipients]).values_list(
            "user_id", "channel"
        )
    )
    groups = {}
    for user in recipients:
        for channel, address in (("email", user.email), ("sms", user.phone)):
            if address and (user.pk, channel) not in already:
                group = (language_of(user, organization), timezone_of(user, organization))
                groups.setdefault(group, []).append((user, channel, address))
    if not groups:
        return posted
    queued = []
    for (language, timezone_name), wanted in groups.items():
        said = _render(words, language=language, timezone_name=timezone_name)
        queued += _queue_for_members(
            organization=organization,
            topic=topic,
            source=source,
            said=said,
            language=language,
            link=link,
            wanted=wanted,
            now=now,
        )
    Message.objects.bulk_create(queued, ignore_conflicts=True)
    for channel in sorted({message.channel for message in queued}):
        _enqueue_delivery(channel)
    return len(queued) + posted


def _queue_for_members(*, organization, topic, source, said, language, link, wanted, now):
    """The unsaved messages of one language group, their shared words saved once per channel."""
    sms_text = team_sms_text(said.subject, said.body, link)
    body = f"{said.body}\n\n{link}" if link else said.body
    texts = {"email": (said.subject, body), "sms": ("", sms_text)}
    specs = {
        channel: MessageContent(
            source=source,
            channel=channel,
            language=language,
            subject=texts[channel][0],
            body=texts[channel][1],
            digest=MessageContent.digest_of(
                channel=channel, language=language, subject=texts[channel][0], body=texts[channel][1]
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
    return [
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
    ]


def _team_channels_post(*, organization, topic, source, words, link, scopes, now):
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
    language = organization_language(organization)
    said = _render(words, language=language, timezone_name=organization.timezone)
    subject, body, action = said.subject, said.body, said.action
    contents = {}
    for kind in sorted({channel.kind for channel in channels}):
        contents[kind], _ = MessageContent.objects.get_or_create(
            source=source,
            channel=kind,
            digest=MessageContent.digest_of(channel=kind, language=language, subject=subject, body=body),
            defaults={"language": language, "subject": subject, "body": body},
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
