"""The one small interface between the outbox and the SMS/email providers.

A provider takes a batch of outgoing messages and answers with exactly one `SendResult` per
message, in input order. It never raises for a provider or network error: it classifies it as
transient (retry later, maybe after N seconds) or permanent, and nothing above it needs to know
what a Twilio error code or a SendGrid personalization is.
"""

from __future__ import annotations

import datetime
import email.utils
import re
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


@dataclass(frozen=True)
class OutgoingSms:
    message_id: int
    to: str  # E.164, e.g. "+4915112345678"
    body: str
    status_callback_url: str = ""  # "" asks the provider for no delivery callbacks


@dataclass(frozen=True)
class OutgoingEmail:
    """One email to one recipient.

    `subject` and `body` may contain substitution tokens such as "-status_url-"; `substitutions`
    maps each token to this recipient's value. `headers` are per recipient too, e.g.
    {"List-Unsubscribe": "<https://...>", "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}.
    """

    message_id: int
    to_email: str
    to_name: str
    subject: str
    body: str
    substitutions: dict[str, str] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    reply_to: str = ""


class Outcome(StrEnum):
    ACCEPTED = "accepted"  # the provider took the message; delivery news comes by webhook
    TRANSIENT = "transient"  # try again later (after retry_after_seconds when known)
    PERMANENT = "permanent"  # do not try again: the message or the recipient is refused


@dataclass(frozen=True)
class SendResult:
    message_id: int
    outcome: Outcome
    provider_message_id: str = ""
    retry_after_seconds: float | None = None
    error_code: str = ""  # the provider's code ("21610") or ours ("timeout", "connection", "http-503")
    error: str = ""
    recipient_opted_out: bool = False

    @property
    def is_accepted(self) -> bool:
        return self.outcome == Outcome.ACCEPTED


class SmsProvider(ABC):
    name: str

    def warm_up(self) -> None:
        """Load what the first send needs (a worker calls this at start, so the first message of
        a crisis does not wait for imports)."""
        return None

    @abstractmethod
    def send_sms(self, messages: Sequence[OutgoingSms]) -> list[SendResult]:
        """Send each message; one result per message, in input order; never raises for a
        provider or network error."""

    def find_sent_sms(
        self, messages: Sequence[OutgoingSms], *, since: dict[int, datetime.datetime]
    ) -> list[SendResult | None]:
        """For messages an earlier attempt may have handed over unseen (a worker killed after
        the provider accepted, a read timeout): an accepted result when the provider already
        holds the message (sent to the same number, same words, after `since[message_id]`),
        None when it does not or cannot tell. One entry per message, in input order; never
        raises. Providers that cannot look messages up answer None: the message is sent again."""
        return [None] * len(messages)


class EmailProvider(ABC):
    name: str

    @abstractmethod
    def send_email(self, messages: Sequence[OutgoingEmail]) -> list[SendResult]:
        """Send each message; one result per message, in input order; never raises for a
        provider or network error."""


def apply_substitutions(text: str, substitutions: dict[str, str]) -> str:
    """Replace every token in one pass, so a value that happens to contain another token is
    left alone (as SendGrid does)."""
    if not substitutions:
        return text
    tokens = sorted(substitutions, key=len, reverse=True)
    pattern = re.compile("|".join(re.escape(token) for token in tokens))
    return pattern.sub(lambda match: substitutions[match.group(0)], text)


