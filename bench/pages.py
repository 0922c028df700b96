"""Status-page benchmark: one incident's private and public pages under a rush of clients.

    make bench-pages
    make bench-pages DATABASE_URL=postgres://postgres@127.0.0.1:5432/candor_pages_bench SECONDS=15

Resets the database (its name must end in `_bench`), migrates, seeds one live outage with a
published update, a contact and the public opt-in, then serves the app with gunicorn exactly as in
production (DEBUG off, static files collected, persistent database connections) on 127.0.0.1 and
loads it from a local load generator: `wrk` when installed (apt-get install wrk), else a small
asyncio HTTP/1.1 keep-alive client in this file. For each page it prints requests per second and
p50/p99 latency for full responses (200) and for revalidations (If-None-Match -> 304).

Server settings (see bench/README.md for why): gunicorn gthread workers, WORKERS (default: CPU
count) processes x THREADS (default 4) threads each, keep-alive 30 s.
"""

import argparse
import asyncio
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/candor_pages_bench"


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def server_environment(database_url, port, var_dir):
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "candor.settings",
        "DEBUG": "0",
        "SECRET_KEY": "bench-" + "x" * 50,
        "ALLOWED_HOSTS": "127.0.0.1",
        "CANDOR_PUBLIC_URL": f"http://127.0.0.1:{port}",
        "SECURE_SSL_REDIRECT": "0",
        "CANDOR_VAR_DIR": str(var_dir),
        "DATABASE_URL": database_url,
        "DATABASE_CONN_MAX_AGE": "600",
        "LOG_LEVEL": "WARNING",
        # In a rush every client comes from their own address; here all of them come from
        # 127.0.0.1, so the per-address limit on signed links is raised out of the way (its counter
        # still runs on every request, as in production).
        "CANDOR_RATE_CLIENT_LINKS": "100000000/minute",
    }


def reset_database(database_url):
    import psycopg

    base, _, name = database_url.rpartition("/")
    if not name.endswith("_bench"):
        sys.exit(f"Refusing to reset {name!r}: the benchmark database's name must end in _bench.")
    with psycopg.connect(base + "/postgres", autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{name}"')


SEED = """
import datetime as dt
import django
django.setup()
from accounts.models import ClientAccount, Contact, Organization, Role, User
from playbooks.incidents.links import status_token
from playbooks.models import Incident, Playbook, PlaybookStage, StageMessage
from playbooks.incidents.services import incident_create, incident_transition
from playbooks.updates.services import update_draft, update_publish

organization = Organization.objects.create(name="Bench Corp", slug="bench", country="DE", timezone="Europe/Berlin")
commander = User.objects.create_user("bench", organization=organization, role=Role.COMMANDER,
                                     first_name="Berit", last_name="Bench", email="berit@bench.example")
client = ClientAccount.objects.create(organization=organization, name="Client GmbH", country="DE", tags=["api"],
                                      default_language="de", timezone="Europe/Berlin", account_owner=commander)
contact = Contact.objects.create(client=client, name="Reader One", email="reader@bench.example")
playbook = Playbook.objects.create(organization=organization, kind="outage", name="Outage", slug="outage")
stage = PlaybookStage.objects.create(playbook=playbook, stage="investigating", cadence_minutes=30)
for language, subject, body in [
    ("en", "{{ incident_title }}: {{ stage }}",
     "Dear {{ contact_name }}, {{ stage }}. Payments through the API fail for about 20% of requests. "
     "Next update by {{ next_update_at }}. Status: {{ status_url }}"),
    ("de", "{{ incident_title }}: {{ stage }}",
     "Guten Tag {{ contact_name }}, {{ stage }}. Etwa 20 % der Zahlungen über die API schlagen fehl. "
     "Nächste Meldung: {{ next_update_at }}. Status: {{ status_url }}"),
]:
    StageMessage.objects.create(stage=stage, language=language, channel="email", subject=subject, body=body)
incident = incident_create(playbook=playbook, actor=commander, title="Payments API errors", affected_tags=["api"])
incident = incident_transition(incident=incident, name="activate", actor=commander)
for _ in range(3):
    update_publish(update=update_draft(incident=incident, author=commander), actor=commander)
Incident.objects.filter(pk=incident.pk).update(is_public=True)
print(f"/s/{status_token(incident.pk, contact.pk)}/")
"""


def run(command, env, **kwargs):
    return subprocess.run(command, cwd=ROOT, env=env, check=True, **kwargs)


def start_gunicorn(env, port, workers, threads, log):
    gunicorn = Path(sys.executable).with_name("gunicorn")
    command = [
        str(gunicorn) if gunicorn.exists() else "gunicorn",
        "candor.wsgi:application",
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(workers),
        "--threads",
        str(threads),
        "--worker-class",
        "gthread",
        "--keep-alive",
        "30",
        "--backlog",
        "2048",
        "--log-level",
        "warning",
    ]
    # One log line per request, as in production, into a file rather than over the figures.
    process = subprocess.Popen(command, cwd=ROOT, env=env, start_new_session=True, stdout=log, stderr=log)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/status/bench/", timeout=2) as response:
                if response.status == 200:
                    return process
        except OSError:
            time.sleep(0.2)
    stop(process)
    sys.exit("gunicorn did not answer within 30 s.")


def stop(process):
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=15)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        os.killpg(process.pid, signal.SIGKILL)


