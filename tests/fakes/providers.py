"""A local fake of the provider APIs Candor calls: Twilio Messages, SendGrid Mail Send, Slack and
Microsoft Teams incoming webhooks, and a receiver of Candor's own outgoing webhooks.

Used by the tests, the demo and the benchmarks, so the real SDKs run unchanged against loopback:
point TWILIO_API_BASE_URL and SENDGRID_API_HOST at `FakeProviders().start()`.

What it fakes, at the HTTP boundary:
- POST /2010-04-01/Accounts/{AccountSid}/Messages.json (form: To, From or MessagingServiceSid,
  Body, StatusCallback): 201 with a Message resource shaped like Twilio's (sid "SM" + 32 hex,
  status "queued", or "accepted" when only a messaging service is given, as Twilio does); 401
  without basic auth; Twilio's error JSON for a missing To/From/Body, a To that is not E.164
  (21211), or whatever `twilio_error_for(number, code)` was told.
- GET /2010-04-01/Accounts/{AccountSid}/Messages.json (To, DateSent>, PageSize): the messages it
  accepted (and those it took but answered too late, "timeout"), newest first, in Twilio's list
  shape, so the SDK's `client.messages.list(to=..., date_sent_after=...)` works.
- POST /v3/mail/send (JSON): 202, empty body, an X-Message-Id header; 401 without a Bearer token;
  400 with SendGrid's {"errors": [{"message", "field"}]} for more than 1000 personalizations or
  recipients, a missing from, subject or content, a malformed address, or an address repeated in
  one request.
- POST /services/{T}/{B}/{token} (JSON, a Slack incoming webhook): 200 "ok" (text/plain, as Slack
  answers); 400 "invalid_payload" without `text` or `blocks`.
- POST /workflows/{id}/triggers/manual/paths/invoke (JSON, a Teams Workflows webhook): 202, empty;
  400 unless the body is a message with an Adaptive Card attachment.
- POST /receiver/{anything} (a system receiving Candor's outgoing webhooks): 200 "ok".
- Failures on demand, `fail_next(n, kind)`: "500", "429" (with Retry-After; Twilio code 20429),
  "410" (Slack's channel_is_archived; a removed workflow or receiver),
  "timeout" (answers only after `hang_seconds`, by when the client has given up; the message still
  counts as sent, like a provider that got the request but answered late), "reset" (closes the
  socket with a TCP reset, no answer) and "close" (closes the kept-alive connection the request
  came on, unanswered and unrecorded: a server whose idle timeout fired as the request arrived;
  counted in `closed_unanswered`) and "taken-unanswered" (Twilio takes the message, then the
  connection closes before the answer).
- Idle kept-alive connections closed on demand, `close_idle_connections()`, as a server or load
  balancer does when its idle timeout fires.
- Latency (`latency_ms`) before every answer, HTTP/1.1 keep-alive, a thread per connection.

What it does not fake: delivery, status callbacks and event webhooks (post those to Candor
yourself), request signatures, TLS, chunked request bodies, rate limits (only on demand), and any
other endpoint (404).

Run it on its own with `python -m tests.fakes.providers --port 8099 --latency-ms 20`.
"""

from __future__ import annotations

import argparse
import base64
import calendar
import contextlib
import json
import math
import re
import secrets
import socket
import socketserver
import struct
import sys
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Self
from urllib.parse import parse_qsl, urlsplit

TWILIO_MESSAGES_PATH = re.compile(r"^/2010-04-01/Accounts/(?P<account_sid>[^/]+)/Messages\.json$")
SENDGRID_MAIL_SEND_PATH = "/v3/mail/send"
SLACK_WEBHOOK_PATH = re.compile(r"^/services/[^/]+/[^/]+/[^/]+$")
TEAMS_WORKFLOW_PATH = re.compile(r"^/workflows/[^/]+/triggers/manual/paths/invoke$")
RECEIVER_PATH = re.compile(r"^/receiver/[^/]+$")
FAILURE_KINDS = ("500", "429", "410", "timeout", "reset", "close", "taken-unanswered")
CHANNELS = ("sms", "email", "slack", "teams", "webhook")
ADAPTIVE_CARD = "application/vnd.microsoft.card.adaptive"