def parse_retry_after(value: str | None) -> float | None:
    """Seconds to wait from a Retry-After header: delta-seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


# Providers hold HTTP connection pools and worker threads, so they are built once and reused; the
# cache is keyed on the settings each one reads, so a changed setting (tests) builds a new one.
_providers: dict[str, tuple[tuple, object]] = {}
_providers_lock = threading.Lock()


def _cached(channel: str, key: tuple, build):
    with _providers_lock:
        cached = _providers.get(channel)
        if cached is not None and cached[0] == key:
            return cached[1]
        provider = build()
        _providers[channel] = (key, provider)
        return provider


def get_sms_provider() -> SmsProvider:
    """The SMS provider named by settings.CANDOR_SMS_PROVIDER ("console" or "twilio")."""
    name = settings.CANDOR_SMS_PROVIDER
    if name == "console":
        from comms.providers.console import ConsoleSmsProvider

        key = (name, str(settings.CANDOR_OUTBOX_DIR))
        return _cached("sms", key, lambda: ConsoleSmsProvider(outbox_dir=settings.CANDOR_OUTBOX_DIR))
    if name == "twilio":
        from comms.providers.twilio import TwilioSmsProvider

        options = {
            "account_sid": settings.TWILIO_ACCOUNT_SID,
            "auth_token": settings.TWILIO_AUTH_TOKEN,
            "messaging_service_sid": settings.TWILIO_MESSAGING_SERVICE_SID,
            "from_number": settings.TWILIO_FROM_NUMBER,
            "api_base_url": settings.TWILIO_API_BASE_URL,
            "timeout_seconds": settings.PROVIDER_TIMEOUT_SECONDS,
            "concurrency": getattr(settings, "CANDOR_SMS_CONCURRENCY", 8),
            "http": getattr(settings, "CANDOR_TWILIO_HTTP", "aiohttp"),
        }
        key = (name, *sorted(options.items()))
        return _cached("sms", key, lambda: TwilioSmsProvider(**options))
    raise ImproperlyConfigured(f"Unknown CANDOR_SMS_PROVIDER {name!r}: use 'console' or 'twilio'.")


def get_email_provider() -> EmailProvider:
    """The email provider named by settings.CANDOR_EMAIL_PROVIDER ("console" or "sendgrid")."""
    name = settings.CANDOR_EMAIL_PROVIDER
    if name == "console":
        from comms.providers.console import ConsoleEmailProvider

        key = (name, str(settings.CANDOR_OUTBOX_DIR))
        return _cached("email", key, lambda: ConsoleEmailProvider(outbox_dir=settings.CANDOR_OUTBOX_DIR))
    if name == "sendgrid":
        from comms.providers.sendgrid import SendGridEmailProvider

        options = {
            "api_key": settings.SENDGRID_API_KEY,
            "from_email": settings.SENDGRID_FROM_EMAIL,
            "api_host": settings.SENDGRID_API_HOST,
            "timeout_seconds": settings.PROVIDER_TIMEOUT_SECONDS,
            "concurrency": getattr(settings, "CANDOR_EMAIL_CONCURRENCY", 4),
        }
        key = (name, *sorted(options.items()))
        return _cached("email", key, lambda: SendGridEmailProvider(**options))
    raise ImproperlyConfigured(f"Unknown CANDOR_EMAIL_PROVIDER {name!r}: use 'console' or 'sendgrid'.")


# ---------------------------------------------------------------------------------------------
# Team channels: a notice posted into a Slack or Microsoft Teams channel through its webhook URL.


@dataclass(frozen=True)
class OutgoingTeamNotice:
    """One notice for one team channel: a title, the words, what to do now and where to do it."""

    message_id: int
    webhook_url: str
    title: str
    text: str
    action: str = ""  # what the team should do now, e.g. "Approve the update"
    link: str = ""  # the page where they do it (the incident's)


class TeamChannelProvider(ABC):
    name: str

    @abstractmethod
    def send_notices(self, notices: Sequence[OutgoingTeamNotice]) -> list[SendResult]:
        """Post each notice; one result per notice, in input order; never raises for a provider or
        network error."""


def result_for_http_status(
    message_id: int, status: int, *, headers=None, description: str = "", provider_message_id: str = ""
) -> SendResult:
    """Classify a webhook's answer once for every channel that posts to a URL (Slack, Teams,
    outgoing webhooks): 2xx accepted; 408, 429 and 5xx transient (after Retry-After when given);
    anything else, 404 and 410 (the hook was removed) included, permanent."""
    if 200 <= status < 300:
        return SendResult(message_id=message_id, outcome=Outcome.ACCEPTED, provider_message_id=provider_message_id)
    error = f"HTTP {status}" + (f": {description}" if description else "")
    if status in (408, 429) or status >= 500:
        retry_after = parse_retry_after((headers or {}).get("Retry-After") or (headers or {}).get("retry-after"))
        return SendResult(
            message_id=message_id,
            outcome=Outcome.TRANSIENT,
            retry_after_seconds=retry_after,
            error_code=f"http-{status}",
            error=error,
        )
    return SendResult(message_id=message_id, outcome=Outcome.PERMANENT, error_code=f"http-{status}", error=error)


def get_team_channel_provider(channel: str) -> TeamChannelProvider:
    """The provider posting into a team channel of this kind ("slack" or "teams")."""
    timeout_seconds = settings.PROVIDER_TIMEOUT_SECONDS
    if channel == "slack":
        from comms.providers.slack import SlackProvider

        return _cached("slack", (timeout_seconds,), lambda: SlackProvider(timeout_seconds=timeout_seconds))
    if channel == "teams":
        from comms.providers.teams import TeamsProvider

        return _cached("teams", (timeout_seconds,), lambda: TeamsProvider(timeout_seconds=timeout_seconds))
    raise ImproperlyConfigured(f"No team channel provider for {channel!r}: use 'slack' or 'teams'.")
