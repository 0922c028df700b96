"""Fault benchmark: SIGKILL every worker during a fan-out, restart them, and check what clients feel.

    make bench-faults                   # N=5000 on PostgreSQL (candor_faults_bench)
    make bench-faults FAULTS_N=20000 FAULTS_AT="30 70"

For each kill point (a share of the messages already handed to the providers) it publishes one
update to N recipients (half email, half SMS) through the real SDKs and the local fake providers,
kills every `db_worker` with SIGKILL, restarts them after a second, and waits until the outbox is
empty. A last run also injects provider failures (5xx and 429 with Retry-After) around the kill.
`sweep_outbox --every 5` runs beside the workers all along, as `make run` starts it.

Prints per run: missing messages (must be 0), duplicates per channel, the time from the kill to the
last message of the dead batches reaching the provider (or being found there), and the longest
delay past due of a retried message.
"""

import argparse
import collections
import datetime as dt
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.fanout import configure_environment, reset_database, seed, start_workers  # noqa: E402


def accepted_counts(fake):
    """Messages the fake providers accepted so far, per channel (SMS by request, email by recipient)."""
    counts = collections.Counter()
    for request in fake.requests:
        if request.status == 201 and request.channel == "sms":
            counts["sms"] += 1
        elif request.status == 202 and request.channel == "email":
            counts["email"] += len(request.json["personalizations"])
    return counts


def start_sweep():
    log = open(ROOT / "var" / "bench-faults-sweep.log", "a+b")  # noqa: SIM115 (closed with the process)
    sweep = subprocess.Popen(
        [sys.executable, "manage.py", "sweep_outbox", "--every", "5"], cwd=ROOT, stdout=log, stderr=log
    )
    sweep.log = log
    return sweep


def stop(processes, sig=signal.SIGTERM):
    for process in processes:
        if process.poll() is None:
            process.send_signal(sig)
    for process in processes:
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def new_update(playbook, commander, number):
    from playbooks.incidents.services import incident_create, incident_transition
    from playbooks.updates.services import update_draft

    incident = incident_create(playbook=playbook, actor=commander, title=f"Fault run {number}")
    incident = incident_transition(incident=incident, name="activate", actor=commander)
    return update_draft(incident=incident, author=commander)


