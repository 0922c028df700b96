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
            "DEBUG": "1",
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


def seed(n):
    """An organisation, N contacts (half email-only, half SMS-only) and a live incident."""
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
        if i % 2 == 0:
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


def start_rq_workers(workers, sweeps):
    """Workers serving every queue, and outbox sweeps re-enqueueing every second."""
    processes = []
    commands = [
        (
            "rq-worker",
            [
                sys.executable,
                "manage.py",
                "rqworker",
                "default",
                "email",
                "sms",
                "timers",
                "team_channels",
                "webhooks",
                "--with-scheduler",
            ],
            workers,
        ),
        ("sweep", [sys.executable, "manage.py", "sweep_outbox", "--every", "1"], sweeps),
    ]
    for name, command, count in commands:
        for number in range(count):
            log = open(ROOT / "var" / f"bench-{name}-{number}.log", "w+b")  # noqa: SIM115 (closed with the process)
            process = subprocess.Popen(command, cwd=ROOT, stdout=log, stderr=log)
            process.log = log
            processes.append(process)
    return processes


def start_workers(email_workers, sms_workers):
    """Worker processes; their logs go to files (a pipe nobody reads would fill up and block them)."""
    command = [sys.executable, "manage.py", "db_worker", "--no-reload", "--no-startup-delay", "--interval", "0.05"]
    workers = []
    for queue, count in (("email", email_workers), ("sms", sms_workers)):
        for number in range(count):
            log = open(ROOT / "var" / f"bench-worker-{queue}-{number}.log", "w+b")  # noqa: SIM115 (closed with the worker)
            worker = subprocess.Popen([*command, "--queue-name", queue], cwd=ROOT, stdout=log, stderr=log)
            worker.log = log
            workers.append(worker)
    return workers


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=int(os.environ.get("N", "10000")))
    parser.add_argument("--latency-ms", type=float, default=20)
    parser.add_argument("--email-workers", type=int, default=1)
    parser.add_argument("--sms-workers", type=int, default=2)
    parser.add_argument("--sms-concurrency", type=int, default=16)
    parser.add_argument("--timeout", type=float, default=600)
    parser.add_argument("--tasks", choices=["database", "rq"], default=os.environ.get("TASKS", "database"))
    parser.add_argument("--rq-workers", type=int, default=4, help="with --tasks rq: workers serving every queue")
    parser.add_argument("--sweeps", type=int, default=2, help="with --tasks rq: outbox sweeps racing them")
    args = parser.parse_args()
    database_url = os.environ.get("DATABASE_URL") or f"sqlite:///{ROOT / 'var' / 'bench.sqlite3'}"
    if database_url.startswith("postgres") and "test" not in database_url and not database_url.endswith("_bench"):
        sys.exit("Refusing to reset a database whose name does not end in _bench: point DATABASE_URL at one.")

    from tests.fakes.providers import FakeProviders

    fake = FakeProviders(latency_ms=args.latency_ms)
    base_url = fake.start()
    configure_environment(base_url, database_url)
    os.environ["CANDOR_SMS_CONCURRENCY"] = str(args.sms_concurrency)
    reset_database(database_url)
    if args.tasks == "rq":
        from urllib.parse import urlsplit

        import redis

        redis_url = urlsplit(os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"))._replace(path="/12").geturl()
        redis.Redis.from_url(redis_url).flushdb()
        # The sweeps re-enqueue what has been due for 2 s: they race the workers all along.
        os.environ.update({"TASKS_BACKEND": "rq", "REDIS_URL": redis_url, "CANDOR_SWEEP_GRACE_SECONDS": "2"})

    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    print(f"Seeding {args.n} recipients on {database_url.split('@')[-1]} ...", flush=True)
    incident, commander = seed(args.n)

    from comms.models import Message, MessageStatus
    from playbooks.updates.services import update_draft, update_publish

    update = update_draft(incident=incident, author=commander)
    if args.tasks == "rq":
        workers = start_rq_workers(args.rq_workers, args.sweeps)
    else:
        workers = start_workers(args.email_workers, args.sms_workers)
    time.sleep(2)  # let the workers start and reach their first poll
    fake.reset()

    started = time.monotonic()
    update_publish(update=update, actor=commander)
    published = time.monotonic()
    print(f"Published in {published - started:.2f} s; waiting for the workers ...", flush=True)

    pending = [MessageStatus.QUEUED, MessageStatus.SENDING]
    deadline = started + args.timeout
    while Message.objects.filter(status__in=pending).exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    finished = time.monotonic()
    for worker in workers:
        worker.send_signal(signal.SIGTERM)
    for worker in workers:
        worker.wait(timeout=30)
    fake.stop()

    requests = [r for r in fake.requests if r.status in (201, 202)]
    email_requests = [r for r in requests if r.path == "/v3/mail/send"]
    sms_requests = [r for r in requests if r.path.endswith("/Messages.json")]
    received_email = collections.Counter(
        int(p["custom_args"]["candor_message_id"]) for r in email_requests for p in r.json["personalizations"]
    )
    received_sms = collections.Counter(r.form["To"] for r in sms_requests)
    messages = Message.objects.values_list("id", "channel", "to_address", "status")
    expected_email = {mid for mid, channel, _, _ in messages if channel == "email"}
    expected_sms = {to for _, channel, to, _ in messages if channel == "sms"}
    lost = len(expected_email - set(received_email)) + len(expected_sms - set(received_sms))
    duplicated = sum(c - 1 for c in received_email.values() if c > 1) + sum(
        c - 1 for c in received_sms.values() if c > 1
    )
    statuses = collections.Counter(status for *_, status in messages)

    def rate(items, count):
        """Messages per second from publish start to this channel's last request."""
        if not items:
            return 0.0
        span = max(r.received_at for r in items) - started
        return count / span if span > 0 else float("inf")

    def steady_rate(items, count):
        """Messages per second between this channel's first and last request."""
        if len(items) < 2:
            return float("nan")
        span = max(r.received_at for r in items) - min(r.received_at for r in items)
        return count / span if span > 0 else float("inf")

    first = min((r.received_at for r in requests), default=float("nan")) - started
    last = max((r.received_at for r in requests), default=float("nan")) - started
    worker_peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    own_peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print()
    print(f"recipients                  {args.n} ({len(expected_email)} email, {len(expected_sms)} SMS)")
    print(f"database                    {django.db.connection.vendor}")
    if args.tasks == "rq":
        print(
            f"task engine                 RQ on Redis: {args.rq_workers} workers on every queue, "
            f"{args.sweeps} outbox sweeps racing them"
        )
        print(f"provider latency            {args.latency_ms:.0f} ms; SMS x {args.sms_concurrency} concurrent")
    else:
        print(f"task engine                 database: {args.email_workers} email, {args.sms_workers} SMS workers")
        print(f"provider latency            {args.latency_ms:.0f} ms; SMS x {args.sms_concurrency} concurrent")
    print(f"publish transaction         {published - started:.2f} s")
    print(f"first provider request      {first:.2f} s after publish began")
    print(f"last provider request       {last:.2f} s after publish began")
    email_count, sms_count = sum(received_email.values()), sum(received_sms.values())
    print(
        f"email handed over           {rate(email_requests, email_count):,.0f} /s overall, "
        f"{steady_rate(email_requests, email_count):,.0f} /s first to last request ({len(email_requests)} requests)"
    )
    print(
        f"SMS handed over             {rate(sms_requests, sms_count):,.0f} /s overall, "
        f"{steady_rate(sms_requests, sms_count):,.0f} /s first to last request"
    )
    print(f"final statuses              {dict(statuses)}")
    print(f"peak memory                 workers {worker_peak_mb:.0f} MB (largest), publisher {own_peak_mb:.0f} MB")
    print(f"lost                        {lost}")
    print(f"duplicated                  {duplicated}")
    print(f"done in                     {finished - started:.1f} s")
    for worker in workers:
        worker.log.seek(0)
        errors = worker.log.read().decode(errors="replace")
        if "Traceback" in errors and args.tasks == "database":
            print(f"worker error (see {worker.log.name}):\n" + errors[errors.index("Traceback") :][:2000])
    sys.exit(0 if lost == 0 and duplicated == 0 else 1)


if __name__ == "__main__":
    main()
