"""Twilio SMS: one Messages API request per SMS, a bounded number in flight, errors classified here.

Twilio has no batch send, so throughput comes from concurrency, CANDOR_SMS_CONCURRENCY requests in
flight on connections kept open across batches: by default (CANDOR_TWILIO_HTTP=aiohttp) the SDK's
AsyncTwilioHttpClient on one aiohttp session in an event loop of its own; with "threads", a
long-lived pool of threads, each with its own Twilio client and HTTP session.
"""

from __future__ import annotations

import asyncio
import contextvars
import datetime
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
# A message Twilio took from a request cut off by a closed connection was created at most this long
# before we sent it, by our clock (Twilio's dates are whole seconds, and clocks differ a little).
# The same words to the same number within it are the same message: bodies carry the recipient's
# own status link.
CLOCK_MARGIN = datetime.timedelta(seconds=60)


class _CutOff(Exception):
    """The server closed a reused kept-alive connection before answering; `was_written`: the
    request went out (and may have reached Twilio) before the close was seen."""

    def __init__(self, *, was_written: bool):
        super().__init__("kept-alive connection closed by the server before an answer")
        self.was_written = was_written


def _already_held(message: OutgoingSms, found) -> SendResult | None:
    """Among messages Twilio holds for the number, the one with the very same words (our bodies
    carry the recipient's own status link), unless Twilio will never deliver it."""
    for existing in found:
        if (existing.body or "") == message.body and (existing.status or "") not in GONE_STATUSES:
            return SendResult(message_id=message.message_id, outcome=Outcome.ACCEPTED, provider_message_id=existing.sid)
    return None


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
# Whether the request running in this asyncio task went out on a kept-alive connection taken from
# the pool (set by aiohttp's trace of the connection it picked).
_on_reused_connection = contextvars.ContextVar("candor_twilio_reused_connection", default=False)


async def _note_reused_connection(session, trace_config_ctx, params):
    _on_reused_connection.set(True)


