"""SendGrid email: one Mail Send request per distinct content, up to 1000 recipients each.

Messages with the same subject, body, reply-to and header names share a request; each recipient is
a personalization carrying their substitutions, their own headers (their List-Unsubscribe URL) and
custom_args {"candor_message_id": "<id>"}, which SendGrid echoes in every event webhook so events
map back to our Message rows. Requests for different contents go out concurrently on a small pool
of threads (CANDOR_EMAIL_CONCURRENCY, default 4): one request already carries 1000 emails, so a
few in flight are enough and stay well inside SendGrid's rate limits.
"""

from __future__ import annotations

import email.utils
import http.client
import json
import logging
import re
import time
import urllib.error
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import sendgrid
from python_http_client.exceptions import HTTPError

from comms.providers.base import (
    EmailProvider,
    Outcome,
    OutgoingEmail,
    SendResult,
    parse_retry_after,
)

logger = logging.getLogger(__name__)

# SendGrid refuses a request with more than 1000 personalizations (or 1000 recipients in all).
MAX_PERSONALIZATIONS_PER_REQUEST = 1000

# A 400 names the offending field, e.g. "personalizations.17.to.0.email".
_PERSONALIZATION_FIELD = re.compile(r"^personalizations\.(\d+)(\.|$)")


@dataclass
class _Request:
    indexes: list[int] = field(default_factory=list)
    addresses: set[str] = field(default_factory=set)


def plan_requests(messages: Sequence[OutgoingEmail]) -> list[list[int]]:
    """Group messages (by index) into Mail Send requests: same content together, at most 1000
    per request, and an address at most once per request (SendGrid refuses the whole request
    otherwise)."""
    groups: dict[tuple, list[_Request]] = {}
    first_open: dict[tuple, int] = {}  # requests before this one are full
    for index, message in enumerate(messages):
        key = (message.subject, message.body, message.reply_to, tuple(sorted(message.headers)))
        requests = groups.setdefault(key, [])
        address = message.to_email.strip().lower()
        position = first_open.get(key, 0)
        while position < len(requests) and (
            len(requests[position].indexes) >= MAX_PERSONALIZATIONS_PER_REQUEST
            or address in requests[position].addresses
        ):
            position += 1
        if position == len(requests):
            requests.append(_Request())
        requests[position].indexes.append(index)
        requests[position].addresses.add(address)
        start = first_open.get(key, 0)
        while start < len(requests) and len(requests[start].indexes) >= MAX_PERSONALIZATIONS_PER_REQUEST:
            start += 1
        first_open[key] = start
    return [request.indexes for requests in groups.values() for request in requests]


def _address(address: str, name: str = "") -> dict[str, str]:
    result = {"email": address}
    if name:
        # SendGrid splits an unquoted name at "," or ";" and then rejects the request.
        result["name"] = f'"{name.replace(chr(34), "")}"' if ("," in name or ";" in name) else name
    return result


def _personalization(message: OutgoingEmail) -> dict:
    personalization = {
        "to": [_address(message.to_email, message.to_name)],
        "custom_args": {"candor_message_id": str(message.message_id)},
    }
    if message.substitutions:
        personalization["substitutions"] = {key: str(value) for key, value in message.substitutions.items()}
    if message.headers:
        personalization["headers"] = dict(message.headers)
    return personalization


