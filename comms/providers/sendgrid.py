"""SendGrid email: one Mail Send request per distinct content, up to 1000 recipients each.

Messages with the same subject, body, reply-to and header names share a request; each recipient is
a personalization carrying their substitutions, their own headers (their List-Unsubscribe URL) and
custom_args {"candor_message_id": "<id>"}, which SendGrid echoes in every event webhook so events
map back to our Message rows. Requests for different contents go out concurrently on a small pool
of threads (CANDOR_EMAIL_CONCURRENCY, default 4): one request already carries 1000 emails, so a
few in flight are enough and stay well inside SendGrid's rate limits.

The sendgrid SDK (python_http_client) builds every request: URL, headers, body. Two things are
ours: the body is serialized by orjson (about 15 times faster than json.dumps for 1000
personalizations), handed to the SDK as an already encoded body, which it sends as is when the
Content-Type is not bare "application/json" (ours is "application/json; charset=utf-8", the same
media type); and the request goes out on a kept-alive connection from a urllib3 pool the provider
keeps for its life, where the SDK would open a new connection ("Connection: close") for each.
"""

from __future__ import annotations

import email.utils
import http.client
import io
import logging
import re
import time
import urllib.error
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import orjson
import python_http_client
import sendgrid
import urllib3
from python_http_client.exceptions import HTTPError, handle_error

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


class _KeptAliveClient(python_http_client.Client):
    """python_http_client's Client, sending each request the SDK built through a urllib3 pool of
    kept-alive connections instead of a new urllib opener (and TCP connection) per request.

    `_make_request(opener, request, timeout)` is the SDK's seam for exactly this ("separated into
    its own function, so we can mock it easily"); the child clients of `client.mail.send` share
    the pool. Retries are off: a request that may have reached SendGrid is never repeated here
    (the outbox decides), while urllib3 still replaces a pooled connection the server has closed
    before sending on it.
    """

    def __init__(self, *args, pool: urllib3.PoolManager, **kwargs):
        super().__init__(*args, **kwargs)
        self.pool = pool

    def _build_client(self, name=None):
        return _KeptAliveClient(
            host=self.host,
            version=self._version,
            request_headers=self.request_headers,
            url_path=[*self._url_path, name] if name else self._url_path,
            append_slash=self.append_slash,
            timeout=self.timeout,
            pool=self.pool,
        )

    def _make_request(self, opener, request, timeout=None):
        response = self.pool.request(
            request.get_method(),
            request.full_url,
            body=request.data,
            headers=dict(request.header_items()),
            timeout=timeout or self.timeout,
            retries=False,
            redirect=False,
        )
        if response.status >= 400:
            # What urllib raises for an error status, turned into the SDK's own exceptions.
            error = urllib.error.HTTPError(
                request.full_url, response.status, response.reason, response.headers, io.BytesIO(response.data)
            )
            raise handle_error(error)
        return _Answer(response)


class _Answer:
    """A urllib3 response as python_http_client's Response reads a urllib one."""

    def __init__(self, response: urllib3.BaseHTTPResponse):
        self._response = response

    def getcode(self) -> int:
        return self._response.status

    def read(self) -> bytes:
        return self._response.data

    def info(self):
        return self._response.headers  # case-insensitive, like urllib's


class _EncodedJson:
    """A body orjson already serialized: python_http_client sends a body whose Content-Type is
    not bare "application/json" as `request_body.encode("utf-8")`, which here is orjson's bytes."""

    __slots__ = ("data",)

    def __init__(self, data: bytes):
        self.data = data

    def encode(self, encoding: str = "utf-8") -> bytes:
        return self.data


JSON_CONTENT_TYPE = "application/json; charset=utf-8"


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
        concurrency = max(1, int(concurrency))
        self._client = sendgrid.SendGridAPIClient(api_key, host=api_host.rstrip("/"))
        # One kept-alive connection per sending thread; python_http_client copies the timeout (the
        # socket timeout of the connect and of every read, as urllib's) into every child client.
        self.pool = urllib3.PoolManager(num_pools=2, maxsize=concurrency, block=False)
        sdk = self._client.client
        self._client.client = _KeptAliveClient(
            host=sdk.host,
            request_headers={**sdk.request_headers, "Content-Type": JSON_CONTENT_TYPE},
            version=sdk._version,
            timeout=timeout_seconds,
            pool=self.pool,
        )
        self._executor = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="candor-sendgrid")

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
        self.pool.clear()

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
            body = _EncodedJson(orjson.dumps(self.request_body(batch)))
            response = self._client.client.mail.send.post(request_body=body)
        except HTTPError as error:
            return _results_for_http_error(batch, error)
        except urllib3.exceptions.NewConnectionError as error:
            # Refused or unreachable: nothing was sent.
            return _all(batch, Outcome.TRANSIENT, error_code="connection", error=_describe(error))
        except (TimeoutError, urllib3.exceptions.TimeoutError) as error:
            # Connecting or waiting for the answer took longer than the timeout.
            return _all(batch, Outcome.TRANSIENT, error_code="timeout", error=_describe(error))
        except (OSError, http.client.HTTPException, urllib3.exceptions.HTTPError) as error:
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
        payload = orjson.loads(error.body or b"{}")
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
