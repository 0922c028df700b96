"""Fan-out benchmark: publish one update to N recipients (half email, half SMS) and measure how
fast the outbox hands them to the providers.

    make bench                 # N=10000 on $DATABASE_URL (default: var/bench.sqlite3)
    make bench N=100000 DATABASE_URL=postgres://postgres@127.0.0.1:5432/candor_bench
    make bench TASKS=rq        # RQ on $REDIS_URL (its database 12, flushed): 4 workers, 2 sweeps

The real Twilio and SendGrid SDKs talk to the local fake providers (20 ms latency by default),
`manage.py db_worker` (or, with --tasks rq, `manage.py rqworker`) processes do the sending,
exactly as in production; with RQ, sweeps with a short grace race the workers, re-enqueueing
work the workers are about to take, as several machines would. Prints messages per
second per channel, time from publish to the first provider request and to the last, peak
memory, and the number of messages lost or duplicated (must be 0).
"""

import argparse
import collections
import os
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def configure_environment(base_url, database_url):
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "candor.settings",
            "DATABASE_URL": database_url,
            "CANDOR_SMS_PROVIDER": "twilio",
            "TWILIO_ACCOUNT_SID": "AC" + "0" * 32,
            "TWILIO_AUTH_TOKEN": "bench-token",
            "TWILIO_MESSAGING_SERVICE_SID": "MG" + "0" * 32,
            "TWILIO_API_BASE_URL": base_url,
            "CANDOR_EMAIL_PROVIDER": "sendgrid",
            "SENDGRID_API_KEY": "SG.bench",
            "SENDGRID_WEBHOOK_PUBLIC_KEY": "bench-not-used",
            "SENDGRID_API_HOST": base_url,
            "LOG_LEVEL": "WARNING",
            # As production runs: no query log, no debug wrappers around every cursor.
            "DEBUG": "0",
            "SECRET_KEY": "bench-" + "x" * 60,
            "ALLOWED_HOSTS": "localhost",
            "CANDOR_PUBLIC_URL": "https://candor.bench.example",
            "SECURE_SSL_REDIRECT": "0",
        }
    )


