"""End-to-end smoke check of the production stack (`make smoke`): web + worker + sweeps from the
Procfile under honcho, on PostgreSQL and Redis with RQ, sending to the fake Twilio and SendGrid.

Publishes an update through the REST API as a commander would, waits until the fake providers
received every message, then checks /health/ready/ answers 200 and /metrics counts what was sent.
Uses its own database (name ending in _smoke, reset), Redis database 13 for tasks and 14 for the
cache (both flushed).
"""

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.fakes.providers import FakeProviders  # noqa: E402

PORT = int(os.environ.get("SMOKE_PORT", "8765"))
BASE = f"http://127.0.0.1:{PORT}"
METRICS_TOKEN = "smoke-metrics-token"


def reset_database(database_url):
    import psycopg

    name = urlsplit(database_url).path.lstrip("/")
    if not name.endswith("_smoke"):
        sys.exit("Refusing to reset a database whose name does not end in _smoke.")
    admin_url = urlsplit(database_url)._replace(path="/postgres").geturl()
    with psycopg.connect(admin_url, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{name}"')


def call(method, path, *, token=None, body=None, headers=None):
    request = urllib.request.Request(BASE + path, method=method, headers=dict(headers or {}))
    if token:
        request.add_header("Authorization", f"Token {token}")
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, data=data, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def wait_for(what, check, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except (urllib.error.URLError, ConnectionError, OSError):
            pass
        time.sleep(0.5)
    raise SystemExit(f"smoke: FAILED waiting for {what}")


def main():
    database_url = os.environ.get("SMOKE_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/candor_smoke")
    redis_url = urlsplit(os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"))._replace(path="/13").geturl()
    reset_database(database_url)
    import redis

    cache_url = urlsplit(redis_url)._replace(path="/14").geturl()
    for url in (redis_url, cache_url):
        redis.Redis.from_url(url).flushdb()

    shutil.rmtree(ROOT / "var" / "smoke-prometheus", ignore_errors=True)
    with FakeProviders(latency_ms=5) as fake:
        env = {
            **os.environ,
            "DEBUG": "0",
            "SECRET_KEY": "smoke-" + "k" * 60,
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "CANDOR_PUBLIC_URL": BASE,
            "SECURE_SSL_REDIRECT": "0",
            "DATABASE_URL": database_url,
            "TASKS_BACKEND": "rq",
            "REDIS_URL": redis_url,
            "CANDOR_CACHE_URL": cache_url,
            "CANDOR_METRICS_TOKEN": METRICS_TOKEN,
            "PORT": str(PORT),
            "WEB_CONCURRENCY": "2",
            "PROMETHEUS_MULTIPROC_DIR": str(ROOT / "var" / "smoke-prometheus"),
            "CANDOR_VAR_DIR": str(ROOT / "var" / "smoke"),
            "CANDOR_SMS_PROVIDER": "twilio",
            "TWILIO_ACCOUNT_SID": "AC" + "0" * 32,
            "TWILIO_AUTH_TOKEN": "smoke",
            "TWILIO_FROM_NUMBER": "+15005550006",
            "TWILIO_API_BASE_URL": fake.base_url,
            "CANDOR_EMAIL_PROVIDER": "sendgrid",
            "SENDGRID_API_KEY": "SG.smoke",
            "SENDGRID_API_HOST": fake.base_url,
            "SENDGRID_WEBHOOK_PUBLIC_KEY": "unused-by-the-smoke-test",
            "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
        }
        for command in (["migrate", "--noinput", "-v0"], ["collectstatic", "--noinput", "-v0"], ["load_demo"]):
            subprocess.run(
                [sys.executable, "manage.py", *command], cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL
            )
        log = open(ROOT / "var" / "smoke-honcho.log", "w+b")  # noqa: SIM115 (read and closed below)
        stack = subprocess.Popen(
            [sys.executable, "-m", "honcho", "start"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            run(fake)
        except SystemExit:
            log.seek(0)
            print(log.read().decode(errors="replace")[-4000:])
            raise
        finally:
            os.killpg(stack.pid, signal.SIGTERM)
            stack.wait(timeout=30)
            log.close()


def run(fake):
    wait_for("the web process (/health/)", lambda: call("GET", "/health/")[0] == 200)
    status, body = call("POST", "/api/auth/token/", body={"username": "cora", "password": "candor-demo"})
    token = json.loads(body)["token"]
    playbooks = json.loads(call("GET", "/api/playbooks/", token=token)[1])["results"]
    outage = next(playbook for playbook in playbooks if playbook["slug"] == "outage-standard")
    clients = json.loads(call("GET", "/api/clients/", token=token)[1])["results"]
    status, body = call(
        "POST",
        "/api/incidents/",
        token=token,
        body={
            "playbook": outage["id"],
            "title": "Smoke test: payments API errors",
            "affected_clients": [client["id"] for client in clients],
        },
    )
    assert status == 201, body
    incident = json.loads(body)
    status, body = call(
        "POST", f"/api/incidents/{incident['id']}/transitions/", token=token, body={"transition": "activate"}
    )
    assert status == 200, body
    status, body = call("POST", "/api/updates/", token=token, body={"incident": incident["id"]})
    assert status == 201, body
    update = json.loads(body)
    status, body = call("POST", f"/api/updates/{update['id']}/publish/", token=token)
    assert status == 200, body
    messages = json.loads(call("GET", f"/api/messages/?update={update['id']}", token=token)[1])
    expected = messages["count"]
    print(f"smoke: published update {update['id']}: {expected} messages queued", flush=True)

    def all_sent():
        page = json.loads(call("GET", f"/api/messages/?update={update['id']}&status=sent", token=token)[1])
        return page["count"] == expected

    wait_for("the worker to send every message", all_sent)
    received = len(fake.twilio_messages()) + sum(len(mail["personalizations"]) for mail in fake.sendgrid_mails())
    print(f"smoke: fake providers received {received} of {expected} messages", flush=True)
    assert received >= expected, "a message marked sent never reached the fake providers"

    status, body = call("GET", "/health/ready/")
    print(f"smoke: /health/ready/ {status} {body}", flush=True)
    assert status == 200, body
    status, body = call("GET", "/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
    assert status == 200, body
    sent_lines = [
        line
        for line in body.splitlines()
        if line.startswith("candor_provider_messages_total") and 'outcome="accepted"' in line
    ]
    sent = sum(float(line.rsplit(" ", 1)[1]) for line in sent_lines)
    print("smoke: /metrics " + "; ".join(sent_lines), flush=True)
    assert sent >= expected, f"/metrics counts {sent} accepted messages, expected {expected}"
    print("smoke: OK", flush=True)


if __name__ == "__main__":
    main()