def fetch(url, headers=None):
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, b""


# ---------------------------------------------------------------------------------------------
# CPU accounting: on a shared machine requests/s depend on what else runs; the CPU the server
# (gunicorn and its PostgreSQL backends) spends per request does not, much.

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def _cpu_seconds(pid):
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime + stime


def _process_group(pgid):
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[2]) == pgid:
                    pids.append(int(entry.name))
            except (OSError, IndexError, ValueError):
                continue
    return pids


def server_cpu_seconds(server, database_url):
    """CPU used so far by gunicorn (master and workers) and the PostgreSQL backends serving it."""
    import psycopg

    name = database_url.rpartition("/")[2]
    with psycopg.connect(database_url, autocommit=True) as connection:
        backends = [
            row[0]
            for row in connection.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()", [name]
            )
        ]
    return sum(_cpu_seconds(pid) for pid in _process_group(server.pid) + backends)


# ---------------------------------------------------------------------------------------------
# Load generators


def _milliseconds(value, unit):
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]


def load_with_wrk(url, *, seconds, connections, threads, headers):
    command = ["wrk", "--latency", "-t", str(threads), "-c", str(connections), "-d", f"{seconds}s"]
    for name, value in headers.items():
        command += ["-H", f"{name}: {value}"]
    output = subprocess.run([*command, url], capture_output=True, text=True, check=True).stdout
    percentiles = {
        int(p): _milliseconds(value, unit)
        for p, value, unit in re.findall(r"^\s+(\d+)%\s+([\d.]+)(us|ms|s|m)\s*$", output, re.MULTILINE)
    }
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    socket_errors = re.search(r"Socket errors: (.*)", output)
    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1)),
        "p50": percentiles[50],
        "p99": percentiles[99],
        "requests": int(re.search(r"(\d+) requests in", output).group(1)),
        "errors": int(errors.group(1)) if errors else 0,
        "note": socket_errors.group(1) if socket_errors else "",
    }


async def _connection(host, port, request, deadline, latencies, failures):
    reader, writer = await asyncio.open_connection(host, port)
    try:
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head.split(b" ", 2)[1])
            length = re.search(rb"(?i)\r\ncontent-length:\s*(\d+)", head)
            if length:
                await reader.readexactly(int(length.group(1)))
            latencies.append(time.perf_counter() - started)
            if status >= 400:
                failures.append(status)
    finally:
        writer.close()


