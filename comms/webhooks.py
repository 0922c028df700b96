"""Provider webhooks: Twilio status callbacks and inbound SMS, SendGrid event batches, SendGrid
Inbound Parse (email replies).

Each view checks the provider's signature first (anything forged or unreadable is 403 and
changes nothing), then translates the payload into calls to the comms services.
"""

import datetime as dt
import email.parser
import email.policy
import hashlib
import json
import logging

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.db import DatabaseError, DataError, IntegrityError, transaction
from django.http import HttpResponse, HttpResponseBadRequest, HttpResponseForbidden, UnreadablePostError
from django.http.multipartparser import MultiPartParserError
from django.utils import timezone
from django.utils.crypto import constant_time_compare
from django.utils.html import strip_tags
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from sendgrid.helpers.eventwebhook import EventWebhook
from sendgrid.helpers.eventwebhook.eventwebhook_header import EventWebhookHeader
from twilio.request_validator import RequestValidator
from twilio.twiml.messaging_response import MessagingResponse

from accounts.models import EmailStatus

from .models import Channel, InboundMessage, Message, MessageEvent, MessageStatus
from .monitoring.metrics import WEBHOOKS_REFUSED
from .reply_address import message_id_from_addresses
from .services import (
    InboundEmail,
    UnknownReplyAddress,
    contact_mark_email_bad,
    contact_stop_email,
    inbound_email_receive,
    inbound_sms_receive,
    message_record_event,
)

logger = logging.getLogger("candor.webhooks")

# Twilio's MessageStatus values that tell us something. "queued", "accepted", "scheduled" and
# "sending" only repeat what we already know; anything else unexpected is recorded as is.
TWILIO_STATUSES = {
    "sent": MessageStatus.SENT,
    "delivered": MessageStatus.DELIVERED,
    "undelivered": MessageStatus.UNDELIVERED,
    "failed": MessageStatus.FAILED,
}
TWILIO_IGNORED_STATUSES = {"queued", "accepted", "scheduled", "sending"}

# A signed SendGrid request older (or newer) than this is a replay, or a clock we cannot trust.
SENDGRID_SIGNATURE_MAX_AGE = dt.timedelta(minutes=10)


def _dedup_key(text):
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _too_long(form, limits):
    """A 400 naming the first field longer than its column, or None: a signed request with a field
    no Twilio id or phone number can have is not one we can record."""
    for name, model_field in limits.items():
        limit = model_field.max_length
        if len(form.get(name, "")) > limit:
            return HttpResponseBadRequest(f"{name} is longer than {limit} characters; only SMS is supported.")
    return None


def _unavailable(what):
    """503 so the provider retries later: its report is kept by the provider, never dropped by us."""
    logger.exception("Could not record %s; asked the provider to retry.", what)
    return HttpResponse("The database is unavailable; retry later.", status=503, headers={"Retry-After": "60"})


# ---------------------------------------------------------------------------------------------
# Twilio


def _twilio_signature_is_valid(request):
    token = settings.TWILIO_AUTH_TOKEN
    if not token:
        # An empty token would make every signature computable by anyone.
        return False
    # Twilio signs the public URL it called; behind our proxy the request's own host differs.
    url = settings.CANDOR_PUBLIC_URL + request.get_full_path()
    try:
        return RequestValidator(token).validate(url, request.POST, request.headers.get("X-Twilio-Signature")) is True
    except Exception:  # a missing header or an unreadable body: the verifier raises, we refuse
        return False


@csrf_exempt
@require_POST
def twilio_status(request):
    """Twilio's status callback for an SMS we sent: move the message forward."""
    if not _twilio_signature_is_valid(request):
        logger.warning("Refused a Twilio status callback with a bad signature.")
        WEBHOOKS_REFUSED.labels("twilio", "status").inc()
        return HttpResponseForbidden()
    sid = request.POST.get("MessageSid", "")
    reported = request.POST.get("MessageStatus", "").lower()
    if not sid or not reported:
        return HttpResponseBadRequest("MessageSid and MessageStatus are required.")
    too_long = _too_long(request.POST, {"MessageSid": MessageEvent._meta.get_field("provider_message_id")})
    if too_long:
        return too_long
    if reported in TWILIO_IGNORED_STATUSES:
        return HttpResponse(status=204)
    try:
        _record_twilio_status(request, sid, reported)
    except DatabaseError:
        return _unavailable(f"Twilio status {reported!r} of {sid}")
    return HttpResponse(status=204)


