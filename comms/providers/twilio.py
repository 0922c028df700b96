"""Twilio SMS: one Messages API request per SMS, a bounded number in flight, errors classified here.

Twilio has no batch send, so throughput comes from concurrency: a long-lived pool of
CANDOR_SMS_CONCURRENCY worker threads, each with its own Twilio client and HTTP session, so
connections stay open across batches and no session is shared between threads.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

import requests
from twilio.base.exceptions import TwilioRestException, TwilioServiceException
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from comms.providers.base import (
    Outcome,
    OutgoingSms,
    SendResult,
    SmsProvider,
    parse_retry_after,
)

logger = logging.getLogger(__name__)

TWILIO_API_ORIGIN = "https://api.twilio.com"

# https://www.twilio.com/docs/api/errors
TOO_MANY_REQUESTS = 20429
UNSUBSCRIBED_RECIPIENT = 21610  # the recipient replied STOP; Twilio refuses until they reply START
# A recovered SMS is looked up among the latest messages to its number before it is sent again.
LOOKUP_LIMIT = 50
# Messages Twilio holds but will never deliver: sending again is right.
GONE_STATUSES = {"failed", "canceled"}


class CandorTwilioHttpClient(TwilioHttpClient):
    """Twilio's HTTP client with our timeout, optionally pointed at another origin (the local fake
    server), and keeping the last response: TwilioRestException drops the headers, and a 429's
    Retry-After lives there. One instance per thread, so `last_response` is this thread's."""

    def __init__(self, *, timeout_seconds: float, api_base_url: str = ""):
        super().__init__(pool_connections=True, timeout=timeout_seconds)
        self.api_base_url = api_base_url.rstrip("/")
        self.last_response = None

    def request(self, method, url, *args, **kwargs):
        if self.api_base_url and url.startswith(TWILIO_API_ORIGIN):
            url = self.api_base_url + url[len(TWILIO_API_ORIGIN) :]
        self.last_response = None
        self.last_response = super().request(method, url, *args, **kwargs)
        return self.last_response


# The last response of the request running in this asyncio task (a 429's Retry-After lives in its
# headers): a context variable, since many requests share one client concurrently.
_last_async_response = contextvars.ContextVar("candor_twilio_last_response", default=None)


class CandorAsyncTwilioHttpClient(AsyncTwilioHttpClient):
    """Twilio's aiohttp client on one long-lived session (created inside the provider's event
    loop), with our timeout and origin, recording each task's last response."""

    def __init__(self, *, timeout_seconds: float, api_base_url: str = "", concurrency: int = 16):
        super().__init__(pool_connections=False, timeout=timeout_seconds)
        import aiohttp

        self.api_base_url = api_base_url.rstrip("/")
        self.session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=concurrency, limit_per_host=concurrency),
            timeout=aiohttp.ClientTimeout(total=timeout_seconds),
        )

    async def request(self, method, url, *args, **kwargs):
        if self.api_base_url and url.startswith(TWILIO_API_ORIGIN):
            url = self.api_base_url + url[len(TWILIO_API_ORIGIN) :]
        _last_async_response.set(None)
        response = await super().request(method, url, *args, **kwargs)
        _last_async_response.set(response)
        return response