async def _python_load(url, seconds, connections, headers):
    match = re.match(r"http://([^:/]+):(\d+)(/.*)", url)
    host, port, path = match.group(1), int(match.group(2)), match.group(3)
    lines = [f"GET {path} HTTP/1.1", f"Host: {host}:{port}", "Connection: keep-alive"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    request = ("\r\n".join(lines) + "\r\n\r\n").encode()
    latencies, failures = [], []
    started = time.perf_counter()
    await asyncio.gather(
        *[_connection(host, port, request, started + seconds, latencies, failures) for _ in range(connections)]
    )
    elapsed = time.perf_counter() - started
    quantiles = statistics.quantiles(latencies, n=100)
    return {
        "rps": len(latencies) / elapsed,
        "p50": quantiles[49] * 1000,
        "p99": quantiles[98] * 1000,
        "requests": len(latencies),
        "errors": len(failures),
        "note": "python load generator",
    }


def load_with_python(url, *, seconds, connections, threads, headers):
    return asyncio.run(_python_load(url, seconds, connections, headers))


# ---------------------------------------------------------------------------------------------


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL)
    parser.add_argument("--seconds", type=int, default=int(os.environ.get("SECONDS_PER_RUN", "10")))
    parser.add_argument("--connections", type=int, default=int(os.environ.get("CONNECTIONS", "32")))
    parser.add_argument("--workers", type=int, default=int(os.environ.get("WORKERS", str(os.cpu_count() or 2))))
    parser.add_argument("--threads", type=int, default=int(os.environ.get("THREADS", "4")))
    parser.add_argument("--python-client", action="store_true", help="use the built-in client even if wrk exists")
    args = parser.parse_args()
    if not args.database_url.startswith("postgres"):
        sys.exit("The page benchmark runs on PostgreSQL: set DATABASE_URL=postgres://...")

    load = load_with_wrk if shutil.which("wrk") and not args.python_client else load_with_python
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="candor-bench-pages-") as var_dir:
        env = server_environment(args.database_url, port, var_dir)
        print(f"Resetting {args.database_url} and seeding one incident...", flush=True)
        reset_database(args.database_url)
        run([sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"], env)
        run([sys.executable, "manage.py", "collectstatic", "--noinput", "-v", "0"], env)
        private_path = (
            run([sys.executable, "-c", SEED], env, capture_output=True, text=True).stdout.strip().splitlines()[-1]
        )
        print(
            f"gunicorn: {args.workers} gthread workers x {args.threads} threads; load: "
            f"{'wrk' if load is load_with_wrk else 'built-in asyncio client'}, {args.connections} keep-alive "
            f"connections, {args.seconds} s per run, loopback.",
            flush=True,
        )
        log_path = ROOT / "var" / "bench-pages-gunicorn.log"
        log_path.parent.mkdir(exist_ok=True)
        log = open(log_path, "wb")  # noqa: SIM115 (closed after the server stops)
        server = start_gunicorn(env, port, args.workers, args.threads, log)
        try:
            base = f"http://127.0.0.1:{port}"
            results = []
            for name, path in [
                ("private status page", private_path),
                ("public status page", "/status/bench/"),
                ("public Atom feed", "/status/bench/feed.atom"),
            ]:
                status, headers, body = fetch(base + path)
                assert status == 200, f"{path} answered {status}"
                etag = headers["ETag"]
                assert fetch(base + path, {"If-None-Match": etag})[0] == 304
                for _ in range(2):  # warm every worker's cache and connection
                    load(base + path, seconds=1, connections=args.connections, threads=2, headers={})
                for label, headers in [
                    (f"{name} (200, {len(body) // 1024} KiB)", {}),
                    (f"{name} (304 revalidation)", {"If-None-Match": etag}),
                ]:
                    cpu_before = server_cpu_seconds(server, args.database_url)
                    result = load(
                        base + path, seconds=args.seconds, connections=args.connections, threads=2, headers=headers
                    )
                    cpu = server_cpu_seconds(server, args.database_url) - cpu_before
                    result["cpu_ms"] = cpu * 1000 / max(result["requests"], 1)
                    results.append((label, result))
        finally:
            stop(server)
            log.close()
    cores = os.cpu_count() or 1
    print(
        f"\nLoad average now: {os.getloadavg()[0]:.1f} on {cores} cores (other work on the machine lowers requests/s;"
        " the server CPU per request is steadier)."
    )
    print(
        f"{'page':<42} {'requests/s':>11} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7} {'CPU ms/req':>11}"
        f" {'req/s if ' + str(cores) + ' cores served only this':>34}"
    )
    for name, result in results:
        print(
            f"{name:<42} {result['rps']:>11.0f} {result['p50']:>8.2f} {result['p99']:>8.2f} {result['errors']:>7}"
            f" {result['cpu_ms']:>11.2f} {cores * 1000 / max(result['cpu_ms'], 0.001):>34.0f}"
            + (f"  ({result['note']})" if result["note"] else "")
        )
    refused = [name for name, result in results if result["errors"]]
    if refused:
        # A 429 or 500 costs less than the page: such a row measures the refusal, not the page.
        print(f"\nNOT MEASURED: answers other than 200/304 in {', '.join(refused)} (see var/bench-pages-gunicorn.log).")
    print("\nCPU ms/req: gunicorn plus its PostgreSQL backends, load generator excluded.")
    print("Targets (figures, not tests): >= 1000 requests/s with p99 < 50 ms on 2 cores.")


if __name__ == "__main__":
    main()