def _record_twilio_status(request, sid, reported):
    message = Message.objects.filter(provider_message_id=sid, channel=Channel.SMS).first()
    if message is None:
        # Maybe a callback that beat the commit of our own send: kept, applied once it is saved.
        logger.info("Twilio status %r for a message not (yet) known: %s.", reported, sid)
    error_code = request.POST.get("ErrorCode", "")[:40]
    message_record_event(
        provider_message_id=sid,
        recipient_opted_out=error_code == "21610",
        message=message,
        status=TWILIO_STATUSES.get(reported),
        at=timezone.now(),  # Twilio's form carries no time of its own
        provider="twilio",
        event=reported[:40],
        dedup_key=_dedup_key(f"twilio:{sid}:{reported}"),
        payload=request.POST.dict(),
        error_code=error_code,
        error=f"Twilio error {error_code}" if error_code else f"Twilio reported {reported}.",
    )


@csrf_exempt
@require_POST
def twilio_inbound(request):
    """An SMS a contact sent us: record it and answer with TwiML (a confirmation, or nothing)."""
    if not _twilio_signature_is_valid(request):
        logger.warning("Refused a Twilio inbound SMS with a bad signature.")
        WEBHOOKS_REFUSED.labels("twilio", "inbound").inc()
        return HttpResponseForbidden()
    sid = request.POST.get("MessageSid", "")
    from_number = request.POST.get("From", "").strip()  # Twilio sends E.164 already
    if not sid or not from_number:
        return HttpResponseBadRequest("MessageSid and From are required.")
    too_long = _too_long(
        request.POST,
        {name: InboundMessage._meta.get_field(field) for name, field in INBOUND_COLUMNS.items()},
    )
    if too_long:
        return too_long
    try:
        try:
            outcome = _inbound_receive(request, sid, from_number)
        except IntegrityError:
            # Twilio sent the same SMS twice at once and the other request recorded it first:
            # the database's unique id decided; now this one finds it and answers as a repeat.
            outcome = _inbound_receive(request, sid, from_number)
    except DatabaseError:
        return _unavailable(f"inbound SMS {sid}")
    twiml = MessagingResponse()
    if outcome.reply_text:
        twiml.message(outcome.reply_text)
    return HttpResponse(str(twiml), content_type="text/xml")


INBOUND_COLUMNS = {"MessageSid": "provider_message_id", "From": "from_number", "To": "to_number"}


def _inbound_receive(request, sid, from_number):
    return inbound_sms_receive(
        provider_message_id=sid,
        from_number=from_number,
        to_number=request.POST.get("To", "").strip(),
        body=request.POST.get("Body", ""),
    )


# ---------------------------------------------------------------------------------------------
# SendGrid


def _sendgrid_signature_is_valid(request, now):
    public_key = settings.SENDGRID_WEBHOOK_PUBLIC_KEY
    signature = request.headers.get(EventWebhookHeader.SIGNATURE)
    timestamp = request.headers.get(EventWebhookHeader.TIMESTAMP)
    if not (public_key and signature and timestamp):
        return False
    try:
        signed_at = int(timestamp)
    except ValueError:
        return False
    if abs(now.timestamp() - signed_at) > SENDGRID_SIGNATURE_MAX_AGE.total_seconds():
        return False
    try:
        webhook = EventWebhook()
        key = webhook.convert_public_key_to_ecdsa(public_key)
        return webhook.verify_signature(request.body.decode("utf-8"), signature, timestamp, key) is True
    except Exception:  # bad base64, a key of the wrong kind, a body that is not UTF-8: refuse
        return False


def _email_message(candor_message_id):
    value = str(candor_message_id or "")
    if not value.isdigit():
        return None
    return Message.objects.select_related("contact").filter(pk=int(value), channel=Channel.EMAIL).first()


