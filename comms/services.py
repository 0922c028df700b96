"""Use cases of the outbox: queue messages, deliver them, record what providers report, handle
opt-outs and replies. Each side effect has exactly one function here that causes it.

What flows back up to the caller (a failed message, an unreachable contact, a client's reply)
is handed to the one handler named by settings.CANDOR_COMMS_EVENT_HANDLER.
"""

import datetime as dt
import logging
import math
import random
import uuid
from collections import Counter
from dataclasses import dataclass, field

import orjson
from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.module_loading import import_string

from accounts.models import Contact, SmsConsent

from .bulk import insert_new_messages
from .leases import (
    alive_claims,
    heartbeat,
    lease_acquire,
    lease_columns,
    lease_duration,
    lease_release,
    leases_prune,
    stale_tasks_recover,
)
from .models import (
    FAILED_STATUSES,
    TEAM_CHANNELS,
    FanOut,
    InboundKind,
    InboundMessage,
    Lease,
    Message,
    MessageContent,
    MessageEvent,
    MessageStatus,
    TeamChannel,
)
from .monitoring import metrics as monitoring
from .providers.base import (
    Outcome,
    OutgoingEmail,
    OutgoingSms,
    OutgoingTeamNotice,
    apply_substitutions,
    get_email_provider,
    get_sms_provider,
    get_team_channel_provider,
)
from .reply_address import REPLY_TOKEN, reply_address_template, reply_token

logger = logging.getLogger("candor.outbox")


# ---------------------------------------------------------------------------------------------
# Events handed up to the caller


@dataclass(frozen=True)
class CommsEvent:
    """Something the caller of comms may want to know. `topic` is the caller's own reference."""

    kind: str  # message_failed, contact_unreachable, contact_opted_out, client_reply, fallback_queued
    topic: str
    organization_id: int | None
    contact_id: int | None = None
    message_id: int | None = None
    at: dt.datetime | None = None
    data: dict = field(default_factory=dict)


def _emit(event):
    handler_path = getattr(settings, "CANDOR_COMMS_EVENT_HANDLER", "")
    if handler_path:
        import_string(handler_path)(event)


# ---------------------------------------------------------------------------------------------
# Queueing


@dataclass(frozen=True)
class ContentSpec:
    channel: str
    language: str
    subject: str
    body: str


@dataclass(frozen=True)
class RecipientSpec:
    """One message to queue: the contact, the channel, which content and its own values."""

    contact: Contact
    channel: str
    content_key: str
    substitutions: dict
    segments: int = 1
    fallback_content_key: str = ""


def _enqueue_delivery(channel, *, batches=1, run_after=None):
    """Ask workers to drain the outbox of a channel. With the database task backend this row is
    written in the caller's transaction; with others it is sent after commit (the sweep covers
    the gap if the process dies in between)."""
    from .tasks import DELIVERY_TASKS

    task = DELIVERY_TASKS[channel]
    if run_after is not None:
        task = task.using(run_after=run_after)

    def enqueue():
        for _ in range(batches):
            task.enqueue()

    if settings.TASKS["default"]["BACKEND"] == "django_tasks_db.DatabaseBackend":
        enqueue()
        if run_after is None:
            _notify_workers(task.queue_name)
    else:
        transaction.on_commit(enqueue)


def batch_size(channel):
    if channel in TEAM_CHANNELS:
        return settings.CANDOR_TEAM_CHANNEL_BATCH_SIZE
    return settings.CANDOR_EMAIL_BATCH_SIZE if channel == "email" else settings.CANDOR_SMS_BATCH_SIZE


@transaction.atomic
def messages_queue(*, organization, topic, source, contents, recipients):
    """Queue one message per recipient spec, idempotently: a second call with the same source
    creates no duplicates. `contents` maps content keys to ContentSpec. Returns the number of
    messages created now."""
    fresh = not Message.objects.filter(source=source).exists()
    return _messages_write(
        organization_id=organization.pk,
        topic=topic,
        source=source,
        contents=contents,
        recipients=recipients,
        fresh=fresh,
    )