class SendGridEmailProvider(EmailProvider):
    name = "sendgrid"

    def __init__(
        self,
        *,
        api_key: str,
        from_email: str,
        api_host: str = "https://api.sendgrid.com",
        timeout_seconds: float = 10.0,
        concurrency: int = 4,
    ):
        self.from_email = from_email
        self._client = sendgrid.SendGridAPIClient(api_key, host=api_host.rstrip("/"))
        # python_http_client copies its timeout into every child client (client.mail.send...).
        self._client.client.timeout = timeout_seconds
        self._executor = ThreadPoolExecutor(max_workers=max(1, int(concurrency)), thread_name_prefix="candor-sendgrid")

    def send_email(self, messages: Sequence[OutgoingEmail]) -> list[SendResult]:
        planned = plan_requests(messages)
        batches = [[messages[index] for index in indexes] for indexes in planned]
        results: list[SendResult | None] = [None] * len(messages)
        for indexes, batch_results in zip(planned, self._executor.map(self._send_batch, batches), strict=True):
            for index, result in zip(indexes, batch_results, strict=True):
                results[index] = result
        return results

    def close(self) -> None:
        self._executor.shutdown(wait=True)

    def request_body(self, batch: Sequence[OutgoingEmail]) -> dict:
        """The Mail Send JSON for messages sharing one content (a plain dict: building `Mail`
        objects for 1000 recipients costs far more than the request itself)."""
        first = batch[0]
        from_name, from_address = email.utils.parseaddr(self.from_email)
        body = {
            "personalizations": [_personalization(message) for message in batch],
            "from": _address(from_address or self.from_email, from_name),
            "subject": first.subject,
            "content": [{"type": "text/plain", "value": first.body}],
        }
        if first.reply_to:
            body["reply_to"] = {"email": first.reply_to}
        return body

    def _send_batch(self, batch: list[OutgoingEmail]) -> list[SendResult]:
        try:
            response = self._client.client.mail.send.post(request_body=self.request_body(batch))
        except HTTPError as error:
            return _results_for_http_error(batch, error)
        except TimeoutError as error:
            return _all(batch, Outcome.TRANSIENT, error_code="timeout", error=_describe(error))
        except urllib.error.URLError as error:
            # Raised before any answer: refused, unreachable, or timed out while connecting.
            error_code = "timeout" if isinstance(error.reason, TimeoutError) else "connection"
            return _all(batch, Outcome.TRANSIENT, error_code=error_code, error=_describe(error))
        except (OSError, http.client.HTTPException) as error:
            # Reset or closed while waiting for the answer. Like a read timeout, the request may
            # have reached SendGrid, so a retry may send these emails twice; the Mail Send API has
            # no idempotency key. We accept the rare duplicate over a missing crisis update.
            return _all(batch, Outcome.TRANSIENT, error_code="connection", error=_describe(error))
        except Exception as error:  # one result per message, whatever happens
            logger.exception("Unexpected error sending %d emails through SendGrid", len(batch))
            return _all(batch, Outcome.TRANSIENT, error_code="unexpected", error=_describe(error))
        # One X-Message-Id per request: events carry it as the prefix of sg_message_id.
        provider_message_id = response.headers.get("X-Message-Id", "") if response.headers else ""
        return _all(batch, Outcome.ACCEPTED, provider_message_id=provider_message_id)


def _describe(error: Exception) -> str:
    return str(error) or type(error).__name__


def _all(batch, outcome, **fields) -> list[SendResult]:
    return [SendResult(message_id=message.message_id, outcome=outcome, **fields) for message in batch]


def _error_details(error: HTTPError) -> list[dict]:
    try:
        payload = json.loads(error.body or b"{}")
    except (TypeError, ValueError):
        return []
    errors = payload.get("errors") if isinstance(payload, dict) else None
    return [item for item in errors or [] if isinstance(item, dict)]


def _retry_after(headers) -> float | None:
    if headers is None:
        return None
    retry_after = parse_retry_after(headers.get("Retry-After"))
    if retry_after is not None:
        return retry_after
    # SendGrid's own rate-limit header: the epoch second when the quota resets.
    reset_at = headers.get("X-RateLimit-Reset")
    try:
        return max(0.0, float(reset_at) - time.time()) if reset_at else None
    except ValueError:
        return None


def _results_for_http_error(batch: list[OutgoingEmail], error: HTTPError) -> list[SendResult]:
    status = int(error.status_code)
    details = _error_details(error)
    description = (
        "; ".join(
            f"{item.get('message')} ({item['field']})" if item.get("field") else str(item.get("message"))
            for item in details
        )
        or f"HTTP {status} {error.reason}"
    )
    error_code = f"http-{status}"

    if status == 429 or status >= 500:
        return _all(
            batch,
            Outcome.TRANSIENT,
            retry_after_seconds=_retry_after(error.headers),
            error_code=error_code,
            error=description,
        )

    # A 400 that names some personalizations (a malformed address) refuses the whole request, but
    # only those recipients are at fault: the others are sent again without them.
    at_fault = {}
    for item in details:
        match = _PERSONALIZATION_FIELD.match(str(item.get("field") or ""))
        if match and int(match.group(1)) < len(batch):
            at_fault.setdefault(int(match.group(1)), []).append(str(item.get("message")))
    if status == 400 and at_fault and len(at_fault) < len(batch):
        return [
            SendResult(
                message_id=message.message_id,
                outcome=Outcome.PERMANENT,
                error_code=error_code,
                error="; ".join(at_fault[index]),
            )
            if index in at_fault
            else SendResult(
                message_id=message.message_id,
                outcome=Outcome.TRANSIENT,
                retry_after_seconds=0.0,
                error_code="rejected-with-other-recipient",
                error=f"The request was refused because of another recipient: {description}",
            )
            for index, message in enumerate(batch)
        ]
    return _all(batch, Outcome.PERMANENT, error_code=error_code, error=description)