E164 = re.compile(r"^\+[1-9]\d{1,14}$")
EMAIL_ADDRESS = re.compile(r"^[^@\s\"(),:;<>\[\\\]]+@[^@\s\"(),:;<>\[\\\]]+\.[^@\s\"(),:;<>\[\\\]]+$")
MAX_PERSONALIZATIONS = 1000

TWILIO_ERROR_MESSAGES = {
    20003: "Authenticate",
    20429: "Too Many Requests",
    20500: "An internal server error has occurred",
    21211: "Invalid 'To' Phone Number",
    21408: "Permission to send an SMS has not been enabled for the region of the 'To' number",
    21602: "Message body is required.",
    21603: "A 'From' or 'MessagingServiceSid' parameter is required to send a message",
    21604: "A 'To' phone number is required.",
    21610: "Attempt to send to unsubscribed recipient",
    21614: "'To' number is not a valid mobile number",
}

# GSM 03.38: the basic set costs one septet, the extension set two; anything else means UCS-2.
GSM_BASIC = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    "ÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM_EXTENSION = set("^{}\\[~]|€\f")


@dataclass
class RecordedRequest:
    method: str
    path: str
    headers: dict[str, str]  # names lower-cased
    body: bytes
    form: dict[str, str] | None  # form-encoded bodies (Twilio)
    json: object | None  # JSON bodies (SendGrid, Slack, Teams, webhooks)
    channel: str | None  # "sms", "email", "slack", "teams", "webhook", or None for any other path
    received_at: float  # time.monotonic()
    status: int | None = None  # what the fake answered; None while pending or when it dropped it
    response_headers: dict[str, str] | None = None  # the ones the fake chose, e.g. X-Message-Id
    answered_at: float | None = None
    peer: tuple[str, int] | None = None  # the client's address and port: one per TCP connection


@dataclass
class _Failure:
    kind: str
    channel: str | None
    remaining: int
    retry_after_seconds: float
    hang_seconds: float


def segment_count(body: str) -> int:
    if all(character in GSM_BASIC or character in GSM_EXTENSION for character in body):
        septets = sum(2 if character in GSM_EXTENSION else 1 for character in body)
        return 1 if septets <= 160 else math.ceil(septets / 153)
    units = len(body.encode("utf-16-le")) // 2
    return 1 if units <= 70 else math.ceil(units / 67)


def _seconds_header(seconds: float) -> str:
    return str(int(seconds)) if float(seconds).is_integer() else str(seconds)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: the SDKs reuse their connections
    server_version = "CandorFakeProviders/1"
    sys_version = ""
    disable_nagle_algorithm = True  # headers and body go out as two writes; don't wait for an ACK
    timeout = 60  # seconds an idle keep-alive connection is kept

    def setup(self):
        super().setup()
        self.server.fake._connection_opened(self.connection)

    def finish(self):
        try:
            super().finish()
        finally:
            self.server.fake._connection_closed(self.connection)

    def do_POST(self):
        self.server.fake._handle(self)

    do_GET = do_PUT = do_PATCH = do_DELETE = do_POST

    def log_message(self, format, *args):
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    request_queue_size = 1024
    allow_reuse_address = True

    def __init__(self, address, fake):
        self.fake = fake
        super().__init__(address, _Handler)

    def server_bind(self):
        # HTTPServer.server_bind resolves the host's FQDN, which can stall on a machine without DNS.
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]

    def handle_error(self, request, client_address):
        # A client that timed out and left is what "timeout" is for, not an error worth a traceback.
        if isinstance(sys.exc_info()[1], OSError):
            return
        super().handle_error(request, client_address)