class CandorAsyncTwilioHttpClient(AsyncTwilioHttpClient):
    """Twilio's aiohttp client on one long-lived session (created inside the provider's event
    loop), with our timeout and origin, recording each task's last response and whether its
    connection was a reused one. With `fresh_connections`, every request opens a connection of
    its own and closes it after the answer."""

    def __init__(
        self,
        *,
        timeout_seconds: float,
        api_base_url: str = "",
        concurrency: int = 16,
        fresh_connections: bool = False,
    ):
        super().__init__(pool_connections=False, timeout=timeout_seconds)
        import aiohttp

        self.api_base_url = api_base_url.rstrip("/")
        trace = aiohttp.TraceConfig()
        trace.on_connection_reuseconn.append(_note_reused_connection)
        self.session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(
                limit=concurrency, limit_per_host=concurrency, force_close=fresh_connections
            ),
            timeout=aiohttp.ClientTimeout(total=timeout_seconds),
            trace_configs=[trace],
        )

    async def request(
        self, method, url, params=None, data=None, headers=None, auth=None, timeout=None, allow_redirects=False
    ):
        if self.api_base_url and url.startswith(TWILIO_API_ORIGIN):
            url = self.api_base_url + url[len(TWILIO_API_ORIGIN) :]
        _last_async_response.set(None)
        _on_reused_connection.set(False)
        if auth is not None:  # aiohttp deprecates its `auth` argument: the header instead, as it advises
            import aiohttp

            headers = {**(headers or {}), "Authorization": aiohttp.encode_basic_auth(auth[0], auth[1])}
            auth = None
        # The SDK hands aiohttp `timeout=None` unless a call names one, which aiohttp reads as no
        # timeout at all (not the session's): our timeout is passed on every request.
        response = await super().request(
            method, url, params, data, headers, auth, timeout or self.timeout, allow_redirects
        )
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
        http: str = "aiohttp",
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
        self._async_client = None  # aiohttp: the pooled client, and one opening a connection per request
        self._async_retry_client = None

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
            self._async_client = self._new_async_client(fresh_connections=False)
            self._async_retry_client = self._new_async_client(fresh_connections=True)
        limit = asyncio.Semaphore(self.concurrency)

        async def send(message):
            async with limit:
                return await self._send_one_async(message)

        return list(await asyncio.gather(*(send(message) for message in messages)))

    def _new_async_client(self, *, fresh_connections: bool) -> Client:
        http_client = CandorAsyncTwilioHttpClient(
            timeout_seconds=self.timeout_seconds,
            api_base_url=self.api_base_url,
            concurrency=self.concurrency,
            fresh_connections=fresh_connections,
        )
        return Client(self.account_sid, self.auth_token, http_client=http_client)

    async def _send_one_async(self, message: OutgoingSms) -> SendResult:
        """Send one SMS; when the server closed the kept-alive connection it went out on before
        answering, send it once more at once, on a new connection.

        A server (or load balancer) closes a connection that stayed idle too long. urllib3 looks
        at a pooled connection's socket before reusing it; aiohttp only knows of the close once
        its event loop has read it, so the close can cross our next request, and neither resends
        a POST by itself. Cut off while being written (aiohttp found the connection closing), the
        request cannot have reached Twilio and goes again as it is. Written and then cut off, it
        may have (Twilio could have taken it and closed before answering): Twilio is asked first,
        and only a message it does not hold is sent again. Any other failure, and a failure of the
        second request, is classified as usual."""
        started_at = datetime.datetime.now(datetime.UTC)
        try:
            return await self._attempt_async(self._async_client, message)
        except _CutOff as cut_off:
            if cut_off.was_written:
                try:
                    found = await self._find_one_async(message, created_after=started_at - CLOCK_MARGIN)
                except Exception as error:  # cannot tell: leave it to the worker's retry, which asks again
                    logger.warning("Could not look up SMS %s at Twilio: %s", message.message_id, error)
                    return _transient(message, "connection", cut_off.__cause__)
                if found is not None:
                    return found
            # A connection of its own never comes from the pool, so this raises no _CutOff.
            return await self._attempt_async(self._async_retry_client, message)

    async def _attempt_async(self, client: Client, message: OutgoingSms) -> SendResult:
        """One request, classified; raises _CutOff when a kept-alive connection taken from the
        pool was closed by the server before any answer."""
        import aiohttp

        try:
            created = await client.messages.create_async(**self._options(message))
        except (TwilioRestException, TwilioServiceException) as error:
            return _result_for_twilio_error(message, error, _last_async_response.get())
        except (TimeoutError, aiohttp.ServerTimeoutError) as error:
            # As with the threads: the request may have reached Twilio (duplicate risk accepted).
            return _transient(message, "timeout", error)
        except aiohttp.ClientConnectionResetError as error:
            # aiohttp raises it when the connection is closing as it writes: nothing went out whole.
            if _on_reused_connection.get():
                raise _CutOff(was_written=False) from error
            return _transient(message, "connection", error)
        except (aiohttp.ServerDisconnectedError, aiohttp.ClientOSError) as error:
            if _on_reused_connection.get() and not isinstance(error, aiohttp.ClientConnectorError):
                raise _CutOff(was_written=True) from error
            return _transient(message, "connection", error)
        except aiohttp.ClientError as error:
            return _transient(message, "connection", error)
        except Exception as error:  # one result per message, whatever happens
            logger.exception("Unexpected error sending SMS %s through Twilio", message.message_id)
            return _transient(message, "unexpected", error)
        return SendResult(message_id=message.message_id, outcome=Outcome.ACCEPTED, provider_message_id=created.sid)

    async def _find_one_async(self, message: OutgoingSms, *, created_after) -> SendResult | None:
        """The message if Twilio took it a moment ago although we never saw its answer. Twilio's
        only date filter is the date sent, still empty for a message it took a moment ago, so
        the newest messages to the number are read and their creation date compared here."""
        found = await self._async_retry_client.messages.list_async(to=message.to, limit=LOOKUP_LIMIT)
        recent = [held for held in found if held.date_created is None or held.date_created >= created_after]
        result = _already_held(message, recent)
        if result is not None:
            logger.warning(
                "SMS %s was already at Twilio after a closed connection: not sent again.", message.message_id
            )
        return result

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
        return _already_held(message, found)

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