def _record_sendgrid_event(item):
    """Record one SendGrid event against its message; events for messages we do not know are
    dropped without a trace, so a later, matching one is not mistaken for a duplicate."""
    message = _email_message(item.get("candor_message_id"))
    if message is None:
        return
    event = str(item.get("event", ""))[:40]
    timestamp = int(item["timestamp"])
    occurred_at = dt.datetime.fromtimestamp(timestamp, tz=dt.UTC)
    bounce_type = str(item.get("type", "")) if event == "bounce" else ""
    # SendGrid may resend one event under a new sg_event_id: the key is what the event says.
    dedup_key = _dedup_key(f"sendgrid:{message.pk}:{event}:{timestamp}:{bounce_type}")
    status, error_code, error = None, "", ""
    if event == "delivered":
        status = MessageStatus.DELIVERED
    elif event == "bounce" and bounce_type != "blocked":  # "blocked" is temporary: record only
        status, error_code, error = MessageStatus.BOUNCED, str(item.get("status", ""))[:40], item.get("reason", "")
    elif event == "dropped":
        status, error_code, error = MessageStatus.FAILED, "dropped", item.get("reason", "")
    is_new = message_record_event(
        message=message,
        status=status,
        at=occurred_at,
        provider="sendgrid",
        event=event,
        dedup_key=dedup_key,
        payload=item,
        error_code=error_code,
        error=str(error or ""),
    )
    if not is_new:
        return
    if status == MessageStatus.BOUNCED:
        contact_mark_email_bad(contact=message.contact, status=EmailStatus.BOUNCED, at=occurred_at)
    elif event == "spamreport":
        contact_mark_email_bad(contact=message.contact, status=EmailStatus.COMPLAINED, at=occurred_at)
    elif event in ("unsubscribe", "group_unsubscribe"):
        contact_stop_email(contact=message.contact, at=occurred_at)


@csrf_exempt
@require_POST
def sendgrid_events(request):
    """A batch of SendGrid events. 200 once recorded: SendGrid retries anything else for 24h."""
    if not _sendgrid_signature_is_valid(request, timezone.now()):
        logger.warning("Refused a SendGrid event batch with a bad or stale signature.")
        WEBHOOKS_REFUSED.labels("sendgrid", "events").inc()
        return HttpResponseForbidden()
    try:
        events = json.loads(request.body)
    except ValueError:
        return HttpResponseBadRequest("The body is not JSON.")
    if not isinstance(events, list):
        return HttpResponseBadRequest("Expected a list of events.")
    for item in events:
        # One transaction per event: a malformed one is logged and skipped, the others recorded.
        # A database error is not the event's fault: answer 503 so SendGrid retries the batch;
        # the events already recorded are then duplicates and change nothing.
        try:
            with transaction.atomic():
                _record_sendgrid_event(item)
        except (DataError, KeyError, TypeError, ValueError, AttributeError, OverflowError):
            logger.exception("Skipped a malformed SendGrid event %r.", item)
        except DatabaseError:
            return _unavailable("a SendGrid event batch")
    return HttpResponse(status=200)


# ---------------------------------------------------------------------------------------------
# SendGrid Inbound Parse: email replies from contacts
#
# Kept apart from the event webhook above. SendGrid posts each email received on the inbound
# domain as a multipart form (to, from, subject, text, html, headers, envelope, attachments,
# attachment-info, charsets...; or the whole MIME as "email" when "raw" is chosen). Inbound Parse
# signs nothing, so its URL carries a secret; the reply is matched through the signed reply address
# it was sent to, never through its From header.

# Precedence values mail systems give automatic answers (RFC 3834 and common practice).
AUTO_REPLY_PRECEDENCE = {"auto_reply", "bulk", "junk", "list"}
AUTO_REPLY_SUBJECT_PREFIXES = ("out of office", "automatic reply", "auto:", "autoreply", "abwesenheit")
MAX_REPLY_BODY = 20_000


def _is_auto_reply(headers, subject):
    auto_submitted = (headers.get("Auto-Submitted") or "").strip().lower()
    if auto_submitted and auto_submitted != "no":
        return True
    if any(headers.get(name) is not None for name in ("X-Autoreply", "X-Autorespond", "X-Auto-Response-Suppress")):
        return True
    if (headers.get("Precedence") or "").strip().lower() in AUTO_REPLY_PRECEDENCE:
        return True
    return subject.strip().lower().startswith(AUTO_REPLY_SUBJECT_PREFIXES)


def _raw_email_parts(raw):
    """(headers, text) of a whole MIME message posted in "raw" mode."""
    # Django decoded the field as UTF-8; the MIME parts say their own charsets, so parse bytes.
    parsed = email.message_from_bytes(raw.encode("utf-8", "surrogateescape"), policy=email.policy.default)
    part = parsed.get_body(preferencelist=("plain", "html"))
    text = part.get_content() if part is not None else ""
    if part is not None and part.get_content_type() == "text/html":
        text = strip_tags(text)
    attachments = tuple(attachment.get_filename() or "unnamed" for attachment in parsed.iter_attachments())
    return parsed, text, attachments