class FakeProviders:
    """The fake Twilio and SendGrid server. Start it, point the settings at `base_url`, read what
    it received from `requests`, `twilio_messages()` and `sendgrid_mails()`."""

    def __init__(self, *, host: str = "127.0.0.1", port: int = 0, latency_ms: float = 0):
        self.host = host
        self.port = port
        self.initial_latency_ms = latency_ms
        self.latency_ms = latency_ms
        self.log_requests = False
        self.base_url = ""
        self.max_in_flight = 0  # most requests received and not yet answered at one moment
        self.closed_unanswered = 0  # requests whose connection "close" closed before the API saw them
        self._lock = threading.Lock()
        self._requests: list[RecordedRequest] = []
        self._failures: list[_Failure] = []
        self._twilio_errors: dict[str, tuple[int, int, str]] = {}
        self._twilio_store: list[dict] = []  # Message resources it holds, oldest first
        self._in_flight = 0
        self._released = threading.Event()
        self._connections: set[socket.socket] = set()
        self._busy_connections: set[socket.socket] = set()  # handling a request, answer not yet written
        self._became_idle = threading.Condition(self._lock)
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # Lifecycle

    def start(self) -> str:
        self._server = _Server((self.host, self.port), self)
        self.port = self._server.server_address[1]
        self.base_url = f"http://{self.host}:{self.port}"
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.1},
            daemon=True,
            name="candor-fake-providers",
        )
        self._thread.start()
        return self.base_url

    def stop(self) -> None:
        if self._server is None:
            return
        self._released.set()
        self._server.shutdown()
        self._server.server_close()
        with self._lock:
            connections = list(self._connections)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
        self._thread.join(timeout=5)
        self._server = None

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self.stop()

    # Configuration

    def fail_next(
        self,
        n: int,
        kind: str,
        channel: str | None = None,
        *,
        retry_after_seconds: float = 1,
        hang_seconds: float = 2.0,
    ) -> None:
        """Make the next `n` requests of `channel` (one of CHANNELS, or None for any) fail with
        `kind`: "500", "429" (Retry-After: retry_after_seconds), "410" (gone), "timeout" (answer
        after hang_seconds), "reset" (drop the connection), "close" (close the connection
        unanswered, and record nothing: the request never reached the API) or
        "taken-unanswered" (a Twilio message is taken, then the connection closes unanswered)."""
        if kind not in FAILURE_KINDS:
            raise ValueError(f"kind must be one of {FAILURE_KINDS}, not {kind!r}")
        if channel is not None and channel not in CHANNELS:
            raise ValueError(f"channel must be one of {CHANNELS} or None, not {channel!r}")
        with self._lock:
            self._failures.append(_Failure(kind, channel, n, retry_after_seconds, hang_seconds))

    def twilio_error_for(self, number: str, code: int, status: int = 400, message: str | None = None) -> None:
        """Answer every message to `number` with Twilio error `code` (21610 unsubscribed, 21211
        invalid number...)."""
        with self._lock:
            self._twilio_errors[number] = (
                code,
                status,
                message or TWILIO_ERROR_MESSAGES.get(code, "Error"),
            )

    def close_idle_connections(self, *, wait_seconds: float = 5.0) -> int:
        """Close, with an orderly FIN, every kept-alive connection waiting for its next request,
        as a server whose idle timeout fired; a connection still answering a request is waited
        for (up to wait_seconds), so an answer already on its way is never cut. The number closed."""
        with self._became_idle:
            self._became_idle.wait_for(lambda: not self._busy_connections, timeout=wait_seconds)
            idle = [connection for connection in self._connections if connection not in self._busy_connections]
        for connection in idle:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
        return len(idle)

    def reset(self) -> None:
        """Forget requests, pending failures and Twilio errors; drop requests still hanging."""
        with self._lock:
            self._requests.clear()
            self._failures.clear()
            self._twilio_errors.clear()
            self._twilio_store.clear()
            self.max_in_flight = self._in_flight
            self.closed_unanswered = 0
            self.latency_ms = self.initial_latency_ms
            self._released.set()
            self._released = threading.Event()

    # What it received

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._requests)

    def twilio_messages(self) -> list[dict[str, str]]:
        """The form of every Messages request the fake Twilio accepted (201)."""
        return [request.form for request in self.requests if request.channel == "sms" and request.status == 201]

    def twilio_held(self) -> list[dict]:
        """Every Message resource the fake Twilio holds (accepted, or taken and never answered),
        oldest first, as its list endpoint shows them."""
        with self._lock:
            stored = list(self._twilio_store)
        return [{key: value for key, value in message.items() if not key.startswith("_")} for message in stored]

    def sendgrid_mails(self) -> list[dict]:
        """The JSON of every Mail Send request the fake SendGrid accepted (202)."""
        return [request.json for request in self.requests if request.channel == "email" and request.status == 202]

    def slack_posts(self) -> list[dict]:
        """The JSON of every post the fake Slack accepted (200)."""
        return [request.json for request in self.requests if request.channel == "slack" and request.status == 200]

    def teams_posts(self) -> list[dict]:
        """The JSON of every post the fake Teams workflow accepted (202)."""
        return [request.json for request in self.requests if request.channel == "teams" and request.status == 202]

    def received_webhooks(self) -> list[RecordedRequest]:
        """Every outgoing-webhook request the fake receiver accepted (200), headers and raw body."""
        return [request for request in self.requests if request.channel == "webhook" and request.status == 200]

    # Serving

    def _connection_opened(self, connection):
        with self._lock:
            self._connections.add(connection)

    def _connection_closed(self, connection):
        with self._lock:
            self._connections.discard(connection)

    def _handle(self, handler: _Handler) -> None:
        with self._lock:
            self._busy_connections.add(handler.connection)
        try:
            self._serve(handler)
        finally:
            with self._became_idle:
                self._busy_connections.discard(handler.connection)
                self._became_idle.notify_all()

    def _serve(self, handler: _Handler) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length) if length else b""
        path = urlsplit(handler.path).path
        headers = {name.lower(): value for name, value in handler.headers.items()}
        twilio_match = TWILIO_MESSAGES_PATH.match(path) if handler.command == "POST" else None
        twilio_list = TWILIO_MESSAGES_PATH.match(path) if handler.command == "GET" else None
        channel = None
        if handler.command == "POST":
            if twilio_match:
                channel = "sms"
            elif path == SENDGRID_MAIL_SEND_PATH:
                channel = "email"
            elif SLACK_WEBHOOK_PATH.match(path):
                channel = "slack"
            elif TEAMS_WORKFLOW_PATH.match(path):
                channel = "teams"
            elif RECEIVER_PATH.match(path):
                channel = "webhook"
        form = parsed_json = None
        content_type = headers.get("content-type", "")
        if content_type.startswith("application/x-www-form-urlencoded"):
            form = dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
        elif content_type.startswith("application/json"):
            try:
                parsed_json = json.loads(body or b"null")
            except ValueError:
                parsed_json = None
        record = RecordedRequest(
            method=handler.command,
            path=path,
            headers=headers,
            body=body,
            form=form,
            json=parsed_json,
            channel=channel,
            received_at=time.monotonic(),
            peer=tuple(handler.client_address[:2]),
        )
        with self._lock:
            failure = self._take_failure(channel)
            if failure is not None and failure.kind == "close":
                self.closed_unanswered += 1
            else:
                self._requests.append(record)
                self._in_flight += 1
                self.max_in_flight = max(self.max_in_flight, self._in_flight)
            released = self._released
        if failure is not None and failure.kind == "close":
            handler.close_connection = True
            with contextlib.suppress(OSError):
                handler.connection.shutdown(socket.SHUT_RDWR)
            return
        try:
            if self.latency_ms:
                time.sleep(self.latency_ms / 1000)
            if failure is not None:
                if failure.kind == "reset":
                    self._drop(handler)
                    return
                if failure.kind == "taken-unanswered":
                    if twilio_match and record.form and record.form.get("To") and record.form.get("Body"):
                        self._twilio_resource(twilio_match.group("account_sid"), record.form)
                    handler.close_connection = True
                    with contextlib.suppress(OSError):
                        handler.connection.shutdown(socket.SHUT_RDWR)
                    return
                if failure.kind == "timeout":
                    if twilio_match and record.form and record.form.get("To") and record.form.get("Body"):
                        # Taken, only answered too late: Twilio sends it all the same.
                        self._twilio_resource(twilio_match.group("account_sid"), record.form)
                    if released.wait(failure.hang_seconds):
                        self._drop(handler)
                        return
                else:
                    self._answer_failure(handler, record, failure)
                    return
            if channel == "sms":
                self._twilio(handler, record, twilio_match.group("account_sid"))
            elif channel == "email":
                self._sendgrid(handler, record)
            elif twilio_list:
                self._twilio_list(handler, record, twilio_list.group("account_sid"), handler.path)
            elif channel == "slack":
                self._slack(handler, record)
            elif channel == "teams":
                self._teams(handler, record)
            elif channel == "webhook":
                self._respond_text(handler, record, 200, "ok")
            else:
                self._respond(handler, record, 404, {"message": f"The fake has no {handler.command} {path}"})
        finally:
            if record.answered_at is None:  # dropped, or failed before answering
                self._leave()
            if self.log_requests:
                print(f"{record.method} {record.path} -> {record.status or 'dropped'}", flush=True)

    def _take_failure(self, channel) -> _Failure | None:
        for failure in self._failures:
            if failure.channel is None or failure.channel == channel:
                failure.remaining -= 1
                if failure.remaining <= 0:
                    self._failures.remove(failure)
                return failure
        return None

    def _leave(self):
        with self._lock:
            self._in_flight -= 1

    def _respond(self, handler, record, status, payload=None, extra_headers=()):
        body = b"" if payload is None else json.dumps(payload).encode()
        record.status = status
        record.response_headers = dict(extra_headers)
        record.answered_at = time.monotonic()
        # Out of flight before the answer leaves, so a client's next request never counts twice.
        self._leave()
        handler.send_response(status)
        if body:
            handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(body)))
        for name, value in extra_headers:
            handler.send_header(name, value)
        handler.end_headers()
        if body:
            handler.wfile.write(body)

    def _drop(self, handler):
        # SO_LINGER 0 makes close() send a TCP reset instead of an orderly FIN.
        handler.close_connection = True
        with contextlib.suppress(OSError):
            handler.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        handler.connection.close()

    def _respond_text(self, handler, record, status, text, extra_headers=()):
        body = text.encode()
        record.status = status
        record.response_headers = dict(extra_headers)
        record.answered_at = time.monotonic()
        self._leave()
        handler.send_response(status)
        handler.send_header("Content-Type", "text/plain; charset=utf-8")
        handler.send_header("Content-Length", str(len(body)))
        for name, value in extra_headers:
            handler.send_header(name, value)
        handler.end_headers()
        handler.wfile.write(body)

    def _slack(self, handler, record):
        payload = record.json
        if not isinstance(payload, dict) or not (payload.get("text") or payload.get("blocks")):
            return self._respond_text(handler, record, 400, "invalid_payload")
        self._respond_text(handler, record, 200, "ok")

    def _teams(self, handler, record):
        payload = record.json
        attachments = payload.get("attachments") if isinstance(payload, dict) else None
        if (
            not isinstance(payload, dict)
            or payload.get("type") != "message"
            or not attachments
            or any(attachment.get("contentType") != ADAPTIVE_CARD for attachment in attachments)
        ):
            return self._respond(
                handler, record, 400, {"error": {"code": "InvalidRequestContent", "message": "Bad card"}}
            )
        self._respond(handler, record, 202, None)

    def _answer_failure(self, handler, record, failure):
        if record.channel in ("slack", "teams", "webhook"):
            return self._answer_hook_failure(handler, record, failure)
        extra_headers = []
        if failure.kind == "429":
            status, twilio_code, message = 429, 20429, "Too Many Requests"
            extra_headers.append(("Retry-After", _seconds_header(failure.retry_after_seconds)))
        else:
            status, twilio_code, message = 500, 20500, "An internal server error has occurred"
        if record.channel == "sms":
            payload = _twilio_error(twilio_code, status, message)
        else:
            payload = {"errors": [{"message": message.lower(), "field": None, "help": None}]}
        self._respond(handler, record, status, payload, extra_headers)

    def _answer_hook_failure(self, handler, record, failure):
        extra_headers = []
        if failure.kind == "429":
            status, slack_text = 429, "rate_limited"
            extra_headers.append(("Retry-After", _seconds_header(failure.retry_after_seconds)))
        elif failure.kind == "410":
            status, slack_text = 410, "channel_is_archived"
        else:
            status, slack_text = 500, "rollup_error"
        if record.channel == "teams":
            return self._respond(
                handler,
                record,
                status,
                {"error": {"code": f"Http{status}", "message": "failure on demand"}},
                extra_headers,
            )
        self._respond_text(
            handler, record, status, slack_text if record.channel == "slack" else "failure on demand", extra_headers
        )

    def _twilio(self, handler, record, account_sid):
        authorization = record.headers.get("authorization", "")
        if not authorization.startswith("Basic ") or not _basic_credentials(authorization):
            return self._respond(handler, record, 401, _twilio_error(20003, 401))
        form = record.form or {}
        to = form.get("To", "")
        sender = form.get("From", "")
        messaging_service_sid = form.get("MessagingServiceSid", "")
        body = form.get("Body", "")
        if not to:
            return self._respond(handler, record, 400, _twilio_error(21604, 400))
        if not (sender or messaging_service_sid):
            return self._respond(handler, record, 400, _twilio_error(21603, 400))
        if not body:
            return self._respond(handler, record, 400, _twilio_error(21602, 400))
        configured = self._twilio_errors.get(to)
        if configured is not None:
            code, status, message = configured
            return self._respond(handler, record, status, _twilio_error(code, status, message))
        if not E164.match(to):
            return self._respond(
                handler,
                record,
                400,
                _twilio_error(21211, 400, f"The 'To' number {to} is not a valid phone number."),
            )
        self._respond(handler, record, 201, self._twilio_resource(account_sid, form))

    def _twilio_resource(self, account_sid: str, form: dict[str, str]) -> dict:
        """A new Message resource, kept for the list endpoint as sent a moment later."""
        sid = "SM" + secrets.token_hex(16)
        created_at = time.time()
        now = time.strftime("%a, %d %b %Y %H:%M:%S +0000", time.gmtime(created_at))
        base = f"/2010-04-01/Accounts/{account_sid}/Messages/{sid}"
        sender = form.get("From", "")
        body = form.get("Body", "")
        payload = {
            "account_sid": account_sid,
            "api_version": "2010-04-01",
            "body": body,
            "date_created": now,
            "date_sent": None,
            "date_updated": now,
            "direction": "outbound-api",
            "error_code": None,
            "error_message": None,
            "from": sender or None,
            "messaging_service_sid": form.get("MessagingServiceSid") or None,
            "num_media": "0",
            "num_segments": str(segment_count(body)),
            "price": None,
            "price_unit": "USD",
            "sid": sid,
            "status": "queued" if sender else "accepted",
            "subresource_uris": {"media": f"{base}/Media.json"},
            "to": form.get("To", ""),
            "uri": f"{base}.json",
        }
        with self._lock:
            self._twilio_store.append({**payload, "status": "sent", "date_sent": now, "_sent_at": created_at})
        return payload

    def _twilio_list(self, handler, record, account_sid, raw_path):
        authorization = record.headers.get("authorization", "")
        if not authorization.startswith("Basic ") or not _basic_credentials(authorization):
            return self._respond(handler, record, 401, _twilio_error(20003, 401))
        query = dict(parse_qsl(urlsplit(raw_path).query, keep_blank_values=True))
        since = _twilio_date(query.get("DateSent>", ""))
        page_size = max(1, min(1000, int(query.get("PageSize") or 50)))
        with self._lock:
            stored = list(self._twilio_store)
        found = [
            {key: value for key, value in message.items() if not key.startswith("_")}
            for message in reversed(stored)
            if message["account_sid"] == account_sid
            and (not query.get("To") or message["to"] == query["To"])
            and (since is None or message["_sent_at"] >= since)
        ][:page_size]
        uri = f"/2010-04-01/Accounts/{account_sid}/Messages.json"
        self._respond(
            handler,
            record,
            200,
            {
                "messages": found,
                "end": max(0, len(found) - 1),
                "first_page_uri": f"{uri}?PageSize={page_size}&Page=0",
                "next_page_uri": None,
                "page": 0,
                "page_size": page_size,
                "previous_page_uri": None,
                "start": 0,
                "uri": f"{uri}?PageSize={page_size}&Page=0",
            },
        )

    def _sendgrid(self, handler, record):
        authorization = record.headers.get("authorization", "")
        if not authorization.startswith("Bearer ") or not authorization[7:].strip():
            return self._respond(
                handler,
                record,
                401,
                {"errors": [{"message": "authorization required", "field": None, "help": None}]},
            )
        if not isinstance(record.json, dict):
            return self._respond(
                handler,
                record,
                400,
                {"errors": [{"message": "Bad Request", "field": None, "help": None}]},
            )
        errors = _mail_errors(record.json)
        if errors:
            return self._respond(handler, record, 400, {"errors": errors[:100]})
        message_id = base64.urlsafe_b64encode(secrets.token_bytes(16)).decode().rstrip("=")
        self._respond(handler, record, 202, None, [("X-Message-Id", message_id)])