def run_once(*, number, kill_at, faults, fake, playbook, commander, n, args):
    from django_tasks_db.models import DBTaskResult

    from comms.models import Lease, Message, MessageStatus
    from playbooks.updates.services import update_publish

    Message.objects.all().delete()
    DBTaskResult.objects.all().delete()
    Lease.objects.all().delete()
    update = new_update(playbook, commander, number)
    workers = start_workers(args.email_workers, args.sms_workers)
    sweep = start_sweep()
    time.sleep(2)  # let the workers reach their first poll
    fake.reset()
    if faults:
        fake.fail_next(40, "500", channel="sms")
        fake.fail_next(2, "500", channel="email")
        fake.fail_next(30, "429", channel="sms", retry_after_seconds=2)

    started = time.monotonic()
    update_publish(update=update, actor=commander)
    total = Message.objects.count()
    while sum(accepted_counts(fake).values()) < kill_at * total and time.monotonic() - started < args.timeout:
        time.sleep(0.02)
    stop(workers, signal.SIGKILL)
    killed_at = dt.datetime.now(dt.UTC)
    if faults:
        fake.fail_next(20, "429", channel="sms", retry_after_seconds=3)
        fake.fail_next(1, "500", channel="email")
    dead = dict(Message.objects.filter(status=MessageStatus.SENDING).values_list("id", "channel"))
    time.sleep(args.restart_after)
    workers = start_workers(args.email_workers, args.sms_workers)

    pending = [MessageStatus.QUEUED, MessageStatus.SENDING]
    deadline = time.monotonic() + args.timeout
    while Message.objects.filter(status__in=pending).exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    stop([*workers, sweep])

    requests = [r for r in fake.requests if r.status in (201, 202) and r.channel in ("sms", "email")]
    received_email = collections.Counter(
        int(p["custom_args"]["candor_message_id"])
        for r in requests
        if r.channel == "email"
        for p in r.json["personalizations"]
    )
    received_sms = collections.Counter(r.form["To"] for r in requests if r.channel == "sms")
    messages = list(
        Message.objects.values_list(
            "id", "channel", "to_address", "status", "attempts", "claimed_at", "next_attempt_at", "sent_at"
        )
    )
    missing = sum(1 for mid, channel, *_ in messages if channel == "email" and not received_email[mid])
    missing += sum(1 for _, channel, to, *_ in messages if channel == "sms" and not received_sms[to])
    duplicated = {
        "email": sum(count - 1 for count in received_email.values() if count > 1),
        "sms": sum(count - 1 for count in received_sms.values() if count > 1),
    }
    recovered_sent = [row[7] for row in messages if row[0] in dead and row[7] is not None]
    recovery = (max(recovered_sent) - killed_at).total_seconds() if recovered_sent else float("nan")
    # Retried messages (not the recovered ones): how long after their due time a worker took them.
    late, late_in_turn = [], []
    for mid, channel, _, _, attempts, claimed_at, due_at, _ in messages:
        if attempts < 2 or mid in dead or not claimed_at or not due_at:
            continue
        late.append(((claimed_at - due_at).total_seconds(), (due_at - killed_at).total_seconds()))
        # Messages due before it are taken first (oldest due first): its turn came when the last of
        # them was taken, if that was after its own due time.
        turn = max(
            [
                other_claimed
                for _, other_channel, _, _, _, other_claimed, other_due, _ in messages
                if other_channel == channel and other_due < due_at and other_claimed and other_claimed > due_at
            ],
            default=due_at,
        )
        late_in_turn.append(max(0.0, (claimed_at - turn).total_seconds()))
    statuses = collections.Counter(row[3] for row in messages)
    errors = []
    for process in [*workers, sweep]:
        process.log.seek(0)
        text = process.log.read().decode(errors="replace")
        if "Traceback" in text:
            errors.append(f"{process.log.name}:\n" + text[text.index("Traceback") :][:1500])
    return {
        "kill_at": kill_at,
        "faults": faults,
        "total": total,
        "dead": collections.Counter(dead.values()),
        "missing": missing,
        "duplicated": duplicated,
        "recovery": recovery,
        "retried": len(late),
        "late": max(late, default=(0.0, 0.0)),
        "late_in_turn": max(late_in_turn, default=0.0),
        "statuses": dict(statuses),
        "took": time.monotonic() - started,
        "errors": errors,
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=int(os.environ.get("FAULTS_N", "5000")))
    parser.add_argument(
        "--at",
        type=float,
        nargs="*",
        default=[10, 30, 50, 70, 90],
        help="kill points, in percent of the messages handed over",
    )
    parser.add_argument("--faults-at", type=float, default=50, help="kill point of the run with provider failures")
    parser.add_argument("--latency-ms", type=float, default=20)
    parser.add_argument("--email-workers", type=int, default=1)
    parser.add_argument("--sms-workers", type=int, default=2)
    parser.add_argument("--sms-concurrency", type=int, default=16)
    parser.add_argument("--restart-after", type=float, default=1.0)
    parser.add_argument("--timeout", type=float, default=300)
    args = parser.parse_args()
    database_url = os.environ.get("DATABASE_URL") or "postgres://postgres@127.0.0.1:5432/candor_faults_bench"
    if not database_url.startswith("postgres") or not database_url.endswith("_bench"):
        sys.exit("bench-faults runs on PostgreSQL, in a database whose name ends in _bench (it is reset).")

    from tests.fakes.providers import FakeProviders

    fake = FakeProviders(latency_ms=args.latency_ms)
    base_url = fake.start()
    configure_environment(base_url, database_url)
    os.environ["CANDOR_SMS_CONCURRENCY"] = str(args.sms_concurrency)
    (ROOT / "var").mkdir(exist_ok=True)
    reset_database(database_url)

    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    print(f"Seeding {args.n} recipients on {database_url.split('@')[-1]} ...", flush=True)
    incident, commander = seed(args.n)
    playbook = incident.playbook
    print(
        f"lease {settings.CANDOR_LEASE_SECONDS:g} s renewed every {settings.CANDOR_LEASE_RENEW_SECONDS:g} s, "
        f"sweep every 5 s, email slice {settings.CANDOR_EMAIL_SLICE_SIZE}, batches: email "
        f"{settings.CANDOR_EMAIL_BATCH_SIZE}, SMS {settings.CANDOR_SMS_BATCH_SIZE}; workers: "
        f"{args.email_workers} email, {args.sms_workers} SMS; all SIGKILLed, restarted after "
        f"{args.restart_after:g} s",
        flush=True,
    )
    print()
    print(
        f"{'run':<18}{'in flight':>18}{'missing':>9}{'dup email':>11}{'dup SMS':>9}"
        f"{'recovery s':>12}{'retried':>9}{'late s':>8}{'in turn':>9}{'took s':>8}"
    )
    runs = [(point / 100, False) for point in args.at] + [(args.faults_at / 100, True)]
    results = []
    for number, (kill_at, faults) in enumerate(runs, start=1):
        result = run_once(
            number=number,
            kill_at=kill_at,
            faults=faults,
            fake=fake,
            playbook=playbook,
            commander=commander,
            n=args.n,
            args=args,
        )
        results.append(result)
        label = f"kill at {kill_at:.0%}" + (" +5xx/429" if faults else "")
        in_flight = f"{result['dead']['email']} email {result['dead']['sms']} SMS"
        print(
            f"{label:<18}{in_flight:>18}{result['missing']:>9}{result['duplicated']['email']:>11}"
            f"{result['duplicated']['sms']:>9}{result['recovery']:>12.1f}{result['retried']:>9}"
            f"{result['late'][0]:>8.1f}{result['late_in_turn']:>9.1f}{result['took']:>8.1f}",
            flush=True,
        )
        if result["retried"]:
            print(f"  the latest retry was due {result['late'][1]:+.1f} s from the kill")
        leftover = {k: v for k, v in result["statuses"].items() if k not in ("sent",)}
        if leftover:
            print(f"  not sent: {leftover}")
        for error in result["errors"]:
            print("  worker error " + error)
    fake.stop()
    print()
    print(
        "in flight: messages left in 'sending' by the killed workers; recovery: kill to the last of them "
        "recorded sent;\nlate: longest wait of a retried message past its due time; in turn: past the moment "
        "the messages due before it\nhad been taken (the outbox takes the oldest due first)."
    )
    sys.exit(0 if all(result["missing"] == 0 for result in results) else 1)


if __name__ == "__main__":
    main()