def _attachment_names(post, files):
    names = [upload.name for upload in files.values()]
    try:
        info = json.loads(post.get("attachment-info") or "{}")
    except ValueError:
        info = {}
    if isinstance(info, dict):
        names = names or [str(item.get("filename") or key) for key, item in info.items() if isinstance(item, dict)]
    count = post.get("attachments", "")
    if not names and count.isdigit() and int(count):
        names = [f"attachment{index}" for index in range(1, int(count) + 1)]
    return tuple(names)


def _inbound_email_from_post(post, files):
    """An InboundEmail from SendGrid's form, or raise ValueError (malformed) / LookupError (no
    validly signed reply address of ours among its recipients)."""
    sender = (post.get("from") or "").strip()
    if not sender:
        raise ValueError("The form has no 'from'.")
    envelope_to = []
    if post.get("envelope"):
        envelope = json.loads(post["envelope"])  # ValueError when it is not JSON
        if not isinstance(envelope, dict):
            raise ValueError("'envelope' must be a JSON object.")
        envelope_to = envelope.get("to") or []
        envelope_to = [envelope_to] if isinstance(envelope_to, str) else [str(item) for item in envelope_to]
    subject = post.get("subject", "")
    if post.get("email"):
        headers, text, attachments = _raw_email_parts(post["email"])
        subject = subject or str(headers.get("Subject") or "")
    else:
        headers = email.parser.HeaderParser(policy=email.policy.compat32).parsestr(post.get("headers", ""))
        text = post.get("text") or strip_tags(post.get("html", ""))
        attachments = _attachment_names(post, files)
    recipients = " ".join([*envelope_to, post.get("to", ""), post.get("cc", ""), str(headers.get("To") or "")])
    message_id = message_id_from_addresses(recipients)
    if message_id is None:
        raise LookupError("No validly signed reply address of ours.")
    email_id = str(headers.get("Message-ID") or "").strip()
    fingerprint = email_id or "\x1f".join([sender, subject, text, " ".join(envelope_to)])
    return InboundEmail(
        message_id=message_id,
        dedup_key="email:" + hashlib.sha256(fingerprint.encode("utf-8", "replace")).hexdigest()[:58],
        from_address=sender,
        subject=subject,
        body=text.strip()[:MAX_REPLY_BODY],
        is_auto_reply=_is_auto_reply(headers, subject),
        dropped_attachments=attachments,
    )


@csrf_exempt
@require_POST
def sendgrid_inbound(request, secret):
    """An email a contact sent to one of our reply addresses. 200 once recorded (SendGrid retries
    anything else for three days); a wrong secret or a reply address we did not sign is 403."""
    expected = settings.CANDOR_INBOUND_EMAIL_SECRET
    if not (expected and constant_time_compare(secret, expected)):
        logger.warning("Refused an inbound email post with a wrong secret.")
        WEBHOOKS_REFUSED.labels("sendgrid", "inbound").inc()
        return HttpResponseForbidden()
    try:
        post, files = request.POST, request.FILES
    except (MultiPartParserError, RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent, UnreadablePostError):
        return HttpResponseBadRequest("The body is not a readable multipart form.")
    try:
        inbound = _inbound_email_from_post(post, files)
    except LookupError:
        logger.warning("Refused an inbound email without a reply address we signed.")
        WEBHOOKS_REFUSED.labels("sendgrid", "inbound").inc()
        return HttpResponseForbidden()
    except (ValueError, TypeError, UnicodeError) as error:
        return HttpResponseBadRequest(f"Malformed inbound email: {error}")
    try:
        try:
            inbound_email_receive(email=inbound)
        except IntegrityError:
            # SendGrid posted the same email twice at once: the other request recorded it.
            inbound_email_receive(email=inbound)
    except UnknownReplyAddress:
        WEBHOOKS_REFUSED.labels("sendgrid", "inbound").inc()
        return HttpResponseForbidden()
    except DatabaseError:
        return _unavailable(f"inbound email {inbound.dedup_key}")
    return HttpResponse(status=200)