class TwilioSmsProvider(SmsProvider):
    name = "twilio"

    def __init__(
        self,
        *,
        account_sid: str,
        auth_token: str,
        messaging_service_sid: str = "",
        from_number: str = "",
        api_base_url: str = "",
        timeout_seconds: float = 10.0,
        concurrency: int = 8,
        http: str = "threads",
    ):
        if not (messaging_service_sid or from_number):
            raise ValueError("Twilio needs a messaging service SID or a from number.")
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.messaging_service_sid = messaging_service_sid
        self.from_number = from_number
        self.api_base_url = api_base_url
        self.timeout_seconds = timeout_seconds
        self.concurrency = max(1, int(concurrency))
        self.http = http
        self._thread_state = threading.local()
        self._executor = ThreadPoolExecutor(max_workers=self.concurrency, thread_name_prefix="candor-twilio")
        self._loop = None
        self._async_client = None

    def warm_up(self) -> None:
        if self.http == "aiohttp":
            import aiohttp  # noqa: F401 (a third of a second, better spent before the first send)
        self._client().messages  # noqa: B018 (the SDK loads the Messages API on first access)

    def send_sms(self, messages: Sequence[OutgoingSms]) -> list[SendResult]:
        if self.http == "aiohttp":
            return asyncio.run_coroutine_threadsafe(self._send_all_async(messages), self._event_loop()).result()
        # map() yields in input order, whatever order the requests finish in.
        return list(self._executor.map(self._send_one, messages))

    # aiohttp: one event loop in a thread of its own, one session, CANDOR_SMS_CONCURRENCY in flight.

    def _event_loop(self):
        if self._loop is None:
            self._loop = asyncio.new_event_loop()
            threading.Thread(target=self._loop.run_forever, daemon=True, name="candor-twilio-aio").start()
        return self._loop

    async def _send_all_async(self, messages):
        if self._async_client is None:
            http_client = CandorAsyncTwilioHttpClient(
                timeout_seconds=self.timeout_seconds, api_base_url=self.api_base_url, concurrency=self.concurrency
            )
            self._async_client = Client(self.account_sid, self.auth_token, http_client=http_client)
        limit = asyncio.Semaphore(self.concurrency)

        async def send(message):
            async with limit:
                return await self._send_one_async(message)

        return list(await asyncio.gather(*(send(message) for message in messages)))

    async def _send_one_async(self, message: OutgoingSms) -> SendResult:
        import aiohttp

        try:
            created = await self._async_client.messages.create_async(**self._options(message))
        except (TwilioRestException, TwilioServiceException) as error:
            return _result_for_twilio_error(message, error, _last_async_response.get())
        except (TimeoutError, aiohttp.ServerTimeoutError) as error:
            # As with the threads: the request may have reached Twilio (duplicate risk accepted).
            return _transient(message, "timeout", error)
        except aiohttp.ClientConnectorError as error:
            return _transient(message, "connection", error)
        except aiohttp.ClientError as error:
            return _transient(message, "connection", error)
        except Exception as error:  # one result per message, whatever happens
            logger.exception("Unexpected error sending SMS %s through Twilio", message.message_id)
            return _transient(message, "unexpected", error)
        return SendResult(message_id=message.message_id, outcome=Outcome.ACCEPTED, provider_message_id=created.sid)

    def _options(self, message: OutgoingSms) -> dict:
        options = {"to": message.to, "body": message.body}
        if self.messaging_service_sid:
            options["messaging_service_sid"] = self.messaging_service_sid
        else:
            options["from_"] = self.from_number
        if message.status_callback_url:
            options["status_callback"] = message.status_callback_url
        return options

    def find_sent_sms(self, messages, *, since):
        return list(
            self._executor.map(lambda message: self._find_one(message, since.get(message.message_id)), messages)
        )

    def _find_one(self, message: OutgoingSms, since) -> SendResult | None:
        """Ask Twilio for messages to this number since `since` with the very same body (our
        bodies carry the recipient's own status link, so the words fingerprint the message)."""
        client = self._client()
        try:
            found = client.messages.list(to=message.to, date_sent_after=since, limit=LOOKUP_LIMIT)
        except Exception as error:  # cannot tell: send again (at least once beats never)
            logger.warning("Could not look up SMS %s at Twilio: %s", message.message_id, error)
            return None
        for existing in found:
            if (existing.body or "") == message.body and (existing.status or "") not in GONE_STATUSES:
                return SendResult(
                    message_id=message.message_id, outcome=Outcome.ACCEPTED, provider_message_id=existing.sid
                )
        return None

    def close(self) -> None:
        self._executor.shutdown(wait=True)

    def _client(self) -> Client:
        client = getattr(self._thread_state, "client", None)
        if client is None:
            http_client = CandorTwilioHttpClient(timeout_seconds=self.timeout_seconds, api_base_url=self.api_base_url)
            client = Client(self.account_sid, self.auth_token, http_client=http_client)
            self._thread_state.client = client
        return client

    def _send_one(self, message: OutgoingSms) -> SendResult:
        client = self._client()
        try:
            created = client.messages.create(**self._options(message))
        except (TwilioRestException, TwilioServiceException) as error:
            return _result_for_twilio_error(message, error, client.http_client.last_response)
        except requests.exceptions.ConnectTimeout as error:
            # No connection, so Twilio never saw the request: retrying cannot duplicate the SMS.
            return _transient(message, "timeout", error)
        except requests.exceptions.Timeout as error:
            # Duplicate risk: the request may have reached Twilio, which may send the SMS although
            # we never saw its answer. Twilio has no idempotency key for Messages, so a retry can
            # send it twice; we accept that (a repeated crisis update beats a missing one), and the
            # status callback, which carries the Message SID, shows both.
            return _transient(message, "timeout", error)
        except requests.exceptions.RequestException as error:
            # Connection refused or reset, TLS errors... A reset after the request was written
            # carries the same duplicate risk as a read timeout.
            return _transient(message, "connection", error)
        except Exception as error:  # one result per message, whatever happens
            # An SDK or parsing surprise must not lose the results of the other messages in the
            # batch (they may have been accepted); the retry will tell if it persists.
            logger.exception("Unexpected error sending SMS %s through Twilio", message.message_id)
            return _transient(message, "unexpected", error)
        return SendResult(message_id=message.message_id, outcome=Outcome.ACCEPTED, provider_message_id=created.sid)


def _transient(message: OutgoingSms, error_code: str, error: Exception) -> SendResult:
    return SendResult(
        message_id=message.message_id,
        outcome=Outcome.TRANSIENT,
        error_code=error_code,
        error=str(error) or type(error).__name__,
    )


def _result_for_twilio_error(message, error, last_response) -> SendResult:
    status = int(error.status or 0)
    code = int(error.code) if error.code else None
    if isinstance(error, TwilioServiceException):
        description = error.detail or error.title
    else:
        description = error.msg
    headers = {}
    if last_response is not None and last_response.status_code == status:
        headers = last_response.headers or {}
    error_code = str(code or status)

    if status == 429 or code == TOO_MANY_REQUESTS or status >= 500:
        return SendResult(
            message_id=message.message_id,
            outcome=Outcome.TRANSIENT,
            retry_after_seconds=parse_retry_after(headers.get("Retry-After")),
            error_code=error_code,
            error=description,
        )
    return SendResult(
        message_id=message.message_id,
        outcome=Outcome.PERMANENT,
        error_code=error_code,
        error=description,
        recipient_opted_out=code == UNSUBSCRIBED_RECIPIENT,
    )
