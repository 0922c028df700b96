"""A lean fake Twilio and SendGrid for the benchmarks, run as its own process(es) so that its CPU
is not counted as the engine's and it is never the bottleneck.

    python bench/fake_providers.py --port 8098 --latency-ms 20 --record var/fake   # x 2 or more

Several processes may share the port (SO_REUSEPORT, the kernel spreads connections), each an
asyncio loop answering HTTP/1.1 keep-alive requests after `latency_ms`: 201 and a Message
resource for Twilio's Messages.json, 202 and an X-Message-Id for SendGrid's Mail Send, an empty
list for Twilio's message lookup. No validation (tests/fakes/providers.py is the faithful fake for
the tests); it records, per request, the channel, when it arrived (time.monotonic(), the same
clock in every process on Linux) and who it was for: the candor_message_id (or address) of each
personalization, the To of an SMS. SIGUSR1 writes what it recorded to <record>.<pid>.json and
forgets it; SIGTERM writes and exits.
"""

import argparse
import asyncio
import base64
import os
import secrets
import signal
import socket
import sys
import time
from urllib.parse import parse_qsl

import orjson

LIST_BODY = orjson.dumps({"messages": [], "next_page_uri": None, "page": 0, "page_size": 50, "start": 0, "end": 0})


class Recorder:
    def __init__(self, prefix):
        self.prefix = prefix
        self.records = []  # [channel, received_at, status, [recipients]]

    def dump(self):
        path = f"{self.prefix}.{os.getpid()}.json"
        with open(path + ".tmp", "wb") as out:
            out.write(orjson.dumps(self.records))
        os.replace(path + ".tmp", path)
        self.records = []


def recipients_of_mail(body):
    try:
        mail = orjson.loads(body)
        return [
            (p.get("custom_args") or {}).get("candor_message_id") or p["to"][0]["email"]
            for p in mail.get("personalizations", [])
        ]
    except (ValueError, KeyError, IndexError, TypeError, AttributeError):
        return []


def twilio_resource(path, form):
    account_sid = path.split("/")[3]
    sid = "SM" + secrets.token_hex(16)
    now = time.strftime("%a, %d %b %Y %H:%M:%S +0000", time.gmtime())
    return orjson.dumps(
        {
            "account_sid": account_sid,
            "api_version": "2010-04-01",
            "body": form.get("Body", ""),
            "date_created": now,
            "date_updated": now,
            "direction": "outbound-api",
            "from": form.get("From"),
            "messaging_service_sid": form.get("MessagingServiceSid"),
            "num_segments": "1",
            "sid": sid,
            "status": "accepted" if not form.get("From") else "queued",
            "to": form.get("To", ""),
            "uri": f"/2010-04-01/Accounts/{account_sid}/Messages/{sid}.json",
        }
    )


async def serve_connection(reader, writer, latency, recorder):
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            received_at = time.monotonic()
            request_line, *header_lines = head.decode("latin-1").split("\r\n")
            method, target, _ = request_line.split(" ", 2)
            length = 0
            for line in header_lines:
                if line[:15].lower() == "content-length:":
                    length = int(line[15:].strip())
            body = await reader.readexactly(length) if length else b""
            path = target.split("?", 1)[0]
            if latency:
                await asyncio.sleep(latency)
            extra = b""
            if method == "POST" and path == "/v3/mail/send":
                status, payload = b"202 Accepted", b""
                message_id = base64.urlsafe_b64encode(secrets.token_bytes(12)).decode()
                extra = f"X-Message-Id: {message_id}\r\n".encode()
                recorder.records.append(["email", received_at, 202, recipients_of_mail(body)])
            elif method == "POST" and path.endswith("/Messages.json"):
                form = dict(parse_qsl(body.decode(), keep_blank_values=True))
                status, payload = b"201 Created", twilio_resource(path, form)
                recorder.records.append(["sms", received_at, 201, [form.get("To", "")]])
            elif method == "GET" and path.endswith("/Messages.json"):
                status, payload = b"200 OK", LIST_BODY
            else:
                status, payload = b"404 Not Found", b'{"message": "not faked"}'
            writer.write(
                b"HTTP/1.1 "
                + status
                + b"\r\nContent-Type: application/json\r\nContent-Length: "
                + str(len(payload)).encode()
                + b"\r\n"
                + extra
                + b"\r\n"
                + payload
            )
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError, asyncio.CancelledError):
        pass
    finally:
        writer.close()


async def serve(sock, latency, recorder):
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    loop.add_signal_handler(signal.SIGUSR1, recorder.dump)
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    server = await asyncio.start_server(
        lambda r, w: serve_connection(r, w, latency, recorder), sock=sock, limit=64 * 1024 * 1024
    )
    async with server:
        await stop.wait()
    recorder.dump()


def listening_socket(host, port):
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    sock.listen(1024)
    sock.setblocking(False)
    return sock


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8098)
    parser.add_argument("--latency-ms", type=float, default=20)
    parser.add_argument("--record", default="var/fake-providers")
    options = parser.parse_args(argv)
    sock = listening_socket(options.host, options.port)
    print(f"fake providers listening on http://{options.host}:{options.port} (pid {os.getpid()})", flush=True)
    asyncio.run(serve(sock, options.latency_ms / 1000, Recorder(options.record)))
    sys.exit(0)


if __name__ == "__main__":
    main()