def reset_database(database_url):
    if database_url.startswith("sqlite"):
        path = Path(database_url.split("sqlite:///", 1)[1])
        for suffix in ("", "-wal", "-shm"):
            Path(str(path) + suffix).unlink(missing_ok=True)
        return
    import psycopg

    base, _, name = database_url.rpartition("/")
    with psycopg.connect(base + "/postgres", autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{name}"')


def seed(n, email_only=False):
    """An organisation, N contacts (half email-only, half SMS-only, or all email) and a live incident."""
    from accounts.models import ClientAccount, Contact, Organization, Role, SmsConsent, User
    from playbooks.incidents.services import incident_create, incident_transition
    from playbooks.models import Playbook, PlaybookStage, StageMessage

    organization = Organization.objects.create(name="Bench Corp", slug="bench", country="DE", timezone="Europe/Berlin")
    commander = User.objects.create_user("bench", organization=organization, role=Role.COMMANDER)
    languages = [("en", "Europe/London"), ("de", "Europe/Berlin"), ("ja", "Asia/Tokyo"), ("es", "Europe/Madrid")]
    clients = ClientAccount.objects.bulk_create(
        ClientAccount(
            organization=organization,
            name=f"Client {i}",
            country="DE",
            tags=["api"],
            default_language=languages[i % 4][0],
            timezone=languages[i % 4][1],
        )
        for i in range(max(1, n // 50))
    )
    contacts = []
    for i in range(n):
        client = clients[i % len(clients)]
        if i % 2 == 0 or email_only:
            contacts.append(Contact(client=client, name=f"Reader {i}", email=f"reader{i}@bench.example"))
        else:
            contacts.append(
                Contact(
                    client=client,
                    name=f"Reader {i}",
                    phone=f"+4915{i:09d}",
                    accepts_email=False,
                    accepts_sms=True,
                    sms_consent=SmsConsent.GRANTED,
                )
            )
    Contact.objects.bulk_create(contacts, batch_size=5000)
    playbook = Playbook.objects.create(
        organization=organization, kind="outage", name="Bench", slug="bench", audience_all_clients=True
    )
    stage = PlaybookStage.objects.create(playbook=playbook, stage="investigating", cadence_minutes=30)
    for language, _ in languages:
        StageMessage.objects.create(
            stage=stage,
            language=language,
            channel="email",
            subject="{{ incident_title }}",
            body="Hello {{ contact_name }}. {{ stage }}. Next update {{ next_update_at }}. {{ status_url }}",
        )
        StageMessage.objects.create(
            stage=stage,
            language=language,
            channel="sms",
            body="{{ stage }}. Next {{ next_update_at }}. {{ status_url }} STOP to opt out",
        )
    incident = incident_create(playbook=playbook, actor=commander, title="Bench outage")
    incident = incident_transition(incident=incident, name="activate", actor=commander)
    return incident, commander


def start_process(name, command, env=None):
    """A process whose output goes to a log file (a pipe nobody reads would fill up and block it)."""
    log = open(ROOT / "var" / f"bench-{name}.log", "w+b")  # noqa: SIM115 (closed with the process)
    process = subprocess.Popen(command, cwd=ROOT, stdout=log, stderr=log, env=env)
    process.log = log
    process.name = name
    return process


def start_workers(workers_per_channel, interval):
    """db_worker processes as production runs them: per channel, and one for the fan-out."""
    command = [
        sys.executable,
        "manage.py",
        "candor_worker",
        "--no-reload",
        "--no-startup-delay",
        "--interval",
        interval,
    ]
    workers = [start_process("worker-fanout", [*command, "--queue-name", "fanout,default"])]
    for queue in ("email", "sms"):
        for number in range(workers_per_channel):
            workers.append(start_process(f"worker-{queue}-{number}", [*command, "--queue-name", queue]))
    return workers


def start_rq_workers(workers, sweeps):
    """Workers serving every queue, and outbox sweeps re-enqueueing every second."""
    queues = ["default", "fanout", "email", "sms", "timers", "team_channels", "webhooks"]
    processes = [
        start_process(f"rq-worker-{n}", [sys.executable, "manage.py", "rqworker", *queues, "--with-scheduler"])
        for n in range(workers)
    ]
    processes += [
        start_process(f"sweep-{n}", [sys.executable, "manage.py", "sweep_outbox", "--every", "1"])
        for n in range(sweeps)
    ]
    return processes


def settle(processes, timeout=60):
    """Wait until the processes have started (Django set up) and idle: their CPU time stops growing."""
    time.sleep(1)
    deadline = time.monotonic() + timeout
    previous = sum(cpu_seconds(process.pid) for process in processes)
    while time.monotonic() < deadline:
        time.sleep(0.5)
        now = sum(cpu_seconds(process.pid) for process in processes)
        if now - previous < 0.02 * len(processes):
            return
        previous = now


def cpu_seconds(pid):
    """User + system CPU time of a running process, from /proc (no psutil)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def self_cpu_seconds():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class Fakes:
    """The lean fake providers (bench/fake_providers.py), in processes of their own."""

    def __init__(self, processes, latency_ms):
        import socket

        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.prefix = ROOT / "var" / f"bench-fake-{os.getpid()}"
        command = [
            sys.executable,
            str(ROOT / "bench" / "fake_providers.py"),
            "--port",
            str(self.port),
            "--latency-ms",
            str(latency_ms),
            "--record",
            str(self.prefix),
        ]
        self.processes = [start_process(f"fake-{n}", command) for n in range(processes)]
        time.sleep(1)

    def collect(self, final=False):
        """What every fake received since the last collection: [channel, received_at, status, recipients]."""
        import orjson

        for process in self.processes:
            for stale in self.prefix.parent.glob(f"{self.prefix.name}.{process.pid}.json"):
                stale.unlink()
            process.send_signal(signal.SIGTERM if final else signal.SIGUSR1)
        records = []
        for process in self.processes:
            path = Path(f"{self.prefix}.{process.pid}.json")
            deadline = time.monotonic() + 30
            while not path.exists() and time.monotonic() < deadline:
                time.sleep(0.05)
            records += orjson.loads(path.read_bytes())
            path.unlink()
        return records


def run_round(*, args, fakes, incident, commander, workers_per_channel):
    """Publish one update to everyone with this many workers per channel, and measure it."""
    from comms.models import FanOut, Message, MessageStatus
    from playbooks.updates.services import update_draft, update_publish

    update = update_draft(incident=incident, author=commander)
    source = f"update:{update.pk}"
    if args.tasks == "rq":
        workers = start_rq_workers(args.rq_workers, args.sweeps)
    else:
        workers = start_workers(workers_per_channel, args.interval)
    settle(workers)  # let the workers start and reach their first wait
    fakes.collect()  # forget whatever came before
    cpu_before = {worker.pid: cpu_seconds(worker.pid) for worker in workers}

    publisher_cpu = self_cpu_seconds()
    started = time.monotonic()
    update_publish(update=update, actor=commander)
    published = time.monotonic()
    publisher_cpu = self_cpu_seconds() - publisher_cpu
    print(f"  published in {published - started:.2f} s; waiting for the workers ...", flush=True)

    pending = [MessageStatus.QUEUED, MessageStatus.SENDING]
    deadline = started + args.timeout
    while time.monotonic() < deadline and (
        FanOut.objects.filter(source=source, completed_at__isnull=True).exists()
        or Message.objects.filter(source=source, status__in=pending).exists()
    ):
        time.sleep(0.2)
    finished = time.monotonic()
    cpu = {worker.name: cpu_seconds(worker.pid) - cpu_before[worker.pid] for worker in workers}
    for worker in workers:
        worker.send_signal(signal.SIGTERM)
    for worker in workers:
        worker.wait(timeout=30)
    records = fakes.collect()

    messages = list(
        Message.objects.filter(source=source).values_list("id", "channel", "to_address", "content__language")
    )
    language_of = {str(pk): language for pk, channel, _, language in messages if channel == "email"}
    language_of.update({to: language for _, channel, to, language in messages if channel == "sms"})
    received = {"email": collections.Counter(), "sms": collections.Counter()}
    first_at, last_at, requests = {}, {}, collections.Counter()
    for channel, received_at, status, recipients in records:
        if status not in (201, 202):
            continue
        requests[channel] += 1
        received[channel].update(recipients)
        last_at[channel] = max(last_at.get(channel, 0), received_at)
        for recipient in recipients:
            key = (channel, language_of.get(recipient, "?"))
            first_at[key] = min(first_at.get(key, float("inf")), received_at)
    expected = {
        "email": {str(pk) for pk, channel, _, _ in messages if channel == "email"},
        "sms": {to for _, channel, to, _ in messages if channel == "sms"},
    }
    lost = sum(len(expected[channel] - set(received[channel])) for channel in expected)
    duplicated = sum(count - 1 for counter in received.values() for count in counter.values() if count > 1)
    counts = {channel: sum(received[channel].values()) for channel in received}
    statuses = collections.Counter(Message.objects.filter(source=source).values_list("status", flat=True))
    sending_cpu = {
        channel: sum(seconds for name, seconds in cpu.items() if f"-{channel}-" in name) for channel in ("email", "sms")
    }
    writing_cpu = publisher_cpu + sum(seconds for name, seconds in cpu.items() if "fanout" in name)
    rq_cpu = sum(seconds for name, seconds in cpu.items() if name.startswith(("rq-", "sweep-")))
    total = max(1, len(messages))

    def rate(channel):
        if channel not in last_at:
            return 0.0
        return counts[channel] / max(last_at[channel] - started, 1e-9)

    print()
    print(f"recipients                  {args.n} ({len(expected['email'])} email, {len(expected['sms'])} SMS)")
    if args.tasks == "rq":
        print(
            f"task engine                 RQ on Redis: {args.rq_workers} workers on every queue, {args.sweeps} sweeps"
        )
    else:
        print(
            f"task engine                 database: {workers_per_channel} email, {workers_per_channel} SMS workers, 1 fan-out"
        )
    print(
        f"provider latency            {args.latency_ms:.0f} ms ({args.fake_processes} fake processes); SMS x {args.sms_concurrency} ({args.twilio_http})"
    )
    print(f"publish transaction         {published - started:.2f} s")
    first = min(first_at.values(), default=float("nan")) - started
    print(f"first provider request      {first:.2f} s after publish began")
    for (channel, language), at in sorted(first_at.items(), key=lambda item: item[1]):
        print(f"  first {channel:5} {language:3}         {at - started:.2f} s")
    print(
        f"last provider request       {max(last_at.values(), default=float('nan')) - started:.2f} s after publish began"
    )
    print(f"email handed over           {rate('email'):,.0f} /s publish to last request ({requests['email']} requests)")
    print(f"SMS handed over             {rate('sms'):,.0f} /s publish to last request")
    if args.tasks == "rq":
        print(
            f"engine CPU per message      {1e6 * (rq_cpu + publisher_cpu) / total:,.0f} us (RQ workers + sweeps + publisher)"
        )
    else:
        print(
            f"engine CPU per email       {1e6 * sending_cpu['email'] / max(1, counts['email']):,.0f} us sending "
            f"(+ {1e6 * writing_cpu / total:,.0f} us publish and fan-out per message)"
        )
        if counts["sms"]:
            print(f"engine CPU per SMS         {1e6 * sending_cpu['sms'] / counts['sms']:,.0f} us sending")
        print(
            f"engine CPU, all            {sum(cpu.values()) + publisher_cpu:.1f} s: publisher {publisher_cpu:.1f}, "
            + ", ".join(f"{name.removeprefix('worker-')} {seconds:.1f}" for name, seconds in cpu.items())
        )
    print(f"final statuses              {dict(statuses)}")
    print(f"peak memory                 publisher {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")
    print(f"lost                        {lost}")
    print(f"duplicated                  {duplicated}")
    print(f"done in                     {finished - started:.1f} s")
    for worker in workers:
        worker.log.seek(0)
        errors = worker.log.read().decode(errors="replace")
        if "Traceback" in errors:
            print(f"worker error (see {worker.log.name}):\n" + errors[errors.index("Traceback") :][:2000])
    return lost, duplicated


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=int(os.environ.get("N", "10000")))
    parser.add_argument("--latency-ms", type=float, default=20)
    parser.add_argument(
        "--workers",
        default=os.environ.get("WORKERS", "1"),
        help="workers per channel, or several runs: 1,2,4 (one publish each, same contacts)",
    )
    parser.add_argument("--email-only", action="store_true", help="every contact by email (bench/baseline.py)")
    parser.add_argument("--interval", default="0.5", help="db_worker's poll interval, as make run uses")
    parser.add_argument("--fake-processes", type=int, default=2)
    parser.add_argument("--sms-concurrency", type=int, default=16)
    parser.add_argument(
        "--twilio-http", choices=["threads", "aiohttp"], default=os.environ.get("TWILIO_HTTP", "aiohttp")
    )
    parser.add_argument("--timeout", type=float, default=900)
    parser.add_argument("--tasks", choices=["database", "rq"], default=os.environ.get("TASKS", "database"))
    parser.add_argument("--rq-workers", type=int, default=4, help="with --tasks rq: workers serving every queue")
    parser.add_argument("--sweeps", type=int, default=2, help="with --tasks rq: outbox sweeps racing them")
    args = parser.parse_args()
    database_url = os.environ.get("DATABASE_URL") or f"sqlite:///{ROOT / 'var' / 'bench.sqlite3'}"
    if database_url.startswith("postgres") and "test" not in database_url and not database_url.endswith("_bench"):
        sys.exit("Refusing to reset a database whose name does not end in _bench: point DATABASE_URL at one.")

    (ROOT / "var").mkdir(exist_ok=True)
    fakes = Fakes(args.fake_processes, args.latency_ms)
    configure_environment(fakes.base_url, database_url)
    os.environ["CANDOR_SMS_CONCURRENCY"] = str(args.sms_concurrency)
    os.environ["CANDOR_TWILIO_HTTP"] = args.twilio_http
    reset_database(database_url)
    if args.tasks == "rq":
        from urllib.parse import urlsplit

        import redis

        redis_url = urlsplit(os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"))._replace(path="/11").geturl()
        redis.Redis.from_url(redis_url).flushdb()
        # The sweeps re-enqueue what has been due for 2 s: they race the workers all along.
        os.environ.update({"TASKS_BACKEND": "rq", "REDIS_URL": redis_url, "CANDOR_SWEEP_GRACE_SECONDS": "2"})

    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    print(
        f"Seeding {args.n} recipients on {database_url.split('@')[-1]} ({django.db.connection.vendor}) ...", flush=True
    )
    incident, commander = seed(args.n, email_only=args.email_only)
    print(f"load average                {' '.join(f'{x:.1f}' for x in os.getloadavg())} (2 shared cores)")
    failures = 0
    try:
        for count in [int(each) for each in str(args.workers).split(",")]:
            print(f"\n== {count} worker(s) per channel ==", flush=True)
            lost, duplicated = run_round(
                args=args, fakes=fakes, incident=incident, commander=commander, workers_per_channel=count
            )
            failures += lost + duplicated
    finally:
        fakes.collect(final=True)
    print(f"load average                {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    sys.exit(0 if failures == 0 else 1)


if __name__ == "__main__":
    main()