def _messages_write(*, organization_id, topic, source, contents, recipients, fresh):
    """Write the message rows of some recipients and enqueue their delivery, in the caller's
    transaction. `fresh`: the caller knows none of them exists yet (COPY on PostgreSQL);
    otherwise only what is missing is added. Returns the number of rows created."""
    now = timezone.now()
    content_rows = {}
    for key, spec in contents.items():
        digest = MessageContent.digest_of(
            channel=spec.channel, language=spec.language, subject=spec.subject, body=spec.body
        )
        content_rows[key], _ = MessageContent.objects.get_or_create(
            source=source,
            channel=spec.channel,
            digest=digest,
            defaults={"language": spec.language, "subject": spec.subject, "body": spec.body},
        )
    rows = [
        {
            "organization_id": organization_id,
            "contact_id": recipient.contact.pk,
            "channel": recipient.channel,
            "topic": topic,
            "source": source,
            "content_id": content_rows[recipient.content_key].pk,
            "fallback_content_id": content_rows[recipient.fallback_content_key].pk
            if recipient.fallback_content_key
            else None,
            "substitutions": recipient.substitutions,
            "to_address": recipient.contact.email if recipient.channel == "email" else recipient.contact.phone,
            "consent_at_send": recipient.contact.sms_consent if recipient.channel == "sms" else "",
            "segments": recipient.segments,
            "queued_at": now,
            "next_attempt_at": now,
            "status_changed_at": now,
        }
        for recipient in recipients
    ]
    if fresh:
        insert_new_messages(rows)
        created = len(rows)
    else:
        # A repeated call: keep what exists, add only what is missing.
        before = Message.objects.filter(source=source).count()
        Message.objects.bulk_create([Message(**row) for row in rows], batch_size=2000, ignore_conflicts=True)
        created = Message.objects.filter(source=source).count() - before
    for channel in ("email", "sms"):
        count = sum(1 for recipient in recipients if recipient.channel == channel)
        if count:
            _enqueue_delivery(channel, batches=-(-count // batch_size(channel)))
    return created


# ---------------------------------------------------------------------------------------------
# Streamed fan-out: a publish commits its audience, workers write the messages chunk by chunk


@dataclass
class FanOutChunk:
    """What the caller's builder made of some contacts: contents and recipients for comms, and
    figures (counts, lists, maps of counts) that add up over the chunks."""

    contents: dict
    recipients: list
    figures: dict


def figures_add(total, more):
    """Add a chunk's figures to the running total: numbers add, lists extend, maps add per key
    (a map of pairs keeps the largest, as for the longest SMS left out)."""
    total = dict(total)
    for key, value in more.items():
        if isinstance(value, dict):
            merged = dict(total.get(key) or {})
            for name, each in value.items():
                merged[name] = (
                    each + merged.get(name, 0) if isinstance(each, int) else max(merged.get(name, each), each)
                )
            total[key] = merged
        elif isinstance(value, list):
            total[key] = [*(total.get(key) or []), *value]
        else:
            total[key] = (total.get(key) or 0) + value
    return total


def fan_out_start(*, organization, topic, source, builder, inputs, contact_ids, first_chunk_size, strict_first=None):
    """Record a fan-out in the caller's transaction and write its first chunk there too, so the
    first sends start the moment the caller commits; workers write the rest (fan_out_run).

    `builder` is the dotted path of `build(*, inputs, contact_ids, strict)` -> FanOutChunk; it is
    called with strict=True for the first chunk (it may refuse, rolling the caller back).
    Idempotent per source. Returns the FanOut.
    """
    fan_out, created = FanOut.objects.get_or_create(
        source=source,
        defaults={
            "organization": organization,
            "topic": topic,
            "builder": builder,
            "inputs": inputs,
            "contact_ids": list(contact_ids),
            "contacts": len(contact_ids),
        },
    )
    if not created:
        return fan_out
    _fan_out_step(fan_out, size=first_chunk_size, strict=True)
    if not fan_out.is_complete:
        _enqueue_fan_out(fan_out)
    return fan_out


def _fan_out_step(fan_out, *, size, strict=False):
    """Write the next chunk of a fan-out (locked by the caller) and advance it, in one transaction."""
    build = import_string(fan_out.builder)
    contact_ids = fan_out.contact_ids[fan_out.position : fan_out.position + size]
    chunk = build(inputs=fan_out.inputs, contact_ids=contact_ids, strict=strict)
    written = 0
    if chunk.recipients:
        try:
            with transaction.atomic():
                written = _messages_write(
                    organization_id=fan_out.organization_id,
                    topic=fan_out.topic,
                    source=fan_out.source,
                    contents=chunk.contents,
                    recipients=chunk.recipients,
                    fresh=True,
                )
        except IntegrityError:
            # Some of these exist already (written outside the fan-out): add only the others.
            written = _messages_write(
                organization_id=fan_out.organization_id,
                topic=fan_out.topic,
                source=fan_out.source,
                contents=chunk.contents,
                recipients=chunk.recipients,
                fresh=False,
            )
    now = timezone.now()
    fan_out.position += len(contact_ids)
    fan_out.messages_written += written
    fan_out.figures = figures_add(fan_out.figures, chunk.figures)
    fan_out.progressed_at = now
    if fan_out.position >= fan_out.contacts:
        fan_out.completed_at = now
    fan_out.save(update_fields=["position", "messages_written", "figures", "progressed_at", "completed_at"])
    if fan_out.completed_at:
        _emit(
            CommsEvent(
                "fan_out_completed",
                fan_out.topic,
                fan_out.organization_id,
                at=now,
                data={"source": fan_out.source, "figures": fan_out.figures},
            )
        )


def fan_out_run(*, fan_out_id):
    """Write a fan-out's remaining chunks, one transaction each, so the first chunks are being
    sent while later ones are written. Safe in several workers at once and after a crash: each
    chunk locks the record and starts where the last committed chunk ended. Returns the number
    of chunks written."""
    chunks = 0
    while True:
        with transaction.atomic():
            fan_out = (
                FanOut.objects.select_for_update(skip_locked=connection.features.has_select_for_update_skip_locked)
                .filter(pk=fan_out_id, completed_at__isnull=True)
                .first()
            )
            if fan_out is None:
                return chunks  # done, or another worker is writing it
            _fan_out_step(fan_out, size=settings.CANDOR_FAN_OUT_CHUNK_SIZE)
            chunks += 1


def _enqueue_fan_out(fan_out):
    from .tasks import fan_out_messages

    def enqueue():
        fan_out_messages.enqueue(fan_out.pk)

    if settings.TASKS["default"]["BACKEND"] == "django_tasks_db.DatabaseBackend":
        enqueue()
        _notify_workers("fanout")
    else:
        transaction.on_commit(enqueue)


def fan_outs_stalled(*, now):
    """Fan-outs that made no progress for a lease's duration: their worker died."""
    return FanOut.objects.filter(completed_at__isnull=True, progressed_at__lt=now - lease_duration())


def wake_channel(queue_name):
    """The PostgreSQL notification channel that wakes the workers of a task queue."""
    return f"candor_tasks_{queue_name}"


def _notify_workers(queue_name):
    """Wake idle workers of a queue (manage.py candor_worker LISTENs) when the caller's transaction
    commits: PostgreSQL delivers a NOTIFY only then (once per channel per transaction), and not at
    all on a rollback. RQ pushes jobs to its workers by itself."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"NOTIFY {wake_channel(queue_name)}")


# ---------------------------------------------------------------------------------------------
# Delivery


@dataclass
class ClaimedMessage:
    """What sending needs of a claimed message: plain values, no model instance (cheap in bulk)."""

    pk: int
    channel: str
    to_address: str
    to_name: str
    substitutions: dict
    subject: str
    body: str
    attempts: int
    claim: str
    queued_at: dt.datetime | None = None
    # The last attempt may have reached the provider unseen (a dead worker, a read timeout).
    may_have_been_sent: bool = False
    provider_message_id: str = ""
    is_to_contact: bool = True  # False for the team's own notices (they get no reply address)
    webhook_url: str = ""  # a team channel's, read when the notice is claimed (a rotated URL applies)


# Error codes after which the provider may hold the message although we never recorded it.
AMBIGUOUS_ERRORS = ("lease-expired", "timeout", "connection")


# The claim of a batch and everything sending it needs, in one statement on PostgreSQL: the rows
# are taken (FOR UPDATE SKIP LOCKED: another worker's rows are skipped, not waited for), their
# lease is written only when some were, and each row comes back joined with its words, its
# recipient's name and its team channel's URL. The words come once per content (on its first
# row): a batch of 1000 emails in four languages carries four bodies, not 1000.
_CLAIM_POSTGRESQL = """
WITH claimed AS (
    UPDATE {message} SET status = %(sending)s, claim = %(token)s, claimed_at = %(now)s,
        status_changed_at = %(now)s, attempts = attempts + 1
    WHERE id IN (
        SELECT id FROM {message}
        WHERE channel = %(channel)s AND status = %(queued)s AND next_attempt_at <= %(now)s
        ORDER BY next_attempt_at, id LIMIT %(limit)s FOR UPDATE SKIP LOCKED
    )
    RETURNING id, to_address, substitutions, content_id, contact_id, user_id, team_channel_id, attempts,
        error_code, queued_at
), lease AS (
    INSERT INTO {lease} (token, holder, task_result_id, acquired_at, expires_at)
    SELECT %(token)s, %(holder)s, '', %(acquired_at)s, %(expires_at)s WHERE EXISTS (SELECT 1 FROM claimed)
)
SELECT claimed.id, claimed.to_address, claimed.substitutions, claimed.content_id,
    CASE WHEN row_number() OVER words = 1 THEN content.subject END,
    CASE WHEN row_number() OVER words = 1 THEN content.body END,
    claimed.contact_id, contact.name, member.first_name, member.last_name, member.username,
    team_channel.webhook_url, claimed.attempts, claimed.error_code, claimed.queued_at
FROM claimed
JOIN {content} content ON content.id = claimed.content_id
LEFT JOIN {contact} contact ON contact.id = claimed.contact_id
LEFT JOIN {user} member ON member.id = claimed.user_id
LEFT JOIN {team_channel} team_channel ON team_channel.id = claimed.team_channel_id
WINDOW words AS (PARTITION BY claimed.content_id ORDER BY claimed.id)
ORDER BY claimed.content_id, claimed.id
"""

# The same on databases without data-modifying WITH (SQLite): one UPDATE ... RETURNING whose
# columns look up the words and names, in the transaction that writes the lease. SQLite
# serializes writers, so there is nothing to skip.
_CLAIM_PORTABLE = """
UPDATE {message} SET status = %(sending)s, claim = %(token)s, claimed_at = %(now)s,
    status_changed_at = %(now)s, attempts = attempts + 1
WHERE id IN (
    SELECT id FROM {message}
    WHERE channel = %(channel)s AND status = %(queued)s AND next_attempt_at <= %(now)s
    ORDER BY next_attempt_at, id LIMIT %(limit)s
)
RETURNING id, to_address, substitutions, content_id,
    (SELECT subject FROM {content} WHERE {content}.id = {message}.content_id),
    (SELECT body FROM {content} WHERE {content}.id = {message}.content_id),
    contact_id,
    (SELECT name FROM {contact} WHERE {contact}.id = {message}.contact_id),
    (SELECT first_name FROM {user} WHERE {user}.id = {message}.user_id),
    (SELECT last_name FROM {user} WHERE {user}.id = {message}.user_id),
    (SELECT username FROM {user} WHERE {user}.id = {message}.user_id),
    (SELECT webhook_url FROM {team_channel} WHERE {team_channel}.id = {message}.team_channel_id),
    attempts, error_code, queued_at
"""


def _claim_sql(template):
    from accounts.models import User

    return template.format(
        message=Message._meta.db_table,
        lease=Lease._meta.db_table,
        content=MessageContent._meta.db_table,
        contact=Contact._meta.db_table,
        user=User._meta.db_table,
        team_channel=TeamChannel._meta.db_table,
    )


def _claim(channel, limit, now):
    """Claim up to `limit` due messages of a channel for this worker, under a new lease that this
    process renews while it sends (see comms.leases), with everything sending them needs: one
    statement on PostgreSQL (claim, lease, words, names), one UPDATE ... RETURNING beside the
    lease's INSERT elsewhere. The claim token, the lease's token, marks the rows as ours.
    """
    token = uuid.uuid4().hex
    params = {
        "sending": MessageStatus.SENDING,
        "queued": MessageStatus.QUEUED,
        "token": token,
        "now": now,
        "channel": channel,
        "limit": limit,
    }
    if connection.vendor == "postgresql":
        lease = lease_columns(token=token, now=now)
        params.update(holder=lease["holder"], acquired_at=lease["acquired_at"], expires_at=lease["expires_at"])
        with connection.cursor() as cursor:
            cursor.execute(_claim_sql(_CLAIM_POSTGRESQL), params)
            rows = cursor.fetchall()
        if rows:
            heartbeat.hold(token)
    else:
        with transaction.atomic(), connection.cursor() as cursor:
            lease_acquire(token=token, now=now)
            cursor.execute(_claim_sql(_CLAIM_PORTABLE), params)
            rows = cursor.fetchall()
            if not rows:
                lease_release(token=token)
        rows.sort(key=lambda row: (row[3], row[0]))  # by content, as PostgreSQL returns them
    if not rows:
        return []
    words = {row[3]: (row[4], row[5]) for row in rows if row[5] is not None}
    queued_at_field = Message._meta.get_field("queued_at")
    claimed = []
    for (
        pk,
        to_address,
        substitutions,
        content_id,
        _,
        _,
        contact_id,
        contact_name,
        first_name,
        last_name,
        username,
        webhook_url,
        attempts,
        error_code,
        queued_at,
    ) in rows:
        if isinstance(substitutions, str | bytes):
            substitutions = orjson.loads(substitutions)
        if isinstance(queued_at, str):  # SQLite's RETURNING skips the field's converters
            queued_at = queued_at_field.to_python(queued_at)
        if queued_at is not None and timezone.is_naive(queued_at):
            queued_at = timezone.make_aware(queued_at, dt.UTC)
        if contact_id is not None:
            to_name = contact_name or ""
        elif username is not None:  # a member of the team: what display_name() calls them
            to_name = f"{first_name} {last_name}".strip() or username
        else:
            to_name = ""
        subject, body = words[content_id]
        claimed.append(
            ClaimedMessage(
                pk=pk,
                channel=channel,
                to_address=to_address,
                to_name=to_name,
                substitutions=substitutions or {},
                subject=subject,
                body=body,
                attempts=attempts,
                claim=token,
                queued_at=queued_at,
                may_have_been_sent=attempts > 1 and error_code in AMBIGUOUS_ERRORS,
                is_to_contact=contact_id is not None,
                webhook_url=webhook_url or "",
            )
        )
    return claimed


def status_callback_url():
    return f"{settings.CANDOR_PUBLIC_URL}/hooks/twilio/status/"


def _outgoing(message):
    if message.channel == "sms":
        body = apply_substitutions(message.body, message.substitutions)
        return OutgoingSms(
            message_id=message.pk, to=message.to_address, body=body, status_callback_url=status_callback_url()
        )
    preferences_url = message.substitutions.get("-preferences_url-", "")
    headers = {}
    if preferences_url:
        headers = {
            "List-Unsubscribe": f"<{preferences_url}unsubscribe/>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        }
    substitutions = message.substitutions
    reply_to = ""
    if message.is_to_contact and (reply_to := reply_address_template()):
        # One Reply-To for the whole batch, the signed token per recipient: a reply names its message.
        substitutions = {**substitutions, REPLY_TOKEN: reply_token(message.pk)}
    return OutgoingEmail(
        message_id=message.pk,
        to_email=message.to_address,
        to_name=message.to_name,
        subject=message.subject,
        body=message.body,
        substitutions=substitutions,
        headers=headers,
        reply_to=reply_to,
    )


def _team_notices(messages):
    """Team channel posts: the channel's webhook URL is read when the notice is claimed, never
    copied into the outbox, so a rotated URL applies to what is still queued."""
    return [
        OutgoingTeamNotice(
            message_id=message.pk,
            webhook_url=message.webhook_url,
            title=message.subject,
            text=message.body,
            action=message.substitutions.get(TEAM_ACTION_KEY, ""),
            link=message.substitutions.get(TEAM_LINK_KEY, ""),
        )
        for message in messages
    ]


# What a team channel post carries beside its words, kept in the message's substitutions.
TEAM_ACTION_KEY = "-action-"
TEAM_LINK_KEY = "-link-"


def retry_delay(attempt, retry_after=None):
    """Exponential backoff with jitter, at least what the provider asked for, at most an hour."""
    base = settings.CANDOR_RETRY_BASE_SECONDS * (2 ** max(attempt - 1, 0))
    delay = min(base, 3600) * random.uniform(0.5, 1.5)
    return max(delay, retry_after or 0)


def deliver_batch(*, channel, limit=None):
    """Claim one batch of due messages of a channel, hand it to the provider and record the
    results. Returns the number of messages handled. Safe to run in many workers at once.

    First takes back what a dead worker left in 'sending' on this channel (its lease expired), so
    any running worker recovers it, not only the sweep. SMS that a dead worker may have sent are
    looked up at the provider before being sent again; emails go out and are recorded in slices of
    CANDOR_EMAIL_SLICE_SIZE, so a kill can double at most one slice.
    """
    now = timezone.now()
    _recover_expired_claims(now=now, channel=channel)
    messages = _claim(channel, limit or batch_size(channel), now)
    if not messages:
        return 0
    try:
        if channel in TEAM_CHANNELS:
            provider = get_team_channel_provider(channel)
            results = provider.send_notices(_team_notices(messages))
            _record_results(provider.name, {message.pk: message for message in messages}, results)
        elif channel == "sms":
            provider = get_sms_provider()
            found = _already_sent(provider, messages)
            by_id = {message.pk: message for message in messages}
            if found:
                _record_results(provider.name, by_id, found)
            found_ids = {result.message_id for result in found}
            to_send = [message for message in messages if message.pk not in found_ids]
            if to_send:
                with monitoring.Timer() as timer:
                    results = provider.send_sms([_outgoing(m) for m in to_send])
                monitoring.record_delivery(
                    channel=channel, provider=provider.name, results=results, seconds=timer.seconds
                )
                _record_results(provider.name, by_id, results)
        else:
            provider = get_email_provider()
            # Same words next to each other, so that a slice still makes few provider requests.
            ordered = sorted(messages, key=lambda message: (message.subject, message.body, message.pk))
            size = max(1, settings.CANDOR_EMAIL_SLICE_SIZE)
            for start in range(0, len(ordered), size):
                piece = ordered[start : start + size]
                with monitoring.Timer() as timer:
                    results = provider.send_email([_outgoing(message) for message in piece])
                monitoring.record_delivery(
                    channel=channel, provider=provider.name, results=results, seconds=timer.seconds
                )
                _record_results(provider.name, {message.pk: message for message in piece}, results)
    finally:
        lease_release(token=messages[0].claim)
    return len(messages)


def _already_sent(provider, messages):
    """Accepted results for SMS that the provider already holds from an attempt we never recorded."""
    unsure = [message for message in messages if message.may_have_been_sent]
    if not unsure:
        return []
    outgoing = [_outgoing(message) for message in unsure]
    since = {message.pk: message.queued_at for message in unsure}
    found = [result for result in provider.find_sent_sms(outgoing, since=since) if result is not None]
    if found:
        logger.warning(
            "%d of %d recovered SMS were already at %s: recorded, not sent again.",
            len(found),
            len(unsure),
            provider.name,
        )
    return found


def _retry_moment(now, delay_seconds):
    """When to try again, rounded up to a whole second: one waiting task serves every message of
    a batch due in the same second."""
    moment = now + dt.timedelta(seconds=delay_seconds)
    if moment.microsecond:
        moment = moment.replace(microsecond=0) + dt.timedelta(seconds=1)
    return moment


def _record_results(provider_name, by_id, results):
    now = timezone.now()
    accepted, retries = [], []
    for result in results:
        message = by_id[result.message_id]
        if result.outcome == Outcome.ACCEPTED:
            message.provider_message_id = result.provider_message_id
            accepted.append(message)
        elif result.outcome == Outcome.TRANSIENT and message.attempts < settings.CANDOR_MAX_ATTEMPTS:
            retries.append((message, result))
        else:
            message_fail(
                message=Message.objects.get(pk=message.pk),
                status=MessageStatus.FAILED,
                error_code=result.error_code,
                error=result.error or "Gave up after repeated temporary errors.",
                provider=provider_name,
                recipient_opted_out=result.recipient_opted_out,
                at=now,
            )
    if accepted:
        # Only rows still ours: a webhook may already have moved a message further.
        mark_sent(accepted, claim=accepted[0].claim, provider_name=provider_name, at=now)
        if accepted[0].channel == "sms":
            # Twilio's callbacks name a message by its sid, so one may come before the sid is
            # saved here. SendGrid's events name our own message id (custom_args) and are
            # recorded against the row whatever its state; team channels report nothing.
            _apply_early_reports(provider_name, accepted)
    if retries:
        _schedule_retries(provider_name, retries, now)


@transaction.atomic
def _schedule_retries(provider_name, retries, now):
    """Put messages back in the queue for their retry time and, in the same transaction, a task
    waiting for each retry moment, so retries run on time with no sweep."""
    due = Counter()
    for message, result in retries:
        next_at = _retry_moment(now, retry_delay(message.attempts, result.retry_after_seconds))
        updated = Message.objects.filter(pk=message.pk, claim=message.claim, status=MessageStatus.SENDING).update(
            status=MessageStatus.QUEUED,
            next_attempt_at=next_at,
            error_code=result.error_code,
            last_error=result.error,
            status_changed_at=now,
            provider=provider_name,
        )
        if updated:
            due[(message.channel, next_at)] += 1
    for (channel, next_at), count in sorted(due.items()):
        _enqueue_delivery(channel, batches=math.ceil(count / batch_size(channel)), run_after=next_at)


@transaction.atomic
def message_fail(*, message, status, error_code, error, provider="", recipient_opted_out=False, at=None):
    """A message will not arrive: record it, opt the contact out if the provider says so, fall
    back to email for SMS when possible, and tell the caller."""
    at = at or timezone.now()
    updated = (
        Message.objects.filter(pk=message.pk)
        .exclude(status__in=FAILED_STATUSES | {MessageStatus.DELIVERED})
        .update(
            status=status,
            error_code=error_code,
            last_error=error,
            failed_at=at,
            status_changed_at=at,
            provider=provider or message.provider,
        )
    )
    if not updated:
        return
    message.refresh_from_db()
    if message.contact_id is None:
        # An internal alert to a member of the team: no consent, fallback or reachability to track.
        _emit(
            CommsEvent(
                "team_message_failed",
                message.topic,
                message.organization_id,
                None,
                message.pk,
                at,
                {
                    "channel": message.channel,
                    "status": status,
                    "error_code": error_code,
                    "error": error,
                    "source": message.source,
                    "user": message.user_id,
                    "to": message.to_address,
                },
            )
        )
        return
    contact = Contact.objects.select_for_update().get(pk=message.contact_id)
    if recipient_opted_out and message.channel == "sms" and contact.sms_consent != SmsConsent.OPTED_OUT:
        contact.opt_out_of_sms(at=at)
        contact.save(update_fields=["sms_consent", "sms_opted_out_at", "updated_at"])
        _emit(
            CommsEvent(
                "contact_opted_out",
                message.topic,
                message.organization_id,
                contact.pk,
                message.pk,
                at,
                {"reason": f"provider refused: {error_code}"},
            )
        )
    _emit(
        CommsEvent(
            "message_failed",
            message.topic,
            message.organization_id,
            contact.pk,
            message.pk,
            at,
            {
                "channel": message.channel,
                "status": status,
                "error_code": error_code,
                "error": error,
                "source": message.source,
            },
        )
    )
    if message.channel == "sms" and _queue_email_fallback(message, contact, at):
        return
    if not Message.objects.filter(source=message.source, contact=contact).exclude(status__in=FAILED_STATUSES).exists():
        _emit(
            CommsEvent(
                "contact_unreachable",
                message.topic,
                message.organization_id,
                contact.pk,
                message.pk,
                at,
                {"source": message.source},
            )
        )


def _queue_email_fallback(sms, contact, at):
    if sms.fallback_content_id is None or not contact.can_receive_email:
        return False
    if Message.objects.filter(source=sms.source, contact=contact, channel="email").exists():
        return False
    fallback = Message.objects.create(
        organization_id=sms.organization_id,
        contact=contact,
        channel="email",
        topic=sms.topic,
        source=sms.source,
        content_id=sms.fallback_content_id,
        substitutions=sms.substitutions,
        fallback_of=sms,
        to_address=contact.email,
        queued_at=at,
        next_attempt_at=at,
        status_changed_at=at,
    )
    _enqueue_delivery("email")
    _emit(
        CommsEvent(
            "fallback_queued", sms.topic, sms.organization_id, contact.pk, fallback.pk, at, {"source": sms.source}
        )
    )
    return True


# ---------------------------------------------------------------------------------------------
# Provider reports


def message_record_event(
    *,
    message,
    status,
    at,
    provider,
    event,
    dedup_key,
    payload=None,
    error_code="",
    error="",
    recipient_opted_out=False,
    provider_message_id="",
):
    """Record a provider's report once and move the message forward (never backwards).

    A report for a message we cannot find yet (a callback that beat our own commit) is kept
    with its provider id and applied when the send is recorded. Returns False for a duplicate
    report, which changes nothing.
    """
    with transaction.atomic():
        try:
            with transaction.atomic():
                MessageEvent.objects.create(
                    message=message,
                    provider=provider,
                    event=event,
                    dedup_key=dedup_key,
                    provider_message_id=provider_message_id or (message.provider_message_id if message else ""),
                    status=status or "",
                    error_code=error_code or "",
                    occurred_at=at,
                    payload=payload or {},
                )
        except IntegrityError:
            return False
        if message is not None and status:
            _apply_status(
                message, status, at=at, error_code=error_code, error=error, recipient_opted_out=recipient_opted_out
            )
    return True


def _apply_status(message, status, *, at, error_code="", error="", recipient_opted_out=False):
    if status in FAILED_STATUSES:
        message_fail(
            message=message,
            status=status,
            error_code=error_code,
            error=error,
            at=at,
            recipient_opted_out=recipient_opted_out,
        )
        return
    message.refresh_from_db()
    if not message.can_move_to(status):
        return
    changes = {"status": status, "status_changed_at": at}
    if status == MessageStatus.DELIVERED:
        changes["delivered_at"] = at
    if status == MessageStatus.SENT and not message.sent_at:
        changes["sent_at"] = at
    Message.objects.filter(pk=message.pk, status=message.status).update(**changes)


def mark_sent(messages, *, claim, provider_name, at):
    """Record accepted messages with their provider ids in one statement, touching only rows
    still 'sending' under this claim."""
    table = Message._meta.db_table
    values = ", ".join(["(%s, %s)"] * len(messages))
    params = [value for message in messages for value in (message.pk, message.provider_message_id)]
    # One statement, so atomic as it is: no transaction of its own (no BEGIN and COMMIT round trips).
    with connection.cursor() as cursor:
        cursor.execute(
            f"WITH sent(id, provider_message_id) AS (VALUES {values}) "
            f"UPDATE {table} SET status = %s, provider = %s, sent_at = %s, status_changed_at = %s, "
            f"error_code = '', last_error = '', provider_message_id = sent.provider_message_id "
            f"FROM sent WHERE {table}.id = sent.id AND {table}.claim = %s AND {table}.status = %s",
            [*params, MessageStatus.SENT, provider_name, at, at, claim, MessageStatus.SENDING],
        )


def _apply_early_reports(provider_name, messages):
    """Apply reports that arrived before these messages' provider ids were saved."""
    by_provider_id = {m.provider_message_id: m for m in messages if m.provider_message_id}
    if not by_provider_id:
        return
    early = MessageEvent.objects.filter(
        message__isnull=True, provider=provider_name, provider_message_id__in=list(by_provider_id)
    ).order_by("occurred_at", "id")
    for report in early:
        message = Message.objects.get(pk=by_provider_id[report.provider_message_id].pk)
        with transaction.atomic():
            MessageEvent.objects.filter(pk=report.pk).update(message=message)
            if report.status:
                _apply_status(
                    message,
                    report.status,
                    at=report.occurred_at,
                    error_code=report.error_code,
                    error=f"{provider_name} reported {report.event}",
                    recipient_opted_out=report.error_code == "21610",
                )


@transaction.atomic
def contact_mark_email_bad(*, contact, status, at):
    if contact is None:
        return  # an internal alert to a team member: they have no client contact record
    """A hard bounce or a spam complaint: stop emailing this address."""
    Contact.objects.filter(pk=contact.pk).update(email_status=status, updated_at=at)


@transaction.atomic
def contact_stop_email(*, contact, at):
    if contact is None:
        return
    Contact.objects.filter(pk=contact.pk).update(accepts_email=False, updated_at=at)


# ---------------------------------------------------------------------------------------------
# Inbound SMS

OPT_OUT_WORDS = {"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT"}
OPT_IN_WORDS = {"START", "YES", "UNSTOP"}
HELP_WORDS = {"HELP", "INFO"}


def classify_inbound(body):
    word = (body or "").strip().upper()
    if word in OPT_OUT_WORDS:
        return InboundKind.OPT_OUT
    if word in OPT_IN_WORDS:
        return InboundKind.OPT_IN
    if word in HELP_WORDS:
        return InboundKind.HELP
    return InboundKind.REPLY


@dataclass(frozen=True)
class InboundOutcome:
    inbound: InboundMessage
    is_new: bool
    reply_text: str  # what to answer by TwiML ("" = nothing)


@transaction.atomic
def inbound_sms_receive(*, provider_message_id, from_number, to_number, body, at=None):
    """Record an SMS from a contact: opt out, opt in, answer HELP, or hand the reply on.

    Twilio may retry a webhook: the provider's message id makes a repeat harmless (and silent).
    """
    at = at or timezone.now()
    existing = InboundMessage.objects.filter(provider_message_id=provider_message_id).first()
    if existing is not None:
        return InboundOutcome(existing, False, "")
    kind = classify_inbound(body)
    contacts = list(
        Contact.objects.select_for_update(of=("self",)).select_related("client__organization").filter(phone=from_number)
    )
    last_message = (
        Message.objects.filter(to_address=from_number, channel="sms", contact__isnull=False)
        .order_by("-queued_at")
        .first()
    )
    contact = last_message.contact if last_message else (contacts[0] if contacts else None)
    organization = contact.client.organization if contact else None
    inbound = InboundMessage.objects.create(
        organization=organization,
        contact=contact,
        provider_message_id=provider_message_id,
        from_number=from_number,
        to_number=to_number,
        body=body,
        kind=kind,
        topic=last_message.topic if last_message else "",
        received_at=at,
    )
    reply = ""
    if kind == InboundKind.OPT_OUT:
        changed = [c for c in contacts if c.sms_consent != SmsConsent.OPTED_OUT]
        for each in changed:
            each.opt_out_of_sms(at=at)
            each.save(update_fields=["sms_consent", "sms_opted_out_at", "updated_at"])
            _emit(
                CommsEvent(
                    "contact_opted_out",
                    inbound.topic,
                    each.client.organization_id,
                    each.pk,
                    None,
                    at,
                    {"reason": "replied " + body.strip()},
                )
            )
        # At most one confirmation: only when this reply changed something.
        if changed:
            reply = "You will get no more SMS from us. Reply START to receive them again."
    elif kind == InboundKind.OPT_IN:
        changed = [c for c in contacts if c.sms_consent != SmsConsent.GRANTED]
        for each in changed:
            each.grant_sms_consent(at=at)
            each.save(update_fields=["sms_consent", "sms_consent_at", "sms_opted_out_at", "updated_at"])
        if changed:
            reply = "You will receive our SMS updates again. Reply STOP to opt out."
    elif kind == InboundKind.HELP:
        help_text = organization.sms_help_text if organization else ""
        reply = help_text or "Crisis updates from Candor. Reply STOP to opt out."
    else:
        _emit(
            CommsEvent(
                "client_reply",
                inbound.topic,
                organization.pk if organization else None,
                contact.pk if contact else None,
                None,
                at,
                {"body": body, "from": from_number, "inbound_id": inbound.pk},
            )
        )
    return InboundOutcome(inbound, True, reply)


@dataclass(frozen=True)
class InboundEmail:
    """What the inbound parse webhook read from one email sent to a reply address."""

    message_id: int  # ours, from the signed reply address
    dedup_key: str  # the email's Message-ID (or a hash of it all), so a repost is stored once
    from_address: str
    subject: str
    body: str
    is_auto_reply: bool
    dropped_attachments: tuple = ()


class UnknownReplyAddress(Exception):
    """The signed reply address names no email of ours to a contact."""


@transaction.atomic
def inbound_email_receive(*, email, at=None):
    """Record an email a contact sent in reply to one of our messages, and hand it on as a
    client reply (an automatic answer is recorded and marked, and handed on marked as such).

    Raises UnknownReplyAddress when the message named is not an email to a contact. SendGrid may
    post the same email again: the email's own id makes a repeat harmless.
    """
    at = at or timezone.now()
    message = (
        Message.objects.select_related("contact__client")
        .filter(pk=email.message_id, channel="email", contact__isnull=False)
        .first()
    )
    if message is None:
        raise UnknownReplyAddress(f"No email {email.message_id} to a contact.")
    existing = InboundMessage.objects.filter(provider_message_id=email.dedup_key).first()
    if existing is not None:
        return InboundOutcome(existing, False, "")
    note = ""
    if email.dropped_attachments:
        names = ", ".join(email.dropped_attachments)
        note = f"{len(email.dropped_attachments)} attachment(s) not kept: {names}."
    inbound = InboundMessage.objects.create(
        organization_id=message.organization_id,
        contact=message.contact,
        message=message,
        channel="email",
        provider_message_id=email.dedup_key,
        from_number="",
        from_address=email.from_address[:254],
        subject=email.subject[:300],
        body=email.body,
        kind=InboundKind.REPLY,
        is_auto_reply=email.is_auto_reply,
        note=note,
        topic=message.topic,
        received_at=at,
    )
    _emit(
        CommsEvent(
            "client_reply",
            inbound.topic,
            message.organization_id,
            message.contact_id,
            message.pk,
            at,
            {
                "body": email.body,
                "from": email.from_address,
                "inbound_id": inbound.pk,
                "channel": "email",
                "subject": email.subject,
                "auto_reply": email.is_auto_reply,
                "note": note,
            },
        )
    )
    return InboundOutcome(inbound, True, "")


# ---------------------------------------------------------------------------------------------
# Recovery


def _recover_expired_claims(*, now, channel=None):
    """Put back in the queue the messages whose claim's lease expired: their worker died while
    sending. They may or may not have reached the provider (the window documented in the README);
    `deliver_batch` asks Twilio before sending such an SMS again. Returns counts per channel."""
    channels = [channel] if channel else ["email", "sms", *TEAM_CHANNELS]
    recovered = {}
    for each in channels:
        count = (
            Message.objects.filter(channel=each, status=MessageStatus.SENDING, claimed_at__lt=now - lease_duration())
            .exclude(alive_claims(now=now))
            .update(
                status=MessageStatus.QUEUED,
                claim="",
                next_attempt_at=now,
                status_changed_at=now,
                error_code="lease-expired",
                last_error="Recovered from a worker that stopped while sending (its lease expired).",
            )
        )
        if count:
            recovered[each] = count
            logger.warning("Recovered %d %s messages from a worker that stopped while sending.", count, each)
    return recovered


def _waiting_deliveries(channel, now):
    """How many delivery tasks of a channel are waiting to run by now, when the task backend can
    tell (the database backend); None when it cannot."""
    if settings.TASKS["default"]["BACKEND"] != "django_tasks_db.DatabaseBackend":
        return None
    from django.db.models import Q
    from django_tasks import TaskResultStatus
    from django_tasks_db.models import DBTaskResult, get_date_max

    from .tasks import DELIVERY_TASKS

    task = DELIVERY_TASKS[channel]
    return DBTaskResult.objects.filter(
        Q(run_after__lte=now) | Q(run_after=get_date_max()),
        status=TaskResultStatus.READY,
        task_path=task.module_path,
    ).count()


def outbox_sweep(*, now=None):
    """The safety net behind the workers: take back what dead workers left (messages and task
    rows whose lease expired) and enqueue delivery tasks only for due messages that no waiting
    task will take. Logs and returns what it did."""
    now = now or timezone.now()
    recovered_tasks = stale_tasks_recover(now=now)
    recovered = _recover_expired_claims(now=now)
    enqueued = {}
    with transaction.atomic():
        for channel in ("email", "sms", *TEAM_CHANNELS):
            waiting = _waiting_deliveries(channel, now)
            if waiting is None:
                # The backend cannot say what waits: trust it for a grace period.
                cutoff = now - dt.timedelta(seconds=settings.CANDOR_SWEEP_GRACE_SECONDS)
                due = Message.objects.filter(channel=channel, status=MessageStatus.QUEUED, next_attempt_at__lte=cutoff)
                needed = math.ceil((due.count() + recovered.get(channel, 0)) / batch_size(channel))
            else:
                due = Message.objects.filter(channel=channel, status=MessageStatus.QUEUED, next_attempt_at__lte=now)
                needed = math.ceil(due.count() / batch_size(channel)) - waiting
            if needed > 0:
                enqueued[channel] = needed
                _enqueue_delivery(channel, batches=needed)
    stalled = list(fan_outs_stalled(now=now))
    for fan_out in stalled:
        _enqueue_fan_out(fan_out)
    leases_prune(now=now)
    if stalled:
        logger.warning("Sweep resumed %d fan-outs whose worker stopped.", len(stalled))
    if enqueued:
        logger.warning("Sweep enqueued delivery tasks for due messages no task was waiting for: %s", enqueued)
    return {
        "recovered": sum(recovered.values()),
        "recovered_by_channel": recovered,
        "recovered_tasks": len(recovered_tasks),
        "enqueued": enqueued,
        "fan_outs_resumed": len(stalled),
    }