def _twilio_date(value: str) -> float | None:
    """Epoch seconds of a Twilio date filter: YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ (UTC)."""
    for pattern in ("%Y-%m-%dT%H:%M:%SZ", "%Y-%m-%d"):
        try:
            return calendar.timegm(time.strptime(value, pattern))
        except ValueError:
            continue
    return None


def _basic_credentials(authorization: str) -> str:
    try:
        return base64.b64decode(authorization[6:].strip(), validate=True).decode()
    except ValueError:
        return ""


def _twilio_error(code: int, status: int, message: str | None = None) -> dict:
    return {
        "code": code,
        "message": message or TWILIO_ERROR_MESSAGES.get(code, "Error"),
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }


def _mail_errors(mail: dict) -> list[dict]:
    errors = []

    def error(message, field):
        errors.append({"message": message, "field": field, "help": None})

    personalizations = mail.get("personalizations")
    if not isinstance(personalizations, list) or not personalizations:
        error(
            "The personalizations field is required and must have at least one personalization.",
            "personalizations",
        )
        personalizations = []
    if len(personalizations) > MAX_PERSONALIZATIONS:
        error(
            "The personalization block is limited to 1000 personalizations per API request. "
            f"You have provided {len(personalizations)} personalizations. Please consider "
            "splitting this into multiple requests and resending your request.",
            "personalizations",
        )
    seen, recipients = set(), 0
    for index, personalization in enumerate(personalizations):
        to = personalization.get("to") if isinstance(personalization, dict) else None
        if not isinstance(to, list) or not to:
            error(
                "The to array is required for all personalization objects, and must have at "
                "least one email object with a valid email address.",
                f"personalizations.{index}.to",
            )
            continue
        for position, recipient in enumerate(to):
            recipients += 1
            address = recipient.get("email", "") if isinstance(recipient, dict) else ""
            field = f"personalizations.{index}.to.{position}.email"
            if not EMAIL_ADDRESS.match(address or ""):
                error("Does not contain a valid address.", field)
            elif address.lower() in seen:
                error(
                    "Each unique email address in the personalizations array should only be "
                    f"included once. You have included {address} more than once.",
                    field,
                )
            seen.add((address or "").lower())
    if recipients > MAX_PERSONALIZATIONS:
        error(
            "There is a limit of 1000 total recipients (to + cc + bcc) per request.",
            "personalizations",
        )
    sender = mail.get("from")
    if not isinstance(sender, dict) or not EMAIL_ADDRESS.match(sender.get("email") or ""):
        error(
            "The from object must be provided for every email send. It is an object that "
            "requires the email parameter, but may also contain a name parameter.",
            "from.email",
        )
    every_personalization_has_subject = personalizations and all(
        isinstance(p, dict) and p.get("subject") for p in personalizations
    )
    if not mail.get("subject") and not every_personalization_has_subject and not mail.get("template_id"):
        error(
            "The subject is required. You can get around this requirement if you use a template "
            "with a subject defined or if every personalization has a subject defined.",
            "subject",
        )
    content = mail.get("content")
    if not mail.get("template_id"):
        if not isinstance(content, list) or not content:
            error(
                "Unless a valid template_id is provided, the content parameter is required. "
                "There must be at least one defined content block.",
                "content",
            )
        else:
            for index, block in enumerate(content):
                if not isinstance(block, dict) or not isinstance(block.get("value"), str) or not block["value"]:
                    error(
                        "The content value must be a string at least one character in length.",
                        f"content.{index}.value",
                    )
    return errors


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description="Serve a fake Twilio Messages and SendGrid Mail Send API.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8099)
    parser.add_argument("--latency-ms", type=float, default=0)
    parser.add_argument("--verbose", action="store_true", help="print one line per request")
    options = parser.parse_args(argv)
    fake = FakeProviders(host=options.host, port=options.port, latency_ms=options.latency_ms)
    fake.log_requests = options.verbose
    base_url = fake.start()
    print(f"Fake Twilio and SendGrid listening at {base_url}", flush=True)
    print(f"  TWILIO_API_BASE_URL={base_url} SENDGRID_API_HOST={base_url}", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        fake.stop()


if __name__ == "__main__":
    main()
